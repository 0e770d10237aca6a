package crmapi

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"switchboard/crmcore"
)

func (e *env) revocations() []crmcore.Revocation {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]crmcore.Revocation(nil), e.revoked...)
}

func (e *env) agentByLogin(login string) crmcore.Agent {
	e.t.Helper()
	a, err := e.store.AgentByLogin(e.t.Context(), login)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// agentInput is the PUT body that keeps a's fields.
func agentInput(a crmcore.Agent) map[string]any {
	return map[string]any{"login": a.Login, "name": a.Name, "role": a.Role, "skills": a.Skills,
		"languages": a.Languages, "country": a.Country, "region": a.Region, "time_zone": a.TimeZone,
		"sip_username": a.SIPUsername, "capacity": a.Capacity, "active": a.Active}
}

func TestLoginThrottled(t *testing.T) {
	e := newEnv(t)
	for i := range 60 {
		r := e.do("POST", "/api/v1/sessions", "", map[string]string{"login": "alice", "password": fmt.Sprintf("guess%d", i)})
		if r.Code != http.StatusUnauthorized && r.Code != http.StatusTooManyRequests {
			t.Fatalf("guess %d: %d %s", i, r.Code, r.Body)
		}
	}
	r := e.do("POST", "/api/v1/sessions", "", map[string]string{"login": "alice", "password": "demo"})
	if r.Code != http.StatusTooManyRequests || r.err(t).Error.Code != "throttled" {
		t.Fatalf("right password after 60 wrong ones: %d %s, want 429 throttled", r.Code, r.Body)
	}
	if s, err := strconv.Atoi(r.Hdr.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After = %q", r.Hdr.Get("Retry-After"))
	}
	// Another account from another address is not held up.
	if tok := e.login("bob", "demo"); tok == "" {
		t.Fatal("no token")
	}
}

func TestPasswordChangeRevokesTokens(t *testing.T) {
	e := newEnv(t)
	t1, t2 := e.login("alice", "demo"), e.login("alice", "demo")
	path := "/api/v1/sessions/current/password"
	if r := e.do("PUT", path, t1, map[string]string{"current_password": "wrong", "new_password": "n3w-secret"}); r.Code != 401 {
		t.Fatalf("wrong current password: %d %s", r.Code, r.Body)
	}
	if r := e.do("PUT", path, t1, map[string]string{"current_password": "demo", "new_password": "x"}); r.Code != 400 {
		t.Fatalf("too short: %d %s", r.Code, r.Body)
	}
	if r := e.do("PUT", path, t1, map[string]string{"current_password": "demo", "new_password": "n3w-secret"}); r.Code != 204 {
		t.Fatalf("change: %d %s", r.Code, r.Body)
	}
	for i, tok := range []string{t1, t2} {
		if r := e.do("GET", "/api/v1/sessions/current", tok, nil); r.Code != 401 {
			t.Errorf("token %d after the password change: %d", i+1, r.Code)
		}
	}
	if r := e.do("POST", "/api/v1/sessions", "", map[string]string{"login": "alice", "password": "demo"}); r.Code != 401 {
		t.Errorf("old password: %d", r.Code)
	}
	t3 := e.login("alice", "n3w-secret")

	// An admin setting the password ends the sessions too.
	admin := e.login("admin", "admin")
	in := agentInput(e.agentByLogin("alice"))
	in["password"] = "4dmin-set"
	if r := e.do("PUT", "/api/v1/agents/"+e.agentByLogin("alice").ID, admin, in); r.Code != 200 {
		t.Fatalf("admin sets password: %d %s", r.Code, r.Body)
	}
	if r := e.do("GET", "/api/v1/sessions/current", t3, nil); r.Code != 401 {
		t.Errorf("token after the admin's password change: %d", r.Code)
	}
	got := e.revocations()
	id := e.agentByLogin("alice").ID
	if len(got) != 2 || got[0].AgentID != id || got[0].Reason != crmcore.RevokePasswordChanged || got[0].TokenHash != nil ||
		got[1].Reason != crmcore.RevokePasswordChanged {
		t.Errorf("revocations = %+v", got)
	}
}

func TestAgentChangesRevoke(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin", "admin")
	sam, bob := e.agentByLogin("sam"), e.agentByLogin("bob")
	samTok, bobTok := e.login("sam", "demo"), e.login("bob", "demo")

	// Demotion: the token stays valid with the new role; connections are told.
	in := agentInput(sam)
	in["role"] = crmcore.RoleAgent
	if r := e.do("PUT", "/api/v1/agents/"+sam.ID, admin, in); r.Code != 200 {
		t.Fatalf("demote: %d %s", r.Code, r.Body)
	}
	var p crmcore.Principal
	if r := e.do("GET", "/api/v1/sessions/current", samTok, nil); r.Code != 200 {
		t.Fatalf("demoted supervisor's token: %d", r.Code)
	} else if r.json(t, &p); p.Role != crmcore.RoleAgent {
		t.Errorf("role after demotion = %s", p.Role)
	}
	if r := e.do("POST", "/api/v1/contacts", samTok, map[string]any{"name": "Zed"}); r.Code != 403 {
		t.Errorf("demoted supervisor edits contacts: %d", r.Code)
	}

	// Disabling ends every session.
	in = agentInput(bob)
	in["active"] = false
	if r := e.do("PUT", "/api/v1/agents/"+bob.ID, admin, in); r.Code != 200 {
		t.Fatalf("disable: %d %s", r.Code, r.Body)
	}
	if r := e.do("GET", "/api/v1/sessions/current", bobTok, nil); r.Code != 401 {
		t.Errorf("disabled agent's token: %d", r.Code)
	}
	// A name change revokes nothing.
	in = agentInput(e.agentByLogin("carol"))
	in["name"] = "Carol S."
	if r := e.do("PUT", "/api/v1/agents/"+e.agentByLogin("carol").ID, admin, in); r.Code != 200 {
		t.Fatalf("rename: %d %s", r.Code, r.Body)
	}
	if r := e.do("DELETE", "/api/v1/agents/"+sam.ID, admin, nil); r.Code != 204 {
		t.Fatalf("delete: %d %s", r.Code, r.Body)
	}
	if r := e.do("DELETE", "/api/v1/sessions", admin, nil); r.Code != 204 {
		t.Fatalf("logout: %d", r.Code)
	}

	got := e.revocations()
	want := []crmcore.Revocation{
		{AgentID: sam.ID, Reason: crmcore.RevokeRoleChanged},
		{AgentID: bob.ID, Reason: crmcore.RevokeDisabled},
		{AgentID: sam.ID, Reason: crmcore.RevokeDeleted},
	}
	if len(got) != 4 {
		t.Fatalf("revocations = %+v", got)
	}
	for i, w := range want {
		if got[i].AgentID != w.AgentID || got[i].Reason != w.Reason || got[i].TokenHash != nil {
			t.Errorf("revocation %d = %+v, want %+v", i, got[i], w)
		}
	}
	if l := got[3]; l.Reason != crmcore.RevokeLogout || string(l.TokenHash) != string(crmcore.HashToken(admin)) {
		t.Errorf("logout revocation = %+v", l)
	}
}
