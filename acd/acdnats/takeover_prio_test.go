package acdnats_test

import (
	"context"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/acd/acdnats"
	"switchboard/acd/acdtest"
	"switchboard/cmd/switchboard/edgetest"
)

// segmentYAML is engineYAML with a segment bonus, so that a priority
// given the bonus twice shows.
const segmentYAML = engineYAML + `
segments: {vip: 3}
`

// deposable starts an engine whose telephony is a Leader of epoch on
// url, and returns the function that deposes it as a dead leader goes:
// it sends nothing more, stops serving and its engine closes.
func deposable(t *testing.T, url, id string, epoch uint64) (*acd.Engine, *acdnats.Leader, func()) {
	t.Helper()
	cfg, err := acd.ParseConfig([]byte(segmentYAML))
	if err != nil {
		t.Fatal(err)
	}
	l := acdnats.NewLeader(connect(t, url), acdnats.LeaderOptions{Node: id, Epoch: epoch, LostAfter: 800 * time.Millisecond,
		Announce: 200 * time.Millisecond, NewData: func() any { return new(pop) }, Logger: logger()})
	e, err := acd.New(cfg, l, l, acd.WithDialer(l), acd.WithAfterCall(l.AfterCall), acd.WithLogger(logger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = l.Serve(ctx, e) }()
	depose := func() {
		l.Detach()
		cancel()
		<-done
		_ = e.Close()
	}
	t.Cleanup(depose)
	return e, l, depose
}

// A supervisor's change to a waiting call on the old leader survives a
// takeover: after the calls are re-announced to the new leader, the one
// free agent is offered the changed call first.
func TestSupervisorChangeSurvivesTakeover(t *testing.T) {
	for _, tc := range []struct {
		name string
		// first waits longer than "second".
		first acd.CallRequest
		// change is the supervisor's change to call "second" on the
		// old leader; changed tells its CallQueued (as the node's
		// journey sees it) from the one of its enqueue.
		change  func(context.Context, *acd.Engine) error
		changed func(*acd.CallQueued) bool
		// prio is each call's whole priority on the new leader.
		prio map[acd.CallID]int
	}{
		{
			name:    "priority",
			first:   acd.CallRequest{ID: "first", Queue: "support", Segment: "vip"},
			change:  func(ctx context.Context, e *acd.Engine) error { return e.SetPriority(ctx, "second", 4) },
			changed: func(q *acd.CallQueued) bool { return q.Call.Priority == 4 },
			// "first" keeps its segment bonus once, below "second"'s
			// new priority.
			prio: map[acd.CallID]int{"first": 3, "second": 4},
		},
		{
			name:    "move to front",
			first:   acd.CallRequest{ID: "first", Queue: "support"},
			change:  func(ctx context.Context, e *acd.Engine) error { return e.MoveToFront(ctx, "second") },
			changed: func(q *acd.CallQueued) bool { return q.Position == 1 },
			prio:    map[acd.CallID]int{"first": 0, "second": 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := edgetest.StartNATS(t)
			ctx := context.Background()
			e1, _, depose := deposable(t, url, "a", 1)
			phone := acdtest.NewPhone()
			b := node(t, url, "b", phone)
			feed := &events{f: b.Follow()}
			defer feed.f.Close()

			for _, req := range []acd.CallRequest{tc.first, {ID: "second", Queue: "support"}} {
				if _, err := b.Enqueue(ctx, req, acdtest.NewLeg(string(req.ID))); err != nil {
					t.Fatal(err)
				}
				if q := next[*acd.CallQueued](t, feed); q.Call.ID != req.ID {
					t.Fatalf("queued %q, want %q", q.Call.ID, req.ID)
				}
				time.Sleep(10 * time.Millisecond) // "second" queues visibly later
			}
			if err := tc.change(ctx, e1); err != nil {
				t.Fatal(err)
			}
			// The node learnt of the change once its journey sees it.
			if q := next[*acd.CallQueued](t, feed); q.Call.ID != "second" || !tc.changed(q) {
				t.Fatalf("after the change: %+v", q)
			}
			depose()

			e2, l2, _ := deposable(t, url, "c", 2)
			if late := l2.Settle(ctx, 5*time.Second); len(late) != 0 {
				t.Fatalf("nodes not settled: %v", late)
			}
			for id, want := range tc.prio {
				info, err := e2.Call(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if info.Priority != want {
					t.Errorf("%s has priority %d on the new leader, want %d", id, info.Priority, want)
				}
			}
			login(t, e2, "alice")
			select {
			case r := <-phone.Rings:
				if r.Offer.Call.ID != "second" {
					t.Errorf("alice offered %q first, want the changed call", r.Offer.Call.ID)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("alice was offered nothing")
			}
		})
	}
}
