package pgstore

// The roll-up's statements. $1 and $2 are the range [from, to), aligned
// to 15 minutes; each statement inserts one source's rows of
// report_intervals, and the later ones add to the rows the earlier ones
// made (ON CONFLICT … DO UPDATE), so that an agent's contacts, offers
// and times end up in one row per interval.

// bucket is the 15-minute UTC interval of a time. date_bin with a fixed
// stride is plain epoch arithmetic: no time zone enters it.
const bucketOrigin = `timestamptz '2000-01-01 00:00:00+00'`

// rollUpContactsSQL counts the completed contacts queued in the range:
// one row per queue and channel (agent_id ”), and one per queue,
// channel and answering agent. A contact abandoned within its queue's
// short-abandon threshold is a short abandon; one answered within the
// service-level threshold counts toward the service level. Survey answers
// that are not numbers are ignored.
const rollUpContactsSQL = `
insert into report_intervals (interval_start, queue, channel, agent_id, offered, answered, abandoned_short,
	abandoned_long, answered_within_sl, sum_wait_ms, sum_talk_ms, sum_hold_ms, sum_wrap_ms, handled, transfers,
	fcr_resolved, csat_sum, csat_n, nps_promoters, nps_detractors, nps_n)
with c as (
	select date_bin('15 minutes', i.queued_at, ` + bucketOrigin + `) as b, i.queue, i.channel,
		coalesce(i.agent_id::text, '') as agent, i.outcome, i.wait_ms, i.talk_ms, i.hold_ms, i.wrapup_ms,
		i.answered_at is not null as ans,
		i.answered_at is not null and i.ended_at is not null as handled,
		i.outcome in ('abandoned', 'short-abandon') as ab,
		lower(i.disposition) = 'resolved' as resolved,
		case when jsonb_typeof(i.survey -> 'csat') = 'number' then (i.survey ->> 'csat')::numeric::bigint end as csat,
		case when jsonb_typeof(i.survey -> 'nps') = 'number' then (i.survey ->> 'nps')::numeric::bigint end as nps,
		coalesce(s.sl_ms, 20000) as sl_ms, coalesce(s.short_abandon_ms, 5000) as short_ms
	from interactions i
	left join report_queue_settings s on s.queue = i.queue
	where i.arrived_at >= $1::timestamptz - interval '1 day' and i.arrived_at < $2
		and i.queued_at >= $1 and i.queued_at < $2 and i.outcome <> 'in-progress'
)
select b, queue, channel, case when grouping(agent) = 1 then '' else agent end,
	case when grouping(agent) = 1 then count(*) else 0 end,
	count(*) filter (where ans),
	count(*) filter (where ab and wait_ms < short_ms),
	count(*) filter (where ab and wait_ms >= short_ms),
	count(*) filter (where ans and wait_ms <= sl_ms),
	coalesce(sum(wait_ms) filter (where ans), 0),
	coalesce(sum(talk_ms) filter (where handled), 0),
	coalesce(sum(hold_ms) filter (where handled), 0),
	coalesce(sum(wrapup_ms) filter (where handled), 0),
	count(*) filter (where handled),
	count(*) filter (where outcome = 'transferred'),
	count(*) filter (where handled and resolved),
	coalesce(sum(csat), 0), count(csat),
	count(*) filter (where nps >= 9), count(*) filter (where nps <= 6), count(nps)
from c
group by grouping sets ((b, queue, channel), (b, queue, channel, agent))
having grouping(agent) = 1 or agent <> ''`

// rollUpOffersSQL counts the offers to each agent in the range, and those
// the agent rejected or missed.
const rollUpOffersSQL = `
insert into report_intervals as r (interval_start, queue, channel, agent_id, offered, missed)
select date_bin('15 minutes', at, ` + bucketOrigin + `), queue, channel, agent_id::text,
	count(*) filter (where kind = 'offered'), count(*) filter (where kind in ('rejected', 'missed'))
from agent_events
where at >= $1 and at < $2 and agent_id is not null and kind in ('offered', 'rejected', 'missed')
group by 1, 2, 3, 4
on conflict (interval_start, queue, channel, agent_id) do update
	set offered = r.offered + excluded.offered, missed = r.missed + excluded.missed`

