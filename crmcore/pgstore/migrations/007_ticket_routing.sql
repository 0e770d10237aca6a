-- Tickets waiting for an agent: new tickets nobody is assigned to and
-- solved tickets reopened by someone other than their assignee. The help
-- desk's channel routes them through the ACD; the row goes when an agent
-- accepts the ticket, or when it is assigned, solved or closed by hand.
-- since is the ticket's place in the queue; preferred_agent is offered it
-- first (the assignee of a reopened ticket).
create table ticket_routing (
    ticket_id        uuid primary key references tickets(id) on delete cascade,
    cause            text not null check (cause in ('new', 'reopened')),
    since            timestamptz not null,
    preferred_agent  uuid references agents(id) on delete set null
);
create index ticket_routing_since on ticket_routing (since);

-- Every routed assignment, with the routing decision's reasons.
create table ticket_assignments (
    id           bigint generated always as identity primary key,
    ticket_id    uuid not null references tickets(id) on delete cascade,
    agent_id     uuid references agents(id) on delete set null,
    queue        text not null,
    cause        text not null check (cause in ('new', 'reopened')),
    reasons      text[] not null default '{}',
    queued_at    timestamptz not null,
    assigned_at  timestamptz not null
);
create index ticket_assignments_ticket on ticket_assignments (ticket_id, id);

-- New tickets nobody is assigned to wait for an agent from now on.
insert into ticket_routing (ticket_id, cause, since)
    select id, 'new', created_at from tickets where status = 'new' and assignee_id is null;
