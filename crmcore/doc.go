// Package crmcore is the domain of Switchboard's CRM: contacts and their
// accounts ([Account], with the agent who owns it), agents (the people
// who log in and take calls, with their per-channel [Capacity]
// overrides), help-desk tickets with their status machine and SLA policy,
// sales leads ([Lead], with their own status machine), the routing of
// waiting tickets and leads to agents ([PendingTicket],
// [TicketAssignment], [HeldTicket], [PendingLead], [LeadAssignment],
// [HeldLead]; the ACD channel is crmcore/dispatch), interactions (one
// record per contact attempt), and the supervisors' tools: the event log
// ([AgentEvent]) and its reports ([ReportQuery], [ReportSums] with every
// formula), quality evaluations ([QAForm], [ScoreQA], the [Evaluation]
// state machine), knowledge articles ([Article], rendered from Markdown
// with raw HTML refused and the output sanitised), call scripts
// ([Script], [Script.Walk] checking answers against the branches) and
// webhook subscriptions ([WebhookSubscription]).
//
// The package does no I/O and imports nothing of ours. It holds the rules:
// phone numbers are normalized to E.164 with [NormalizePhone]; a ticket moves
// between statuses only along the edges of its transition table
// ([TicketStatus.To]); SLA due times are computed on business hours
// ([BusinessHours.Add]); roles grant permissions ([Role.Can]); passwords are
// hashed with bcrypt and bearer tokens are random, stored only as their
// SHA-256 ([NewSessionToken], [HashToken]).
//
// The persistence and transport adapters (crmcore/pgstore, crmcore/crmapi)
// implement or consume the small repository interfaces declared here
// ([AgentStore], [SessionStore]); [Auth] is the login/verify service shared by
// the REST API and the CTI hub.
//
// Concurrency: every type here is a plain value; [Auth] is safe for concurrent
// use when its stores are.
package crmcore
