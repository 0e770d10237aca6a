package crmapi

import (
	"net/http"
	"testing"

	"switchboard/crmcore"
)

// TestTicketAssignmentsOverAPI: a ticket created unassigned over REST
// waits for routing; once an agent accepts it from the ACD, its routed
// assignment is listed with the routing reasons.
func TestTicketAssignmentsOverAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.login("bob", "demo")
	r := e.do("POST", "/api/v1/tickets", tok, map[string]any{"subject": "Router down", "priority": "urgent"})
	if r.Code != http.StatusCreated {
		t.Fatalf("create = %d %s", r.Code, r.Body)
	}
	var tk crmcore.Ticket
	r.json(t, &tk)
	base := "/api/v1/tickets/" + tk.Number + "/assignments"
	var list struct {
		Items []crmcore.TicketAssignment
		Count int
	}
	if r := e.do("GET", base, tok, nil); r.Code != http.StatusOK {
		t.Fatalf("assignments = %d %s", r.Code, r.Body)
	} else if r.json(t, &list); list.Count != 0 {
		t.Fatalf("assignments before routing = %+v", list)
	}

	n, _ := crmcore.ParseTicketNumber(tk.Number)
	pending, err := e.store.PendingTickets(t.Context(), 100)
	if err != nil || !containsTicket(pending, tk.ID) {
		t.Fatalf("the new ticket does not wait for routing: %v", err)
	}
	carol := e.agentByLogin("carol")
	if _, err := e.store.AssignRouted(t.Context(), n, crmcore.TicketAssignment{AgentID: carol.ID, Queue: "support-t2",
		Reasons: []string{"skill=1 (+100)", "language=1 (+5)"}}); err != nil {
		t.Fatal(err)
	}
	e.do("GET", base, tok, nil).json(t, &list)
	if list.Count != 1 || list.Items[0].AgentID != carol.ID || list.Items[0].Queue != "support-t2" ||
		list.Items[0].Cause != crmcore.RouteNew || len(list.Items[0].Reasons) != 2 {
		t.Errorf("assignments = %+v, want carol's in support-t2 with two reasons", list)
	}
	if r := e.do("GET", "/api/v1/tickets/T-999999/assignments", tok, nil); r.Code != http.StatusNotFound {
		t.Errorf("unknown ticket = %d", r.Code)
	}
	if r := e.do("GET", base, "", nil); r.Code != http.StatusUnauthorized {
		t.Errorf("no token = %d", r.Code)
	}
}

func containsTicket(ps []crmcore.PendingTicket, id string) bool {
	for _, p := range ps {
		if p.Ticket.ID == id {
			return true
		}
	}
	return false
}
