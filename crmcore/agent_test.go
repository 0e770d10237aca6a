package crmcore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRolePermissions(t *testing.T) {
	tests := []struct {
		role Role
		perm Permission
		want bool
	}{
		{RoleAgent, PermReadContacts, true},
		{RoleAgent, PermManageTickets, true},
		{RoleAgent, PermWriteContacts, false},
		{RoleAgent, PermReadAllInteractions, false},
		{RoleAgent, PermManageAgents, false},
		{RoleSupervisor, PermReadAllInteractions, true},
		{RoleSupervisor, PermManageAgents, false},
		{RoleSupervisor, PermDeleteContacts, false},
		{RoleAdmin, PermManageAgents, true},
		{RoleAdmin, PermDeleteContacts, true},
		{Role("root"), PermReadContacts, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.role)+"/"+tt.perm.String(), func(t *testing.T) {
			if got := tt.role.Can(tt.perm); got != tt.want {
				t.Errorf("Can = %v, want %v", got, tt.want)
			}
			err := tt.role.Check(tt.perm)
			if tt.want != (err == nil) || (err != nil && !errors.Is(err, ErrForbidden)) {
				t.Errorf("Check = %v", err)
			}
		})
	}
	// Every permission of a lower role is held by the higher ones.
	for _, p := range rolePerms[RoleAgent] {
		if !RoleSupervisor.Can(p) || !RoleAdmin.Can(p) {
			t.Errorf("%s not inherited", p)
		}
	}
	for _, p := range rolePerms[RoleSupervisor] {
		if !RoleAdmin.Can(p) {
			t.Errorf("%s not inherited by admin", p)
		}
	}
}

func TestNewAgentValidation(t *testing.T) {
	good := AgentInput{Login: "Alice", Password: "demo", Skills: []Skill{{"billing", 3}}, Languages: []string{"EN"},
		Country: "us", TimeZone: "America/New_York", SIPUsername: "alice", SIPSecret: "demo"}
	a, err := NewAgent(good, true)
	if err != nil {
		t.Fatal(err)
	}
	if a.Login != "alice" || a.Role != RoleAgent || a.Country != "US" || a.Languages[0] != "en" {
		t.Errorf("agent = %+v", a)
	}
	if a.PasswordHash == "" || strings.Contains(a.PasswordHash, "demo") || !CheckPassword(a.PasswordHash, "demo") {
		t.Errorf("password not hashed properly")
	}
	if CheckPassword(a.PasswordHash, "Demo") {
		t.Error("wrong password accepted")
	}
	bad := map[string]func(*AgentInput){
		"login":           func(in *AgentInput) { in.Login = "9lives" },
		"role":            func(in *AgentInput) { in.Role = "root" },
		"skills[0].level": func(in *AgentInput) { in.Skills = []Skill{{"billing", 6}} },
		"skills[1].name":  func(in *AgentInput) { in.Skills = []Skill{{"billing", 1}, {"billing", 2}} },
		"password":        func(in *AgentInput) { in.Password = "x" },
		"time_zone":       func(in *AgentInput) { in.TimeZone = "Mars/Olympus" },
		"country":         func(in *AgentInput) { in.Country = "QQ" },
	}
	for field, mut := range bad {
		t.Run(field, func(t *testing.T) {
			in := good
			mut(&in)
			_, err := NewAgent(in, true)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != field {
				t.Errorf("err = %v, want field %s", err, field)
			}
		})
	}
}

// memAuthStore is an in-memory AgentStore + SessionStore for the Auth tests.
type memAuthStore struct {
	mu       sync.Mutex
	agents   map[string]Agent
	sessions map[string]Session
}

func (m *memAuthStore) AgentByLogin(_ context.Context, login string) (Agent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.agents[login]; ok {
		return a, nil
	}
	return Agent{}, ErrNotFound
}

func (m *memAuthStore) CreateSession(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[string(s.TokenHash)] = s
	return nil
}

func (m *memAuthStore) SessionAgent(_ context.Context, h []byte, now time.Time) (Agent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[string(h)]
	if !ok || !now.Before(s.ExpiresAt) {
		return Agent{}, ErrNotFound
	}
	for _, a := range m.agents {
		if a.ID == s.AgentID {
			return a, nil
		}
	}
	return Agent{}, ErrNotFound
}

func (m *memAuthStore) DeleteSession(_ context.Context, h []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, string(h))
	return nil
}

func TestAuthLoginVerifyLogout(t *testing.T) {
	ctx := context.Background()
	a, err := NewAgent(AgentInput{Login: "sam", Role: RoleSupervisor}, false)
	if err != nil {
		t.Fatal(err)
	}
	if a.PasswordHash, err = HashPasswordCost("demo", 4); err != nil {
		t.Fatal(err)
	}
	a.ID = NewID()
	st := &memAuthStore{agents: map[string]Agent{"sam": a}, sessions: map[string]Session{}}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	auth := NewAuth(st, st, WithClock(func() time.Time { return now }), WithSessionTTL(time.Hour))

	if _, _, _, err := auth.Login(ctx, "sam", "wrong", ""); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, _, err := auth.Login(ctx, "nobody", "demo", ""); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("unknown login: %v", err)
	}
	tok, exp, ag, err := auth.Login(ctx, " SAM ", "demo", "")
	if err != nil {
		t.Fatal(err)
	}
	if !WellFormedToken(tok) || ag.ID != a.ID || !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("login = %q %v %+v", tok, exp, ag)
	}
	for h := range st.sessions {
		if strings.Contains(h, tok) {
			t.Fatal("token stored in clear")
		}
	}
	p, err := auth.Verify(ctx, tok)
	if err != nil || p.Role != RoleSupervisor || p.Login != "sam" {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
	if _, err := auth.Verify(ctx, "sbt_nope"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("malformed token: %v", err)
	}
	if _, err := auth.Verify(ctx, NewSessionToken()); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("unknown token: %v", err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := auth.Verify(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired token: %v", err)
	}
	now = now.Add(-2 * time.Hour)
	if err := auth.Logout(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Verify(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked token: %v", err)
	}
}

func TestNewIDUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !ValidID(id) || id[14] != '7' || seen[id] {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
	}
}
