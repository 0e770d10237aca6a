package acd_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/acd"
	"switchboard/acd/acdtest"
)

// takeAll takes what sub has pending (after the actor processed every
// command sent so far).
func takeAll(h *harness, sub *acd.Subscription) ([]acd.Event, bool) {
	h.t.Helper()
	h.sync()
	return sub.Take(nil)
}

// TestSubscriptionOrder: a subscription starts from a snapshot and then
// hands over every event in sequence order, many per wake-up; the engine
// never waits for the subscriber.
func TestSubscriptionOrder(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a", true, sk("sales", 1))
	sub, snap, err := h.e.Subscribe(h.ctx, acd.SubscribeOptions{Name: "test", Buffer: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if len(snap.Agents) != 1 {
		t.Fatalf("snapshot has %d agents, want 1", len(snap.Agents))
	}
	for _, id := range []string{"b", "c", "d"} {
		h.login(id, true, sk("sales", 1))
	}
	h.sync()
	if got := len(sub.Ready()); got != 1 {
		t.Errorf("ready holds %d signals, want 1 for all the events", got)
	}
	evs, open := sub.Take(nil)
	if !open || len(evs) < 3 {
		t.Fatalf("took %d events (open %v), want at least 3", len(evs), open)
	}
	last := snap.Seq
	for i, ev := range evs {
		if seq := ev.Header().Seq; seq != last+1 {
			t.Errorf("event %d (%T) has seq %d after %d", i, ev, seq, last)
		}
		last = ev.Header().Seq
	}
	if evs, _ := sub.Take(nil); len(evs) != 0 {
		t.Errorf("a second Take returned %d events", len(evs))
	}
}

// TestSubscriptionOverflowResync: a subscriber that lets its buffer fill
// loses the pending events and gets ResyncRequired, nothing more until it
// resyncs (counted in the metrics); the engine keeps serving; Resync gives
// a snapshot the following events apply to.
func TestSubscriptionOverflowResync(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := acd.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, basicYAML, acd.WithMetrics(m))
	sub, _, err := h.e.Subscribe(h.ctx, acd.SubscribeOptions{Name: "test", Buffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := range 4 {
		h.login(fmt.Sprintf("a%d", i), true, sk("sales", 1))
	}
	evs, open := takeAll(h, sub)
	if !open || len(evs) != 1 {
		t.Fatalf("took %d events (open %v), want only ResyncRequired", len(evs), open)
	}
	if _, ok := evs[0].(*acd.ResyncRequired); !ok {
		t.Fatalf("took %T, want ResyncRequired", evs[0])
	}
	h.login("late", true, sk("sales", 1)) // the engine keeps serving
	if evs, _ := takeAll(h, sub); len(evs) != 0 {
		t.Errorf("%d events queued while a resync was pending", len(evs))
	}
	snap, err := sub.Resync(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Agents) != 5 {
		t.Errorf("resync snapshot has %d agents, want 5", len(snap.Agents))
	}
	h.login("after", true, sk("sales", 1))
	evs, _ = takeAll(h, sub)
	if len(evs) == 0 || evs[0].Header().Seq != snap.Seq+1 {
		t.Errorf("after resync took %d events, want them to follow the snapshot's seq %d", len(evs), snap.Seq)
	}
	if got := counter(t, reg, "switchboard_acd_subscriber_resyncs_total"); got != 1 {
		t.Errorf("resyncs counted %v, want 1", got)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// TestRecordsNeverDropped: a Records subscriber that falls far behind
// loses deltas but every InteractionCompleted, exactly once and in order,
// including those completed while its resync is pending.
func TestRecordsNeverDropped(t *testing.T) {
	h := newHarness(t, basicYAML)
	sub, _, err := h.e.Subscribe(h.ctx, acd.SubscribeOptions{Name: "records", Buffer: 1, Records: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var want []acd.CallID
	for i := range 20 {
		id := acd.CallID(fmt.Sprintf("c%02d", i))
		leg := h.enqueue(acd.CallRequest{ID: id, Queue: "sales"})
		leg.End() // abandoned: its interaction completes at once
		waitFor(h, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == id })
		want = append(want, id)
	}
	evs, open := takeAll(h, sub)
	if !open {
		t.Fatal("subscription ended")
	}
	var got []acd.CallID
	resyncs := 0
	for _, ev := range evs {
		switch e := ev.(type) {
		case *acd.InteractionCompleted:
			got = append(got, e.Interaction.CallID)
		case *acd.ResyncRequired:
			resyncs++
		}
	}
	if resyncs != 1 {
		t.Errorf("%d ResyncRequired, want 1", resyncs)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// TestShutdownCompletesEverything: at shutdown every call still up (one
// waiting, one talking) and every wrap-up in progress completes its
// interaction, queued to the Records subscriber before Shutdown returns;
// afterwards no call is accepted.
func TestShutdownCompletesEverything(t *testing.T) {
	h := newHarness(t, basicYAML)
	sub, _, err := h.e.Subscribe(h.ctx, acd.SubscribeOptions{Name: "records", Buffer: 1, Records: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	h.login("a1", true, sk("sales", 1))
	h.login("a2", true, sk("sales", 1))
	h.enqueue(acd.CallRequest{ID: "wrapping", Queue: "sales"})
	h.ring().Answer()
	first := waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == "wrapping" })
	h.enqueue(acd.CallRequest{ID: "talking", Queue: "sales"})
	h.ring().Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == "talking" })
	if err := h.e.Hangup(h.ctx, first.Agent); err != nil {
		t.Fatal(err)
	}
	waitFor(h, func(e *acd.CallEnded) bool { return e.CallID == "wrapping" })
	waiting := h.enqueue(acd.CallRequest{ID: "waiting", Queue: "sales"})
	h.sync()
	if err := h.e.Shutdown(h.ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := sub.Take(nil)
	got := map[acd.CallID]acd.Outcome{}
	for _, ev := range evs {
		if e, ok := ev.(*acd.InteractionCompleted); ok {
			got[e.Interaction.CallID] = e.Interaction.Outcome
		}
	}
	want := map[acd.CallID]acd.Outcome{"wrapping": acd.OutcomeAnswered, "talking": acd.OutcomeAnswered, "waiting": acd.OutcomeFailed}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("interactions at shutdown (-want +got):\n%s", diff)
	}
	eventually(t, "waiting caller hung up", waiting.Ended)
	if _, err := h.e.Enqueue(h.ctx, acd.CallRequest{ID: "late", Queue: "sales"}, acdtest.NewLeg("late")); !errors.Is(err, acd.ErrClosed) {
		t.Errorf("enqueue after shutdown = %v, want ErrClosed", err)
	}
}

// TestSubscriptionEnds: Close ends a subscription once (Take reports it,
// Ready wakes the subscriber, nothing more is queued) while the engine
// serves on; Close of the engine ends the others.
func TestSubscriptionEnds(t *testing.T) {
	h := newHarness(t, basicYAML)
	sub, _, err := h.e.Subscribe(h.ctx, acd.SubscribeOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := h.e.Subscribe(h.ctx, acd.SubscribeOptions{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	h.login("a", true, sk("sales", 1))
	h.sync()
	sub.Close()
	sub.Close()
	<-sub.Ready()
	evs, open := sub.Take(nil)
	if open || len(evs) == 0 {
		t.Errorf("after Close took %d events, open %v; want the pending ones and closed", len(evs), open)
	}
	h.login("b", true, sk("sales", 1))
	if evs, _ := takeAll(h, sub); len(evs) != 0 {
		t.Errorf("%d events queued after Close", len(evs))
	}
	if _, err := sub.Resync(h.ctx); !errors.Is(err, acd.ErrClosed) {
		t.Errorf("Resync after Close = %v, want ErrClosed", err)
	}
	h.e.Close()
	for {
		<-other.Ready()
		if _, open := other.Take(nil); !open {
			break
		}
	}
}
