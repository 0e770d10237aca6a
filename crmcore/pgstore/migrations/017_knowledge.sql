-- The knowledge base: articles searched in their own language's text
-- search configuration (config, chosen from the language by the store:
-- english, german, french, spanish, else simple), with the title weighted
-- above the body; their categories; and what agents did with them.
create table knowledge_categories (
    name       text primary key check (length(name) between 1 and 64),
    created_at timestamptz not null default now()
);

create table knowledge_articles (
    id         uuid primary key,
    title      text not null check (length(title) between 1 and 200),
    body       text not null check (length(body) between 1 and 65536),
    category   text not null references knowledge_categories (name),
    language   text not null check (language ~ '^[a-z]{2,3}(-[a-z0-9]{1,8})*$'),
    config     regconfig not null,
    visibility text not null check (visibility in ('agents', 'public')),
    tags       text[] not null default '{}',
    author_id  uuid references agents (id) on delete set null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    views      bigint not null default 0,
    uses       bigint not null default 0,
    tsv        tsvector generated always as (
        setweight(to_tsvector(config, title), 'A') || setweight(to_tsvector(config, body), 'B')) stored
);
-- A search reads the vector of every article it checks or ranks: kept in
-- the row (compressed when that helps, moved out of line only when the
-- row would not fit a page), it is read without TOAST lookups; the body
-- goes out of line instead.
alter table knowledge_articles alter column tsv set storage main;
-- The planner chooses between walking the newest articles and collecting
-- every match by how many articles hold each query word: the common
-- elements list keeps about ten times the statistics target, enough for
-- the vocabulary of a large knowledge base, not just its commonest words.
alter table knowledge_articles alter column tsv set statistics 1000;
-- One GIN index per text search configuration (crmcore.TextSearchConfigs):
-- a query parsed in one configuration looks up only the articles indexed
-- under it, instead of every language's articles holding the same lexeme.
create index knowledge_articles_tsv_english on knowledge_articles using gin (tsv) where config = 'english'::regconfig;
create index knowledge_articles_tsv_german on knowledge_articles using gin (tsv) where config = 'german'::regconfig;
create index knowledge_articles_tsv_french on knowledge_articles using gin (tsv) where config = 'french'::regconfig;
create index knowledge_articles_tsv_spanish on knowledge_articles using gin (tsv) where config = 'spanish'::regconfig;
create index knowledge_articles_tsv_simple on knowledge_articles using gin (tsv) where config = 'simple'::regconfig;
-- The newest articles of one configuration: a search whose words are in
-- many of them finds its newest matches sooner by walking this index than
-- by collecting every match from the GIN index.
create index knowledge_articles_config_updated on knowledge_articles (config, updated_at desc);
create index knowledge_articles_updated on knowledge_articles (updated_at desc);

-- interaction_id has no foreign key: interactions reach the database
-- through the durable writer, possibly after the use is recorded.
create table knowledge_article_uses (
    id             bigint generated always as identity primary key,
    article_id     uuid not null references knowledge_articles (id) on delete cascade,
    kind           text not null check (kind in ('linked', 'sent', 'viewed')),
    ticket_id      uuid references tickets (id) on delete cascade,
    interaction_id uuid,
    agent_id       uuid references agents (id) on delete set null,
    at             timestamptz not null,
    check (kind <> 'linked' or ticket_id is not null)
);
create index knowledge_article_uses_article on knowledge_article_uses (article_id, at);
create index knowledge_article_uses_ticket on knowledge_article_uses (ticket_id) where ticket_id is not null;
