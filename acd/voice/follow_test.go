package voice_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/acd/voice"
)

// TestRunRecordsEveryInteraction: every interaction the engine completes
// is recorded exactly once through the journey's subscription, those
// completed while Run is busy and those Shutdown completes before Run's
// context ends.
func TestRunRecordsEveryInteraction(t *testing.T) {
	const ended, waiting = 300, 5
	e := newEngine(t)
	rec := &memRecorder{}
	x := voice.New(voice.EngineRouter(e), noFlows{}, nil, rec, voice.Options{DefaultRegion: "US"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()
	bg := context.Background()
	for i := range ended + waiting {
		id := fmt.Sprintf("c%03d", i)
		leg := acdtest.NewLeg(id)
		if _, err := e.Enqueue(bg, acd.CallRequest{ID: acd.CallID(id), Queue: "support"}, leg); err != nil {
			t.Fatal(err)
		}
		if i < ended {
			leg.End() // abandoned: its interaction completes at once
		}
	}
	if err := e.Shutdown(bg); err != nil { // the waiting calls complete (failed)
		t.Fatal(err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	seen := map[string]int{}
	for _, r := range rec.recs {
		seen[r.CallID]++
	}
	for i := range ended + waiting {
		if id := fmt.Sprintf("c%03d", i); seen[id] != 1 {
			t.Errorf("%s recorded %d times, want once", id, seen[id])
		}
	}
	if len(seen) != ended+waiting {
		t.Errorf("%d calls recorded, want %d", len(seen), ended+waiting)
	}
}

// TestRunRecordsOnlyCalls: the journey records the calls' interactions,
// not those of other channels' tasks (their adapters record them).
func TestRunRecordsOnlyCalls(t *testing.T) {
	cfg, err := acd.ParseConfig([]byte(engineYAML))
	if err != nil {
		t.Fatal(err)
	}
	phone := acdtest.NewPhone()
	e, err := acd.New(cfg, phone, phone, acd.WithChannel(acd.ChannelChat, acdtest.NewChannel()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	rec := &memRecorder{}
	x := voice.New(voice.EngineRouter(e), noFlows{}, nil, rec, voice.Options{DefaultRegion: "US"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()
	bg := context.Background()
	if _, err := e.Submit(bg, acd.Task{ID: "chat-1", Channel: acd.ChannelChat, Queue: "support"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Withdraw(bg, "chat-1"); err != nil {
		t.Fatal(err)
	}
	leg := acdtest.NewLeg("call-1")
	if _, err := e.Enqueue(bg, acd.CallRequest{ID: "call-1", Queue: "support"}, leg); err != nil {
		t.Fatal(err)
	}
	leg.End()
	if err := e.Shutdown(bg); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.recs) != 1 || rec.recs[0].CallID != "call-1" {
		t.Fatalf("recorded %+v, want only call-1", rec.recs)
	}
}