// rollUpTimesSQL splits each agent's time between events into the
// 15-minute intervals it covers. After each login, logout, presence or
// state event the agent's presence and system state are the last ones
// set (carried forward with count() over the events, first_value() over
// each run); a logged-in agent is busy on a call, on hold or in wrap-up,
// otherwise ready or not ready by presence. The state at the start of
// the range comes from the day before it; a state no event ends lasts at
// most a day (an agent whose node died without a logout is not counted
// logged in for ever), and never past the roll-up's own time (a range
// that reaches into the future counts no time there). Not-ready time by
// reason goes to report_not_ready, the totals to report_intervals.
const rollUpTimesSQL = `
with ev as (
	select agent_id, at, id,
		case kind when 'logout' then 'offline' when 'state' then null else presence end as p,
		case kind when 'logout' then '' when 'state' then null else reason end as r,
		case kind when 'state' then state when 'presence' then null else 'idle' end as s
	from agent_events
	where agent_id is not null and kind in ('login', 'logout', 'presence', 'state')
		and at >= $1::timestamptz - interval '1 day' and at < $2
), g as (
	select *, count(p) over w as pg, count(s) over w as sg, lead(at) over w as next
	from ev window w as (partition by agent_id order by at, id)
), st as (
	select agent_id, at, next,
		first_value(p) over (partition by agent_id, pg order by at, id) as p,
		first_value(r) over (partition by agent_id, pg order by at, id) as r,
		first_value(s) over (partition by agent_id, sg order by at, id) as s
	from g
), seg as (
	select agent_id, greatest(at, $1) as s0, least(coalesce(next, $2), $2, at + interval '1 day', statement_timestamp()) as s1,
		case when s in ('on-call', 'on-hold', 'wrap-up') then 'busy' when p = 'ready' then 'ready' else 'not-ready' end as act,
		coalesce(r, '') as r
	from st
	where p in ('ready', 'not-ready')
), parts as (
	select agent_id, b, act, case when act = 'not-ready' then r else '' end as r,
		(extract(epoch from least(s1, b + interval '15 minutes') - greatest(s0, b)) * 1000)::bigint as ms
	from seg, generate_series(date_bin('15 minutes', s0, ` + bucketOrigin + `), s1 - interval '1 microsecond',
		interval '15 minutes') as b
	where s1 > s0
), per as (
	select agent_id, b, act, r, sum(ms) as ms from parts group by 1, 2, 3, 4
), nr as (
	insert into report_not_ready (interval_start, agent_id, reason, ms)
	select b, agent_id::text, r, ms from per where act = 'not-ready'
)
insert into report_intervals (interval_start, queue, channel, agent_id, login_ms, ready_ms, busy_ms)
select b, '', '', agent_id::text, sum(ms), coalesce(sum(ms) filter (where act = 'ready'), 0),
	coalesce(sum(ms) filter (where act = 'busy'), 0)
from per
group by b, agent_id
on conflict (interval_start, queue, channel, agent_id) do update set login_ms = excluded.login_ms,
	ready_ms = excluded.ready_ms, busy_ms = excluded.busy_ms`

// rollUpHoursSQL sums the range's intervals into UTC hours.
const rollUpHoursSQL = `
insert into report_hours
select date_bin('1 hour', interval_start, ` + bucketOrigin + `), queue, channel, agent_id, ` + reportSumCols + `
from report_intervals
where interval_start >= $1 and interval_start < $2
group by 1, 2, 3, 4`

// rollUpNotReadyHoursSQL sums the range's not-ready times into UTC hours
// by agent and reason.
const rollUpNotReadyHoursSQL = `
insert into report_not_ready_hours
select date_bin('1 hour', interval_start, ` + bucketOrigin + `), agent_id, reason, sum(ms)
from report_not_ready
where interval_start >= $1 and interval_start < $2
group by 1, 2, 3`
