-- SIP registrations, kept here so that a restart (or another node) still
-- reaches registered phones. One row per contact of a user; the registrar
-- replaces a user's rows at each REGISTER and purges expired rows.
create table sip_registrations (
    user_name   text not null,
    contact     text not null,
    source      text not null default '',
    expires_at  timestamptz not null,
    primary key (user_name, contact)
);
create index sip_registrations_expires on sip_registrations (expires_at);

-- SIP passwords are kept only as their digest hashes for the realm
-- (HA1 = H(username:realm:password), MD5 and SHA-256), as Kamailio and
-- Asterisk can: the registrar needs nothing more, and a copy of the table
-- does not give the passwords away. Existing secrets are hashed for the
-- realm the server is configured with when it migrates.
alter table agents
    add column sip_ha1_md5    text not null default '' check (sip_ha1_md5 ~ '^([0-9a-f]{32})?$'),
    add column sip_ha1_sha256 text not null default '' check (sip_ha1_sha256 ~ '^([0-9a-f]{64})?$');
update agents set
    sip_ha1_md5    = md5(sip_username || ':' || '{{ .sip_realm | replace "'" "''" }}' || ':' || sip_secret),
    sip_ha1_sha256 = encode(sha256(convert_to(sip_username || ':' || '{{ .sip_realm | replace "'" "''" }}' || ':' || sip_secret, 'UTF8')), 'hex')
where sip_username is not null and sip_secret <> '';
alter table agents drop column sip_secret;
