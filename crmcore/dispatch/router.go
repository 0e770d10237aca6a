package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"switchboard/acd"
	"switchboard/crmcore"
)

// Store is the CRM's side of routing: the waiting tickets and leads, and
// their assignment to the agent who accepts one.
type Store interface {
	// PendingTickets returns up to limit tickets waiting for an agent,
	// longest waiting first.
	PendingTickets(ctx context.Context, limit int) ([]crmcore.PendingTicket, error)
	// AssignRouted assigns ticket n to the agent who accepted it and
	// stores the assignment with its reasons; a ticket that no longer
	// waits gives an error wrapping crmcore.ErrConflict.
	AssignRouted(ctx context.Context, n int64, a crmcore.TicketAssignment) (crmcore.Ticket, error)
	// OpenTicketAssignees returns, of the tickets with ids, those still
	// new or open with their assignee.
	OpenTicketAssignees(ctx context.Context, ids []string) (map[string]string, error)
	// HeldTickets returns the tickets routing gave an agent that are
	// still theirs (new or open, assigned to the agent of their latest
	// routed assignment, not waiting).
	HeldTickets(ctx context.Context) ([]crmcore.HeldTicket, error)
	// PendingLeads, AssignRoutedLead, OpenLeadOwners and HeldLeads do the
	// same for sales leads (open: new or working; the owner is the
	// assignee).
	PendingLeads(ctx context.Context, limit int) ([]crmcore.PendingLead, error)
	AssignRoutedLead(ctx context.Context, id string, a crmcore.LeadAssignment) (crmcore.Lead, error)
	OpenLeadOwners(ctx context.Context, ids []string) (map[string]string, error)
	HeldLeads(ctx context.Context) ([]crmcore.HeldLead, error)
}

// Engine is the part of the ACD the Router drives (*acd.Engine).
type Engine interface {
	Submit(ctx context.Context, t acd.Task) (acd.TaskID, error)
	// Adopt registers a task an agent accepted before a restart as
	// active on them, holding their capacity.
	Adopt(ctx context.Context, t acd.Task, agent acd.AgentID) error
	Withdraw(ctx context.Context, id acd.TaskID) error
	Complete(ctx context.Context, id acd.TaskID) error
}

var _ Engine = (*acd.Engine)(nil)

// Defaults of Options.
const (
	DefaultInterval = 2 * time.Second
	DefaultBatch    = 1000
)

// Options configures a Router.
type Options struct {
	// Assign picks a waiting item's rule (acd.Config.Assign of the
	// current configuration, so that a reload applies).
	Assign func(acd.WorkItem) (acd.AssignmentRule, bool)
	// Interval is the period of Run's synchronisation (DefaultInterval).
	Interval time.Duration
	// Batch is how many waiting items of each channel one Sync reads
	// (DefaultBatch).
	Batch  int
	Logger *slog.Logger
}

// Router routes the CRM's waiting tickets and leads through the ACD (see
// the package documentation). It is the acd.ChannelAdapter of
// acd.ChannelTicket, acd.ChannelEmail (tickets that came by email) and
// acd.ChannelLead.
type Router struct {
	store  Store
	opts   Options
	log    *slog.Logger
	engine Engine // set by Attach

	mu   sync.Mutex
	live map[acd.TaskID]*task
}

// task is a ticket or lead the Router submitted to the engine.
type task struct {
	number  int64 // a ticket's number (0 for a lead)
	reasons []string
	// preferred is the agent offered the item first and preferredBy why
	// (see preferred).
	preferred   acd.AgentID
	preferredBy string
	agent       acd.AgentID
	// accepted is set once the item is assigned to agent.
	accepted bool
}

// preferAssignee is why a reopened ticket's assignee is preferred; the
// other causes are the names of acd.AssignmentRule.Prefer.
const preferAssignee = "assignee"

