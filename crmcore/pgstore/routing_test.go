package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"switchboard/crmcore"
)

// TestTicketRoutingQueue: a ticket waits for routing while new and
// unassigned, or once reopened by someone other than its assignee; it
// stops waiting when assigned, solved or accepted, and an accepted
// ticket's assignment keeps its reasons.
func TestTicketRoutingQueue(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	mkAgent := func(login string) string {
		a, err := crmcore.NewAgent(crmcore.AgentInput{Login: login, Password: "pw12345"}, true)
		if err != nil {
			t.Fatal(err)
		}
		if a, err = s.CreateAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	ann, ben := mkAgent("ann"), mkAgent("ben")
	mkTicket := func(subject, assignee string) int64 {
		nt, err := crmcore.NewTicket(crmcore.TicketInput{Subject: subject, Channel: crmcore.ChannelWeb, AssigneeID: assignee}, s.SLAPolicy(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tk, err := s.CreateTicket(ctx, "", nt)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := crmcore.ParseTicketNumber(tk.Number)
		return n
	}
	pending := func() map[int64]crmcore.PendingTicket {
		t.Helper()
		ps, err := s.PendingTickets(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]crmcore.PendingTicket{}
		for _, p := range ps {
			n, _ := crmcore.ParseTicketNumber(p.Ticket.Number)
			out[n] = p
		}
		return out
	}
	waiting, byHand, assigned, solved := mkTicket("waiting", ""), mkTicket("by hand", ""), mkTicket("assigned", ann), mkTicket("solved", "")
	if _, err := s.UpdateTicket(ctx, ann, byHand, crmcore.TicketPatch{AssigneeID: &ann}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitionTicket(ctx, ann, solved, crmcore.StatusSolved); err != nil {
		t.Fatal(err)
	}
	got := pending()
	if _, ok := got[waiting]; !ok || len(got) != 1 || got[waiting].Cause != crmcore.RouteNew {
		t.Fatalf("pending = %v, want only T-%d (new)", got, waiting)
	}

	// Reopened by its assignee: kept; by anyone else: waits, assignee preferred.
	if _, err := s.TransitionTicket(ctx, ann, assigned, crmcore.StatusSolved); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitionTicket(ctx, ann, assigned, crmcore.StatusOpen); err != nil {
		t.Fatal(err)
	}
	if _, ok := pending()[assigned]; ok {
		t.Errorf("T-%d reopened by its assignee waits for routing", assigned)
	}
	if _, err := s.TransitionTicket(ctx, ann, assigned, crmcore.StatusSolved); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitionTicket(ctx, "", assigned, crmcore.StatusOpen); err != nil {
		t.Fatal(err)
	}
	p, ok := pending()[assigned]
	if !ok || p.Cause != crmcore.RouteReopened || p.ReopenedAssigneeID != ann {
		t.Fatalf("reopened T-%d pending = %+v (%v), want reopened with ann preferred", assigned, p, ok)
	}

	// Accepted: assigned and opened, the assignment kept with its reasons.
	tk, err := s.AssignRouted(ctx, waiting, crmcore.TicketAssignment{AgentID: ben, Queue: "support", Reasons: []string{"skill=1 (+100)"}})
	if err != nil {
		t.Fatal(err)
	}
	if tk.AssigneeID != ben || tk.Status != crmcore.StatusOpen {
		t.Errorf("accepted ticket = %s assigned to %s, want open and ben's", tk.Status, tk.AssigneeID)
	}
	as, err := s.TicketAssignments(ctx, waiting)
	if err != nil || len(as) != 1 || as[0].AgentID != ben || as[0].Queue != "support" || as[0].Cause != crmcore.RouteNew ||
		len(as[0].Reasons) != 1 || as[0].QueuedAt.IsZero() {
		t.Errorf("assignments = %+v, %v", as, err)
	}
	if _, ok := pending()[waiting]; ok {
		t.Error("an accepted ticket still waits")
	}
	if _, err := s.AssignRouted(ctx, waiting, crmcore.TicketAssignment{AgentID: ann, Queue: "support"}); !errors.Is(err, crmcore.ErrConflict) {
		t.Errorf("second accept: %v, want a conflict", err)
	}
	if _, err := s.AssignRouted(ctx, assigned, crmcore.TicketAssignment{AgentID: ann, Queue: "bad\nqueue"}); !errors.Is(err, crmcore.ErrInvalid) {
		t.Errorf("accept with a bad queue name: %v, want invalid", err)
	}
	open, err := s.OpenTicketAssignees(ctx, []string{tk.ID, "not-a-uuid"})
	if err != nil || len(open) != 1 || open[tk.ID] != ben {
		t.Errorf("open assignees = %v, %v", open, err)
	}
}
