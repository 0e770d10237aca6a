package acd_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
)

// The snapshot's capacity per agent: the configured rule per channel the
// engine routes, an agent's override over it, voice and callback at most
// 1, channels at 0 left out.
func TestSnapshotCapacity(t *testing.T) {
	h := newTaskHarness(t, taskYAML+`
capacity:
  channels:
    chat: {capacity: 2}
    email: {capacity: 0}
`)
	for _, spec := range []acd.AgentSpec{
		{ID: "a1"},
		{ID: "a2", Capacity: map[acd.Channel]int{acd.ChannelChat: 5, acd.ChannelEmail: 4, acd.ChannelVoice: 3, acd.ChannelTicket: 9}},
	} {
		if err := h.e.Login(h.ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	sub, snap, err := h.e.Subscribe(h.ctx, acd.SubscribeOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	sub.Close()
	var got []map[acd.Channel]int
	for _, a := range snap.Agents {
		got = append(got, a.Capacity)
	}
	want := []map[acd.Channel]int{
		{acd.ChannelVoice: 1, acd.ChannelCallback: 1, acd.ChannelChat: 2},
		{acd.ChannelVoice: 1, acd.ChannelCallback: 1, acd.ChannelChat: 5, acd.ChannelEmail: 4},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("capacities (-want +got):\n%s", diff)
	}
}

// TestSetCapacity: lowering an agent's chat capacity below what they hold
// ends nothing and offers them no chat until they hold fewer than the new
// capacity; raising it offers waiting chats at once. Login, every change
// and a reload that changes the rule publish the effective capacity, and
// the snapshot carries it.
func TestSetCapacity(t *testing.T) {
	h := newTaskHarness(t, taskYAML)
	h.login("a1", true, sk("chat", 1))
	capEvent := func() map[acd.Channel]int {
		t.Helper()
		return waitFor(h.harness, func(e *acd.AgentCapacityChanged) bool { return e.Agent == "a1" }).Capacity
	}
	check := func(what string, want map[acd.Channel]int) {
		t.Helper()
		if diff := cmp.Diff(want, capEvent()); diff != "" {
			t.Errorf("%s: event capacity (-want +got):\n%s", what, diff)
		}
		if diff := cmp.Diff(want, h.agentState("a1").Capacity); diff != "" {
			t.Errorf("%s: snapshot capacity (-want +got):\n%s", what, diff)
		}
	}
	check("login", map[acd.Channel]int{acd.ChannelVoice: 1, acd.ChannelCallback: 1, acd.ChannelChat: 3, acd.ChannelEmail: 5})
	for _, id := range []string{"t1", "t2", "t3"} {
		h.submit(id, acd.ChannelChat)
		h.offer(h.chat)
		h.accept("a1", id)
	}

	if err := h.e.SetCapacity(h.ctx, "a1", map[acd.Channel]int{acd.ChannelChat: 1}); err != nil {
		t.Fatal(err)
	}
	check("lowered", map[acd.Channel]int{acd.ChannelVoice: 1, acd.ChannelCallback: 1, acd.ChannelChat: 1, acd.ChannelEmail: 5})
	h.submit("t4", acd.ChannelChat)
	held := map[acd.TaskState][]acd.TaskID{acd.TaskActive: {"t1", "t2", "t3"}}
	if diff := cmp.Diff(held, h.tasks("a1")); diff != "" {
		t.Fatalf("lowered: a1 tasks (-want +got):\n%s", diff)
	}
	h.complete("t1")
	h.complete("t2")
	if diff := cmp.Diff(map[acd.TaskState][]acd.TaskID{acd.TaskActive: {"t3"}}, h.tasks("a1")); diff != "" {
		t.Fatalf("at the new capacity: a1 tasks (-want +got):\n%s", diff)
	}
	h.complete("t3")
	if o := h.offer(h.chat); o.Call.ID != "t4" || o.Agent != "a1" {
		t.Fatalf("offer = %s to %s, want t4 to a1 below the new capacity", o.Call.ID, o.Agent)
	}
	h.accept("a1", "t4")

	h.submit("t5", acd.ChannelChat)
	h.submit("t6", acd.ChannelChat)
	if diff := cmp.Diff(map[acd.TaskState][]acd.TaskID{acd.TaskActive: {"t4"}}, h.tasks("a1")); diff != "" {
		t.Fatalf("full: a1 tasks (-want +got):\n%s", diff)
	}
	if err := h.e.SetCapacity(h.ctx, "a1", map[acd.Channel]int{acd.ChannelChat: 3, acd.ChannelEmail: 0}); err != nil {
		t.Fatal(err)
	}
	check("raised", map[acd.Channel]int{acd.ChannelVoice: 1, acd.ChannelCallback: 1, acd.ChannelChat: 3})
	want := map[acd.TaskState][]acd.TaskID{acd.TaskActive: {"t4"}, acd.TaskOffered: {"t5", "t6"}}
	if diff := cmp.Diff(want, h.tasks("a1")); diff != "" {
		t.Fatalf("raised: a1 tasks (-want +got):\n%s", diff)
	}

	if err := h.e.SetCapacity(h.ctx, "a1", nil); err != nil {
		t.Fatal(err)
	}
	check("overrides cleared", map[acd.Channel]int{acd.ChannelVoice: 1, acd.ChannelCallback: 1, acd.ChannelChat: 3, acd.ChannelEmail: 5})
	cfg, err := acd.ParseConfig([]byte(taskYAML + "capacity: {channels: {email: {capacity: 2}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.e.Reload(h.ctx, cfg); err != nil {
		t.Fatal(err)
	}
	check("reloaded", map[acd.Channel]int{acd.ChannelVoice: 1, acd.ChannelCallback: 1, acd.ChannelChat: 3, acd.ChannelEmail: 2})
}

// TestSetCapacityRefused: an agent not logged in and a bad override are
// refused.
func TestSetCapacityRefused(t *testing.T) {
	h := newTaskHarness(t, taskYAML)
	h.login("a1", true)
	for _, tt := range []struct {
		name  string
		agent acd.AgentID
		caps  map[acd.Channel]int
		want  error
	}{
		{"unknown agent", "nobody", map[acd.Channel]int{acd.ChannelChat: 1}, acd.ErrUnknownAgent},
		{"negative", "a1", map[acd.Channel]int{acd.ChannelChat: -1}, acd.ErrInvalidArgument},
		{"over the maximum", "a1", map[acd.Channel]int{acd.ChannelChat: acd.MaxCapacity + 1}, acd.ErrInvalidArgument},
		{"bad channel name", "a1", map[acd.Channel]int{"Chat!": 1}, acd.ErrInvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := h.e.SetCapacity(h.ctx, tt.agent, tt.caps); !errors.Is(err, tt.want) {
				t.Errorf("SetCapacity = %v, want %v", err, tt.want)
			}
		})
	}
	want := map[acd.Channel]int{acd.ChannelVoice: 1, acd.ChannelCallback: 1, acd.ChannelChat: 3, acd.ChannelEmail: 5}
	if diff := cmp.Diff(want, h.agentState("a1").Capacity); diff != "" {
		t.Errorf("a1 capacity after refusals (-want +got):\n%s", diff)
	}
}
