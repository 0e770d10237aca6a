package dispatch_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/crmcore"
	"switchboard/crmcore/dispatch"
	"switchboard/crmcore/pgcluster/pgtest"
	"switchboard/crmcore/pgstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// The urgent tier needs level 4; both queues rank by skill level, then
// language; round robin (fairness) breaks ties.
const routingYAML = `
queues:
  - name: support
    skills: [{skill: support, level: 1}]
    strategy: top-skill
  - name: support-t2
    skills: [{skill: support, level: 4}]
    strategy: top-skill
    weights: {language: 500}
  - name: sales
    strategy: round-robin
    weights: {language: 500}
assignment:
  - match: {channel: ticket, priority: urgent}
    queue: support-t2
  - match: {channel: ticket, group: renewals}
    queue: support
    prefer: [last_agent]
  - match: {channel: ticket, group: pool}
    queue: support
    prefer: [none]
  - match: {channel: ticket}
    queue: support
  - match: {channel: lead}
    queue: sales
    skills: [{skill: sales, level: 1}]
  - match: {channel: email}
    queue: support
`

type env struct {
	t      *testing.T
	ctx    context.Context
	store  *pgstore.Store
	engine *acd.Engine
	router *dispatch.Router
	events <-chan acd.Event
	agents map[string]string        // login → CRM id
	specs  map[string]acd.AgentSpec // login → what the engine was told
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	pool, err := pgstore.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, store: pgstore.New(pool), agents: map[string]string{}, specs: map[string]acd.AgentSpec{}}
	e.start()
	return e
}

