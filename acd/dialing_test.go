package acd_test

import (
	"errors"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/acd/dialplan"
)

// TestDialPlanRefusesBeforeRinging: with a dial plan, click-to-dial, a
// transfer and a callback to a premium-rate number are refused with
// ErrNotPermitted before anything rings or is dialled, and the agent keeps
// their state; a national number still goes through.
func TestDialPlanRefusesBeforeRinging(t *testing.T) {
	plan, err := dialplan.New(dialplan.Config{HomeCountry: "US"})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, basicYAML, acd.WithDialPlan(plan))
	h.login("a1", true, sk("sales", 1))

	const premium = "+19005551234"
	if _, err := h.e.Dial(h.ctx, "a1", premium); !errors.Is(err, acd.ErrNotPermitted) || !errors.Is(err, dialplan.ErrDenied) {
		t.Fatalf("click-to-dial %s = %v, want ErrNotPermitted (ErrDenied)", premium, err)
	}
	if s := h.agentState("a1"); s.State != acd.StateIdle {
		t.Errorf("a1 = %v after the refusal, want idle", s.State)
	}
	if _, err := h.e.Enqueue(h.ctx, acd.CallRequest{ID: "cb", Queue: "sales", Callback: premium}, newLeg("cb")); !errors.Is(err, acd.ErrNotPermitted) {
		t.Errorf("callback to %s = %v, want ErrNotPermitted", premium, err)
	}
	h.noRing()

	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	h.ring().Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == "c1" })
	if err := h.e.Transfer(h.ctx, "a1", acd.TransferTarget{Number: premium}); !errors.Is(err, acd.ErrNotPermitted) {
		t.Fatalf("transfer to %s = %v, want ErrNotPermitted", premium, err)
	}
	if s := h.agentState("a1"); s.State != acd.StateOnCall {
		t.Errorf("a1 = %v after the refused transfer, want still on the call", s.State)
	}
	if err := h.e.Transfer(h.ctx, "a1", acd.TransferTarget{Number: "+14155550999"}); err != nil {
		t.Fatalf("transfer to a national number: %v", err)
	}
	eventually(t, "national number dialled", func() bool { return len(h.phone.Dials()) == 1 })
	if d := h.phone.Dials(); d[0] != "+14155550999" {
		t.Errorf("dials = %v, want only the national number", d)
	}
}

// TestDialPlanOverflowCallback: a caller whose number the callback role may
// not dial is not turned into a callback by the queue's overflow: they
// keep waiting on the line.
func TestDialPlanOverflowCallback(t *testing.T) {
	plan, err := dialplan.New(dialplan.Config{HomeCountry: "US"})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, `
stats_interval: -1
queues:
  - name: q
    skills: [{skill: s, level: 1}]
    max_wait: 30s
    overflow: {action: callback}
`, acd.WithDialPlan(plan))
	premium := h.enqueue(acd.CallRequest{ID: "premium", Queue: "q", ANI: "+19005551234", Caller: geoOf("+19005551234")})
	national := h.enqueue(acd.CallRequest{ID: "national", Queue: "q", ANI: "+14155550123", Caller: geoOf("+14155550123")})
	h.advance(31 * time.Second)
	waitFor(h, func(e *acd.CallOverflowed) bool { return e.CallID == "national" && e.Action == "callback" })
	eventually(t, "national caller released for the callback", national.Ended)
	s, err := h.e.Snapshot(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range s.Calls {
		if c.Call.ID == "premium" && c.State != acd.CallStateQueued {
			t.Errorf("premium caller = %v, want still queued", c.State)
		}
	}
	if premium.Ended() {
		t.Error("premium caller's leg ended")
	}
}

func TestDialRole(t *testing.T) {
	for _, tt := range []struct {
		dir  acd.Direction
		want dialplan.Role
	}{
		{acd.Callback, dialplan.RoleCallback},
		{acd.Outbound, dialplan.RoleAgent},
		{acd.Inbound, dialplan.RoleAgent}, // a transfer of an inbound call to a number
	} {
		if got := acd.DialRole(acd.CallInfo{Direction: tt.dir}); got != tt.want {
			t.Errorf("DialRole(%s) = %s, want %s", tt.dir, got, tt.want)
		}
	}
}
