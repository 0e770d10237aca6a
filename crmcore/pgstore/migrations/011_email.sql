-- Email threads of tickets: every message from the customer and to them.
-- message_id is the RFC 5322 Message-ID without brackets; threading looks
-- a reply's In-Reply-To and References up here.
create table ticket_emails (
    id           uuid primary key,
    ticket_id    uuid not null references tickets(id) on delete cascade,
    direction    text not null check (direction in ('inbound', 'outbound')),
    message_id   text not null unique check (message_id <> ''),
    in_reply_to  text not null default '',
    refs         text[] not null default '{}',
    from_addr    text not null,
    from_name    text not null default '',
    to_addrs     text[] not null default '{}',
    cc_addrs     text[] not null default '{}',
    subject      text not null default '',
    body         text not null default '',
    attachments  jsonb not null default '[]' check (jsonb_typeof(attachments) = 'array'),
    author_id    uuid references agents(id) on delete set null,
    created_at   timestamptz not null
);
create index ticket_emails_ticket on ticket_emails (ticket_id, created_at);

-- Outbound mail, written in the transaction of the change it belongs to
-- and sent from here: what is queued survives a crash until it is sent.
create table email_outbox (
    id              uuid primary key,
    email_id        uuid not null unique references ticket_emails(id) on delete cascade,
    kind            text not null check (kind in ('ack', 'reply')),
    status          text not null default 'queued' check (status in ('queued', 'sent', 'failed')),
    attempts        integer not null default 0 check (attempts >= 0),
    next_attempt_at timestamptz not null,
    last_error      text not null default '',
    relay           text not null default '',
    sent_at         timestamptz,
    created_at      timestamptz not null
);
create index email_outbox_due on email_outbox (next_attempt_at) where status = 'queued';

-- A ticket's audit names the emails that changed it.
alter table ticket_audit drop constraint ticket_audit_action_check;
alter table ticket_audit add constraint ticket_audit_action_check
    check (action in ('created', 'updated', 'transition', 'comment', 'email'));
