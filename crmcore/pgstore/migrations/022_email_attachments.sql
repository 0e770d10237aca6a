-- The content of emails' attachments, kept in the transaction of their
-- message. ticket_emails.attachments describes every attachment, kept or
-- not (too large, too many), with the id of its row here when kept. The
-- API serves the content only as a download.
create table email_attachments (
    id           uuid primary key,
    email_id     uuid not null references ticket_emails(id) on delete cascade,
    file_name    text not null check (file_name <> ''),
    content_type text not null,
    size         bigint not null check (size = octet_length(content)),
    sha256       text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    content      bytea not null,
    created_at   timestamptz not null
);
create index email_attachments_email on email_attachments (email_id);
