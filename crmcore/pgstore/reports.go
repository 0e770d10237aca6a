package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"switchboard/crmcore"
)

// ReportInterval is the length of the stored report intervals.
const ReportInterval = 15 * time.Minute

// reportLock serialises roll-ups: two of the same range at once would
// both delete, then both insert.
const reportLock = int64(0x5b1e7a10)

// alignDown and alignUp round t to multiples of d in UTC.
func alignDown(t time.Time, d time.Duration) time.Time { return t.UTC().Truncate(d) }

func alignUp(t time.Time, d time.Duration) time.Time {
	a := alignDown(t, d)
	if a.Before(t) {
		a = a.Add(d)
	}
	return a
}

// RollUp recomputes the report intervals of [from, to) (widened to whole
// UTC hours) from the event log and the interactions, and their hourly
// sums, in one transaction: the rows are deleted and computed again, so a
// roll-up can be repeated at any time and gives the same rows for the
// same data. Contacts count in the interval they were queued in; agent
// times are cut at interval boundaries (see the statements in
// reportsql.go). The range is at most crmcore.MaxReportRange.
func (s *Store) RollUp(ctx context.Context, from, to time.Time) error {
	from, to = alignDown(from, time.Hour), alignUp(to, time.Hour)
	if !to.After(from) || to.Sub(from) > crmcore.MaxReportRange {
		return &crmcore.FieldError{Field: "to", Reason: "want a range of up to 400 days"}
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock($1)", reportLock); err != nil {
			return err
		}
		for _, q := range [...]string{`delete from report_intervals where interval_start >= $1 and interval_start < $2`,
			`delete from report_hours where interval_start >= $1 and interval_start < $2`,
			`delete from report_not_ready where interval_start >= $1 and interval_start < $2`,
			`delete from report_not_ready_hours where interval_start >= $1 and interval_start < $2`,
			rollUpContactsSQL, rollUpOffersSQL, rollUpTimesSQL, rollUpHoursSQL, rollUpNotReadyHoursSQL} {
			if _, err := tx.Exec(ctx, q, from, to); err != nil {
				return fmt.Errorf("pgstore: roll-up: %w", err)
			}
		}
		return nil
	})
}

// SetReportThresholds sets a queue's service-level and short-abandon
// thresholds for the roll-ups that follow (queues without them use 20 s
// and 5 s). Intervals already rolled up keep the thresholds they were
// computed with until they are rolled up again.
func (s *Store) SetReportThresholds(ctx context.Context, queue string, serviceLevel, shortAbandon time.Duration) error {
	if serviceLevel <= 0 || shortAbandon < 0 {
		return &crmcore.FieldError{Field: "threshold", Reason: "want a positive service level and a short abandon of 0 or more"}
	}
	_, err := s.pool.Exec(ctx, `insert into report_queue_settings (queue, sl_ms, short_abandon_ms) values ($1, $2, $3)
		on conflict (queue) do update set sl_ms = excluded.sl_ms, short_abandon_ms = excluded.short_abandon_ms`,
		queue, serviceLevel.Milliseconds(), shortAbandon.Milliseconds())
	return err
}

// reportSumCols are the sums a report selects, in ReportSums order. They
// are summed as float8 and returned as bigint: sum(bigint) allocates a
// 128-bit state per group and returns a numeric, while float8 is summed
// in place, and exactly for integers up to 2^53 (285,000 years in
// milliseconds).
const reportSumCols = `sum(offered::float8)::bigint, sum(answered::float8)::bigint, sum(abandoned_short::float8)::bigint,
	sum(abandoned_long::float8)::bigint, sum(answered_within_sl::float8)::bigint,
	sum(missed::float8)::bigint, sum(sum_wait_ms::float8)::bigint, sum(sum_talk_ms::float8)::bigint,
	sum(sum_hold_ms::float8)::bigint, sum(sum_wrap_ms::float8)::bigint, sum(handled::float8)::bigint,
	sum(transfers::float8)::bigint, sum(fcr_resolved::float8)::bigint, sum(csat_sum::float8)::bigint,
	sum(csat_n::float8)::bigint, sum(nps_promoters::float8)::bigint,
	sum(nps_detractors::float8)::bigint, sum(nps_n::float8)::bigint, sum(login_ms::float8)::bigint,
	sum(ready_ms::float8)::bigint, sum(busy_ms::float8)::bigint`

