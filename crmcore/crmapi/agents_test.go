package crmapi

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/crmcore"
)

// TestAgentCapacityOverAPI: an admin sets an agent's per-channel capacity
// overrides on create and replaces them with PUT; everyone who may read
// agents sees them; invalid values and channels the router does not know
// are refused with 400 naming the field, and nothing is changed.
func TestAgentCapacityOverAPI(t *testing.T) {
	e := newEnv(t, WithChannels("voice", "chat", "email", "ticket", "lead"))
	admin, agent := e.login("admin", "admin"), e.login("alice", "demo")

	r := e.do("POST", "/api/v1/agents", admin, map[string]any{"login": "zoe", "password": "pw12345",
		"capacity": map[string]int{"chat": 5, "voice": 0}})
	if r.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Code, r.Body)
	}
	var created crmcore.Agent
	r.json(t, &created)
	if want := (crmcore.Capacity{"chat": 5, "voice": 0}); !cmp.Equal(created.Capacity, want) {
		t.Errorf("created capacity = %v, want %v", created.Capacity, want)
	}
	get := func() crmcore.Agent {
		t.Helper()
		r := e.do("GET", "/api/v1/agents/"+created.ID, agent, nil)
		if r.Code != http.StatusOK {
			t.Fatalf("get: %d %s", r.Code, r.Body)
		}
		var a crmcore.Agent
		r.json(t, &a)
		return a
	}
	if got := get(); !cmp.Equal(got.Capacity, created.Capacity) {
		t.Errorf("read capacity = %v, want %v", got.Capacity, created.Capacity)
	}

	in := agentInput(created)
	in["capacity"] = map[string]int{"ticket": 20, "email": 8}
	if r := e.do("PUT", "/api/v1/agents/"+created.ID, agent, in); r.Code != http.StatusForbidden {
		t.Errorf("agent replaced capacity: %d", r.Code)
	}
	if r := e.do("PUT", "/api/v1/agents/"+created.ID, admin, in); r.Code != http.StatusOK {
		t.Fatalf("replace: %d %s", r.Code, r.Body)
	}
	want := crmcore.Capacity{"ticket": 20, "email": 8}
	if got := get(); !cmp.Equal(got.Capacity, want) {
		t.Errorf("replaced capacity = %v, want %v", got.Capacity, want)
	}

	for name, tt := range map[string]struct {
		capacity any
		field    string
	}{
		"unknown channel": {map[string]int{"fax": 1}, "capacity.fax"},
		"negative":        {map[string]int{"chat": -1}, "capacity.chat"},
		"too large":       {map[string]int{"chat": 101}, "capacity.chat"},
		"bad name":        {map[string]int{"Chat!": 1}, "capacity"},
		"not a number":    {map[string]string{"chat": "five"}, ""},
		"not an object":   {[]int{1, 2}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			in := agentInput(created)
			in["capacity"] = tt.capacity
			r := e.do("PUT", "/api/v1/agents/"+created.ID, admin, in)
			if r.Code != http.StatusBadRequest {
				t.Fatalf("PUT = %d %s, want 400", r.Code, r.Body)
			}
			if got := r.err(t).Error.Field; tt.field != "" && got != tt.field {
				t.Errorf("field = %q, want %q", got, tt.field)
			}
			if got := get(); !cmp.Equal(got.Capacity, want) {
				t.Errorf("capacity after a refused PUT = %v, want %v", got.Capacity, want)
			}
		})
	}

	delete(in, "capacity")
	if r := e.do("PUT", "/api/v1/agents/"+created.ID, admin, in); r.Code != http.StatusOK {
		t.Fatalf("replace without capacity: %d %s", r.Code, r.Body)
	}
	if got := get(); got.Capacity == nil || len(got.Capacity) != 0 {
		t.Errorf("capacity after a PUT without it = %#v, want {}", got.Capacity)
	}
}
