package crmapi

import (
	"context"
	"errors"
	"testing"
	"time"

	"switchboard/crmcore"
	"switchboard/crmcore/callbacks"
	"switchboard/crmcore/jobs"
	"switchboard/crmcore/pgstore"
)

var _ CallbackStore = (*callbacks.Service)(nil)

// newCallbackEnv serves the API with callbacks over a callbacks.Service
// whose job runner is open but not started: scheduling stores the
// callback and its job, which nothing works here. Its dial plan refuses
// premium numbers.
func newCallbackEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, func(s *pgstore.Store) []Option {
		if err := jobs.Migrate(context.Background(), s.Pool()); err != nil {
			t.Fatal(err)
		}
		runner := jobs.New(s.Pool())
		svc, err := callbacks.New(s.Pool(), runner, callbacks.WithNumberCheck(func(n string) (string, error) {
			if n == "+19005550100" {
				return "", errors.New("premium numbers may not be dialled")
			}
			return n, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		if err := runner.Open(); err != nil {
			t.Fatal(err)
		}
		return []Option{WithCallbacks(svc)}
	})
}

// TestCallbacksAPI: an agent schedules a callback for themselves; the
// dial plan and the fields are checked; other agents do not see it, a
// supervisor does; it is cancelled once.
func TestCallbacksAPI(t *testing.T) {
	e := newCallbackEnv(t)
	alice, bob, sam := e.login("alice", "demo"), e.login("bob", "demo"), e.login("sam", "demo")
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r := e.do("POST", "/api/v1/callbacks", alice, map[string]any{"number": "+14155550101", "queue": "sales",
		"at": at.Format(time.RFC3339), "agent_id": "me", "note": "renewal price"})
	if r.Code != 201 {
		t.Fatalf("schedule: %d %s", r.Code, r.Body)
	}
	var cb crmcore.Callback
	r.json(t, &cb)
	if cb.State != crmcore.CallbackStateScheduled || !cb.DueAt.Equal(at) || cb.AgentID == "" || cb.AgentID != cb.CreatedBy || cb.Note != "renewal price" {
		t.Errorf("scheduled %+v", cb)
	}
	for name, body := range map[string]map[string]any{
		"premium":   {"number": "+19005550100", "queue": "sales", "at": at.Format(time.RFC3339)},
		"past":      {"number": "+14155550101", "queue": "sales", "at": at.Add(-48 * time.Hour).Format(time.RFC3339)},
		"no queue":  {"number": "+14155550101", "at": at.Format(time.RFC3339)},
		"bad agent": {"number": "+14155550101", "queue": "sales", "at": at.Format(time.RFC3339), "agent_id": "nobody"},
		"unknown":   {"number": "+14155550101", "queue": "sales", "at": at.Format(time.RFC3339), "color": "red"},
	} {
		if r := e.do("POST", "/api/v1/callbacks", alice, body); r.Code != 400 {
			t.Errorf("%s: %d %s, want 400", name, r.Code, r.Body)
		}
	}

	var list listResponse[crmcore.Callback]
	e.do("GET", "/api/v1/callbacks?state=scheduled", alice, nil).json(t, &list)
	if list.Count != 1 || list.Items[0].ID != cb.ID {
		t.Errorf("alice's callbacks: %+v", list)
	}
	e.do("GET", "/api/v1/callbacks", bob, nil).json(t, &list)
	if list.Count != 0 {
		t.Errorf("bob sees %+v", list.Items)
	}
	if r := e.do("GET", "/api/v1/callbacks?agent="+cb.AgentID, bob, nil); r.Code != 403 {
		t.Errorf("bob asks for alice's: %d, want 403", r.Code)
	}
	if r := e.do("GET", "/api/v1/callbacks/"+cb.ID, bob, nil); r.Code != 404 {
		t.Errorf("bob gets alice's: %d, want 404", r.Code)
	}
	if r := e.do("POST", "/api/v1/callbacks/"+cb.ID+"/cancel", bob, nil); r.Code != 404 {
		t.Errorf("bob cancels alice's: %d, want 404", r.Code)
	}
	e.do("GET", "/api/v1/callbacks?from="+at.Add(-time.Minute).Format(time.RFC3339)+"&to="+at.Add(time.Minute).Format(time.RFC3339), sam, nil).json(t, &list)
	if list.Count != 1 {
		t.Errorf("supervisor's list of the hour: %+v", list)
	}
	for _, bad := range []string{"?state=lost", "?from=yesterday", "?limit=0", "?contact=x"} {
		if r := e.do("GET", "/api/v1/callbacks"+bad, sam, nil); r.Code != 400 {
			t.Errorf("list%s: %d, want 400", bad, r.Code)
		}
	}
	if r := e.do("POST", "/api/v1/callbacks/"+cb.ID+"/cancel", alice, nil); r.Code != 200 {
		t.Fatalf("cancel: %d %s", r.Code, r.Body)
	}
	if r := e.do("POST", "/api/v1/callbacks/"+cb.ID+"/cancel", sam, nil); r.Code != 409 {
		t.Errorf("cancel twice: %d %s, want 409", r.Code, r.Body)
	}
	var got crmcore.Callback
	e.do("GET", "/api/v1/callbacks/"+cb.ID, sam, nil).json(t, &got)
	if got.State != crmcore.CallbackStateCancelled {
		t.Errorf("after cancel: %+v", got)
	}
	plain := newEnv(t)
	if r := plain.do("GET", "/api/v1/callbacks", plain.login("sam", "demo"), nil); r.Code != 404 {
		t.Errorf("without WithCallbacks: %d, want 404", r.Code)
	}
}
