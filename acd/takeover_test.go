package acd_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
)

// callSnap returns call id from a snapshot.
func (h *harness) callSnap(id acd.CallID) acd.CallSnapshot {
	h.t.Helper()
	s, err := h.e.Snapshot(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, c := range s.Calls {
		if c.Call.ID == id {
			return c
		}
	}
	h.t.Fatalf("call %s not in snapshot", id)
	return acd.CallSnapshot{}
}

// answeredIn is how many answers queue counted in the last 15 minutes.
func (h *harness) answeredIn(queue string) int {
	h.t.Helper()
	s, err := h.e.Snapshot(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, q := range s.Queues {
		if q.Queue == queue {
			return q.Last15.Answered
		}
	}
	h.t.Fatalf("queue %s not in snapshot", queue)
	return 0
}

// serve answers the next ring, expecting call id for agent, hangs up and
// submits the wrap-up.
func (h *harness) serve(agent string, id acd.CallID) {
	h.t.Helper()
	r := h.ring()
	if r.Offer.Call.ID != id || r.Offer.Agent != acd.AgentID(agent) {
		h.t.Fatalf("offer = %s to %s, want %s to %s", r.Offer.Call.ID, r.Offer.Agent, id, agent)
	}
	r.Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == id })
	if err := h.e.Hangup(h.ctx, acd.AgentID(agent)); err != nil {
		h.t.Fatal(err)
	}
	if err := h.e.Wrap(h.ctx, acd.AgentID(agent), "", ""); err != nil {
		h.t.Fatal(err)
	}
}

// TestReannouncedOrder: calls re-announced to a new leader out of order,
// in two queues, keep the order they queued in (their CallQueued carries
// that time and the place it gives), ahead of a call queued since the
// takeover; a queue time in the future counts as now.
func TestReannouncedOrder(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", false, sk("sales", 1), sk("support", 1))
	h.advance(10 * time.Minute)
	now := h.clock.Now()
	for _, tt := range []struct {
		id      acd.CallID
		queue   string
		queued  time.Time
		wantAt  time.Time
		wantPos int
	}{
		{"c2", "sales", now.Add(-2 * time.Minute), now.Add(-2 * time.Minute), 1},
		{"new", "sales", time.Time{}, now, 2},
		{"c3", "support", now.Add(-time.Minute), now.Add(-time.Minute), 1},
		{"c1", "sales", now.Add(-3 * time.Minute), now.Add(-3 * time.Minute), 1},
		{"future", "support", now.Add(time.Hour), now, 2},
	} {
		h.enqueue(acd.CallRequest{ID: tt.id, Queue: tt.queue, Queued: tt.queued})
		q := waitFor(h, func(e *acd.CallQueued) bool { return e.Call.ID == tt.id })
		if !q.Call.Queued.Equal(tt.wantAt) || q.Position != tt.wantPos {
			t.Errorf("%s queued at %v in position %d, want %v in %d", tt.id, q.Call.Queued, q.Position, tt.wantAt, tt.wantPos)
		}
	}
	if err := h.e.SetPresence(h.ctx, "a1", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	h.serve("a1", "c1")
	it := waitFor(h, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "c1" }).Interaction
	if it.Wait != 3*time.Minute || !it.Queued.Equal(now.Add(-3*time.Minute)) {
		t.Errorf("c1 waited %v from %v, want 3m from its first queue time", it.Wait, it.Queued)
	}
	for _, id := range []acd.CallID{"c2", "c3", "new", "future"} {
		h.serve("a1", id)
	}
}

