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
// and, for a ticket, its preferred agent (the assignee of a reopened
// ticket, or the requester's last agent), whom the engine offers it to
// first. An item no rule matches stays waiting in the CRM, unrouted.
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
// runs on the caller's. The Router's state (the items it submitted) is
// guarded by one mutex that is never held across a call to the engine or
// the store. Items are only in memory while submitted: after a restart,
// waiting items are submitted again with their original place, and items
// already accepted no longer count toward capacity.
package dispatch
