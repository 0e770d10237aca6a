package acd_test

import (
	"errors"
	"strings"
	"testing"

	"switchboard/acd"
	"switchboard/acd/acdtest"
)

// A click-to-dial that no route can carry fails before the agent's phone
// rings; one whose customer leg fails after the agent answered ends
// without wrap-up and says why. The agent stays ready either way.
func TestDialFailureLeavesAgentReady(t *testing.T) {
	h := newHarness(t, "wrap_up: 30s\nqueues:\n  - name: sales\n")
	h.login("a1", true)

	h.phone.Unroutable.Store(true)
	if _, err := h.e.Dial(h.ctx, "a1", "+14155550123"); !errors.Is(err, acd.ErrUnreachable) || !errors.Is(err, acdtest.ErrUnroutable) {
		t.Fatalf("dial without a route = %v, want ErrUnreachable", err)
	}
	h.noRing()
	if a := h.agentState("a1"); a.State != acd.StateIdle || a.Presence != acd.PresenceReady {
		t.Fatalf("after the refused dial a1 is %s/%s, want ready/idle", a.Presence, a.State)
	}

	h.phone.Unroutable.Store(false)
	h.phone.DialFail.Store(true)
	id, err := h.e.Dial(h.ctx, "a1", "+14155550123")
	if err != nil {
		t.Fatal(err)
	}
	h.ring().Answer()
	ended := waitFor(h, func(e *acd.CallEnded) bool { return e.CallID == id })
	if ended.Outcome != acd.OutcomeFailed || !strings.Contains(ended.Reason, "dial failed") {
		t.Errorf("call ended %s (%q), want failed with the dial's error", ended.Outcome, ended.Reason)
	}
	h.sync()
	if a := h.agentState("a1"); a.State != acd.StateIdle || a.Presence != acd.PresenceReady {
		t.Fatalf("after the failed dial a1 is %s/%s, want ready/idle (no wrap-up)", a.Presence, a.State)
	}
}