// TestReannouncedAging: a re-announced call ages from the time it first
// queued, so it goes before a newer call of a higher-priority queue.
func TestReannouncedAging(t *testing.T) {
	h := newHarness(t, `
stats_interval: -1
aging: 60s
queues:
  - name: low
    skills: [{skill: s, level: 1}]
  - name: high
    skills: [{skill: s, level: 1}]
    priority: 2
`)
	h.login("a1", false, sk("s", 1))
	h.advance(time.Hour)
	h.enqueue(acd.CallRequest{ID: "new", Queue: "high"})
	h.enqueue(acd.CallRequest{ID: "old", Queue: "low", Queued: h.clock.Now().Add(-3 * time.Minute)})
	if err := h.e.SetPresence(h.ctx, "a1", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	if r := h.ring(); r.Offer.Call.ID != "old" {
		t.Errorf("offer %s, want old, aged 3 points since it first queued", r.Offer.Call.ID)
	}
}

// TestReannouncedRelaxation: a relaxation step already due when the call
// is re-announced applies at once; the next one is armed for the time
// left.
func TestReannouncedRelaxation(t *testing.T) {
	h := newHarness(t, `
stats_interval: -1
queues:
  - name: billing
    skills: [{skill: billing, level: 4}, {skill: french, level: 2}]
    relax:
      - {after: 30s, lower: 2}
      - {after: 60s, drop: [french]}
`)
	h.login("junior", false, sk("billing", 2), sk("french", 1))
	h.login("english", true, sk("billing", 5))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "billing", Queued: h.clock.Now().Add(-45 * time.Second)})
	waitFor(h, func(e *acd.CallQueued) bool { return e.Call.ID == "c1" })
	if rx := waitFor(h, func(e *acd.CallRelaxed) bool { return e.CallID == "c1" }); rx.Step != 0 {
		t.Fatalf("first relaxation = step %d, want 0 at once", rx.Step)
	}
	h.noRing() // junior now qualifies but is not ready; english lacks french
	if err := h.e.SetPresence(h.ctx, "junior", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	r := h.ring()
	if r.Offer.Agent != "junior" {
		t.Fatalf("offered to %s, want junior after step 0", r.Offer.Agent)
	}
	r.Fail(acd.ErrRejected)
	waitFor(h, func(e *acd.OfferFailed) bool { return e.CallID == "c1" })
	h.advance(14 * time.Second)
	h.noRing()
	h.advance(time.Second) // 60 s since it queued: french dropped
	if rx := waitFor(h, func(e *acd.CallRelaxed) bool { return e.CallID == "c1" }); rx.Step != 1 {
		t.Fatalf("second relaxation = step %d, want 1", rx.Step)
	}
	if r := h.ring(); r.Offer.Agent != "english" {
		t.Fatalf("after dropping french offered to %s, want english", r.Offer.Agent)
	}
}

// TestReannouncedMaxWait: a call re-announced after its max_wait
// overflows at once, before an agent of its queue is offered it; one
// with time left overflows when that time is up.
func TestReannouncedMaxWait(t *testing.T) {
	h := newHarness(t, `
stats_interval: -1
queues:
  - name: front
    skills: [{skill: front, level: 1}]
    max_wait: 60s
    overflow: {action: queue, queue: back}
  - name: back
    skills: [{skill: back, level: 1}]
`)
	h.login("f1", true, sk("front", 1))
	h.login("b1", false, sk("back", 1))
	h.enqueue(acd.CallRequest{ID: "late", Queue: "front", Queued: h.clock.Now().Add(-90 * time.Second)})
	of := waitFor(h, func(e *acd.CallOverflowed) bool { return e.CallID == "late" })
	if of.Cause != "max-wait" || of.Target != "back" {
		t.Errorf("overflow = %+v, want max-wait to back", of)
	}
	h.noRing()
	if c := h.callSnap("late"); c.Call.Queue != "back" || c.State != acd.CallStateQueued {
		t.Errorf("late is %s in %s, want queued in back", c.State, c.Call.Queue)
	}

	if err := h.e.SetPresence(h.ctx, "f1", acd.PresenceNotReady, ""); err != nil {
		t.Fatal(err)
	}
	h.enqueue(acd.CallRequest{ID: "soon", Queue: "front", Queued: h.clock.Now().Add(-50 * time.Second)})
	h.advance(9 * time.Second)
	if c := h.callSnap("soon"); c.Call.Queue != "front" {
		t.Fatalf("soon in %s after 59 s, want front", c.Call.Queue)
	}
	h.advance(time.Second)
	if of := waitFor(h, func(e *acd.CallOverflowed) bool { return e.CallID == "soon" }); of.Cause != "max-wait" {
		t.Errorf("overflow = %+v, want max-wait", of)
	}
}

