-- Callbacks owed to customers: asked for in the IVR or scheduled for a
-- time. A callback is done once its interaction has a final outcome (see
-- crmcore.Callback); until then a new routing node queues it again.
create table callbacks (
	id uuid primary key,
	interaction_id uuid not null unique,
	call_id text not null unique check (length(call_id) between 1 and 256),
	number text not null check (length(number) between 1 and 64),
	queue text not null check (length(queue) between 1 and 256),
	contact_id uuid references contacts (id) on delete set null,
	agent_id uuid references agents (id) on delete set null,
	note text not null default '' check (length(note) <= 2000),
	source text not null check (source in ('ivr', 'scheduled')),
	route jsonb,
	requested_at timestamptz not null,
	due_at timestamptz not null,
	state text not null check (state in ('scheduled', 'queued', 'cancelled')),
	created_by uuid references agents (id) on delete set null,
	created_at timestamptz not null default now()
);
create index callbacks_open on callbacks (due_at) where state <> 'cancelled';
create index callbacks_contact on callbacks (contact_id) where contact_id is not null;

