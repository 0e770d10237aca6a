-- Keys the nodes of an installation share, made once by the first node
-- that needs one (the web chat's resume-token key).
create table app_secrets (
    name       text primary key check (name ~ '^[a-z][a-z0-9_.-]{0,63}$'),
    secret     bytea not null check (length(secret) >= 32),
    created_at timestamptz not null default now()
);
