-- Outbound campaigns: each dial's record is an interaction naming its
-- campaign and what became of the dial; the CRM keeps the campaigns'
-- definitions and lists, and the do-not-call list every dial is checked
-- against. interactions.campaign has no foreign key, like the table's
-- other references (see 001_init.sql): a campaign's records outlive it.
alter table interactions
    add column campaign text check (campaign ~ '^[A-Za-z0-9._-]{1,64}$'),
    add column campaign_result text check (campaign_result in ('connected', 'abandoned', 'machine', 'busy',
        'no-answer', 'failed', 'dnc', 'uncallable', 'out-of-window-later')),
    add constraint interactions_campaign_outbound check (campaign is null or direction = 'outbound'),
    add constraint interactions_campaign_result_campaign check (campaign_result is null or campaign is not null);
create index interactions_campaign on interactions (campaign, arrived_at) where campaign is not null;

create table campaigns (
    id          text primary key check (id ~ '^[A-Za-z0-9._-]{1,64}$'),
    name        text not null default '' check (length(name) <= 256),
    queue       text not null default '' check (length(queue) <= 256),
    mode        text not null check (mode in ('preview', 'progressive', 'predictive')),
    config      jsonb not null check (jsonb_typeof(config) = 'object'),
    state       text not null check (state in ('running', 'paused', 'stopped')),
    created_by  uuid references agents (id) on delete set null,
    created_at  timestamptz not null default now()
);

-- A campaign's list, in its order; done marks the contacts the campaign
-- is finished with, so that a restart does not call them again.
create table campaign_contacts (
    campaign_id text not null references campaigns (id) on delete cascade,
    position    int not null check (position >= 0),
    contact_id  uuid references contacts (id) on delete set null,
    number      text not null check (length(number) between 1 and 64),
    name        text not null default '' check (length(name) <= 256),
    time_zone   text not null default '' check (length(time_zone) <= 64),
    done        boolean not null default false,
    primary key (campaign_id, position)
);
create index campaign_contacts_contact on campaign_contacts (contact_id) where contact_id is not null;

-- The do-not-call list, by E.164 number.
create table dnc_numbers (
    number   text primary key check (number ~ '^\+[0-9]{6,15}$'),
    reason   text not null default '' check (length(reason) <= 500),
    added_by uuid references agents (id) on delete set null,
    added_at timestamptz not null default now()
);
