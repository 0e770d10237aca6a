// Package dispatch is the CRM's channel of the ACD: it routes the work
// that waits in the CRM for an agent — help-desk tickets (new ones nobody
// is assigned to, and solved ones the customer reopened) and sales leads
// that arrived without an owner — through the engine as tasks of channels
// "ticket" and "lead", so they reach agents by the same rules and capacity
// as calls and chats.
//
// It is a channel adapter: it imports the core (crmcore, acd) and no other
// adapter; the PostgreSQL store satisfies its Store interface and
// cmd/switchboard wires the two. It lives beside the CRM, as the
// architecture places each channel with its domain.
//
// # Flow
//
// The CRM keeps the queues of waiting items (Store.PendingTickets,
// Store.PendingLeads): a ticket enters when created unassigned or
// reopened, and leaves when an agent accepts it or someone assigns,
// solves or closes it by hand; a lead enters when created without an
// owner and leaves when accepted or closed. Router.Sync, run every
// Options.Interval by Router.Run, submits each waiting item once
// (Engine.Submit) to the queue of the first matching assignment rule
// (acd.Config.Assignment, matched on channel, priority, a ticket's group
// and tags, the customer's segment, language and country, and whether the
// ticket was reopened), with the customer's language, segment and
// geography, the item's place in the queue (the time it started waiting)
// and its preferred agent, whom the engine offers it to first (the sticky
// agent). An item no rule matches stays waiting in the CRM, unrouted.
//
// # Preferred agent
//
// The store gives each waiting item its candidates: the owner of the
// customer's account (for a ticket, the requester's account; for a lead,
// the account whose domain is the lead's email domain) and the customer's
// last agent (for a ticket, the agent of the requester's latest
// interaction; for a lead, that of the contacts with the lead's phone
// number or email). The matching rule's acd.AssignmentRule.Prefer order
// picks the first candidate the item has (by default the account owner,
// then the last agent; prefer: [none] turns it off); the assignee of a reopened
// ticket always comes first, as the ticket is theirs. The engine's
// reasons name such an offer "sticky" only, so the Router adds why to the
// reasons it stores with the assignment: "preferred=assignee",
// "preferred=account_owner" or "preferred=last_agent". There is one
// preferred agent per item: when they are not logged in, the item is
// routed as if it had none, not to the next candidate.
//
// The engine offers the task to the best agent with free capacity on its
// channel; the desk pops it (CallOffered carries the crmcore.PendingTicket
// or crmcore.PendingLead as its data). When the agent accepts
// (Engine.Accept), the engine tells the Router (Accept), which assigns
// the item to the agent in the CRM with the routing decision's reasons
// (Store.AssignRouted, Store.AssignRoutedLead): a new ticket opens, and
// the assignment is kept with its reasons. The task then holds one unit
// of the agent's capacity on its channel for as long as the item stays
// open and theirs: Sync completes it (Engine.Complete) once the ticket is
// solved, pending, closed or reassigned, or the lead leaves new and
// working. A waiting item that leaves the CRM's queue by hand is
// withdrawn from the engine.
//
// # Concurrency
//
// The engine calls Offer, Accept and End from its own goroutines; Sync
// and Restore run on the caller's. The Router's state (the items it
// submitted or adopted) is guarded by one mutex that is never held across
// a call to the engine or the store.
//
// # Restart
//
// Items are only in memory while routed, so a restart begins with
// Router.Restore, which Run calls before its first Sync (and again at
// each tick until it succeeds): the items routing gave agents that are
// still theirs (Store.HeldTickets, Store.HeldLeads: new or open tickets
// and new or working leads whose assignee is the agent of their latest
// routed assignment) are adopted into the engine (Engine.Adopt) under
// their task ids, as active on their agents in the queue of their
// assignment, whether or not the agents are logged in yet. They hold
// capacity again and Sync completes them as it does items accepted since.
// Waiting items are submitted again with their original place.
package dispatch
