-- Sales leads. A lead that arrives without an owner waits in lead_routing
-- until an agent accepts it from the ACD (lead_assignments keeps each
-- routed assignment with its reasons) or it is closed.
create table leads (
    id          uuid primary key,
    name        text not null check (length(name) between 1 and 200),
    company     text not null default '',
    email       text not null default '',
    phone       text not null default '' check (phone = '' or phone ~ '^\+[1-9][0-9]{6,14}$'),
    source      text not null default '',
    status      text not null default 'new'
                check (status in ('new', 'working', 'qualified', 'converted', 'disqualified')),
    priority    text not null default 'normal' check (priority in ('low', 'normal', 'high', 'urgent')),
    owner_id    uuid references agents(id) on delete set null,
    language    text not null default '',
    country     text not null default '' check (country = '' or country ~ '^[A-Z]{2}$'),
    region      text not null default '',
    created_at  timestamptz not null,
    updated_at  timestamptz not null
);
create index leads_owner on leads (owner_id, status);
create index leads_created on leads (created_at);

create table lead_routing (
    lead_id  uuid primary key references leads(id) on delete cascade,
    since    timestamptz not null
);
create index lead_routing_since on lead_routing (since);

create table lead_assignments (
    id           bigint generated always as identity primary key,
    lead_id      uuid not null references leads(id) on delete cascade,
    agent_id     uuid references agents(id) on delete set null,
    queue        text not null,
    reasons      text[] not null default '{}',
    queued_at    timestamptz not null,
    assigned_at  timestamptz not null
);
create index lead_assignments_lead on lead_assignments (lead_id, id);
