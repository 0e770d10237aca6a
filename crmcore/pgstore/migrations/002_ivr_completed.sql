-- Calls the IVR ended by design (self-service, closed without voicemail,
-- goodbye) get their own outcome instead of "failed".
alter table interactions drop constraint interactions_outcome_check;
alter table interactions add constraint interactions_outcome_check check (outcome in ('answered', 'abandoned',
    'short-abandon', 'voicemail', 'callback-requested', 'transferred', 'failed', 'ivr-completed'));
