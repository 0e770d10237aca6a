-- The Path of a registration (RFC 3327): the proxies a REGISTER came
-- through that asked to stay on the way to the phone (the SIP edge, for a
-- phone behind NAT), in order. Requests to the binding are routed through
-- them.
alter table sip_registrations add column path text[] not null default '{}';
