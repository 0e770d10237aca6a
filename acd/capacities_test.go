package acd_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
)

// Capacities: the configured rule per channel the engine routes, an
// agent's override over it, voice and callback at most 1, channels at 0
// left out.
func TestCapacities(t *testing.T) {
	h := newTaskHarness(t, taskYAML+`
capacity:
  channels:
    chat: {capacity: 2}
    email: {capacity: 0}
`)
	got, err := h.e.Capacities(h.ctx, []acd.AgentSpec{
		{ID: "a1"},
		{ID: "a2", Capacity: map[acd.Channel]int{acd.ChannelChat: 5, acd.ChannelEmail: 4, acd.ChannelVoice: 3, acd.ChannelTicket: 9}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []map[acd.Channel]int{
		{acd.ChannelVoice: 1, acd.ChannelCallback: 1, acd.ChannelChat: 2},
		{acd.ChannelVoice: 1, acd.ChannelCallback: 1, acd.ChannelChat: 5, acd.ChannelEmail: 4},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("capacities (-want +got):\n%s", diff)
	}
}
