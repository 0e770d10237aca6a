package acd_test

import (
	"testing"

	"switchboard/acd"
)

// TestShutdownDuringOffer: a call ringing an agent when the engine shuts
// down withdraws the offer with the call: the ring is cancelled and the
// agent is idle again, not reserved for an ended call (whose answer would
// connect it).
func TestShutdownDuringOffer(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 1))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	r := h.ring()
	if err := h.e.Shutdown(h.ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(h, func(e *acd.OfferFailed) bool { return e.CallID == "c1" && e.Cause == "withdrawn" })
	<-r.Withdrawn()
	if s := h.agentState("a1"); s.State != acd.StateIdle || s.CallID != "" {
		t.Errorf("agent = %+v, want idle without a call", s)
	}
}
