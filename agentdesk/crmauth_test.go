package agentdesk_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard/agentdesk"
	"switchboard/crmcore"
)

// memStore is an in-memory crmcore.AgentStore and SessionStore.
type memStore struct {
	mu       sync.Mutex
	agents   map[string]crmcore.Agent
	sessions []crmcore.Session
}

func (m *memStore) AgentByLogin(_ context.Context, login string) (crmcore.Agent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.agents[login]
	if !ok {
		return crmcore.Agent{}, fmt.Errorf("%w: agent", crmcore.ErrNotFound)
	}
	return a, nil
}

func (m *memStore) CreateSession(_ context.Context, s crmcore.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions = append(m.sessions, s)
	return nil
}

func (m *memStore) SessionAgent(_ context.Context, h []byte, now time.Time) (crmcore.Agent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		if bytes.Equal(s.TokenHash, h) && now.Before(s.ExpiresAt) {
			for _, a := range m.agents {
				if a.ID == s.AgentID {
					return a, nil
				}
			}
		}
	}
	return crmcore.Agent{}, fmt.Errorf("%w: session", crmcore.ErrNotFound)
}

func (m *memStore) DeleteSession(context.Context, []byte) error { return nil }

func (m *memStore) DeleteAgentSessions(_ context.Context, agentID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions = slices.DeleteFunc(m.sessions, func(s crmcore.Session) bool { return s.AgentID == agentID })
	return nil
}

func (m *memStore) PurgeSessions(_ context.Context, now time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.sessions)
	m.sessions = slices.DeleteFunc(m.sessions, func(s crmcore.Session) bool { return !now.Before(s.ExpiresAt) })
	return int64(n - len(m.sessions)), nil
}

// TestCRMAuth logs in over CTI with crmcore.Auth, then reconnects with the
// returned session token.
func TestCRMAuth(t *testing.T) {
	hash, err := crmcore.HashPasswordCost("s3cret-pass", 4) // the cheapest cost: the test is about tokens
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{agents: map[string]crmcore.Agent{"dana": {ID: "ag-dana", Login: "dana", Name: "Dana", Role: crmcore.RoleSupervisor,
		PasswordHash: hash, Active: true}}}
	r := newFakeRig(t, func(c *agentdesk.Config) { c.Auth = agentdesk.CRMAuth(crmcore.NewAuth(st, st)) })
	c := dialCTI(t, r.srv, "", nil)
	id := c.send(agentdesk.CmdLogin, map[string]any{"login": "dana", "password": "wrong-pass"})
	if e := c.errorData(c.reply(id)); e.Code != agentdesk.CodeUnauthenticated {
		t.Fatalf("wrong password: %+v", e)
	}
	ok := c.mustOK(agentdesk.CmdLogin, map[string]any{"login": "dana", "password": "s3cret-pass"})
	tok := decode[struct {
		Token string `json:"token"`
	}](t, ok).Token
	if !crmcore.WellFormedToken(tok) {
		t.Fatalf("token %q", tok)
	}
	c2 := dialToken(t, r.srv, "", tok)
	h := decode[struct{ Agent agentdesk.Identity }](t, c2.waitType(agentdesk.EvHello))
	if h.Agent.AgentID != "ag-dana" || h.Agent.Role != crmcore.RoleSupervisor {
		t.Fatalf("hello agent = %+v", h.Agent)
	}
	c3 := dialToken(t, r.srv, "", "sbt_forged")
	if code := c3.closeCode(); code != 4401 {
		t.Fatalf("forged token close code %d", code)
	}
}
