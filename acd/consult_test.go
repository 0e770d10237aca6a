package acd_test

import (
	"errors"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/acd/acdtest"
)

// onCall answers a call of sales by a1 and returns the caller's and a1's
// legs.
func onCall(t *testing.T, h *harness) (caller, a1 *acdtest.Leg) {
	t.Helper()
	h.login("a1", true, sk("sales", 1))
	caller = h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	a1 = h.ring().Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return e.Agent == "a1" })
	return caller, a1
}

// lastConference waits for a conference of n legs and returns it.
func lastConference(t *testing.T, h *harness, n int) []acd.Leg {
	t.Helper()
	var got []acd.Leg
	eventually(t, "conference", func() bool {
		cs := h.phone.Conferences()
		if len(cs) == 0 || len(cs[len(cs)-1]) != n {
			return false
		}
		got = cs[len(cs)-1]
		return true
	})
	return got
}

func TestWarmTransferToAgent(t *testing.T) {
	h := newHarness(t, basicYAML)
	caller, a1 := onCall(t, h)
	h.login("a2", true, sk("billing", 1))
	h.advance(30 * time.Second) // a1 and the caller talk a while
	if err := h.e.Consult(h.ctx, "a1", acd.TransferTarget{Agent: "a2"}); err != nil {
		t.Fatal(err)
	}
	waitFor(h, func(e *acd.CallHeld) bool { return e.On })
	if !caller.Held() {
		eventually(t, "caller on hold", caller.Held)
	}
	r := h.ring()
	if r.Offer.Agent != "a2" || r.Offer.Call.ID != "c1" {
		t.Fatalf("consult rang %+v", r.Offer)
	}
	// The caller cannot be put on hold or blind-transferred meanwhile.
	if err := h.e.Hold(h.ctx, "a1", false); err == nil {
		t.Error("resume during a consultation accepted")
	}
	if err := h.e.Transfer(h.ctx, "a1", acd.TransferTarget{Queue: "support"}); err == nil {
		t.Error("blind transfer during a consultation accepted")
	}
	a2 := r.Answer()
	waitFor(h, func(e *acd.ConsultChanged) bool { return e.Phase == acd.ConsultTalking && e.Target.Agent == "a2" })
	legs := lastConference(t, h, 2)
	if legs[0] != acd.Leg(a1) || legs[1] != acd.Leg(a2) {
		t.Fatalf("consultation connects %s and %s", legs[0].ID(), legs[1].ID())
	}
	h.advance(20 * time.Second)
	if err := h.e.CompleteTransfer(h.ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	waitFor(h, func(e *acd.ConsultChanged) bool { return e.Phase == acd.ConsultCompleted })
	eventually(t, "a1's leg hung up", a1.Ended)
	eventually(t, "caller off hold", func() bool { return !caller.Held() })
	eventually(t, "caller bridged to a2", func() bool {
		bs := h.phone.Bridges()
		return len(bs) > 0 && bs[len(bs)-1].Caller == acd.Leg(caller) && bs[len(bs)-1].Agent == acd.Leg(a2)
	})
	if s := h.agentState("a1"); s.State != acd.StateWrapUp {
		t.Errorf("a1 = %v, want wrap-up", s.State)
	}
	if s := h.agentState("a2"); s.State != acd.StateOnCall {
		t.Errorf("a2 = %v, want on call", s.State)
	}
	if err := h.e.Wrap(h.ctx, "a1", "transferred", ""); err != nil {
		t.Fatal(err)
	}
	first := waitFor(h, func(e *acd.InteractionCompleted) bool { return true }).Interaction
	if first.Agent != "a1" || first.Outcome != acd.OutcomeTransferred || first.TransferTo != "a2" {
		t.Errorf("a1's record = %+v", first)
	}
	if len(first.Parties) != 2 || first.Parties[0].Agent != "a1" || first.Parties[0].Role != acd.RoleAgent ||
		first.Parties[1].Agent != "a2" || first.Parties[1].Role != acd.RoleConsult {
		t.Errorf("a1's record parties = %+v", first.Parties)
	}
	if len(first.Holds) != 1 || first.Holds[0].Agent != "a1" || first.Holds[0].To.Sub(first.Holds[0].From) != 20*time.Second {
		t.Errorf("a1's record holds = %+v", first.Holds)
	}
	h.advance(10 * time.Second)
	caller.End()
	waitFor(h, func(e *acd.CallEnded) bool { return e.CallID == "c1" && e.Agent == "a2" })
	if err := h.e.Wrap(h.ctx, "a2", "solved", ""); err != nil {
		t.Fatal(err)
	}
	second := waitFor(h, func(e *acd.InteractionCompleted) bool { return true }).Interaction
	if second.Agent != "a2" || second.Outcome != acd.OutcomeAnswered || second.Talk != 30*time.Second || second.Continued {
		t.Errorf("a2's record = %+v", second)
	}
	if !first.Continued {
		t.Error("a1's part is not marked continued: the call would have two records")
	}
	// The call's record keeps every party and hold.
	if p := second.Parties; len(p) != 3 || p[0].Agent != "a1" || p[0].Role != acd.RoleAgent || p[1].Agent != "a2" ||
		p[1].Role != acd.RoleConsult || p[2].Agent != "a2" || p[2].Role != acd.RoleAgent {
		t.Errorf("call's record parties = %+v", p)
	}
	if len(second.Holds) != 1 || second.Holds[0].Agent != "a1" {
		t.Errorf("call's record holds = %+v", second.Holds)
	}
}

func TestConsultCancelAndFailure(t *testing.T) {
	h := newHarness(t, basicYAML)
	caller, a1 := onCall(t, h)
	// A number answers; the agent goes back to the caller.
	if err := h.e.Consult(h.ctx, "a1", acd.TransferTarget{Number: "+14155550999"}); err != nil {
		t.Fatal(err)
	}
	waitFor(h, func(e *acd.ConsultChanged) bool { return e.Phase == acd.ConsultTalking })
	legs := lastConference(t, h, 2)
	if legs[1].ID() != "dial-+14155550999" {
		t.Fatalf("consulted %s", legs[1].ID())
	}
	if err := h.e.CancelConsult(h.ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "number hung up", func() bool { return legs[1].Context().Err() != nil })
	eventually(t, "caller back with a1", func() bool {
		bs := h.phone.Bridges()
		return len(bs) == 2 && bs[1].Caller == acd.Leg(caller) && bs[1].Agent == acd.Leg(a1) && !caller.Held()
	})
	if s := h.agentState("a1"); s.State != acd.StateOnCall {
		t.Errorf("a1 = %v, want on call", s.State)
	}
	// An agent who does not answer: back to the caller as well.
	h.login("a2", true, sk("billing", 1))
	if err := h.e.Consult(h.ctx, "a1", acd.TransferTarget{Agent: "a2"}); err != nil {
		t.Fatal(err)
	}
	h.ring().Fail(acd.ErrNoAnswer)
	ev := waitFor(h, func(e *acd.ConsultChanged) bool { return e.Phase == acd.ConsultFailed })
	if ev.Reason != "no-answer" {
		t.Errorf("failure reason %q", ev.Reason)
	}
	eventually(t, "caller back with a1 again", func() bool { return len(h.phone.Bridges()) == 3 && !caller.Held() })
	if s := h.agentState("a2"); s.State != acd.StateIdle {
		t.Errorf("a2 = %v, want idle", s.State)
	}
	// Bad requests.
	if err := h.e.Consult(h.ctx, "a1", acd.TransferTarget{Agent: "a1"}); !errors.Is(err, acd.ErrInvalidArgument) {
		t.Errorf("consult self = %v", err)
	}
	if err := h.e.Consult(h.ctx, "a2", acd.TransferTarget{Agent: "a1"}); !errors.Is(err, acd.ErrNoCall) {
		t.Errorf("consult without a call = %v", err)
	}
	if err := h.e.Consult(h.ctx, "a1", acd.TransferTarget{Queue: "support"}); !errors.Is(err, acd.ErrAgentBusy) {
		t.Errorf("consult a queue nobody serves = %v", err)
	}
	if err := h.e.CompleteTransfer(h.ctx, "a1"); !errors.Is(err, acd.ErrNoCall) {
		t.Errorf("complete without consultation = %v", err)
	}
}

func TestConferenceAgentsLeave(t *testing.T) {
	h := newHarness(t, basicYAML)
	caller, a1 := onCall(t, h)
	h.login("s1", true, sk("support", 1))
	// A queue's free agent joins a conference; then leaves it.
	if err := h.e.Conference(h.ctx, "a1", acd.TransferTarget{Queue: "support"}); err != nil {
		t.Fatal(err)
	}
	r := h.ring()
	if r.Offer.Agent != "s1" {
		t.Fatalf("queue consult rang %s", r.Offer.Agent)
	}
	s1 := r.Answer()
	waitFor(h, func(e *acd.ConsultChanged) bool { return e.Phase == acd.ConsultConference })
	legs := lastConference(t, h, 3)
	if legs[0] != acd.Leg(caller) || legs[1] != acd.Leg(a1) || legs[2] != acd.Leg(s1) {
		t.Fatalf("conference of %s %s %s", legs[0].ID(), legs[1].ID(), legs[2].ID())
	}
	if err := h.e.Hangup(h.ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	waitFor(h, func(e *acd.ConsultChanged) bool { return e.Phase == acd.ConsultLeft })
	eventually(t, "caller back with a1", func() bool {
		bs := h.phone.Bridges()
		return len(bs) == 2 && bs[1].Agent == acd.Leg(a1)
	})
	if caller.Ended() {
		t.Fatal("caller dropped when the third party left")
	}
	if s := h.agentState("s1"); s.State != acd.StateIdle {
		t.Errorf("s1 = %v, want idle", s.State)
	}
	// Conference again; this time the agent who owns the call leaves and
	// the third party keeps the caller.
	if err := h.e.Conference(h.ctx, "a1", acd.TransferTarget{Agent: "s1"}); err != nil {
		t.Fatal(err)
	}
	s1 = h.ring().Answer()
	lastConference(t, h, 3)
	if err := h.e.Hangup(h.ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a1's leg hung up", a1.Ended)
	eventually(t, "caller bridged to s1", func() bool {
		bs := h.phone.Bridges()
		return bs[len(bs)-1].Agent == acd.Leg(s1) && !caller.Ended()
	})
	if s := h.agentState("a1"); s.State != acd.StateWrapUp {
		t.Errorf("a1 = %v, want wrap-up", s.State)
	}
	// The caller hangs up during a consultation: everything ends.
	h.login("a3", true, sk("billing", 1))
	if err := h.e.Consult(h.ctx, "s1", acd.TransferTarget{Agent: "a3"}); err != nil {
		t.Fatal(err)
	}
	h.ring()
	caller.End()
	waitFor(h, func(e *acd.CallEnded) bool { return e.CallID == "c1" && e.Agent == "s1" })
	h.sync()
	if s := h.agentState("a3"); s.State != acd.StateIdle {
		t.Errorf("a3 = %v, want idle after the caller left", s.State)
	}
	eventually(t, "s1's leg hung up", s1.Ended)
}
