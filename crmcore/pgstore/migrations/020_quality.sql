-- Quality management: evaluation forms, kept in every version (an edit
-- adds a version; an evaluation points at the version it was scored on),
-- and evaluations of interactions, with their state machine's invariants.
create table qa_forms (
    id          uuid not null,
    version     integer not null check (version >= 1),
    name        text not null check (name <> ''),
    definition  jsonb not null check (jsonb_typeof(definition) = 'object'),
    active      boolean not null default true,
    created_at  timestamptz not null,
    created_by  uuid references agents(id) on delete set null,
    primary key (id, version)
);

create table qa_evaluations (
    id              uuid primary key,
    form_id         uuid not null,
    form_version    integer not null,
    interaction_id  uuid not null references interactions(id) on delete cascade,
    agent_id        uuid not null references agents(id) on delete cascade,
    evaluator_id    uuid references agents(id) on delete set null,
    answers         jsonb not null default '{}' check (jsonb_typeof(answers) = 'object'),
    comments        text not null default '',
    score           double precision check (score between 0 and 100),
    failed          boolean not null default false,
    state           text not null check (state in ('assigned', 'draft', 'submitted', 'acknowledged', 'disputed', 'resolved')),
    sample_week     date check (extract(isodow from sample_week) = 1),
    dispute_reason  text not null default '',
    resolution      text not null default '',
    created_at      timestamptz not null,
    updated_at      timestamptz not null,
    submitted_at    timestamptz,
    acknowledged_at timestamptz,
    disputed_at     timestamptz,
    resolved_at     timestamptz,
    foreign key (form_id, form_version) references qa_forms (id, version),
    -- One evaluation of an interaction per form.
    unique (interaction_id, form_id),
    -- Scored exactly when submitted; a failed evaluation scores 0.
    check ((state in ('assigned', 'draft')) = (submitted_at is null)),
    check ((submitted_at is null) = (score is null)),
    check (not failed or score = 0),
    check ((state in ('acknowledged')) = (acknowledged_at is not null)),
    check ((state in ('disputed', 'resolved')) = (disputed_at is not null and dispute_reason <> '')),
    check ((state = 'resolved') = (resolved_at is not null and resolution <> ''))
);
create index qa_evaluations_agent on qa_evaluations (agent_id, created_at);
create index qa_evaluations_evaluator on qa_evaluations (evaluator_id, state);
create index qa_evaluations_week on qa_evaluations (sample_week, agent_id) where sample_week is not null;
create index qa_evaluations_submitted on qa_evaluations (submitted_at) where submitted_at is not null;
