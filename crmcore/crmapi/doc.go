// Package crmapi is the REST/JSON interface of the CRM under /api/v1:
// sessions (bearer tokens), contacts (CRUD, search, CSV import and
// export), accounts (read by every role; created and updated, with the
// agent who owns them, by supervisors and admins), tickets (CRUD, filters,
// status transitions, comments, audit trail, routed assignments with
// their reasons), leads, interactions (filtered listing, CSV export),
// agents (admin-only management, per-channel capacity; see
// [WithChannels]) and the caller lookup used by the screen pop. Options
// add the email channel ([WithEmail]), chats ([WithChats]), call
// recordings ([WithRecordings]), call scripts and their answers
// ([WithScripts]), quality evaluations ([WithQuality]), the knowledge base
// with its public search for the chat widget ([WithKnowledge]), webhooks
// ([WithWebhooks]), historical reports ([WithReports]), scheduled
// callbacks ([WithCallbacks]), outbound campaigns run by the dialer
// ([WithCampaigns]) and the do-not-call list ([WithDNC]); without its
// option a group's endpoints answer 404. The OpenAPI 3 description is
// served at /api/v1/openapi.json; the package's tests check every request
// and response against it.
//
// Every endpoint except POST /api/v1/sessions and the OpenAPI document needs
// "Authorization: Bearer <token>" and checks the caller's role against the
// permission it needs (crmcore.Role.Can). Errors are always JSON:
//
//	{"error": {"code": "invalid_argument", "message": "…", "field": "phones[0]"}}
//
// with 400 for bad input (including an invalid phone number, whose message
// says why, and a reference to a missing record, such as an account owner
// who is no agent, naming the field), 401, 403, 404, 405, 409 (duplicates and refused ticket
// transitions, which list the allowed next states), 413 for bodies over the
// cap and 415 for the wrong content type. Bad input never yields a 500.
//
// The handler reaches storage only through the interfaces declared here
// ([ContactStore], [TicketStore], [InteractionStore], [AgentStore],
// [LeadStore], [Authenticator]); it does not import the PostgreSQL adapter. It holds no
// state of its own and is safe for concurrent use.
package crmapi
