package main

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
	"switchboard/crmcore/pgstore"
)

// TestAgentSpecsCapacity: the ACD profile built from the CRM carries the
// agent's per-channel capacity overrides, and languages as skills.
func TestAgentSpecsCapacity(t *testing.T) {
	ctx := context.Background()
	pool, err := pgstore.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
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
