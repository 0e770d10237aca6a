-- Who listened to which call's recording, when and what part of it.
create table recording_access (
	id uuid primary key,
	interaction_id uuid not null references interactions (id) on delete cascade,
	agent_id uuid references agents (id) on delete set null,
	at timestamptz not null,
	range text not null default '',
	source text not null default ''
);
create index recording_access_interaction on recording_access (interaction_id, at);