// TestAdoptCall: a call adopted as connected is answered without an
// offer, bridged with the legs given, holds its agent (a waiting call is
// not offered to them), holds and hangs up as any call and is recorded
// once with the times it was given.
func TestAdoptCall(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 1))
	h.advance(10 * time.Minute)
	now := h.clock.Now()
	caller, agentLeg := newLeg("c1"), newLeg("a1-c1")
	req := acd.CallRequest{ID: "c1", Queue: "sales", ANI: "+14155550123", Arrived: now.Add(-90 * time.Second), Queued: now.Add(-80 * time.Second)}
	id, err := h.e.AdoptCall(h.ctx, req, caller, "a1", agentLeg, now.Add(-time.Minute))
	if err != nil || id != "c1" {
		t.Fatalf("AdoptCall = %q, %v", id, err)
	}
	ans := waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == "c1" })
	if ans.Agent != "a1" || ans.Queue != "sales" || ans.Channel != acd.ChannelVoice || ans.Waited != 20*time.Second {
		t.Errorf("answered = %+v, want c1 by a1 in sales after 20s", ans)
	}
	eventually(t, "legs bridged", func() bool {
		b := h.phone.Bridges()
		return len(b) == 1 && b[0].Caller == caller && b[0].Agent == agentLeg
	})
	if s := h.agentState("a1"); s.State != acd.StateOnCall || s.CallID != "c1" {
		t.Errorf("a1 = %s on %q, want on-call c1", s.State, s.CallID)
	}
	if n := h.answeredIn("sales"); n != 0 {
		t.Errorf("sales counted %d answers, want none for an adopted call", n)
	}
	h.enqueue(acd.CallRequest{ID: "c2", Queue: "sales"})
	h.noRing()

	if err := h.e.Hold(h.ctx, "a1", true); err != nil {
		t.Fatal(err)
	}
	h.advance(10 * time.Second)
	if err := h.e.Hold(h.ctx, "a1", false); err != nil {
		t.Fatal(err)
	}
	h.advance(20 * time.Second)
	if err := h.e.Hangup(h.ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if end := waitFor(h, func(e *acd.CallEnded) bool { return e.CallID == "c1" }); end.Agent != "a1" || end.Outcome != acd.OutcomeAnswered {
		t.Errorf("ended = %+v, want answered by a1", end)
	}
	eventually(t, "legs hung up", func() bool { return caller.HungUp() > 0 && agentLeg.HungUp() > 0 })
	if err := h.e.Wrap(h.ctx, "a1", "sale", ""); err != nil {
		t.Fatal(err)
	}
	ended := now.Add(30 * time.Second)
	want := acd.Interaction{CallID: "c1", Channel: acd.ChannelVoice, Direction: acd.Inbound, Queue: "sales", Agent: "a1",
		ANI: "+14155550123", Arrived: now.Add(-90 * time.Second), Queued: now.Add(-80 * time.Second), Answered: now.Add(-time.Minute),
		Ended: ended, Completed: ended, Wait: 20 * time.Second, Talk: 80 * time.Second, Hold: 10 * time.Second,
		Outcome: acd.OutcomeAnswered, Disposition: "sale",
		Parties: []acd.Party{{Agent: "a1", Role: acd.RoleAgent, Joined: now.Add(-time.Minute), Left: ended}},
		Holds:   []acd.HoldSpan{{Agent: "a1", From: now, To: now.Add(10 * time.Second)}}}
	it := waitFor(h, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "c1" }).Interaction
	if diff := cmp.Diff(want, it); diff != "" {
		t.Errorf("c1's record (-want +got):\n%s", diff)
	}

	h.serve("a1", "c2")
	for {
		ev := waitFor(h, func(e *acd.InteractionCompleted) bool { return true })
		if ev.Interaction.CallID == "c2" {
			break
		}
		t.Errorf("another record of %s before c2's: %+v", ev.Interaction.CallID, ev.Interaction)
	}
	if n := h.answeredIn("sales"); n != 1 {
		t.Errorf("sales counted %d answers, want c2's", n)
	}
}

