-- Per-agent overrides of the per-channel capacity the ACD is configured
-- with: how many tasks of a channel the agent may hold at once (0: never
-- offered that channel). A channel without a row takes the configured
-- default.
create table agent_capacity (
    agent_id  uuid not null references agents(id) on delete cascade,
    channel   text not null check (channel ~ '^[a-z][a-z0-9_-]{0,31}$'),
    capacity  int not null check (capacity between 0 and 100),
    primary key (agent_id, channel)
);
