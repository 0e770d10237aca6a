package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"switchboard/crmcore"
)

// TestLeadRouting: a lead created without an owner waits for routing
// until an agent accepts it (the owner, the assignment kept with its
// reasons) or it is closed; one created with an owner never waits.
func TestLeadRouting(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	ag, err := crmcore.NewAgent(crmcore.AgentInput{Login: "ann", Password: "pw12345"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if ag, err = s.CreateAgent(ctx, ag); err != nil {
		t.Fatal(err)
	}
	mk := func(name, owner string) crmcore.Lead {
		l, err := crmcore.NewLead(crmcore.LeadInput{Name: name, Phone: "+14155550123", OwnerID: owner}, "US", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if l, err = s.CreateLead(ctx, l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	waiting, owned, closed := mk("Waiting", ""), mk("Owned", ag.ID), mk("Closed", "")
	if _, err := s.TransitionLead(ctx, closed.ID, crmcore.LeadDisqualified); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitionLead(ctx, owned.ID, crmcore.LeadConverted); !errors.Is(err, crmcore.ErrInvalidTransition) {
		t.Errorf("new → converted: %v, want a refused transition", err)
	}
	ps, err := s.PendingLeads(ctx, 10)
	if err != nil || len(ps) != 1 || ps[0].Lead.ID != waiting.ID || ps[0].Since.IsZero() {
		t.Fatalf("pending = %+v, %v; want only %s", ps, err, waiting.Name)
	}
	l, err := s.AssignRoutedLead(ctx, waiting.ID, crmcore.LeadAssignment{AgentID: ag.ID, Queue: "sales", Reasons: []string{"language=1 (+5)"}})
	if err != nil || l.OwnerID != ag.ID {
		t.Fatalf("assign = %+v, %v", l, err)
	}
	if _, err := s.AssignRoutedLead(ctx, waiting.ID, crmcore.LeadAssignment{AgentID: ag.ID, Queue: "sales"}); !errors.Is(err, crmcore.ErrConflict) {
		t.Errorf("second accept: %v, want a conflict", err)
	}
	as, err := s.LeadAssignments(ctx, waiting.ID)
	if err != nil || len(as) != 1 || as[0].AgentID != ag.ID || as[0].Queue != "sales" || len(as[0].Reasons) != 1 {
		t.Errorf("assignments = %+v, %v", as, err)
	}
	if ps, _ := s.PendingLeads(ctx, 10); len(ps) != 0 {
		t.Errorf("pending after the accept = %+v", ps)
	}
	open, err := s.OpenLeadOwners(ctx, []string{waiting.ID, closed.ID, "x"})
	if err != nil || len(open) != 1 || open[waiting.ID] != ag.ID {
		t.Errorf("open owners = %v, %v", open, err)
	}
	if got, err := s.GetLead(ctx, waiting.ID); err != nil || got.Phone != "+14155550123" || got.OwnerID != ag.ID {
		t.Errorf("get = %+v, %v", got, err)
	}
}