// TestAdoptedCallTransfer: an adopted call transfers as any answered
// call: the next agent is offered it, the first records their part.
func TestAdoptedCallTransfer(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 1))
	h.login("b1", true, sk("sales", 1))
	agentLeg := newLeg("a1-c1")
	if _, err := h.e.AdoptCall(h.ctx, acd.CallRequest{ID: "c1", Queue: "sales"}, newLeg("c1"), "a1", agentLeg, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Transfer(h.ctx, "a1", acd.TransferTarget{Agent: "b1"}); err != nil {
		t.Fatal(err)
	}
	if r := h.ring(); r.Offer.Call.ID != "c1" || r.Offer.Agent != "b1" {
		t.Fatalf("offer = %s to %s, want c1 to b1", r.Offer.Call.ID, r.Offer.Agent)
	}
	eventually(t, "a1's leg hung up", func() bool { return agentLeg.HungUp() > 0 })
	if err := h.e.Wrap(h.ctx, "a1", "moved", ""); err != nil {
		t.Fatal(err)
	}
	it := waitFor(h, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "c1" }).Interaction
	if it.Agent != "a1" || it.Outcome != acd.OutcomeTransferred || it.TransferTo != "b1" || it.Disposition != "moved" {
		t.Errorf("a1's record = %+v, want transferred to b1", it)
	}
}