// IntervalReport sums the report intervals of q's range (widened to whole
// 15-minute intervals) into periods of q.Group in q.TZ, one row per
// period and queue, agent or channel (q.By), in period and key order, with
// the figures derived from the sums. Queue and channel rows are the
// queues' own counts; when agents are named they are those agents'
// contacts instead (Offered then counts offers to them). Agent rows keep
// the agents' times whatever queues or channels are named: times belong
// to no queue. At most crmcore.MaxReportRows
// rows; more is an error wrapping crmcore.ErrInvalid (narrow the query).
func (s *Store) IntervalReport(ctx context.Context, q crmcore.ReportQuery) ([]crmcore.ReportRow, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	// The server knows zones by name: the process's Local zone has none
	// it could look up, so it is read as UTC, like no zone.
	loc := q.TZ
	if loc == nil || loc.String() == "Local" {
		loc = time.UTC
	}
	tz := loc.String()
	from, to := alignDown(q.From, ReportInterval), alignUp(q.To, ReportInterval)
	args := pgx.NamedArgs{"from": from, "to": to, "tz": tz, "group": q.Group}
	period := "date_trunc(@group, interval_start, @tz)"
	table := "report_intervals"
	switch {
	case q.Group == crmcore.GroupInterval:
		period = "interval_start"
	case from.Equal(alignDown(from, time.Hour)) && to.Equal(alignDown(to, time.Hour)) && wholeHours(loc, from, to):
		table = "report_hours"
	}
	where := "interval_start >= @from and interval_start < @to"
	key := q.By
	switch {
	case q.By == crmcore.ByAgent:
		key = "agent_id"
		where += " and agent_id <> ''"
	case len(q.Agents) > 0:
		where += " and agent_id <> '' and channel <> ''" // their contacts, not their times
	default:
		where += " and agent_id = ''"
	}
	timeRows := ""
	if q.By == crmcore.ByAgent {
		timeRows = " or (queue = '' and channel = '')"
	}
	if len(q.Queues) > 0 {
		where += " and (queue = any(@queues)" + timeRows + ")"
		args["queues"] = q.Queues
	}
	if len(q.Channels) > 0 {
		where += " and (channel = any(@channels)" + timeRows + ")"
		args["channels"] = q.Channels
	}
	if len(q.Agents) > 0 {
		where += " and agent_id = any(@agents)"
		args["agents"] = q.Agents
	}
	sql := "select " + period + " as period, " + key + " as key, " + reportSumCols +
		" from " + table + " where " + where + " group by 1, 2 order by 1, 2 limit " + strconv.Itoa(crmcore.MaxReportRows+1)
	out, err := s.reportRows(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	if len(out) > crmcore.MaxReportRows {
		return nil, &crmcore.FieldError{Field: "group", Reason: "too many rows: narrow the range or group by a longer period"}
	}
	if q.By == crmcore.ByAgent && len(out) > 0 {
		nrTable := "report_not_ready"
		if table == "report_hours" {
			nrTable = "report_not_ready_hours"
		}
		nrWhere := "interval_start >= @from and interval_start < @to"
		if len(q.Agents) > 0 {
			nrWhere += " and agent_id = any(@agents)"
		}
		nr, err := s.notReady(ctx, "select "+period+", agent_id, reason, sum(ms)::bigint from "+nrTable+
			" where "+nrWhere+" group by 1, 2, 3", args)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i].Sums.NotReadyMS = nr[periodKey{out[i].Period.UnixMicro(), out[i].Key}]
		}
	}
	for i := range out {
		r := &out[i]
		r.Period = r.Period.In(loc)
		if r.Sums.NotReadyMS == nil {
			r.Sums.NotReadyMS = map[string]int64{}
		}
		r.Figures = r.Sums.Figures()
	}
	return out, nil
}

