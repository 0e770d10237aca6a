package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/acd"
	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
	"switchboard/crmcore/pgstore"
)

// TestAgentSpecsCapacity: the ACD profile built from the CRM carries the
// agent's per-channel capacity overrides, and languages as skills.
func TestAgentSpecsCapacity(t *testing.T) {
	ctx := context.Background()
	pool := migratedPool(t, pgtest.NewDatabase(t))
	store := pgstore.New(pool)
	a, err := crmcore.NewAgent(crmcore.AgentInput{Login: "zoe", Password: "pw12345", Languages: []string{"en"},
		Skills: []crmcore.Skill{{Name: "billing", Level: 3}}, Capacity: map[string]int{"chat": 5, "voice": 0}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if a, err = store.CreateAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	spec, err := agentSpecs(store)(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[acd.Channel]int{acd.ChannelChat: 5, acd.ChannelVoice: 0}; !cmp.Equal(spec.Capacity, want) {
		t.Errorf("capacity = %v, want %v", spec.Capacity, want)
	}
	if err := acd.ValidateCapacity(spec.Capacity); err != nil {
		t.Errorf("the engine refuses the CRM's overrides: %v", err)
	}
	if want := []acd.SkillLevel{{Skill: "billing", Level: 3}, {Skill: "en", Level: 5}}; !cmp.Equal(spec.Skills, want) {
		t.Errorf("skills = %v, want %v", spec.Skills, want)
	}
	if got := agentSpec(crmcore.Agent{ID: a.ID}).Capacity; got != nil {
		t.Errorf("capacity without overrides = %v, want nil", got)
	}
}

// TestCapacityEditReachesDesk: capacity overrides an admin saves over REST
// for an agent who is logged in reach the router at once, and the agent's
// desk gets a status with the new capacity; the CRM keeps them for the
// next login.
func TestCapacityEditReachesDesk(t *testing.T) {
	s := startSystem(t, openAllDay, nil)
	admin, _ := s.login("admin", "admin")
	desk, _, id := s.agent("alice", true)
	desk.command("presence.set", map[string]string{"presence": "ready"})
	capacity := func(e envelope) map[string]int {
		var st struct {
			Capacity map[string]int `json:"capacity"`
		}
		if err := json.Unmarshal(e.Data, &st); err != nil {
			t.Fatal(err)
		}
		return st.Capacity
	}
	desk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "agent.state" && capacity(e)["ticket"] == 10 })
	s.agentPut(admin, id, map[string]any{"capacity": map[string]int{"ticket": 3, "lead": 2}})
	got := desk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "agent.state" && capacity(e)["ticket"] == 3 })
	if c := capacity(got); c["lead"] != 2 || c["voice"] != 1 {
		t.Errorf("capacity after the edit = %v, want ticket 3, lead 2, voice 1", c)
	}
}

// migratedPool connects to dsn, closed at the end of t, and applies the
// CRM's migrations with opts.
func migratedPool(t testing.TB, dsn string, opts ...pgstore.MigrateOption) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := pgstore.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgstore.Migrate(ctx, pool, opts...); err != nil {
		t.Fatal(err)
	}
	return pool
}
