package acd_test

import (
	"errors"
	"testing"

	"switchboard/acd"
)

// TestReleaseKeepsTheLeg: a waiting call released from its queue ends
// abandoned with the reason given and its leg still up (the entry code
// ends it); a call already offered is not released; QueueStaff counts
// the queue's ready, idle and waiting.
func TestReleaseKeepsTheLeg(t *testing.T) {
	h := newHarness(t, basicYAML)
	leg := h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	if s, err := h.e.QueueStaff(h.ctx, "sales"); err != nil || s != (acd.Staff{Waiting: 1}) {
		t.Fatalf("staff with nobody logged in = %+v, %v", s, err)
	}
	if err := h.e.Release(h.ctx, "c1", "campaign grace over"); err != nil {
		t.Fatal(err)
	}
	ended := waitFor(h, func(e *acd.CallEnded) bool { return e.CallID == "c1" })
	if ended.Reason != "campaign grace over" || (ended.Outcome != acd.OutcomeAbandoned && ended.Outcome != acd.OutcomeShortAbandoned) {
		t.Errorf("ended = %+v, want abandoned with the reason", ended)
	}
	if leg.HungUp() != 0 || leg.Ended() {
		t.Error("the released call's leg was hung up")
	}
	if err := h.e.Release(h.ctx, "c1", ""); !errors.Is(err, acd.ErrUnknownCall) {
		t.Errorf("release of an ended call = %v, want ErrUnknownCall", err)
	}

	h.login("a1", true, sk("sales", 1))
	h.login("a2", false, sk("sales", 1))
	if s, err := h.e.QueueStaff(h.ctx, "sales"); err != nil || s != (acd.Staff{Ready: 1, Idle: 1}) {
		t.Fatalf("staff = %+v, %v; want one ready and idle", s, err)
	}
	h.enqueue(acd.CallRequest{ID: "c2", Queue: "sales"})
	r := h.ring()
	if err := h.e.Release(h.ctx, "c2", ""); !errors.Is(err, acd.ErrTransition) {
		t.Errorf("release of an offered call = %v, want ErrTransition", err)
	}
	r.Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == "c2" })
	if s, err := h.e.QueueStaff(h.ctx, "sales"); err != nil || s != (acd.Staff{Ready: 1}) {
		t.Errorf("staff with a1 on the call = %+v, %v", s, err)
	}
	if _, err := h.e.QueueStaff(h.ctx, "nope"); !errors.Is(err, acd.ErrUnknownQueue) {
		t.Errorf("unknown queue = %v", err)
	}
}
