package pgstore

import (
	"context"
	"fmt"
	"time"

	"switchboard/crmcore"
)

// queueMinutesSQL counts, per queue and minute they joined it, the
// completed calls queued in [$1, $2) that ended before $2, with the
// thresholds of report_queue_settings as the roll-up uses them. A
// callback owed is not over: it is queued again, and counted, live.
const queueMinutesSQL = `
with c as (
	select date_trunc('minute', i.queued_at) as m, i.queue, i.wait_ms, i.talk_ms, i.hold_ms, i.wrapup_ms,
		i.answered_at is not null as ans, i.answered_at is not null and i.ended_at is not null as handled,
		i.outcome in ('abandoned', 'short-abandon') as ab,
		coalesce(s.sl_ms, 20000) as sl_ms, coalesce(s.short_abandon_ms, 5000) as short_ms
	from interactions i
	left join report_queue_settings s on s.queue = i.queue
	where i.arrived_at >= $1::timestamptz - interval '1 day' and i.queued_at >= $1 and i.queued_at < $2
		and i.ended_at < $2 and i.queue is not null and i.queue <> ''
		and i.outcome not in ('in-progress', 'callback-requested')
		and i.channel = 'phone' and i.direction = 'inbound'
)
select m, queue, count(*), count(*) filter (where ans),
	count(*) filter (where ab and wait_ms < short_ms), count(*) filter (where ab and wait_ms >= short_ms),
	count(*) filter (where ans and wait_ms <= sl_ms), coalesce(sum(wait_ms) filter (where ans), 0),
	coalesce(sum(talk_ms) filter (where handled), 0), coalesce(sum(hold_ms) filter (where handled), 0),
	coalesce(sum(wrapup_ms) filter (where handled), 0), count(*) filter (where handled)
from c group by m, queue order by m, queue`

// QueueMinutes returns, per queue and minute, the counts of the inbound
// calls queued from since that were over before until: what a starting
// router seeds its live statistics with (the calls still going on are
// re-announced to it). Period is the minute, Key the queue.
func (s *Store) QueueMinutes(ctx context.Context, since, until time.Time) ([]crmcore.ReportRow, error) {
	rows, err := s.pool.Query(ctx, queueMinutesSQL, since, until)
	if err != nil {
		return nil, fmt.Errorf("pgstore: queue minutes: %w", err)
	}
	defer rows.Close()
	var out []crmcore.ReportRow
	for rows.Next() {
		var r crmcore.ReportRow
		u := &r.Sums
		if err := rows.Scan(&r.Period, &r.Key, &u.Offered, &u.Answered, &u.AbandonedShort, &u.AbandonedLong,
			&u.AnsweredWithinSL, &u.SumWaitMS, &u.SumTalkMS, &u.SumHoldMS, &u.SumWrapMS, &u.Handled); err != nil {
			return nil, fmt.Errorf("pgstore: queue minutes: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: queue minutes: %w", err)
	}
	return out, nil
}
