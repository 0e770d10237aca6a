package acd_test

import (
	"errors"
	"fmt"
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
		role dialplan.Role
		want dialplan.Role
	}{
		{acd.Callback, "", dialplan.RoleCallback},
		{acd.Outbound, "", dialplan.RoleAgent},
		{acd.Inbound, "", dialplan.RoleAgent}, // a transfer of an inbound call to a number
		{acd.Outbound, dialplan.RoleSupervisor, dialplan.RoleSupervisor},
		{acd.Callback, dialplan.RoleAgent, dialplan.RoleAgent}, // an agent transfers a callback to a number
	} {
		t.Run(fmt.Sprintf("%s %s", tt.dir, tt.role), func(t *testing.T) {
			if got := acd.DialRole(acd.CallInfo{Direction: tt.dir, Role: tt.role}); got != tt.want {
				t.Errorf("DialRole(%s, %q) = %s, want %s", tt.dir, tt.role, got, tt.want)
			}
		})
	}
}

// TestDialPlanSupervisorRole: with the default plan, an international
// number is refused to an agent's click-to-dial and transfer, and
// dialled for a supervisor's, whose calls name the supervisor role for
// the telephony side's own check (DialRole).
func TestDialPlanSupervisorRole(t *testing.T) {
	const intl = "+33142685300"
	for _, tt := range []struct {
		name       string
		supervisor bool
		want       error
	}{
		{"agent", false, acd.ErrNotPermitted},
		{"supervisor", true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := dialplan.New(dialplan.Config{HomeCountry: "US"})
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, basicYAML, acd.WithDialPlan(plan))
			h.loginSpec(acd.AgentSpec{ID: "a1", Endpoint: "sip:a1", Skills: []acd.SkillLevel{sk("sales", 1)}, Supervisor: tt.supervisor})

			_, err = h.e.Dial(h.ctx, "a1", intl)
			if !errors.Is(err, tt.want) {
				t.Fatalf("click-to-dial %s = %v, want %v", intl, err, tt.want)
			}
			if tt.want == nil {
				r := h.ring()
				if got := acd.DialRole(r.Offer.Call); got != dialplan.RoleSupervisor {
					t.Errorf("click-to-dial's role = %s, want supervisor", got)
				}
				r.Answer()
				eventually(t, "international number dialled", func() bool { return len(h.phone.Dials()) == 1 })
				if err := h.e.Hangup(h.ctx, "a1"); err != nil {
					t.Fatal(err)
				}
				if err := h.e.Wrap(h.ctx, "a1", "", ""); err != nil {
					t.Fatal(err)
				}
			}

			if err := h.e.SetPresence(h.ctx, "a1", acd.PresenceReady, ""); err != nil {
				t.Fatal(err)
			}
			h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
			h.ring().Answer()
			waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == "c1" })
			dialled := len(h.phone.Dials())
			if err := h.e.Transfer(h.ctx, "a1", acd.TransferTarget{Number: intl}); !errors.Is(err, tt.want) {
				t.Fatalf("transfer to %s = %v, want %v", intl, err, tt.want)
			}
			if tt.want != nil {
				if s := h.agentState("a1"); s.State != acd.StateOnCall {
					t.Errorf("a1 = %v after the refused transfer, want still on the call", s.State)
				}
				return
			}
			eventually(t, "transfer dialled", func() bool { return len(h.phone.Dials()) == dialled+1 })
			info, err := h.e.Call(h.ctx, "c1")
			if err != nil {
				t.Fatal(err)
			}
			if got := acd.DialRole(info); got != dialplan.RoleSupervisor {
				t.Errorf("transfer's role = %s, want supervisor", got)
			}
		})
	}
}
