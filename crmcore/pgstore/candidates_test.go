package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/crmcore"
)

// candidates are a waiting item's preferred-agent candidates.
type candidates struct{ Reopened, Owner, Last string }

// TestPreferredAgentCandidates: a waiting ticket carries its requester's
// account owner and last agent; a waiting lead the owner of the account
// of its email domain (any case) and the last agent of the contact with
// its phone number or email.
func TestPreferredAgentCandidates(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	owner, last := testAgent(t, s, "owner"), testAgent(t, s, "last")
	acme, err := s.CreateAccount(ctx, crmcore.Account{Name: "Acme", Domain: "acme.example", OwnerID: owner})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccount(ctx, crmcore.Account{Name: "Unowned", Domain: "unowned.example"}); err != nil {
		t.Fatal(err)
	}
	c, err := crmcore.NewContact(crmcore.ContactInput{Name: "Olivia", AccountID: acme.ID, Emails: []string{"olivia@mail.example"},
		Phones: []crmcore.PhoneInput{{Number: "+14155550100"}}}, "US")
	if err != nil {
		t.Fatal(err)
	}
	if c, err = s.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	in := crmcore.Interaction{ID: crmcore.NewID(), CallID: "call-1@test", Direction: crmcore.Inbound, Channel: crmcore.ChannelPhone,
		ContactID: c.ID, AgentID: last, Queue: "support", ArrivedAt: time.Now().Add(-time.Hour), Outcome: crmcore.OutcomeAnswered}
	if _, err := pool.Exec(ctx, insertInteractionSQL, interactionRow(&in, "")...); err != nil {
		t.Fatal(err)
	}

	nt, err := crmcore.NewTicket(crmcore.TicketInput{Subject: "Help", Channel: crmcore.ChannelEmail, RequesterID: c.ID}, s.SLAPolicy(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTicket(ctx, "", nt); err != nil {
		t.Fatal(err)
	}
	ps, err := s.PendingTickets(ctx, 10)
	if err != nil || len(ps) != 1 {
		t.Fatalf("pending tickets = %+v, %v; want one", ps, err)
	}
	if diff := cmp.Diff(candidates{Owner: owner, Last: last}, candidates{ps[0].ReopenedAssigneeID, ps[0].AccountOwnerID, ps[0].LastAgentID}); diff != "" {
		t.Errorf("ticket candidates (-want +got):\n%s", diff)
	}

	leads := []struct {
		name, email, phone string
		want               candidates
	}{
		{"domain in another case", "Pedro@ACME.Example", "", candidates{Owner: owner}},
		{"contact's phone", "", "+1 415 555 0100", candidates{Last: last}},
		{"contact's email", "olivia@mail.example", "", candidates{Last: last}},
		{"unowned account", "x@unowned.example", "+14155550199", candidates{}},
		{"no email, no phone", "", "", candidates{}},
	}
	ids := map[string]string{}
	for _, l := range leads {
		nl, err := crmcore.NewLead(crmcore.LeadInput{Name: l.name, Email: l.email, Phone: l.phone}, "US", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if nl, err = s.CreateLead(ctx, nl); err != nil {
			t.Fatal(err)
		}
		ids[nl.ID] = l.name
	}
	pl, err := s.PendingLeads(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]candidates{}
	for _, p := range pl {
		got[ids[p.Lead.ID]] = candidates{Owner: p.AccountOwnerID, Last: p.LastAgentID}
	}
	for _, l := range leads {
		t.Run(l.name, func(t *testing.T) {
			if diff := cmp.Diff(l.want, got[l.name]); diff != "" {
				t.Errorf("lead candidates (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHeldItems: a ticket or lead routing gave an agent is held while it
// stays open and theirs; reassigned by hand, solved, reopened into the
// routing queue or closed, it is not.
func TestHeldItems(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	ann, ben := testAgent(t, s, "ann"), testAgent(t, s, "ben")
	routed := func(subject string) int64 {
		t.Helper()
		nt, err := crmcore.NewTicket(crmcore.TicketInput{Subject: subject, Channel: crmcore.ChannelWeb}, s.SLAPolicy(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tk, err := s.CreateTicket(ctx, "", nt)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := crmcore.ParseTicketNumber(tk.Number)
		if _, err := s.AssignRouted(ctx, n, crmcore.TicketAssignment{AgentID: ann, Queue: "support", Reasons: []string{"skill=1 (+100)"}}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	held, reassigned, solved, reopened := routed("held"), routed("reassigned"), routed("solved"), routed("reopened")
	if _, err := s.UpdateTicket(ctx, ann, reassigned, crmcore.TicketPatch{AssigneeID: &ben}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		n     int64
		actor string
		to    crmcore.TicketStatus
	}{{solved, ann, crmcore.StatusSolved}, {reopened, ann, crmcore.StatusSolved}, {reopened, "", crmcore.StatusOpen}} {
		if _, err := s.TransitionTicket(ctx, step.actor, step.n, step.to); err != nil {
			t.Fatal(err)
		}
	}
	hs, err := s.HeldTickets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var gotTickets []string
	for _, h := range hs {
		gotTickets = append(gotTickets, h.Ticket.Number+" "+h.Assignment.AgentID+" "+h.Assignment.Queue)
	}
	if want := []string{crmcore.FormatTicketNumber(held) + " " + ann + " support"}; !cmp.Equal(gotTickets, want) {
		t.Errorf("held tickets = %q, want %q", gotTickets, want)
	}

	lead := func(name string) string {
		t.Helper()
		l, err := crmcore.NewLead(crmcore.LeadInput{Name: name}, "US", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if l, err = s.CreateLead(ctx, l); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AssignRoutedLead(ctx, l.ID, crmcore.LeadAssignment{AgentID: ben, Queue: "sales"}); err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	heldLead, closed := lead("held"), lead("closed")
	if _, err := s.TransitionLead(ctx, closed, crmcore.LeadDisqualified); err != nil {
		t.Fatal(err)
	}
	hl, err := s.HeldLeads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var gotLeads []string
	for _, h := range hl {
		gotLeads = append(gotLeads, h.Lead.ID+" "+h.Assignment.AgentID+" "+h.Assignment.Queue)
	}
	if want := []string{heldLead + " " + ben + " sales"}; !cmp.Equal(gotLeads, want) {
		t.Errorf("held leads = %q, want %q", gotLeads, want)
	}
}
