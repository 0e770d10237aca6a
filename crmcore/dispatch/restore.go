package dispatch

import (
	"context"
	"errors"
	"fmt"

	"switchboard/acd"
	"switchboard/crmcore"
)

// Restore adopts into the engine the tickets and leads routing gave
// agents before this process started and that are still theirs
// (Store.HeldTickets, Store.HeldLeads), each under its task id
// (TicketTask, LeadTask) in the queue of its assignment: they hold their
// agents' capacity again, whether or not the agents are logged in yet,
// and Sync completes them as it does the items accepted since. Items the
// Router already has are skipped, so Restore may be called again after a
// failure; an item the engine refuses (its queue is gone) is logged and
// left out. Run calls Restore before its first Sync; a caller that drives
// Sync itself calls Restore first.
func (r *Router) Restore(ctx context.Context) error {
	if r.engine == nil {
		return errors.New("dispatch: no engine attached")
	}
	tickets, err := r.store.HeldTickets(ctx)
	if err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	leads, err := r.store.HeldLeads(ctx)
	if err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	adopted := 0
	for i := range tickets {
		h := &tickets[i]
		n, err := crmcore.ParseTicketNumber(h.Ticket.Number)
		if err != nil {
			r.log.Error("dispatch: bad ticket number", "ticket", h.Ticket.Number, "err", err)
			continue
		}
		a := &h.Assignment
		if r.adopt(ctx, &task{number: n}, acd.AgentID(a.AgentID), acd.Task{
			ID: TicketTask(h.Ticket.ID), Channel: TicketChannel(h.Ticket), Queue: a.Queue, Customer: h.Ticket.RequesterID,
			Arrived: a.QueuedAt, Handle: n, Data: h,
		}) {
			adopted++
		}
	}
	for i := range leads {
		h := &leads[i]
		a, l := &h.Assignment, &h.Lead
		if r.adopt(ctx, &task{}, acd.AgentID(a.AgentID), acd.Task{
			ID: LeadTask(l.ID), Channel: acd.ChannelLead, Queue: a.Queue, Language: l.Language,
			Geography: acd.Geography{E164: l.Phone, Country: l.Country}, Region: l.Region, Arrived: a.QueuedAt, Handle: l.ID, Data: h,
		}) {
			adopted++
		}
	}
	r.log.Info("dispatch: accepted items restored", "tickets", len(tickets), "leads", len(leads), "adopted", adopted)
	return nil
}

// adopt registers tk, accepted by agent, and hands t to the engine as
// already active on them; it reports whether it did. An item the Router
// already has is left as it is.
func (r *Router) adopt(ctx context.Context, tk *task, agent acd.AgentID, t acd.Task) bool {
	tk.agent, tk.accepted = agent, true
	r.mu.Lock()
	if _, ok := r.live[t.ID]; ok {
		r.mu.Unlock()
		return false
	}
	r.live[t.ID] = tk
	r.mu.Unlock()
	if err := r.engine.Adopt(ctx, t, agent); err != nil {
		r.mu.Lock()
		if r.live[t.ID] == tk {
			delete(r.live, t.ID)
		}
		r.mu.Unlock()
		r.log.Warn("dispatch: accepted item not restored", "task_id", t.ID, "agent_id", agent, "queue", t.Queue, "err", err)
		return false
	}
	return true
}
