-- Web chat: one row per conversation (its interaction record has the
-- same id) and every message as it was sent, numbered per conversation
-- (last_seq hands out the numbers under the conversation's row lock).
create table chat_conversations (
    id          uuid primary key,
    contact_id  uuid references contacts(id) on delete set null,
    name        text not null default '',
    email       text not null default '',
    phone       text not null default '',
    language    text not null default '',
    queue       text not null default '',
    agent_id    uuid references agents(id) on delete set null,
    ticket_id   uuid references tickets(id) on delete set null,
    status      text not null check (status in ('bot', 'queued', 'active', 'closed')),
    disposition text not null default '',
    started_at  timestamptz not null,
    ended_at    timestamptz,
    last_seq    bigint not null default 0 check (last_seq >= 0)
);
create index chat_conversations_contact on chat_conversations (contact_id, started_at);

create table chat_messages (
    conversation_id uuid not null references chat_conversations(id) on delete cascade,
    seq             bigint not null check (seq > 0),
    sender          text not null check (sender in ('customer', 'agent', 'bot', 'system')),
    agent_id        uuid references agents(id) on delete set null,
    body            text not null,
    buttons         jsonb not null default '[]' check (jsonb_typeof(buttons) = 'array'),
    created_at      timestamptz not null,
    primary key (conversation_id, seq)
);

-- Chats are interactions and may open tickets.
alter table interactions drop constraint interactions_channel_check;
alter table interactions add constraint interactions_channel_check check (channel in ('phone', 'email', 'web', 'chat'));
alter table tickets drop constraint tickets_channel_check;
alter table tickets add constraint tickets_channel_check check (channel in ('phone', 'email', 'web', 'chat'));
