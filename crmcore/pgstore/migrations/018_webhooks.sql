-- Webhooks: who wants which events, the outbox of events written in the
-- data's own transaction, and every delivery attempt.
create table webhook_subscriptions (
	id uuid primary key,
	url text not null check (length(url) between 1 and 2048 and url ~ '^https?://'),
	event_types text[] not null check (cardinality(event_types) > 0),
	secret text not null check (length(secret) >= 16),
	active boolean not null default true,
	created_at timestamptz not null default now()
);

-- The outbox. key names what the event is about when the same fact can be
-- written twice (an interaction's completion replayed from the journal):
-- one event per (type, key). fanned_out_at is set in the transaction that
-- creates the event's delivery jobs.
create table webhook_events (
	id bigserial primary key,
	type text not null,
	key text,
	payload jsonb not null,
	created_at timestamptz not null default now(),
	fanned_out_at timestamptz,
	unique (type, key)
);
create index webhook_events_pending on webhook_events (id) where fanned_out_at is null;
create index webhook_events_created on webhook_events (created_at);

create table webhook_deliveries (
	id bigserial primary key,
	delivery_id uuid not null,
	subscription_id uuid not null references webhook_subscriptions (id) on delete cascade,
	event_id bigint not null references webhook_events (id) on delete cascade,
	attempt integer not null check (attempt > 0),
	status_code integer not null default 0,
	error text not null default '',
	duration_ms bigint not null default 0,
	at timestamptz not null
);
create index webhook_deliveries_subscription on webhook_deliveries (subscription_id, id desc);
create index webhook_deliveries_delivery on webhook_deliveries (delivery_id);
create index webhook_deliveries_event on webhook_deliveries (event_id);
