package pgstore

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/crmcore"
)

// TestAgentCapacity: an agent's per-channel capacity overrides are stored
// with it, read back by every agent query, replaced by an update, and
// removed with the agent; the table refuses values the domain refuses.
func TestAgentCapacity(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	in := crmcore.AgentInput{Login: "zoe", Password: "pw12345", Capacity: map[string]int{"chat": 5, "ticket": 0}}
	a, err := crmcore.NewAgent(in, true)
	if err != nil {
		t.Fatal(err)
	}
	if a, err = s.CreateAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	want := crmcore.Capacity{"chat": 5, "ticket": 0}
	check := func(what string, want crmcore.Capacity) {
		t.Helper()
		got, err := s.GetAgent(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		byLogin, err := s.AgentByLogin(ctx, "zoe")
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.ListAgents(ctx)
		if err != nil || len(all) != 1 {
			t.Fatalf("list = %v, %v", all, err)
		}
		for _, c := range []crmcore.Capacity{got.Capacity, byLogin.Capacity, all[0].Capacity} {
			if !cmp.Equal(c, want) {
				t.Errorf("%s: capacity = %#v, want %#v", what, c, want)
			}
		}
	}
	check("created", want)

	in.Password, in.Capacity = "", map[string]int{"voice": 1, "email": 8}
	upd, err := crmcore.NewAgent(in, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.UpdateAgent(ctx, a.ID, upd); err != nil || !cmp.Equal(got.Capacity, upd.Capacity) {
		t.Fatalf("update = %v, %v", got.Capacity, err)
	}
	check("replaced", crmcore.Capacity{"voice": 1, "email": 8})

	in.Capacity = nil
	upd, _ = crmcore.NewAgent(in, false)
	if _, err := s.UpdateAgent(ctx, a.ID, upd); err != nil {
		t.Fatal(err)
	}
	check("cleared", crmcore.Capacity{})

	for _, row := range []struct {
		channel  string
		capacity int
	}{{"chat", -1}, {"chat", crmcore.MaxChannelCapacity + 1}, {"Chat", 1}, {"", 1}} {
		_, err := pool.Exec(ctx, `insert into agent_capacity (agent_id, channel, capacity) values ($1,$2,$3)`, a.ID, row.channel, row.capacity)
		if err == nil {
			t.Errorf("agent_capacity accepted %q = %d", row.channel, row.capacity)
		}
	}

	if _, err := pool.Exec(ctx, `insert into agent_capacity (agent_id, channel, capacity) values ($1,'chat',2)`, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAgent(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := pool.QueryRow(ctx, `select count(*) from agent_capacity`).Scan(&left); err != nil || left != 0 {
		t.Errorf("rows left after delete = %d, %v", left, err)
	}
	if _, err := s.GetAgent(ctx, a.ID); !errors.Is(err, crmcore.ErrNotFound) {
		t.Errorf("get deleted agent: %v", err)
	}
}
