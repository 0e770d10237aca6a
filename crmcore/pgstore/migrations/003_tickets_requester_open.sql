-- The screen pop's open tickets of a caller, newest first, read straight
-- off an index. Without it the planner, not knowing the caller when it
-- plans, walked the ticket numbers backwards looking for the requester: a
-- scan of every ticket for a number the CRM does not know (38 ms at 27,000
-- tickets, growing with the help desk).
create index tickets_requester_open on tickets (requester_id, number desc) where status in ('new', 'open', 'pending');
