package acd_test

import (
	"errors"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/acd/stats"
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

// TestSeedStats: minutes seeded from the records of the last hour show
// in a queue's live statistics; unknown queues are ignored.
func TestSeedStats(t *testing.T) {
	h := newHarness(t, basicYAML)
	now := h.clock.Now()
	err := h.e.SeedStats(h.ctx, []acd.QueueMinute{
		{Queue: "sales", Minute: now.Add(-5 * time.Minute), Counts: stats.Counts{Offered: 3, Answered: 2, AnsweredWithin: 2}},
		{Queue: "nope", Minute: now.Add(-5 * time.Minute), Counts: stats.Counts{Offered: 9}},
	})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := h.e.Snapshot(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range snap.Queues {
		if q.Queue == "sales" && (q.Last60.Offered != 3 || q.Last60.Answered != 2) {
			t.Errorf("sales last hour = %+v, want the seeded 3 offered, 2 answered", q.Last60)
		}
	}
}
