-- A chat's transcript is emailed from the ticket the chat is kept under.
alter table email_outbox drop constraint email_outbox_kind_check;
alter table email_outbox add constraint email_outbox_kind_check check (kind in ('ack', 'reply', 'transcript'));
