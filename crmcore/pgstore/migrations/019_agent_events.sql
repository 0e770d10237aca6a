-- The event log: every agent state change and task step as it happened,
-- written by the durable writer with COPY. Reports are rolled up from it
-- and from the interactions, and can be recomputed at any time.
create table agent_events (
	id uuid primary key,
	at timestamptz not null,
	kind text not null check (kind in ('login', 'logout', 'presence', 'state', 'queued', 'offered', 'answered',
		'rejected', 'missed', 'abandoned', 'transferred', 'wrap-up', 'completed')),
	agent_id uuid,
	queue text not null default '',
	channel text not null default '',
	task_id text not null default '',
	interaction_id uuid,
	presence text not null default '' check (presence in ('', 'offline', 'ready', 'not-ready')),
	reason text not null default '',
	state text not null default '' check (state in ('', 'idle', 'reserved', 'on-call', 'on-hold', 'wrap-up')),
	node text not null default '',
	wait_ms bigint not null default 0 check (wait_ms >= 0)
);
create index agent_events_at on agent_events (at);
create index agent_events_agent on agent_events (agent_id, at) where agent_id is not null;

-- Per-queue thresholds of the roll-up: a contact answered within sl_ms
-- counts toward the service level, one abandoned within short_abandon_ms
-- is a short abandon. Queues without a row use 20 s and 5 s.
create table report_queue_settings (
	queue text primary key,
	sl_ms bigint not null check (sl_ms > 0),
	short_abandon_ms bigint not null check (short_abandon_ms >= 0)
);

-- 15-minute UTC intervals per queue, channel and agent: counts and sums
-- only, so that any set of intervals adds up (hours, days, months, any
-- time zone whose offset is a multiple of 15 minutes). agent_id is '' on
-- a queue's rows; an agent's login, ready, busy and not-ready times are
-- on their rows with queue and channel '', their not-ready times by reason
-- in report_not_ready. Durations are milliseconds.
create table report_intervals (
	interval_start timestamptz not null check (extract(epoch from interval_start)::bigint % 900 = 0),
	queue text not null,
	channel text not null,
	agent_id text not null,
	offered bigint not null default 0,
	answered bigint not null default 0,
	abandoned_short bigint not null default 0,
	abandoned_long bigint not null default 0,
	answered_within_sl bigint not null default 0,
	missed bigint not null default 0,
	sum_wait_ms bigint not null default 0,
	sum_talk_ms bigint not null default 0,
	sum_hold_ms bigint not null default 0,
	sum_wrap_ms bigint not null default 0,
	handled bigint not null default 0,
	transfers bigint not null default 0,
	fcr_resolved bigint not null default 0,
	csat_sum bigint not null default 0,
	csat_n bigint not null default 0,
	nps_promoters bigint not null default 0,
	nps_detractors bigint not null default 0,
	nps_n bigint not null default 0,
	login_ms bigint not null default 0,
	ready_ms bigint not null default 0,
	busy_ms bigint not null default 0,
	-- agent_id before queue: a report by agent reads each interval's
	-- agent rows in key order and groups them without sorting, and a
	-- report by queue reads the agent_id '' rows together.
	primary key (interval_start, agent_id, queue, channel)
);
create index report_intervals_agent on report_intervals (agent_id, interval_start) where agent_id <> '';

-- The same sums per UTC hour, kept by the roll-up beside the intervals:
-- hour, day and month reports in zones whose offset is a whole number of
-- hours read a quarter of the rows.
create table report_hours (like report_intervals including defaults including constraints);
alter table report_hours add primary key (interval_start, agent_id, queue, channel);
alter table report_hours add check (extract(epoch from interval_start)::bigint % 3600 = 0);

-- An agent's not-ready time by reason code in the 15-minute intervals of
-- report_intervals, and per UTC hour beside report_hours. Reason codes
-- are open-ended, so they are rows rather than columns, and a report
-- without them reads none of these rows.
create table report_not_ready (
	interval_start timestamptz not null check (extract(epoch from interval_start)::bigint % 900 = 0),
	agent_id text not null check (agent_id <> ''),
	reason text not null,
	ms bigint not null check (ms >= 0),
	primary key (interval_start, agent_id, reason)
);
create table report_not_ready_hours (like report_not_ready including constraints);
alter table report_not_ready_hours add primary key (interval_start, agent_id, reason);
alter table report_not_ready_hours add check (extract(epoch from interval_start)::bigint % 3600 = 0);
