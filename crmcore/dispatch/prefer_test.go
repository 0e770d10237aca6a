package dispatch_test

import (
	"slices"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/crmcore"
	"switchboard/crmcore/dispatch"
	"switchboard/crmcore/pgstore"
)

// account creates an account at domain owned by owner (a login).
func (e *env) account(name, domain, owner string) crmcore.Account {
	e.t.Helper()
	a, err := crmcore.NewAccount(crmcore.AccountInput{Name: name, Domain: domain, OwnerID: e.agents[owner]})
	if err != nil {
		e.t.Fatal(err)
	}
	if a, err = e.store.CreateAccount(e.ctx, a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// customerTicket creates a ticket in group requested by a new contact of
// account who last spoke with lastAgent (a login) on the phone.
func (e *env) customerTicket(subject, group string, account crmcore.Account, lastAgent string) crmcore.Ticket {
	e.t.Helper()
	c, err := crmcore.NewContact(crmcore.ContactInput{Name: "Requester of " + subject, AccountID: account.ID, Language: "en"}, "US")
	if err != nil {
		e.t.Fatal(err)
	}
	if c, err = e.store.CreateContact(e.ctx, c); err != nil {
		e.t.Fatal(err)
	}
	w, err := pgstore.NewWriter(e.store.Pool(), e.t.TempDir())
	if err != nil {
		e.t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour).UTC()
	end := at.Add(5 * time.Minute)
	in := crmcore.Interaction{ID: crmcore.NewID(), CallID: "call-" + c.ID, Direction: crmcore.Inbound, Channel: crmcore.ChannelPhone,
		ANI: "+14155550100", DNIS: "+18005550100", ContactID: c.ID, AgentID: e.agents[lastAgent], Queue: "support",
		ArrivedAt: at, QueuedAt: &at, AnsweredAt: &at, EndedAt: &end, Outcome: crmcore.OutcomeAnswered}
	if err := w.Write(e.ctx, in); err != nil {
		e.t.Fatal(err)
	}
	if err := w.Close(e.ctx); err != nil { // returns once the record is committed
		e.t.Fatal(err)
	}
	nt, err := crmcore.NewTicket(crmcore.TicketInput{Subject: subject, Channel: crmcore.ChannelWeb, RequesterID: c.ID, Group: group},
		e.store.SLAPolicy(), time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	tk, err := e.store.CreateTicket(e.ctx, "", nt)
	if err != nil {
		e.t.Fatal(err)
	}
	return tk
}

// TestPreferredAgentByRule: a new ticket is offered first to the agent
// its assignment rule prefers — by default the owner of the requester's
// account even when another agent spoke with the requester last, the
// last agent with prefer [last_agent], nobody with [none] — over an agent
// the queue ranks higher; the assignment's reasons say why.
func TestPreferredAgentByRule(t *testing.T) {
	tests := []struct {
		name, group      string
		owner, last      int // support levels; "top" has 5
		want, wantReason string
	}{
		{"account owner first by default", "", 1, 2, "owner", "preferred=account_owner"},
		{"last agent by the rule", "renewals", 2, 1, "last", "preferred=last_agent"},
		{"no preferred agent", "pool", 2, 2, "top", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.agent("owner", tt.owner, []string{"en"}, nil)
			e.agent("last", tt.last, []string{"en"}, nil)
			e.agent("top", 5, []string{"en"}, nil)
			tk := e.customerTicket("Renewal", tt.group, e.account("Acme", "acme.example", "owner"), "last")
			e.sync()
			o := e.offered(tk)
			if o.Agent != acd.AgentID(e.agents[tt.want]) {
				t.Fatalf("offered to %s with %v, want %s", o.Agent, factors(o.Reasons), tt.want)
			}
			pop := o.Call.Data.(*crmcore.PendingTicket)
			if pop.AccountOwnerID != e.agents["owner"] || pop.LastAgentID != e.agents["last"] {
				t.Errorf("pop candidates = owner %s, last %s; want %s, %s", pop.AccountOwnerID, pop.LastAgentID, e.agents["owner"], e.agents["last"])
			}
			e.accept(tt.want, tk)
			n, _ := crmcore.ParseTicketNumber(tk.Number)
			as, err := e.store.TicketAssignments(e.ctx, n)
			if err != nil || len(as) != 1 {
				t.Fatalf("assignments = %+v, %v; want one", as, err)
			}
			preferred := slices.IndexFunc(as[0].Reasons, func(r string) bool { return len(r) > 10 && r[:10] == "preferred=" })
			switch {
			case tt.wantReason == "" && preferred >= 0:
				t.Errorf("reasons %q name a preferred agent, want none", as[0].Reasons)
			case tt.wantReason != "" && !slices.Contains(as[0].Reasons, tt.wantReason):
				t.Errorf("reasons %q, want %q among them", as[0].Reasons, tt.wantReason)
			}
		})
	}
}

// TestReopenedAssigneeBeforeAccountOwner: a ticket the customer reopens
// goes back to its assignee first, even though its rule prefers the
// account owner and the account now has one.
func TestReopenedAssigneeBeforeAccountOwner(t *testing.T) {
	e := newEnv(t)
	e.agent("owner", 1, []string{"en"}, nil)
	e.agent("assignee", 5, []string{"en"}, nil)
	acme := e.account("Acme", "acme.example", "")
	tk := e.customerTicket("Refund", "", acme, "assignee")
	e.sync()
	if o := e.offered(tk); o.Agent != acd.AgentID(e.agents["assignee"]) {
		t.Fatalf("new ticket offered to %s, want the last agent", o.Agent)
	}
	e.accept("assignee", tk)
	acme.OwnerID = e.agents["owner"]
	if _, err := e.store.UpdateAccount(e.ctx, acme.ID, acme); err != nil {
		t.Fatal(err)
	}
	n, _ := crmcore.ParseTicketNumber(tk.Number)
	if _, err := e.store.TransitionTicket(e.ctx, e.agents["assignee"], n, crmcore.StatusSolved); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if _, err := e.store.TransitionTicket(e.ctx, "", n, crmcore.StatusOpen); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if o := e.offered(tk); o.Agent != acd.AgentID(e.agents["assignee"]) {
		t.Fatalf("reopened ticket offered to %s, want its assignee", o.Agent)
	}
	e.accept("assignee", tk)
	as, err := e.store.TicketAssignments(e.ctx, n)
	if err != nil || len(as) != 2 || !slices.Contains(as[1].Reasons, "preferred=assignee") {
		t.Errorf("assignments = %+v, %v; want a second one with preferred=assignee", as, err)
	}
}

// TestLeadToAccountOwnerByDomain: a lead whose email is at an account's
// domain (in any case) goes to the account's owner first, over an agent
// who speaks the lead's language.
func TestLeadToAccountOwnerByDomain(t *testing.T) {
	e := newEnv(t)
	sales := crmcore.Skill{Name: "sales", Level: 1}
	e.agent("owner", 1, []string{"en"}, nil, sales)
	e.agent("speaker", 1, []string{"es"}, nil, sales)
	e.account("Acme", "acme.example", "owner")
	lead, err := crmcore.NewLead(crmcore.LeadInput{Name: "Pedro", Email: "Pedro@ACME.Example", Language: "es"}, "US", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if lead, err = e.store.CreateLead(e.ctx, lead); err != nil {
		t.Fatal(err)
	}
	e.sync()
	o := e.offeredTask(dispatch.LeadTask(lead.ID))
	if o.Agent != acd.AgentID(e.agents["owner"]) {
		t.Fatalf("lead offered to %s with %v, want the account owner", o.Agent, factors(o.Reasons))
	}
	if err := e.engine.Accept(e.ctx, o.Agent, o.Call.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "lead owned by the account owner", func() bool {
		l, err := e.store.GetLead(e.ctx, lead.ID)
		return err == nil && l.OwnerID == e.agents["owner"]
	})
	if as, err := e.store.LeadAssignments(e.ctx, lead.ID); err != nil || len(as) != 1 || !slices.Contains(as[0].Reasons, "preferred=account_owner") {
		t.Errorf("assignments = %+v, %v; want one with preferred=account_owner", as, err)
	}
}
