-- Call scripts: every change is a new version, so that answers saved on
-- an interaction keep the version they were given along.
create table call_scripts (
	id uuid not null,
	version int not null check (version > 0),
	name text not null,
	queues text[] not null default '{}',
	campaigns text[] not null default '{}',
	definition jsonb not null,
	active boolean not null default true,
	updated_at timestamptz not null,
	updated_by uuid references agents (id) on delete set null,
	primary key (id, version)
);
create index call_scripts_queues on call_scripts using gin (queues);
create index call_scripts_campaigns on call_scripts using gin (campaigns);

-- The answers given along a script on an interaction: one row per
-- interaction and script, replaced when the agent saves again.
create table script_answers (
	interaction_id uuid not null,
	script_id uuid not null,
	script_version int not null,
	agent_id uuid references agents (id) on delete set null,
	path text[] not null,
	answers jsonb not null,
	saved_at timestamptz not null,
	primary key (interaction_id, script_id),
	foreign key (script_id, script_version) references call_scripts (id, version)
);
