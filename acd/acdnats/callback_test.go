package acdnats_test

import (
	"context"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/cmd/switchboard/edgetest"
)

// Callbacks waiting as virtual callers survive a takeover: one the node
// queued without a leg (owed from the CRM), one whose caller left the
// line in the IVR. The new leader has both, by their queue time; the
// older is called back first, the customer dialled from the node, and its
// record reaches the node's journey.
func TestCallbacksSurviveTakeover(t *testing.T) {
	url := edgetest.StartNATS(t)
	ctx := context.Background()
	_, _, depose := deposable(t, url, "a", 1)
	phone := acdtest.NewPhone()
	b := node(t, url, "b", phone)
	feed := &events{f: b.Follow()}
	defer feed.f.Close()

	if _, err := b.Enqueue(ctx, acd.CallRequest{Queue: "support", Callback: "+14155550100"}, nil); err == nil {
		t.Error("a callback without a leg or an id was taken")
	}
	if _, err := b.Enqueue(ctx, acd.CallRequest{ID: "owed", Queue: "support", Callback: "+14155550101",
		Queued: time.Now().Add(-time.Minute)}, nil); err != nil {
		t.Fatal(err)
	}
	caller := acdtest.NewLeg("ivr")
	if _, err := b.Enqueue(ctx, acd.CallRequest{ID: "ivr", Queue: "support", Callback: "+14155550102"}, caller); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the IVR caller released", caller.Ended)
	depose()

	e2, l2, _ := deposable(t, url, "c", 2)
	if late := l2.Settle(ctx, 5*time.Second); len(late) != 0 {
		t.Fatalf("nodes not settled: %v", late)
	}
	for _, id := range []acd.CallID{"owed", "ivr"} {
		info, err := e2.Call(ctx, id)
		if err != nil {
			t.Fatalf("%s on the new leader: %v", id, err)
		}
		if info.Direction != acd.Callback {
			t.Errorf("%s is %s on the new leader, want a callback", id, info.Direction)
		}
	}
	login(t, e2, "alice")
	select {
	case r := <-phone.Rings:
		if r.Offer.Call.ID != "owed" {
			t.Fatalf("alice offered %q first, want the callback owed longest", r.Offer.Call.ID)
		}
		r.Answer()
	case <-time.After(10 * time.Second):
		t.Fatal("alice was offered nothing")
	}
	waitFor(t, "the customer dialled", func() bool { return len(phone.Dials()) == 1 })
	if d := phone.Dials(); d[0] != "+14155550101" {
		t.Errorf("dialled %v", d)
	}
	if err := e2.Hangup(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	it := next[*acd.InteractionCompleted](t, feed).Interaction
	if it.CallID != "owed" || it.Outcome != acd.OutcomeAnswered || it.Agent != "alice" {
		t.Errorf("record %+v, want the owed callback answered by alice", it)
	}
}
