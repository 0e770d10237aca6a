package crmapi

import (
	"net/http"
	"testing"

	"switchboard/crmcore"
	"switchboard/crmcore/pgstore"
)

// TestScriptsOverAPI: supervisors write scripts, agents read the one for
// their task's queue and save answers along its branches; an agent's
// answers are not another's to replace or read.
func TestScriptsOverAPI(t *testing.T) {
	e := newEnvWith(t, func(s *pgstore.Store) []Option { return []Option{WithScripts(s)} })
	sup, alice, bob := e.login("sam", "demo"), e.login("alice", "demo"), e.login("bob", "demo")
	body := map[string]any{"name": "Billing", "queues": []string{"billing"}, "steps": []map[string]any{
		{"id": "greet", "text": "Hello {{contact.name}}.", "next": "reason"},
		{"id": "reason", "text": "What is it about?", "question": map[string]any{"kind": "choice", "label": "Reason",
			"choices": []map[string]any{{"value": "refund", "next": "amount"}, {"value": "invoice"}}}},
		{"id": "amount", "text": "How much?", "question": map[string]any{"kind": "number", "label": "Amount", "required": true}},
	}}
	if r := e.do("POST", "/api/v1/scripts", alice, body); r.Code != http.StatusForbidden {
		t.Errorf("agent creates a script: %d, want 403", r.Code)
	}
	bad := map[string]any{"name": "Bad", "steps": []map[string]any{{"id": "a", "text": "Hi {{contact.password}}"}}}
	if r := e.do("POST", "/api/v1/scripts", sup, bad); r.Code != http.StatusBadRequest || r.err(t).Error.Field != "steps" {
		t.Errorf("script with an unknown variable: %d %s, want 400 on steps", r.Code, r.Body)
	}
	r := e.do("POST", "/api/v1/scripts", sup, body)
	if r.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Code, r.Body)
	}
	var sc crmcore.Script
	r.json(t, &sc)

	r = e.do("GET", "/api/v1/scripts/for?queue=billing", alice, nil)
	var got crmcore.Script
	r.json(t, &got)
	if r.Code != http.StatusOK || got.ID != sc.ID || got.Version != 1 {
		t.Fatalf("script for billing: %d %s", r.Code, r.Body)
	}
	if r := e.do("GET", "/api/v1/scripts/for?queue=sales", alice, nil); r.Code != http.StatusNotFound {
		t.Errorf("script for a queue without one: %d, want 404", r.Code)
	}
	if r := e.do("GET", "/api/v1/scripts/for", alice, nil); r.Code != http.StatusBadRequest {
		t.Errorf("script for nothing: %d, want 400", r.Code)
	}

	interaction := crmcore.NewID()
	path := "/api/v1/interactions/" + interaction + "/script-answers"
	answers := map[string]any{"script_id": sc.ID, "script_version": 1,
		"answers": []map[string]string{{"step": "reason", "value": "refund"}, {"step": "amount", "value": "12.5"}}}
	r = e.do("PUT", path, alice, answers)
	var saved crmcore.ScriptAnswers
	r.json(t, &saved)
	if r.Code != http.StatusOK || len(saved.Path) != 3 {
		t.Fatalf("save answers: %d %s", r.Code, r.Body)
	}
	offBranch := map[string]any{"script_id": sc.ID, "script_version": 1,
		"answers": []map[string]string{{"step": "reason", "value": "invoice"}, {"step": "amount", "value": "3"}}}
	if r := e.do("PUT", path, alice, offBranch); r.Code != http.StatusBadRequest {
		t.Errorf("answers off the script's branch: %d %s, want 400", r.Code, r.Body)
	}
	if r := e.do("PUT", path, bob, answers); r.Code != http.StatusConflict {
		t.Errorf("another agent replaces the answers: %d %s, want 409", r.Code, r.Body)
	}
	var list listResponse[crmcore.ScriptAnswers]
	e.do("GET", path, bob, nil).json(t, &list)
	if list.Count != 0 {
		t.Errorf("bob reads alice's answers: %+v", list)
	}
	e.do("GET", path, sup, nil).json(t, &list)
	if list.Count != 1 || list.Items[0].Answers[1].Value != "12.5" {
		t.Errorf("supervisor reads the answers: %+v", list)
	}

	// A change is a new version; the answers keep theirs.
	body["name"] = "Billing v2"
	r = e.do("PUT", "/api/v1/scripts/"+sc.ID, sup, body)
	r.json(t, &got)
	if r.Code != http.StatusOK || got.Version != 2 {
		t.Fatalf("update: %d %s", r.Code, r.Body)
	}
	if r := e.do("PUT", "/api/v1/scripts/"+crmcore.NewID(), sup, body); r.Code != http.StatusNotFound {
		t.Errorf("update a missing script: %d, want 404", r.Code)
	}
}
