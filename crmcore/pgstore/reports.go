package pgstore

import (
	"context"
	"errors"
	"fmt"
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
			rollUpContactsSQL, rollUpOffersSQL, rollUpTimesSQL, rollUpHoursSQL} {
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

// reportSumCols are the sums a report selects, in ReportSums order (as
// bigint: sum(bigint) is a numeric, slow to decode).
const reportSumCols = `sum(offered)::bigint, sum(answered)::bigint, sum(abandoned_short)::bigint,
	sum(abandoned_long)::bigint, sum(answered_within_sl)::bigint, sum(missed)::bigint, sum(sum_wait_ms)::bigint,
	sum(sum_talk_ms)::bigint, sum(sum_hold_ms)::bigint, sum(sum_wrap_ms)::bigint, sum(handled)::bigint,
	sum(transfers)::bigint, sum(fcr_resolved)::bigint, sum(csat_sum)::bigint, sum(csat_n)::bigint,
	sum(nps_promoters)::bigint, sum(nps_detractors)::bigint, sum(nps_n)::bigint, sum(login_ms)::bigint,
	sum(ready_ms)::bigint, sum(busy_ms)::bigint,
	(select coalesce(jsonb_object_agg(k, v), '{}') from (select e.key as k, sum(e.value::bigint) as v
		from unnest(array_agg(not_ready_ms) filter (where not_ready_ms <> '{}')) as j, jsonb_each_text(j) as e
		group by e.key) as nr)`

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
	rows, err := s.pool.Query(ctx, sql, args)
	if err != nil {
		return nil, fmt.Errorf("pgstore: interval report: %w", err)
	}
	defer rows.Close()
	var out []crmcore.ReportRow
	for rows.Next() {
		var r crmcore.ReportRow
		u := &r.Sums
		if err := rows.Scan(&r.Period, &r.Key, &u.Offered, &u.Answered, &u.AbandonedShort, &u.AbandonedLong,
			&u.AnsweredWithinSL, &u.Missed, &u.SumWaitMS, &u.SumTalkMS, &u.SumHoldMS, &u.SumWrapMS, &u.Handled,
			&u.Transfers, &u.FCRResolved, &u.CSATSum, &u.CSATN, &u.NPSPromoters, &u.NPSDetractors, &u.NPSN,
			&u.LoginMS, &u.ReadyMS, &u.BusyMS, &u.NotReadyMS); err != nil {
			return nil, fmt.Errorf("pgstore: interval report: %w", err)
		}
		r.Period = r.Period.In(loc)
		r.Figures = r.Sums.Figures()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "22023" { // a zone Go knows and the server does not
			return nil, &crmcore.FieldError{Field: "tz", Reason: "time zone unknown to the database"}
		}
		return nil, fmt.Errorf("pgstore: interval report: %w", err)
	}
	if len(out) > crmcore.MaxReportRows {
		return nil, &crmcore.FieldError{Field: "group", Reason: "too many rows: narrow the range or group by a longer period"}
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