// reportRows runs a report's query of sums (reportSumCols after a period
// and a key) and returns its rows without figures.
func (s *Store) reportRows(ctx context.Context, sql string, args pgx.NamedArgs) ([]crmcore.ReportRow, error) {
	rows, err := s.pool.Query(ctx, sql, args)
	if err != nil {
		return nil, fmt.Errorf("pgstore: interval report: %w", err)
	}
	defer rows.Close()
	// Rows are scanned in place into chunks of growing size and joined
	// once at the end: appending to one slice would copy the rows read so
	// far at every growth, many times over for a large report.
	var chunks [][]crmcore.ReportRow
	cur := make([]crmcore.ReportRow, 0, 64)
	for rows.Next() {
		if len(cur) == cap(cur) {
			chunks = append(chunks, cur)
			cur = make([]crmcore.ReportRow, 0, min(2*cap(cur), 4096))
		}
		cur = cur[:len(cur)+1]
		r := &cur[len(cur)-1]
		u := &r.Sums
		sums := [...]*int64{&u.Offered, &u.Answered, &u.AbandonedShort, &u.AbandonedLong,
			&u.AnsweredWithinSL, &u.Missed, &u.SumWaitMS, &u.SumTalkMS, &u.SumHoldMS, &u.SumWrapMS, &u.Handled,
			&u.Transfers, &u.FCRResolved, &u.CSATSum, &u.CSATN, &u.NPSPromoters, &u.NPSDetractors, &u.NPSN,
			&u.LoginMS, &u.ReadyMS, &u.BusyMS}
		var dst [2 + len(sums)]any
		dst[0], dst[1] = &r.Period, &r.Key
		if err := rows.Scan(dst[:]...); err != nil {
			return nil, fmt.Errorf("pgstore: interval report: %w", err)
		}
		// The sums are decoded here rather than by Scan, whose per-value
		// dispatch costs more than the decoding itself.
		fields, values := rows.FieldDescriptions(), rows.RawValues()
		for i, p := range sums {
			v, err := int8Value(fields[2+i].Format, values[2+i])
			if err != nil {
				return nil, fmt.Errorf("pgstore: interval report: column %d: %w", 2+i, err)
			}
			*p = v
		}
	}
	if err := rows.Err(); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "22023" { // a zone Go knows and the server does not
			return nil, &crmcore.FieldError{Field: "tz", Reason: "time zone unknown to the database"}
		}
		return nil, fmt.Errorf("pgstore: interval report: %w", err)
	}
	if len(chunks) == 0 {
		return cur, nil
	}
	return slices.Concat(append(chunks, cur)...), nil
}

// int8Value decodes a non-null bigint in either wire format.
func int8Value(format int16, src []byte) (int64, error) {
	if format == pgx.BinaryFormatCode {
		if len(src) != 8 {
			return 0, fmt.Errorf("bigint of %d bytes", len(src))
		}
		return int64(binary.BigEndian.Uint64(src)), nil
	}
	return strconv.ParseInt(string(src), 10, 64)
}

// periodKey identifies a report row: its period's start in microseconds
// since the epoch, and its key.
type periodKey struct {
	at  int64
	key string
}

// notReady runs a report's query of not-ready times (period, agent,
// reason, milliseconds) and returns them by period and agent.
func (s *Store) notReady(ctx context.Context, sql string, args pgx.NamedArgs) (map[periodKey]map[string]int64, error) {
	rows, err := s.pool.Query(ctx, sql, args)
	if err != nil {
		return nil, fmt.Errorf("pgstore: interval report: %w", err)
	}
	defer rows.Close()
	out := map[periodKey]map[string]int64{}
	var (
		period time.Time
		k      periodKey
		reason string
		ms     int64
	)
	for rows.Next() {
		if err := rows.Scan(&period, &k.key, &reason, &ms); err != nil {
			return nil, fmt.Errorf("pgstore: interval report: %w", err)
		}
		k.at = period.UnixMicro()
		m := out[k]
		if m == nil {
			m = map[string]int64{}
			out[k] = m
		}
		m[reason] = ms
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: interval report: %w", err)
	}
	return out, nil
}

// wholeHours reports whether loc's offset from UTC is a whole number of
// hours all through [from, to), so that its hours, days and months are
// made of whole UTC hours. It checks the offset at every transition of
// the zone in the range.
func wholeHours(loc *time.Location, from, to time.Time) bool {
	if loc == nil {
		return true
	}
	for t := from; t.Before(to); {
		_, off := t.In(loc).Zone()
		if off%3600 != 0 {
			return false
		}
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() {
			return true
		}
		t = end
	}
	return true
}

// AgentEvents returns a page of the event log (see
// crmcore.AgentEventQuery), in time order.
func (s *Store) AgentEvents(ctx context.Context, q crmcore.AgentEventQuery) ([]crmcore.AgentEvent, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = crmcore.MaxEventPage
	}
	rows, err := s.pool.Query(ctx, `select id::text, at, kind, coalesce(agent_id::text, ''), queue, channel, task_id,
		coalesce(interaction_id::text, ''), presence, reason, state, node, wait_ms
		from agent_events
		where at >= $1 and at < $2 and ($3::uuid is null or agent_id = $3)
			and ($4::uuid is null or (at, id) > (select at, id from agent_events where id = $4))
		order by at, id limit $5`, q.From, q.To, pgUUID(q.AgentID), pgUUID(q.After), limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: agent events: %w", err)
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.AgentEvent, error) {
		var e crmcore.AgentEvent
		var wait int64
		err := r.Scan(&e.ID, &e.At, &e.Kind, &e.AgentID, &e.Queue, &e.Channel, &e.TaskID, &e.InteractionID,
			&e.Presence, &e.Reason, &e.State, &e.Node, &wait)
		e.At = e.At.UTC()
		e.Wait = time.Duration(wait) * time.Millisecond
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: agent events: %w", err)
	}
	return evs, nil
}