// start builds a router and an engine over e's store, as the process
// does at its start, and follows the engine's events.
func (e *env) start() {
	t, ctx := e.t, e.ctx
	t.Helper()
	cfg, err := acd.ParseConfig([]byte(routingYAML))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.router, err = dispatch.New(e.store, dispatch.Options{Assign: cfg.Assign, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	phone := acdtest.NewPhone()
	engine, err := acd.New(cfg, phone, phone, acd.WithClock(acdtest.NewClock(time.Now())), acd.WithLogger(quiet),
		acd.WithChannel(acd.ChannelTicket, e.router), acd.WithChannel(acd.ChannelEmail, e.router), acd.WithChannel(acd.ChannelLead, e.router))
	if err != nil {
		t.Fatal(err)
	}
	e.engine = engine
	t.Cleanup(func() { engine.Close() })
	e.router.Attach(e.engine)
	sub, _, err := e.engine.Subscribe(ctx, acd.SubscribeOptions{Name: "test", Buffer: 10000})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan acd.Event, 10000)
	go func() {
		defer close(events)
		var buf []acd.Event
		for range sub.Ready() {
			var open bool
			buf, open = sub.Take(buf[:0])
			for _, ev := range buf {
				events <- ev
			}
			if !open {
				return
			}
		}
	}()
	t.Cleanup(sub.Close)
	e.events = events
}

// agent creates a CRM agent with a support level and other skills, and
// logs them in, ready, as the wiring does.
func (e *env) agent(login string, support int, langs []string, capacity map[string]int, skills ...crmcore.Skill) {
	e.t.Helper()
	a, err := crmcore.NewAgent(crmcore.AgentInput{Login: login, Password: "pw12345", Languages: langs,
		Skills: append([]crmcore.Skill{{Name: "support", Level: support}}, skills...), Capacity: capacity}, true)
	if err != nil {
		e.t.Fatal(err)
	}
	if a, err = e.store.CreateAgent(e.ctx, a); err != nil {
		e.t.Fatal(err)
	}
	e.agents[login] = a.ID
	spec := acd.AgentSpec{ID: acd.AgentID(a.ID), Name: login, Languages: langs, Ready: true, Capacity: map[acd.Channel]int{}}
	for _, s := range a.Skills {
		spec.Skills = append(spec.Skills, acd.SkillLevel{Skill: s.Name, Level: s.Level})
	}
	for ch, n := range a.Capacity {
		spec.Capacity[acd.Channel(ch)] = n
	}
	e.specs[login] = spec
	e.login(login)
}

// login logs an agent created by agent into the engine, ready.
func (e *env) login(login string) {
	e.t.Helper()
	if err := e.engine.Login(e.ctx, e.specs[login]); err != nil {
		e.t.Fatal(err)
	}
}

// ticket creates a ticket requested by a new contact speaking lang.
func (e *env) ticket(subject string, prio crmcore.Priority, lang, assignee string) crmcore.Ticket {
	e.t.Helper()
	return e.ticketOn(crmcore.ChannelWeb, subject, prio, lang, assignee)
}

// ticketOn creates a waiting ticket that came by channel.
func (e *env) ticketOn(channel crmcore.Channel, subject string, prio crmcore.Priority, lang, assignee string) crmcore.Ticket {
	e.t.Helper()
	c, err := crmcore.NewContact(crmcore.ContactInput{Name: "Requester of " + subject, Language: lang}, "US")
	if err != nil {
		e.t.Fatal(err)
	}
	if c, err = e.store.CreateContact(e.ctx, c); err != nil {
		e.t.Fatal(err)
	}
	nt, err := crmcore.NewTicket(crmcore.TicketInput{Subject: subject, Priority: prio, Channel: channel,
		RequesterID: c.ID, AssigneeID: assignee}, e.store.SLAPolicy(), time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	tk, err := e.store.CreateTicket(e.ctx, "", nt)
	if err != nil {
		e.t.Fatal(err)
	}
	return tk
}

func (e *env) sync() {
	e.t.Helper()
	if err := e.router.Sync(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// offered waits for the engine to offer ticket tk and returns the offer.
func (e *env) offered(tk crmcore.Ticket) *acd.CallOffered {
	e.t.Helper()
	return e.offeredTask(dispatch.TicketTask(tk.ID))
}

// offeredTask waits for the engine to offer task id and returns the offer.
func (e *env) offeredTask(id acd.TaskID) *acd.CallOffered {
	e.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-e.events:
			if o, ok := ev.(*acd.CallOffered); ok && o.Call.ID == id {
				return o
			}
		case <-timeout:
			e.t.Fatalf("task %s was not offered", id)
			return nil
		}
	}
}

// accept accepts tk's task as login and waits until the CRM stores the
// assignment.
func (e *env) accept(login string, tk crmcore.Ticket) crmcore.Ticket {
	e.t.Helper()
	n, _ := crmcore.ParseTicketNumber(tk.Number)
	before, err := e.store.TicketAssignments(e.ctx, n)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.engine.Accept(e.ctx, acd.AgentID(e.agents[login]), dispatch.TicketTask(tk.ID)); err != nil {
		e.t.Fatalf("accept %s: %v", tk.Number, err)
	}
	eventually(e.t, tk.Number+" assigned to "+login, func() bool {
		as, err := e.store.TicketAssignments(e.ctx, n)
		return err == nil && len(as) == len(before)+1 && as[len(as)-1].AgentID == e.agents[login]
	})
	got, err := e.store.GetTicket(e.ctx, n)
	if err != nil || got.AssigneeID != e.agents[login] {
		e.t.Fatalf("%s = %+v, %v; want it assigned to %s", tk.Number, got, err, login)
	}
	return got
}

// held returns the tickets' task ids an agent holds, from a snapshot.
func (e *env) held(login string) []acd.TaskID {
	e.t.Helper()
	snap, err := e.engine.Snapshot(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []acd.TaskID
	for _, a := range snap.Agents {
		if a.ID == acd.AgentID(e.agents[login]) {
			for _, t := range a.Tasks {
				ids = append(ids, t.ID)
			}
		}
	}
	return ids
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting: %s", what)
}

func factors(rs []acd.Reason) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Factor)
	}
	return out
}

// TestEmailTicketOnEmailChannel: a ticket that came by email is routed on
// the email channel, by the rules for email, and holds the agent's email
// capacity (not their ticket capacity) once accepted.
func TestEmailTicketOnEmailChannel(t *testing.T) {
	e := newEnv(t)
	e.agent("ann", 5, []string{"en"}, map[string]int{"ticket": 0, "email": 1})
	mail := e.ticketOn(crmcore.ChannelEmail, "Invoice question", crmcore.PriorityNormal, "en", "")
	e.sync()
	o := e.offered(mail)
	if o.Agent != acd.AgentID(e.agents["ann"]) || o.Call.Queue != "support" || o.Call.Channel != acd.ChannelEmail {
		t.Fatalf("offer to %s in %q on %s, want ann in support on email", o.Agent, o.Call.Queue, o.Call.Channel)
	}
	if got := e.accept("ann", mail); got.AssigneeID != e.agents["ann"] {
		t.Errorf("accepted email ticket assignee = %q, want ann", got.AssigneeID)
	}
}