// TestAdoptCallNotLoggedIn: a call adopted for an agent the engine does
// not know is held by them offline; Login keeps them on it (a waiting
// call is not offered to them) until it ends and is wrapped up. A call
// whose caller left before the adoption ends at once and is recorded; an
// agent known only from it is forgotten once it is over.
func TestAdoptCallNotLoggedIn(t *testing.T) {
	h := newHarness(t, basicYAML)
	caller := newLeg("c1")
	if _, err := h.e.AdoptCall(h.ctx, acd.CallRequest{ID: "c1", Queue: "sales"}, caller, "z1", newLeg("z1-c1"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if s := h.agentState("z1"); s.Presence != acd.PresenceOffline || s.State != acd.StateOnCall || s.CallID != "c1" {
		t.Fatalf("z1 = %s %s on %q, want offline on c1", s.Presence, s.State, s.CallID)
	}
	if err := h.e.Hangup(h.ctx, "z1"); !errors.Is(err, acd.ErrUnknownAgent) {
		t.Errorf("Hangup before Login = %v, want ErrUnknownAgent", err)
	}
	h.login("z1", true, sk("sales", 1))
	h.enqueue(acd.CallRequest{ID: "c2", Queue: "sales"})
	h.noRing()
	if s := h.agentState("z1"); s.Presence != acd.PresenceReady || s.State != acd.StateOnCall || s.CallID != "c1" {
		t.Fatalf("z1 after Login = %s %s on %q, want ready, still on c1", s.Presence, s.State, s.CallID)
	}
	caller.End()
	if end := waitFor(h, func(e *acd.CallEnded) bool { return e.CallID == "c1" }); end.Agent != "z1" {
		t.Errorf("ended = %+v, want z1's", end)
	}
	if err := h.e.Wrap(h.ctx, "z1", "", ""); err != nil {
		t.Fatal(err)
	}
	if r := h.ring(); r.Offer.Call.ID != "c2" || r.Offer.Agent != "z1" {
		t.Fatalf("offer = %s to %s, want c2 to z1 after the wrap-up", r.Offer.Call.ID, r.Offer.Agent)
	}

	y := newLeg("c3")
	y.End() // before the new leader adopts it: it ends at once, recorded
	if _, err := h.e.AdoptCall(h.ctx, acd.CallRequest{ID: "c3", Queue: "sales"}, y, "y1", newLeg("y1-c3"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	waitFor(h, func(e *acd.CallEnded) bool { return e.CallID == "c3" })
	h.advance(10 * time.Second) // the queue's wrap-up
	waitFor(h, func(e *acd.InteractionCompleted) bool {
		return e.Interaction.CallID == "c3" && e.Interaction.Agent == "y1"
	})
	s, err := h.e.Snapshot(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range s.Agents {
		if a.ID == "y1" {
			t.Errorf("y1 still known after their only call: %+v", a)
		}
	}
}

// TestAdoptCallRefused: a live id, an unknown queue, an agent on another
// call and bad arguments are refused, and nothing changes.
func TestAdoptCallRefused(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", false, sk("sales", 1))
	h.login("b1", false, sk("sales", 1))
	h.enqueue(acd.CallRequest{ID: "live", Queue: "sales"})
	if _, err := h.e.AdoptCall(h.ctx, acd.CallRequest{ID: "held", Queue: "sales"}, newLeg("held"), "b1", newLeg("b1-held"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		req      acd.CallRequest
		caller   acd.Leg
		agent    acd.AgentID
		agentLeg acd.Leg
		want     error
	}{
		{"waiting id", acd.CallRequest{ID: "live", Queue: "sales"}, newLeg("x"), "a1", newLeg("y"), acd.ErrDuplicate},
		{"adopted id", acd.CallRequest{Queue: "sales"}, newLeg("held"), "a1", newLeg("y"), acd.ErrDuplicate},
		{"unknown queue", acd.CallRequest{ID: "x", Queue: "nope"}, newLeg("x"), "a1", newLeg("y"), acd.ErrUnknownQueue},
		{"agent on a call", acd.CallRequest{ID: "x", Queue: "sales"}, newLeg("x"), "b1", newLeg("y"), acd.ErrAgentBusy},
		{"nil caller", acd.CallRequest{ID: "x", Queue: "sales"}, nil, "a1", newLeg("y"), acd.ErrInvalidArgument},
		{"nil agent leg", acd.CallRequest{ID: "x", Queue: "sales"}, newLeg("x"), "a1", nil, acd.ErrInvalidArgument},
		{"empty agent", acd.CallRequest{ID: "x", Queue: "sales"}, newLeg("x"), "", newLeg("y"), acd.ErrInvalidArgument},
		{"callback", acd.CallRequest{ID: "x", Queue: "sales", Callback: "+14155550123"}, newLeg("x"), "a1", newLeg("y"), acd.ErrInvalidArgument},
		{"bad skill", acd.CallRequest{ID: "x", Queue: "sales", Skills: []acd.SkillLevel{sk("sales", 9)}}, newLeg("x"), "a1", newLeg("y"), acd.ErrInvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := h.e.AdoptCall(h.ctx, tt.req, tt.caller, tt.agent, tt.agentLeg, time.Time{}); !errors.Is(err, tt.want) {
				t.Errorf("AdoptCall = %v, want %v", err, tt.want)
			}
		})
	}
	s, err := h.e.Snapshot(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[acd.CallID]acd.CallState{}
	for _, c := range s.Calls {
		got[c.Call.ID] = c.State
	}
	if diff := cmp.Diff(map[acd.CallID]acd.CallState{"live": acd.CallStateQueued, "held": acd.CallStateConnected}, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if a := h.agentState("a1"); a.State != acd.StateIdle {
		t.Errorf("a1 = %s, want idle", a.State)
	}
}

// TestRoutingHeld: an engine started with its routing held (a new leader
// while the nodes re-announce) offers nothing: a call re-announced as
// connected is adopted by an agent who logged in first, and once routing
// is released the waiting calls go to the free agents in queue order.
func TestRoutingHeld(t *testing.T) {
	h := newHarness(t, basicYAML, acd.WithRoutingHeld())
	h.login("a1", true, sk("sales", 1))
	h.login("b1", true, sk("sales", 1))
	h.advance(time.Minute)
	now := h.clock.Now()
	h.enqueue(acd.CallRequest{ID: "late", Queue: "sales"})
	h.enqueue(acd.CallRequest{ID: "early", Queue: "sales", Queued: now.Add(-30 * time.Second)})
	h.noRing()
	if _, err := h.e.AdoptCall(h.ctx, acd.CallRequest{ID: "talking", Queue: "sales"}, newLeg("talking"), "a1", newLeg("a1-talking"), now); err != nil {
		t.Fatalf("AdoptCall while held = %v, want the idle agent's call adopted", err)
	}
	h.noRing()
	if err := h.e.ReleaseRouting(h.ctx); err != nil {
		t.Fatal(err)
	}
	if r := h.ring(); r.Offer.Call.ID != "early" || r.Offer.Agent != "b1" {
		t.Fatalf("first offer after the release = %s to %s, want early to b1", r.Offer.Call.ID, r.Offer.Agent)
	}
	h.noRing()
	if err := h.e.ReleaseRouting(h.ctx); err != nil {
		t.Errorf("a second release = %v, want a no-op", err)
	}
}
