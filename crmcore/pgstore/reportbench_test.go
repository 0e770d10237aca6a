package pgstore

import (
	"context"
	"testing"
	"time"

	"switchboard/crmcore"
)

// loadReportMonth generates 30 days of a 1,000-agent contact centre from
// reportDay on: each agent works an 8-hour shift a day with a break and
// 20 calls (offer, ring, talk, wrap-up), one in ten of the calls queued
// for them abandoned instead; four queues.
var loadReportMonth = [...]string{`
insert into agent_events (id, at, kind, agent_id, presence, reason, state, queue, channel)
select gen_random_uuid(), e.at, e.kind, md5('agent' || a)::uuid, e.presence, e.reason, e.state, e.queue, e.channel
from generate_series(0, 999) a, generate_series(0, 29) d,
	lateral (select $1::timestamptz + d * interval '1 day' + interval '7 hours' + (a % 4) * interval '1 hour' as s) sh,
	lateral (
		select sh.s as at, 'login' as kind, 'ready' as presence, '' as reason, '' as state, '' as queue, '' as channel
		union all select sh.s + interval '8 hours', 'logout', '', '', '', '', ''
		union all select sh.s + interval '3 hours', 'presence', 'not-ready', 'break', '', '', ''
		union all select sh.s + interval '3 hours 15 minutes', 'presence', 'ready', '', '', '', ''
		union all select c.t + x.off, x.kind, '', '', x.state, 'q' || (a % 4), 'phone'
		from generate_series(0, 19) k,
			lateral (select sh.s + k * interval '22 minutes' + ((a * 7 + k * 13) % 300) * interval '1 second' as t,
				(120 + (a * k) % 400) * interval '1 second' as talk) c,
			lateral (values (interval '0', 'offered', ''), (interval '0', 'state', 'reserved'),
				(interval '10 seconds', 'state', 'on-call'), (interval '10 seconds' + c.talk, 'state', 'wrap-up'),
				(interval '40 seconds' + c.talk, 'state', 'idle')) as x(off, kind, state)
		where k % 10 <> 9
	) e`, `
insert into interactions (id, direction, channel, queue, agent_id, arrived_at, queued_at, offered_at, answered_at,
	ended_at, wait_ms, talk_ms, hold_ms, wrapup_ms, outcome, disposition, survey)
select gen_random_uuid(), 'inbound', 'phone', 'q' || (a % 4), case when k % 10 <> 9 then md5('agent' || a)::uuid end,
	c.t - w.wait - interval '20 seconds', c.t - w.wait, c.t, case when k % 10 <> 9 then c.t + interval '10 seconds' end,
	c.t + interval '10 seconds' + c.talk, extract(epoch from w.wait)::bigint * 1000, extract(epoch from c.talk)::bigint * 1000,
	0, 30000, case when k % 10 <> 9 then 'answered' else 'abandoned' end,
	case when k % 3 = 0 then 'resolved' else '' end, jsonb_build_object('csat', 1 + (a + k) % 5, 'nps', (a * k) % 11)
from generate_series(0, 999) a, generate_series(0, 29) d, generate_series(0, 19) k,
	lateral (select $1::timestamptz + d * interval '1 day' + interval '7 hours' + (a % 4) * interval '1 hour' as s) sh,
	lateral (select sh.s + k * interval '22 minutes' + ((a * 7 + k * 13) % 300) * interval '1 second' as t,
		(120 + (a * k) % 400) * interval '1 second' as talk) c,
	lateral (select ((a + k) % 40) * interval '1 second' as wait) w`}

// BenchmarkIntervalReport: 30 days of events and contacts of 1,000
// agents are generated in PostgreSQL and rolled up (timed once, logged),
// then reports of one day and of the month are timed.
func BenchmarkIntervalReport(b *testing.B) {
	ctx := context.Background()
	pool := newDurablePool(b)
	s := New(pool)
	start := time.Now()
	for _, q := range loadReportMonth {
		if _, err := pool.Exec(ctx, q, reportDay); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, "analyze agent_events; analyze interactions"); err != nil {
		b.Fatal(err)
	}
	loaded := time.Since(start)
	var events, contacts int64
	pool.QueryRow(ctx, "select (select count(*) from agent_events), (select count(*) from interactions)").Scan(&events, &contacts)
	start = time.Now()
	for d := range 30 {
		day := reportDay.AddDate(0, 0, d)
		if err := s.RollUp(ctx, day, day.AddDate(0, 0, 1)); err != nil {
			b.Fatal(err)
		}
	}
	rolled := time.Since(start)
	// Settle the tables as autovacuum would (visibility map, statistics),
	// so that it does not run during the measurements.
	if _, err := pool.Exec(ctx, "vacuum analyze report_intervals, report_hours"); err != nil {
		b.Fatal(err)
	}
	var rows int64
	pool.QueryRow(ctx, "select count(*) from report_intervals").Scan(&rows)
	b.Logf("%d events, %d contacts generated in %v; 30 daily roll-ups in %v (%d interval rows)",
		events, contacts, loaded.Round(time.Millisecond), rolled.Round(time.Millisecond), rows)

	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		b.Fatal(err)
	}
	day := time.Date(2025, 3, 10, 0, 0, 0, 0, paris)
	month := time.Date(2025, 3, 4, 0, 0, 0, 0, paris)
	for _, c := range []struct {
		name string
		q    crmcore.ReportQuery
		min  int
	}{
		{"day/intervals/queue", crmcore.ReportQuery{From: day, To: day.AddDate(0, 0, 1), Group: crmcore.GroupInterval, By: crmcore.ByQueue}, 4 * 28},
		{"day/intervals/agent", crmcore.ReportQuery{From: day, To: day.AddDate(0, 0, 1), Group: crmcore.GroupInterval, By: crmcore.ByAgent}, 1000 * 32},
		{"day/agent", crmcore.ReportQuery{From: day, To: day.AddDate(0, 0, 1), Group: crmcore.GroupDay, By: crmcore.ByAgent}, 1000},
		{"month/days/queue", crmcore.ReportQuery{From: month, To: month.AddDate(0, 0, 28), Group: crmcore.GroupDay, By: crmcore.ByQueue}, 4 * 28},
		{"month/agent", crmcore.ReportQuery{From: month, To: month.AddDate(0, 0, 28), Group: crmcore.GroupMonth, By: crmcore.ByAgent}, 1000},
		{"month/days/agent", crmcore.ReportQuery{From: month, To: month.AddDate(0, 0, 28), Group: crmcore.GroupDay, By: crmcore.ByAgent}, 28 * 1000},
	} {
		c.q.TZ = paris
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rows, err := s.IntervalReport(ctx, c.q)
				if err != nil {
					b.Fatal(err)
				}
				if len(rows) < c.min {
					b.Fatalf("%d rows, want at least %d", len(rows), c.min)
				}
			}
		})
	}
}
