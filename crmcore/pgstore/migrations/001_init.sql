-- Switchboard CRM schema, version 1.
-- Every timestamp is timestamptz (stored as UTC); every key is a UUID
-- except the human ticket number, which comes from a sequence.

create extension if not exists pg_trgm;

create table accounts (
    id          uuid primary key,
    name        text not null check (length(name) between 1 and 200),
    domain      text not null default '',
    segment     text not null default 'standard' check (segment in ('standard', 'vip')),
    created_at  timestamptz not null default now(),
    unique (name)
);

create table contacts (
    id          uuid primary key,
    name        text not null check (length(name) between 1 and 200),
    emails      text[] not null default '{}',
    account_id  uuid references accounts(id) on delete set null,
    segment     text not null default 'standard' check (segment in ('standard', 'vip')),
    language    text not null default '',
    country     text not null default '' check (country = '' or country ~ '^[A-Z]{2}$'),
    region      text not null default '',
    time_zone   text not null default '',
    tags        text[] not null default '{}',
    custom      jsonb not null default '{}' check (jsonb_typeof(custom) = 'object'),
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
create index contacts_name_trgm on contacts using gin (name gin_trgm_ops);
create index contacts_emails on contacts using gin (emails);
create index contacts_tags on contacts using gin (tags);
create index contacts_account on contacts (account_id);

-- One row per number; a number belongs to at most one contact.
create table contact_phones (
    e164        text primary key check (e164 ~ '^\+[1-9][0-9]{6,14}$'),
    contact_id  uuid not null references contacts(id) on delete cascade,
    position    int not null default 0,
    label       text not null default '',
    country     text not null default '',
    region      text not null default '',
    time_zone   text not null default '',
    type        text not null default ''
);
create index contact_phones_contact on contact_phones (contact_id, position);

create table agents (
    id             uuid primary key,
    login          text not null unique check (login ~ '^[a-z][a-z0-9._-]{1,31}$'),
    name           text not null,
    role           text not null check (role in ('agent', 'supervisor', 'admin')),
    password_hash  text not null check (password_hash like '$2%'),
    languages      text[] not null default '{}',
    country        text not null default '',
    region         text not null default '',
    time_zone      text not null default '',
    sip_username   text unique,
    sip_secret     text not null default '',
    active         boolean not null default true,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);

create table agent_skills (
    agent_id  uuid not null references agents(id) on delete cascade,
    skill     text not null check (skill ~ '^[a-z0-9][a-z0-9_.-]{0,31}$'),
    level     int not null check (level between 1 and 5),
    primary key (agent_id, skill)
);
create index agent_skills_skill on agent_skills (skill, level);

create table sessions (
    token_hash  bytea primary key check (length(token_hash) = 32),
    agent_id    uuid not null references agents(id) on delete cascade,
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    check (expires_at > created_at)
);
create index sessions_agent on sessions (agent_id);
create index sessions_expiry on sessions (expires_at);

create sequence ticket_number_seq start 1001;

create table tickets (
    id                  uuid primary key,
    number              bigint not null unique default nextval('ticket_number_seq'),
    subject             text not null check (length(subject) between 1 and 200),
    description         text not null default '',
    status              text not null default 'new'
                        check (status in ('new', 'open', 'pending', 'solved', 'closed')),
    priority            text not null default 'normal'
                        check (priority in ('low', 'normal', 'high', 'urgent')),
    channel             text not null default 'phone' check (channel in ('phone', 'email', 'web')),
    requester_id        uuid references contacts(id) on delete restrict,
    assignee_id         uuid references agents(id) on delete set null,
    group_name          text not null default '',
    tags                text[] not null default '{}',
    first_response_due  timestamptz,
    resolution_due      timestamptz,
    first_responded_at  timestamptz,
    solved_at           timestamptz,
    closed_at           timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    check (status <> 'closed' or closed_at is not null),
    check (status not in ('solved', 'closed') or solved_at is not null)
);
alter sequence ticket_number_seq owned by tickets.number;
create index tickets_status_assignee on tickets (status, assignee_id);
create index tickets_assignee on tickets (assignee_id, status);
create index tickets_requester on tickets (requester_id, status);
create index tickets_created on tickets (created_at);

create table ticket_comments (
    id          uuid primary key,
    ticket_id   uuid not null references tickets(id) on delete cascade,
    author_id   uuid references agents(id) on delete set null,
    body        text not null check (length(body) > 0),
    public      boolean not null,
    created_at  timestamptz not null default now()
);
create index ticket_comments_ticket on ticket_comments (ticket_id, created_at);

-- Append-only audit trail: a trigger refuses updates and deletes.
create table ticket_audit (
    id        bigint generated always as identity primary key,
    ticket_id uuid not null references tickets(id),
    actor_id  uuid references agents(id) on delete set null,
    at        timestamptz not null default now(),
    action    text not null check (action in ('created', 'updated', 'transition', 'comment')),
    field     text not null default '',
    old_value text not null default '',
    new_value text not null default ''
);
create index ticket_audit_ticket on ticket_audit (ticket_id, id);

create function ticket_audit_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'ticket_audit is append-only';
end;
$$;
create trigger ticket_audit_no_update before update or delete on ticket_audit
    for each row execute function ticket_audit_append_only();

-- Interactions: written once by the durable writer; wrap-ups add rows to
-- interaction_wrapups and refresh the summary columns here.
--
-- contact_id, agent_id and ticket_id are references without FOREIGN KEY
-- constraints: this is the append-only, high-volume fact table, and the
-- per-row FK checks (a locking lookup in the referenced table for every
-- row) halved COPY throughput in measurements. Integrity is kept instead by
-- (1) the writer, which clears references to rows that do not exist when a
-- batch is staged, and (2) the triggers below, which clear references when
-- a contact, agent or ticket is deleted (what ON DELETE SET NULL would do).
create table interactions (
    id               uuid primary key,
    call_id          text not null default '',
    direction        text not null check (direction in ('inbound', 'outbound')),
    channel          text not null check (channel in ('phone', 'email', 'web')),
    ani              text not null default '',
    dnis             text not null default '',
    contact_id       uuid,
    ivr_path         jsonb not null default '[]',
    queue            text not null default '',
    agent_id         uuid,
    arrived_at       timestamptz not null,
    queued_at        timestamptz,
    offered_at       timestamptz,
    answered_at      timestamptz,
    ended_at         timestamptz,
    wait_ms          bigint not null default 0 check (wait_ms >= 0),
    ring_ms          bigint not null default 0 check (ring_ms >= 0),
    talk_ms          bigint not null default 0 check (talk_ms >= 0),
    hold_ms          bigint not null default 0 check (hold_ms >= 0),
    wrapup_ms        bigint not null default 0 check (wrapup_ms >= 0),
    outcome          text not null check (outcome in ('answered', 'abandoned', 'short-abandon', 'voicemail',
                                                       'callback-requested', 'transferred', 'failed')),
    routing_reasons  text[] not null default '{}',
    recording        text not null default '',
    disposition      text not null default '',
    notes            text not null default '',
    wrapup_notes     text not null default '',
    ticket_id        uuid,
    survey_score     int check (survey_score between 0 and 10),
    written_at       timestamptz not null default now()
);
-- Rows arrive in time order, so a BRIN index serves time ranges at a
-- fraction of a B-tree's write cost; contact and agent indexes skip the
-- rows without one (unknown callers, abandoned calls).
create index interactions_arrived on interactions using brin (arrived_at) with (pages_per_range = 32);
create index interactions_contact on interactions (contact_id, arrived_at) where contact_id is not null;
create index interactions_agent on interactions (agent_id, arrived_at) where agent_id is not null;
create index interactions_queue on interactions (queue, arrived_at);

create table interaction_wrapups (
    id              uuid primary key,
    interaction_id  uuid not null,
    agent_id        uuid,
    at              timestamptz not null,
    disposition     text not null default '',
    notes           text not null default '',
    ticket_id       uuid,
    survey_score    int check (survey_score between 0 and 10),
    written_at      timestamptz not null default now()
);
create index interaction_wrapups_interaction on interaction_wrapups (interaction_id, at);

create function interactions_clear_contact() returns trigger language plpgsql as $$
begin
    update interactions set contact_id = null where contact_id = old.id;
    return old;
end;
$$;
create trigger contacts_clear_interactions after delete on contacts
    for each row execute function interactions_clear_contact();

create function interactions_clear_agent() returns trigger language plpgsql as $$
begin
    update interactions set agent_id = null where agent_id = old.id;
    update interaction_wrapups set agent_id = null where agent_id = old.id;
    return old;
end;
$$;
create trigger agents_clear_interactions after delete on agents
    for each row execute function interactions_clear_agent();

create function interactions_clear_ticket() returns trigger language plpgsql as $$
begin
    update interactions set ticket_id = null where ticket_id = old.id;
    update interaction_wrapups set ticket_id = null where ticket_id = old.id;
    return old;
end;
$$;
create trigger tickets_clear_interactions after delete on tickets
    for each row execute function interactions_clear_ticket();
