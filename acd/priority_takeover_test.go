package acd_test

import (
	"testing"
	"time"

	"switchboard/acd"
)

// reannounce is the request a node re-announces a waiting call with to a
// new leader: the first request, with what the old leader last said of
// the call (its CallQueued).
func reannounce(req acd.CallRequest, last acd.CallInfo) acd.CallRequest {
	req.Queued, req.Fronted = last.Queued, last.Fronted
	req.Priority, req.WholePriority = last.Priority, true
	return req
}

// queued enqueues req and returns the call as its CallQueued tells it.
func (h *harness) queued(req acd.CallRequest) acd.CallInfo {
	h.t.Helper()
	h.enqueue(req)
	return waitFor(h, func(e *acd.CallQueued) bool { return e.Call.ID == req.ID }).Call
}

// TestWholePriority: a request's priority gets the segment bonus unless it
// is the call's whole priority.
func TestWholePriority(t *testing.T) {
	h := newHarness(t, basicYAML)
	for _, tt := range []struct {
		name string
		req  acd.CallRequest
		want int
	}{
		{"segment bonus added", acd.CallRequest{ID: "bonus", Priority: 1, Segment: "vip"}, 51},
		{"whole", acd.CallRequest{ID: "whole", Priority: 7, Segment: "vip", WholePriority: true}, 7},
		{"no segment", acd.CallRequest{ID: "plain", Priority: 2}, 2},
		{"whole without segment", acd.CallRequest{ID: "plain-whole", Priority: 3, WholePriority: true}, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Queue = "sales"
			if got := h.queued(tt.req).Priority; got != tt.want {
				t.Errorf("CallQueued priority %d, want %d", got, tt.want)
			}
			if got := h.callSnap(tt.req.ID).Priority; got != tt.want {
				t.Errorf("snapshot priority %d, want %d", got, tt.want)
			}
		})
	}
}

// TestSetPriorityReannounced: a supervisor's priority, re-announced with
// the priority the old leader published, is the call's priority on the
// new leader as it was (no second segment bonus), and routes first.
func TestSetPriorityReannounced(t *testing.T) {
	old := newHarness(t, basicYAML)
	reqs := []acd.CallRequest{{ID: "vip", Queue: "sales", Segment: "vip"}, {ID: "bumped", Queue: "sales"}}
	last := map[acd.CallID]acd.CallInfo{}
	for _, req := range reqs {
		last[req.ID] = old.queued(req)
		old.advance(time.Minute)
	}
	if err := old.e.SetPriority(old.ctx, "bumped", 60); err != nil {
		t.Fatal(err)
	}
	last["bumped"] = waitFor(old, func(e *acd.CallQueued) bool { return e.Call.ID == "bumped" }).Call
	if got := last["bumped"].Priority; got != 60 {
		t.Fatalf("CallQueued after SetPriority has priority %d, want 60", got)
	}

	h := newHarness(t, basicYAML)
	h.advance(time.Hour)
	for _, req := range reqs {
		got := h.queued(reannounce(req, last[req.ID]))
		if want := last[req.ID].Priority; got.Priority != want {
			t.Errorf("%s has priority %d on the new leader, want %d", req.ID, got.Priority, want)
		}
	}
	h.login("a1", true, sk("sales", 1))
	h.serve("a1", "bumped")
	h.serve("a1", "vip")
}

// TestMoveToFrontReannounced: calls moved to the front keep their place
// on a new leader whatever order the nodes re-announce the calls in: the
// one moved last first, then the one moved before, then the others by
// queue time, then a call queued since the takeover. A re-announced call
// keeps its time in front for a later takeover, and MoveToFront on the
// new leader puts a call ahead of them all.
func TestMoveToFrontReannounced(t *testing.T) {
	old := newHarness(t, basicYAML)
	var reqs []acd.CallRequest
	last := map[acd.CallID]acd.CallInfo{}
	for _, id := range []acd.CallID{"a", "b", "c", "d", "e"} {
		req := acd.CallRequest{ID: id, Queue: "sales"}
		reqs = append(reqs, req)
		last[id] = old.queued(req)
		old.advance(time.Minute)
	}
	for _, id := range []acd.CallID{"c", "d"} {
		if err := old.e.MoveToFront(old.ctx, id); err != nil {
			t.Fatal(err)
		}
		q := waitFor(old, func(e *acd.CallQueued) bool { return e.Call.ID == id })
		if !q.Call.Fronted.Equal(old.clock.Now()) || q.Position != 1 {
			t.Fatalf("%s moved to the front at %v in position %d, want %v in 1", id, q.Call.Fronted, q.Position, old.clock.Now())
		}
		last[id] = q.Call
		old.advance(time.Minute)
	}
	for _, order := range [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 0, 3, 1, 4}, {3, 4, 1, 2, 0}, {1, 3, 0, 4, 2}} {
		var name []byte
		for _, i := range order {
			name = append(name, reqs[i].ID[0])
		}
		t.Run(string(name), func(t *testing.T) {
			h := newHarness(t, basicYAML)
			h.advance(time.Hour)
			for _, i := range order {
				req := reqs[i]
				got := h.queued(reannounce(req, last[req.ID]))
				if !got.Fronted.Equal(last[req.ID].Fronted) {
					t.Errorf("%s moved to the front at %v on the new leader, want %v", req.ID, got.Fronted, last[req.ID].Fronted)
				}
			}
			h.enqueue(acd.CallRequest{ID: "new", Queue: "sales"})
			if err := h.e.MoveToFront(h.ctx, "e"); err != nil {
				t.Fatal(err)
			}
			h.login("a1", true, sk("sales", 1))
			for _, id := range []acd.CallID{"e", "d", "c", "a", "b", "new"} {
				h.serve("a1", id)
			}
		})
	}
}
