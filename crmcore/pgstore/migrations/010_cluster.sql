-- Cluster membership and leadership. A node's row says which node ids have
-- joined and not left; whether a node's process is alive is not stored
-- here but read from its session-level advisory lock, which PostgreSQL
-- releases when the process's connection ends. addr is what the node
-- advertises (free text, e.g. its SIP and HTTP addresses).
create table cluster_nodes (
    id        text primary key check (id <> ''),
    addr      text not null default '',
    joined_at timestamptz not null,
    left_at   timestamptz
);

-- The leader's term: one row, whose epoch the node that takes the leader
-- lock increments (the fencing token of its term). Epoch 0 means no node
-- has led yet.
create table cluster_leader (
    singleton boolean primary key default true check (singleton),
    epoch     bigint not null check (epoch >= 0),
    node      text not null,
    since     timestamptz
);
insert into cluster_leader (epoch, node) values (0, '');
