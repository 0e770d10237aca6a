-- The agent who owns an account: the account's tickets and leads are
-- offered to them first when the assignment rule prefers the account
-- owner. A lead belongs to the account whose domain is its email's, so
-- the domain is indexed as it is matched (lower case).
alter table accounts add column owner_id uuid references agents(id) on delete set null;
create index accounts_owner on accounts (owner_id);
create index accounts_domain on accounts (lower(domain)) where domain <> '';
