-- Interactions are opened when a call arrives (outcome 'in-progress') and
-- completed under the same id when it ends. node names the process that
-- wrote the record, so that at start a node closes only the records it
-- left open itself. survey keeps every answer of a post-call survey by
-- question name; survey_score stays the headline score.
alter table interactions drop constraint interactions_outcome_check;
alter table interactions add constraint interactions_outcome_check check (outcome in ('answered', 'abandoned',
    'short-abandon', 'voicemail', 'callback-requested', 'transferred', 'failed', 'ivr-completed', 'in-progress'));
alter table interactions add column node text not null default '';
alter table interactions add column survey jsonb check (survey is null or jsonb_typeof(survey) = 'object');
alter table interaction_wrapups add column survey jsonb check (survey is null or jsonb_typeof(survey) = 'object');
create index interactions_in_progress on interactions (node) where outcome = 'in-progress';
