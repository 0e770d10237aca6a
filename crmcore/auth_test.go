package crmcore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func (m *memAuthStore) DeleteAgentSessions(_ context.Context, agentID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, s := range m.sessions {
		if s.AgentID == agentID {
			delete(m.sessions, h)
		}
	}
	return nil
}

func (m *memAuthStore) PurgeSessions(_ context.Context, now time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for h, s := range m.sessions {
		if !now.Before(s.ExpiresAt) {
			delete(m.sessions, h)
			n++
		}
	}
	return n, nil
}

func (m *memAuthStore) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// authFixture is an Auth over an in-memory store holding the given logins
// (password "right-password"), on a settable clock.
type authFixture struct {
	auth  *Auth
	store *memAuthStore
	log   *syncBuffer
	mu    sync.Mutex
	now   time.Time
}

func newAuthFixture(t *testing.T, opts []AuthOption, logins ...string) *authFixture {
	t.Helper()
	f := &authFixture{store: &memAuthStore{agents: map[string]Agent{}, sessions: map[string]Session{}},
		log: &syncBuffer{}, now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	for _, l := range logins {
		a, err := NewAgent(AgentInput{Login: l, Role: RoleAgent}, false)
		if err != nil {
			t.Fatal(err)
		}
		if a.PasswordHash, err = HashPasswordCost("right-password", 4); err != nil {
			t.Fatal(err)
		}
		a.ID = NewID()
		f.store.agents[l] = a
	}
	opts = append([]AuthOption{WithClock(f.clock), WithAuthLogger(slog.New(slog.NewTextHandler(f.log, nil)))}, opts...)
	f.auth = NewAuth(f.store, f.store, opts...)
	return f
}

func (f *authFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *authFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func TestLoginThrottlePerAccount(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t, nil, "alice")
	for i := range 60 {
		_, _, _, err := f.auth.Login(ctx, "alice", fmt.Sprintf("guess-%d", i), fmt.Sprintf("192.0.2.%d", i%50+1))
		if !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrThrottled) {
			t.Fatalf("guess %d: %v", i, err)
		}
		f.advance(180 * time.Millisecond) // 60 guesses in 11 s
	}
	_, _, _, err := f.auth.Login(ctx, "alice", "right-password", "198.51.100.7")
	var te *ThrottleError
	if !errors.As(err, &te) || te.RetryAfter <= 0 {
		t.Fatalf("right password after 60 wrong ones: err = %v, want a *ThrottleError", err)
	}
	if got := te.RetrySeconds(); got < 1 || got > 30 {
		t.Errorf("RetrySeconds = %d, want 1–30", got)
	}
	f.advance(te.RetryAfter)
	if _, _, _, err := f.auth.Login(ctx, "alice", "right-password", "198.51.100.7"); err != nil {
		t.Fatalf("after the throttle window: %v", err)
	}
	// Success restores the account's budget.
	for i := range 5 {
		if _, _, _, err := f.auth.Login(ctx, "alice", "typo", "198.51.100.7"); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("typo %d after success: %v", i, err)
		}
	}

	logs := f.log.String()
	for _, want := range []string{"event=security.login_failed", "reason=wrong_password", "login=alice", "source=192.0.2.1", "reason=throttled"} {
		if !strings.Contains(logs, want) {
			t.Errorf("security log lacks %q:\n%.2000s", want, logs)
		}
	}
	if strings.Contains(logs, "guess-") || strings.Contains(logs, "right-password") {
		t.Error("a password reached the log")
	}
}

func TestLoginThrottlePerSource(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t, []AuthOption{WithThrottle(NewLoginThrottle(ThrottleConfig{SourceBurst: 5}))}, "bob")
	for i := range 5 {
		if _, _, _, err := f.auth.Login(ctx, fmt.Sprintf("user%d", i), "x", "203.0.113.9"); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, _, err := f.auth.Login(ctx, "bob", "right-password", "203.0.113.9"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("sixth attempt from the same address: %v, want throttled", err)
	}
	if _, _, _, err := f.auth.Login(ctx, "bob", "right-password", "203.0.113.10"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func TestLoginThrottleBounded(t *testing.T) {
	th := NewLoginThrottle(ThrottleConfig{MaxKeys: 100})
	now := time.Now()
	for i := range 10_000 {
		th.Failed(fmt.Sprintf("login%d", i), fmt.Sprintf("10.0.%d.%d", i/256, i%256), now)
	}
	th.mu.Lock()
	a, s := len(th.accounts.m), len(th.sources.m)
	th.mu.Unlock()
	if a > 100 || s > 100 {
		t.Fatalf("tracked %d logins and %d addresses, want at most 100 each", a, s)
	}
	if th.Check("", "", now) != nil {
		t.Error("empty login and source are never throttled")
	}
}

func TestAuthRevoke(t *testing.T) {
	ctx := context.Background()
	var got []Revocation
	var mu sync.Mutex
	hook := WithRevocationHook(func(r Revocation) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r)
	})
	f := newAuthFixture(t, []AuthOption{hook}, "carol")
	login := func() string {
		t.Helper()
		tok, _, _, err := f.auth.Login(ctx, "carol", "right-password", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	id := f.store.agents["carol"].ID
	t1, t2 := login(), login()

	if err := f.auth.Revoke(ctx, id, RevokeRoleChanged); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Verify(ctx, t1); err != nil {
		t.Errorf("a role change ended the session: %v", err)
	}
	if err := f.auth.Logout(ctx, t1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Verify(ctx, t2); err != nil {
		t.Errorf("logout of one token ended another: %v", err)
	}
	if err := f.auth.Revoke(ctx, id, RevokePasswordChanged); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Verify(ctx, t2); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("token valid after a password change: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[0].Reason != RevokeRoleChanged || got[0].AgentID != id ||
		got[1].Reason != RevokeLogout || !bytes.Equal(got[1].TokenHash, HashToken(t1)) ||
		got[2].Reason != RevokePasswordChanged || got[2].TokenHash != nil {
		t.Errorf("hooks told %+v", got)
	}
}

func TestAuthRunPurge(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newAuthFixture(t, []AuthOption{WithSessionTTL(time.Minute)}, "dave")
	for range 3 {
		if _, _, _, err := f.auth.Login(ctx, "dave", "right-password", ""); err != nil {
			t.Fatal(err)
		}
	}
	f.advance(2 * time.Minute)
	if _, _, _, err := f.auth.Login(ctx, "dave", "right-password", ""); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); f.auth.RunPurge(ctx, time.Millisecond) }()
	for f.store.count() != 1 {
		select {
		case <-time.After(10 * time.Second):
			t.Fatalf("%d sessions left, want the one unexpired", f.store.count())
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	<-done
}

// TestLoginBusy: when every password check slot stays taken (a login
// storm), a login waits at most the configured time and gets ErrBusy
// instead of queueing without bound; once a slot frees, logins succeed.
func TestLoginBusy(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t, []AuthOption{WithPasswordChecks(1, 20*time.Millisecond)}, "alice")
	f.auth.checks <- struct{}{} // a check in progress that does not end
	if _, _, _, err := f.auth.Login(ctx, "alice", "right-password", "192.0.2.1"); !errors.Is(err, ErrBusy) {
		t.Fatalf("login while every slot is taken: %v, want ErrBusy", err)
	}
	<-f.auth.checks
	if _, _, _, err := f.auth.Login(ctx, "alice", "right-password", "192.0.2.1"); err != nil {
		t.Fatalf("login with a free slot: %v", err)
	}
}