// preferred picks the agent an item is offered first, and why: the
// assignee of a reopened ticket (the ticket is theirs), else the first
// candidate of the rule's Preferences the item has; none ("") when it has
// none of them.
func preferred(rule acd.AssignmentRule, reopenedAssignee, accountOwner, lastAgent string) (acd.AgentID, string) {
	if reopenedAssignee != "" {
		return acd.AgentID(reopenedAssignee), preferAssignee
	}
	for _, p := range rule.Preferences() {
		var id string
		switch p {
		case acd.PreferAccountOwner:
			id = accountOwner
		case acd.PreferLastAgent:
			id = lastAgent
		}
		if id != "" {
			return acd.AgentID(id), p
		}
	}
	return "", ""
}

var _ acd.ChannelAdapter = (*Router)(nil)

// Task id prefixes: the channel, then the CRM id.
const (
	ticketPrefix = "ticket:"
	leadPrefix   = "lead:"
)

// New returns a Router over store; Attach gives it the engine, which in
// turn needs the Router as its ticket and lead channel (acd.WithChannel).
func New(store Store, opts Options) (*Router, error) {
	if store == nil || opts.Assign == nil {
		return nil, errors.New("dispatch: store and Options.Assign are required")
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Router{store: store, opts: opts, log: log, live: map[acd.TaskID]*task{}}, nil
}

// Attach sets the engine the Router submits to; call it before Run or
// Sync.
func (r *Router) Attach(e Engine) { r.engine = e }

// TicketTask is the task id of the ticket with CRM id ticketID.
func TicketTask(ticketID string) acd.TaskID { return acd.TaskID(ticketPrefix + ticketID) }

// LeadTask is the task id of the lead with CRM id leadID.
func LeadTask(leadID string) acd.TaskID { return acd.TaskID(leadPrefix + leadID) }

// Run restores the items accepted before the process started (Restore),
// then synchronises every Options.Interval until ctx ends. A failed
// Restore or Sync is logged and retried at the next tick; Sync runs even
// while Restore has not succeeded yet.
func (r *Router) Run(ctx context.Context) {
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	restored := false
	for {
		if !restored {
			err := r.Restore(ctx)
			restored = err == nil
			if err != nil && ctx.Err() == nil {
				r.log.Warn("dispatch: restoring accepted items failed", "err", err)
			}
		}
		if err := r.Sync(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("dispatch: routing sync failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sync submits every waiting ticket and lead not yet submitted, withdraws
// the submitted ones that no longer wait, and completes the accepted ones
// that are no longer open and their agent's.
func (r *Router) Sync(ctx context.Context) error {
	if r.engine == nil {
		return errors.New("dispatch: no engine attached")
	}
	tickets, err := r.store.PendingTickets(ctx, r.opts.Batch)
	if err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	leads, err := r.store.PendingLeads(ctx, r.opts.Batch)
	if err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	waiting := make(map[acd.TaskID]bool, len(tickets)+len(leads))
	for i := range tickets {
		p := &tickets[i]
		id := TicketTask(p.Ticket.ID)
		waiting[id] = true
		r.submitTicket(ctx, id, p)
	}
	for i := range leads {
		p := &leads[i]
		id := LeadTask(p.Lead.ID)
		waiting[id] = true
		r.submitLead(ctx, id, p)
	}
	// Beyond a batch the view is partial: withdraw only on a full one.
	fullView := map[string]bool{ticketPrefix: len(tickets) < r.opts.Batch, leadPrefix: len(leads) < r.opts.Batch}
	var gone []acd.TaskID
	held := map[acd.TaskID]acd.AgentID{}
	var heldTickets, heldLeads []string
	r.mu.Lock()
	for id, t := range r.live {
		prefix, crmID := split(id)
		switch {
		case t.accepted && prefix == ticketPrefix:
			held[id] = t.agent
			heldTickets = append(heldTickets, crmID)
		case t.accepted:
			held[id] = t.agent
			heldLeads = append(heldLeads, crmID)
		case fullView[prefix] && !waiting[id]:
			gone = append(gone, id)
		}
	}
	r.mu.Unlock()
	for _, id := range gone {
		if err := r.engine.Withdraw(ctx, id); err != nil {
			r.log.Debug("dispatch: withdraw", "task_id", id, "err", err)
		}
	}
	if len(held) == 0 {
		return nil
	}
	open := map[acd.TaskID]string{}
	for _, q := range []struct {
		prefix string
		ids    []string
		read   func(context.Context, []string) (map[string]string, error)
	}{{ticketPrefix, heldTickets, r.store.OpenTicketAssignees}, {leadPrefix, heldLeads, r.store.OpenLeadOwners}} {
		if len(q.ids) == 0 {
			continue
		}
		m, err := q.read(ctx, q.ids)
		if err != nil {
			return fmt.Errorf("dispatch: %w", err)
		}
		for id, agent := range m {
			open[acd.TaskID(q.prefix+id)] = agent
		}
	}
	for id, agent := range held {
		if a, ok := open[id]; ok && acd.AgentID(a) == agent {
			continue
		}
		if err := r.engine.Complete(ctx, id); err != nil {
			r.log.Debug("dispatch: complete", "task_id", id, "err", err)
		}
	}
	return nil
}

// split returns a task id's prefix (with its colon) and the CRM id.
func split(id acd.TaskID) (prefix, crmID string) {
	s := string(id)
	if rest, ok := strings.CutPrefix(s, ticketPrefix); ok {
		return ticketPrefix, rest
	}
	return leadPrefix, strings.TrimPrefix(s, leadPrefix)
}

// TicketChannel is the ACD channel a ticket is routed on: email for a
// ticket that came by email (it holds the agent's email capacity, with
// the first-response clock of email), ticket for the others.
func TicketChannel(t crmcore.Ticket) acd.Channel {
	if t.Channel == crmcore.ChannelEmail {
		return acd.ChannelEmail
	}
	return acd.ChannelTicket
}

// submitTicket hands waiting ticket p to the engine unless it is there
// already or no assignment rule matches it.
func (r *Router) submitTicket(ctx context.Context, id acd.TaskID, p *crmcore.PendingTicket) {
	if r.isLive(id) {
		return
	}
	item := acd.WorkItem{
		Channel: TicketChannel(p.Ticket), Priority: p.Ticket.Priority.String(), Group: p.Ticket.Group, Tags: p.Ticket.Tags,
		Segment: p.Segment, Language: p.Language, Country: p.Country, Reopened: p.Cause == crmcore.RouteReopened,
	}
	rule, ok := r.opts.Assign(item)
	if !ok {
		return
	}
	n, err := crmcore.ParseTicketNumber(p.Ticket.Number)
	if err != nil {
		r.log.Error("dispatch: bad ticket number", "ticket", p.Ticket.Number, "err", err)
		return
	}
	tk := &task{number: n}
	tk.preferred, tk.preferredBy = preferred(rule, p.ReopenedAssigneeID, p.AccountOwnerID, p.LastAgentID)
	r.submit(ctx, tk, rule, acd.Task{
		ID: id, Channel: TicketChannel(p.Ticket), Language: p.Language, Segment: p.Segment, Customer: p.Ticket.RequesterID,
		Geography: acd.Geography{Country: p.Country}, Region: p.Region,
		PreferredAgent: tk.preferred, Arrived: p.Since, Handle: n, Data: p,
	})
}

// submitLead hands waiting lead p to the engine unless it is there
// already or no assignment rule matches it.
func (r *Router) submitLead(ctx context.Context, id acd.TaskID, p *crmcore.PendingLead) {
	if r.isLive(id) {
		return
	}
	l := &p.Lead
	rule, ok := r.opts.Assign(acd.WorkItem{Channel: acd.ChannelLead, Priority: l.Priority.String(), Language: l.Language, Country: l.Country})
	if !ok {
		return
	}
	tk := &task{}
	tk.preferred, tk.preferredBy = preferred(rule, "", p.AccountOwnerID, p.LastAgentID)
	r.submit(ctx, tk, rule, acd.Task{
		ID: id, Channel: acd.ChannelLead, Language: l.Language, Geography: acd.Geography{E164: l.Phone, Country: l.Country},
		Region: l.Region, PreferredAgent: tk.preferred, Arrived: p.Since, Handle: l.ID, Data: p,
	})
}

func (r *Router) isLive(id acd.TaskID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.live[id]
	return ok
}

// submit queues t in rule's queue, registered first: the engine may offer
// the task before Submit returns.
func (r *Router) submit(ctx context.Context, tk *task, rule acd.AssignmentRule, t acd.Task) {
	t.Queue, t.Priority, t.Skills = rule.Queue, rule.Priority, rule.Skills
	r.mu.Lock()
	r.live[t.ID] = tk
	r.mu.Unlock()
	if _, err := r.engine.Submit(ctx, t); err != nil {
		r.mu.Lock()
		delete(r.live, t.ID)
		r.mu.Unlock()
		r.log.Warn("dispatch: not routed", "task_id", t.ID, "queue", rule.Queue, "err", err)
		return
	}
	r.log.Debug("dispatch: queued", "task_id", t.ID, "queue", rule.Queue)
}

// Offer implements acd.ChannelAdapter: it keeps the offer's routing
// reasons for the assignment, followed, when the offer goes to the
// item's preferred agent, by why they were preferred
// ("preferred=account_owner", "preferred=last_agent" or
// "preferred=assignee"): the engine's own reasons name only the sticky
// agent. The desk pops the item from the engine's CallOffered event.
func (r *Router) Offer(_ context.Context, o acd.Offer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.live[o.Call.ID]
	if t == nil {
		return fmt.Errorf("dispatch: offer of unknown task %q", o.Call.ID)
	}
	t.reasons = t.reasons[:0]
	for _, rs := range o.Reasons {
		t.reasons = append(t.reasons, fmt.Sprintf("%s=%.3g (%+.3g)", rs.Factor, rs.Value, rs.Contribution))
	}
	if t.preferredBy != "" && o.Agent == t.preferred {
		t.reasons = append(t.reasons, "preferred="+t.preferredBy)
	}
	return nil
}

// Accept implements acd.ChannelAdapter: the ticket is assigned to agent
// (the lead gets agent as its owner) with the routing reasons of the
// offer. An item that stopped waiting meanwhile (assigned or closed by
// hand) ends the task.
func (r *Router) Accept(ctx context.Context, info acd.CallInfo, agent acd.AgentID) error {
	r.mu.Lock()
	t := r.live[info.ID]
	var number int64
	var reasons []string
	if t != nil {
		number, reasons = t.number, append([]string(nil), t.reasons...)
	}
	r.mu.Unlock()
	if t == nil {
		return fmt.Errorf("dispatch: accept of unknown task %q", info.ID)
	}
	var err error
	switch prefix, crmID := split(info.ID); prefix {
	case ticketPrefix:
		_, err = r.store.AssignRouted(ctx, number, crmcore.TicketAssignment{AgentID: string(agent), Queue: info.Queue, Reasons: reasons})
	default:
		_, err = r.store.AssignRoutedLead(ctx, crmID, crmcore.LeadAssignment{AgentID: string(agent), Queue: info.Queue, Reasons: reasons})
	}
	if err != nil {
		r.log.Warn("dispatch: accepted item not assigned", "task_id", info.ID, "agent_id", agent, "err", err)
		if werr := r.engine.Withdraw(ctx, info.ID); werr != nil {
			r.log.Debug("dispatch: withdraw", "task_id", info.ID, "err", werr)
		}
		return err
	}
	r.mu.Lock()
	t.agent, t.accepted = agent, true
	r.mu.Unlock()
	r.log.Info("dispatch: assigned", "task_id", info.ID, "agent_id", agent, "queue", info.Queue)
	return nil
}

// End implements acd.ChannelAdapter: the Router forgets the task; an item
// that still waits is submitted again by the next Sync.
func (r *Router) End(_ context.Context, info acd.CallInfo, _ acd.Outcome) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.live, info.ID)
	return nil
}
