package crmapi

import (
	"net/http"
	"testing"

	"switchboard/crmcore"
)

// TestLeadsOverAPI: any agent creates, reads and moves leads along their
// status machine; a lead without an owner waits for routing, one the
// machine cannot move is refused with 409, and its routed assignments are
// listed with their reasons.
func TestLeadsOverAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.login("alice", "demo")
	r := e.do("POST", "/api/v1/leads", tok, map[string]any{"name": "Pedro", "company": "Acme", "phone": "(415) 555-0199",
		"email": "Pedro@Acme.example", "language": "es", "priority": "high"})
	if r.Code != http.StatusCreated {
		t.Fatalf("create = %d %s", r.Code, r.Body)
	}
	var l crmcore.Lead
	r.json(t, &l)
	if l.Phone != "+14155550199" || l.Status != crmcore.LeadNew || l.Priority != crmcore.PriorityHigh || r.Hdr.Get("Location") != "/api/v1/leads/"+l.ID {
		t.Errorf("created = %+v", l)
	}
	if ps, err := e.store.PendingLeads(t.Context(), 10); err != nil || len(ps) != 1 || ps[0].Lead.ID != l.ID {
		t.Errorf("pending = %+v, %v; want the new lead", ps, err)
	}
	var got crmcore.Lead
	if r := e.do("GET", "/api/v1/leads/"+l.ID, tok, nil); r.Code != http.StatusOK {
		t.Fatalf("get = %d", r.Code)
	} else if r.json(t, &got); got.Name != "Pedro" {
		t.Errorf("got = %+v", got)
	}
	var list struct {
		Items []crmcore.Lead
		Count int
	}
	if e.do("GET", "/api/v1/leads?limit=10", tok, nil).json(t, &list); list.Count != 1 {
		t.Errorf("list = %+v", list)
	}

	if _, err := e.store.AssignRoutedLead(t.Context(), l.ID, crmcore.LeadAssignment{AgentID: e.agentByLogin("carol").ID, Queue: "sales",
		Reasons: []string{"language=1 (+5)"}}); err != nil {
		t.Fatal(err)
	}
	var as struct {
		Items []crmcore.LeadAssignment
		Count int
	}
	if e.do("GET", "/api/v1/leads/"+l.ID+"/assignments", tok, nil).json(t, &as); as.Count != 1 || as.Items[0].Queue != "sales" || len(as.Items[0].Reasons) != 1 {
		t.Errorf("assignments = %+v", as)
	}

	if r := e.do("POST", "/api/v1/leads/"+l.ID+"/transitions", tok, map[string]string{"to": "working"}); r.Code != http.StatusOK {
		t.Fatalf("→ working = %d %s", r.Code, r.Body)
	}
	if r := e.do("POST", "/api/v1/leads/"+l.ID+"/transitions", tok, map[string]string{"to": "converted"}); r.Code != http.StatusConflict || r.err(t).Error.Code != "invalid_transition" {
		t.Errorf("working → converted = %d %s, want 409", r.Code, r.Body)
	}
	for _, tc := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "/api/v1/leads/" + l.ID + "/transitions", map[string]string{"to": "won"}, http.StatusBadRequest},
		{"POST", "/api/v1/leads", map[string]any{"name": ""}, http.StatusBadRequest},
		{"POST", "/api/v1/leads", map[string]any{"name": "x", "phone": "12"}, http.StatusBadRequest},
		{"POST", "/api/v1/leads", map[string]any{"name": "x", "owner_id": "00000000-0000-4000-8000-000000000000"}, http.StatusBadRequest},
		{"GET", "/api/v1/leads/not-a-uuid", nil, http.StatusNotFound},
		{"GET", "/api/v1/leads/00000000-0000-4000-8000-000000000000/assignments", nil, http.StatusNotFound},
		{"GET", "/api/v1/leads?limit=0", nil, http.StatusBadRequest},
	} {
		if r := e.do(tc.method, tc.path, tok, tc.body); r.Code != tc.want {
			t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, r.Code, r.Body, tc.want)
		}
	}
	if r := e.do("GET", "/api/v1/leads", "", nil); r.Code != http.StatusUnauthorized {
		t.Errorf("no token = %d", r.Code)
	}
}