// TestTicketRoutedByRules: waiting tickets reach agents by the assignment
// rules and the queues' routing (skills, language, capacity, the
// preferred agent), pop with their ticket, and are assigned with the
// routing reasons when accepted.
func TestTicketRoutedByRules(t *testing.T) {
	e := newEnv(t)
	e.agent("ann", 5, []string{"en"}, nil)
	e.agent("ben", 2, []string{"es"}, nil)
	e.agent("carl", 5, []string{"es"}, map[string]int{"ticket": 1})

	// An urgent ticket goes to the level-4 tier: of ann and carl, carl
	// speaks the requester's language.
	urgent := e.ticket("Outage", crmcore.PriorityUrgent, "es", "")
	e.sync()
	o := e.offered(urgent)
	if o.Agent != acd.AgentID(e.agents["carl"]) || o.Call.Queue != "support-t2" || o.Call.Channel != acd.ChannelTicket {
		t.Fatalf("offer to %s in %q on %s, want carl in support-t2 on ticket", o.Agent, o.Call.Queue, o.Call.Channel)
	}
	if !slices.Contains(factors(o.Reasons), "language") {
		t.Errorf("reasons %v do not name the language", factors(o.Reasons))
	}
	if pop, ok := o.Call.Data.(*crmcore.PendingTicket); !ok || pop.Ticket.Number != urgent.Number || pop.Cause != crmcore.RouteNew {
		t.Errorf("pop data = %#v, want the pending ticket %s", o.Call.Data, urgent.Number)
	}
	got := e.accept("carl", urgent)
	if got.Status != crmcore.StatusOpen {
		t.Errorf("accepted ticket status = %s, want open", got.Status)
	}
	n, _ := crmcore.ParseTicketNumber(urgent.Number)
	as, err := e.store.TicketAssignments(e.ctx, n)
	if err != nil || len(as) != 1 {
		t.Fatalf("assignments = %+v, %v; want one", as, err)
	}
	if a := as[0]; a.AgentID != e.agents["carl"] || a.Queue != "support-t2" || a.Cause != crmcore.RouteNew ||
		!slices.ContainsFunc(a.Reasons, func(r string) bool { return strings.HasPrefix(r, "language=") }) {
		t.Errorf("assignment = %+v, want carl in support-t2 with the language among the reasons", a)
	}

	// carl holds one ticket, his capacity: the next Spanish urgent ticket
	// goes to ann.
	urgent2 := e.ticket("Outage again", crmcore.PriorityUrgent, "es", "")
	e.sync()
	if o := e.offered(urgent2); o.Agent != acd.AgentID(e.agents["ann"]) {
		t.Fatalf("second urgent ticket offered to %s, want ann (carl is at capacity)", o.Agent)
	}
	e.accept("ann", urgent2)

	// Solving carl's ticket frees his capacity at the next sync.
	if _, err := e.store.TransitionTicket(e.ctx, e.agents["carl"], n, crmcore.StatusSolved); err != nil {
		t.Fatal(err)
	}
	e.sync()
	eventually(t, "carl's task completed", func() bool { return len(e.held("carl")) == 0 })

	// The customer reopens it: it is routed again, to carl first as its
	// assignee (the sticky agent).
	if _, err := e.store.TransitionTicket(e.ctx, "", n, crmcore.StatusOpen); err != nil {
		t.Fatal(err)
	}
	e.sync()
	o = e.offered(urgent)
	if o.Agent != acd.AgentID(e.agents["carl"]) || !slices.Contains(factors(o.Reasons), "sticky") {
		t.Fatalf("reopened ticket offered to %s with %v, want carl as the sticky agent", o.Agent, factors(o.Reasons))
	}
	e.accept("carl", urgent)
	if as, _ := e.store.TicketAssignments(e.ctx, n); len(as) != 2 || as[1].Cause != crmcore.RouteReopened {
		t.Errorf("assignments after the reopen = %+v, want a second one, reopened", as)
	}

	// A normal ticket goes to the general queue.
	normal := e.ticket("Question", crmcore.PriorityNormal, "en", "")
	e.sync()
	if o := e.offered(normal); o.Call.Queue != "support" {
		t.Errorf("normal ticket in queue %q, want support", o.Call.Queue)
	}
}

