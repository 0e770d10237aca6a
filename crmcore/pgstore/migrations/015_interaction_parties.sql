-- The agents and numbers that took part in a call besides the customer
-- (consultations, conferences, transfers), and each time the customer was
-- held and by whom.
alter table interactions add column parties jsonb, add column holds jsonb;