// TestTicketAssignedByHandIsWithdrawn: a waiting ticket assigned by hand
// leaves the engine's queue; one assigned from the start is never routed.
func TestTicketAssignedByHandIsWithdrawn(t *testing.T) {
	e := newEnv(t)
	byHand := e.ticket("Billing", crmcore.PriorityNormal, "en", "")
	e.sync() // no agent: the task waits
	e.agent("ann", 3, []string{"en"}, map[string]int{"ticket": 0})
	assigned := e.ticket("Already assigned", crmcore.PriorityNormal, "en", e.agents["ann"])
	snap, err := e.engine.Snapshot(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Calls) != 1 || snap.Calls[0].Call.ID != dispatch.TicketTask(byHand.ID) {
		t.Fatalf("engine tasks = %+v, want only %s waiting", snap.Calls, byHand.Number)
	}
	n, _ := crmcore.ParseTicketNumber(byHand.Number)
	ann := e.agents["ann"]
	if _, err := e.store.UpdateTicket(e.ctx, ann, n, crmcore.TicketPatch{AssigneeID: &ann}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	eventually(t, "the ticket withdrawn", func() bool {
		snap, err := e.engine.Snapshot(e.ctx)
		return err == nil && len(snap.Calls) == 0
	})
	if ps, err := e.store.PendingTickets(e.ctx, 10); err != nil || len(ps) != 0 {
		t.Errorf("pending = %+v, %v; want none (%s assigned by hand, %s from the start)", ps, err, byHand.Number, assigned.Number)
	}
}

// TestLeadRoutedByRules: a lead without an owner is routed by the lead
// rule to an agent with the queue's skill who speaks the lead's language,
// pops with the lead, and its acceptance makes the agent the owner, with
// the reasons kept; closing the lead frees the agent's lead capacity.
func TestLeadRoutedByRules(t *testing.T) {
	e := newEnv(t)
	sales := crmcore.Skill{Name: "sales", Level: 3}
	e.agent("ann", 1, []string{"en"}, nil, sales)
	e.agent("ben", 1, []string{"es"}, map[string]int{"lead": 1}, sales)
	e.agent("carl", 5, []string{"es"}, nil) // no sales skill
	lead, err := crmcore.NewLead(crmcore.LeadInput{Name: "Pedro", Company: "Acme", Language: "es", Phone: "+34911234567"}, "US", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if lead, err = e.store.CreateLead(e.ctx, lead); err != nil {
		t.Fatal(err)
	}
	e.sync()
	o := e.offeredTask(dispatch.LeadTask(lead.ID))
	if o.Agent != acd.AgentID(e.agents["ben"]) || o.Call.Queue != "sales" || o.Call.Channel != acd.ChannelLead {
		t.Fatalf("lead offered to %s in %q on %s, want ben in sales on lead", o.Agent, o.Call.Queue, o.Call.Channel)
	}
	if pop, ok := o.Call.Data.(*crmcore.PendingLead); !ok || pop.Lead.ID != lead.ID {
		t.Errorf("pop data = %#v, want the pending lead", o.Call.Data)
	}
	if err := e.engine.Accept(e.ctx, o.Agent, o.Call.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "lead owned by ben", func() bool {
		l, err := e.store.GetLead(e.ctx, lead.ID)
		return err == nil && l.OwnerID == e.agents["ben"]
	})
	as, err := e.store.LeadAssignments(e.ctx, lead.ID)
	if err != nil || len(as) != 1 || as[0].Queue != "sales" ||
		!slices.ContainsFunc(as[0].Reasons, func(r string) bool { return strings.HasPrefix(r, "language=") }) {
		t.Errorf("assignments = %+v, %v; want one in sales with the language among the reasons", as, err)
	}

	// ben's lead capacity is 1: a second Spanish lead goes to ann.
	second, _ := crmcore.NewLead(crmcore.LeadInput{Name: "Lucía", Language: "es"}, "US", time.Now())
	if second, err = e.store.CreateLead(e.ctx, second); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if o := e.offeredTask(dispatch.LeadTask(second.ID)); o.Agent != acd.AgentID(e.agents["ann"]) {
		t.Fatalf("second lead offered to %s, want ann (ben is at capacity)", o.Agent)
	}
	if _, err := e.store.TransitionLead(e.ctx, lead.ID, crmcore.LeadDisqualified); err != nil {
		t.Fatal(err)
	}
	e.sync()
	eventually(t, "ben's lead task completed", func() bool { return len(e.held("ben")) == 0 })
}
