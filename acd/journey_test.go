package acd_test

import (
	"errors"
	"testing"
	"time"

	"switchboard/acd"
)

func TestStrategyTopSkill(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("novice", true, sk("support", 1))
	h.login("expert", true, sk("support", 5))
	h.login("mid", true, sk("support", 3))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "support"})
	off := waitFor(h, func(e *acd.CallOffered) bool { return true })
	if off.Agent != "expert" || off.Reasons[0].Factor != "skill" {
		t.Errorf("offer to %s reasons %+v, want expert by skill", off.Agent, off.Reasons)
	}
}

func TestStrategyLongestIdle(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("first", true, sk("sales", 1))
	h.advance(time.Minute)
	h.login("second", true, sk("sales", 5))
	h.advance(time.Minute)
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	if off := waitFor(h, func(e *acd.CallOffered) bool { return true }); off.Agent != "first" {
		t.Errorf("offer to %s, want first (idle longest)", off.Agent)
	}
}

func TestRelaxationAfterWait(t *testing.T) {
	h := newHarness(t, `
stats_interval: -1
queues:
  - name: billing
    skills: [{skill: billing, level: 4}, {skill: french, level: 2}]
    relax:
      - {after: 30s, lower: 2}
      - {after: 60s, drop: [french]}
`)
	h.login("junior", true, sk("billing", 2), sk("french", 1))
	h.login("english", true, sk("billing", 5))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "billing"})
	h.advance(29 * time.Second)
	h.noRing()
	h.advance(time.Second) // step 1: billing ≥ 2, french ≥ 1 → junior
	waitFor(h, func(e *acd.CallRelaxed) bool { return e.Step == 0 })
	r := h.ring()
	if r.Offer.Agent != "junior" {
		t.Fatalf("offered to %s, want junior", r.Offer.Agent)
	}
	r.Fail(acd.ErrRejected)
	waitFor(h, func(e *acd.OfferFailed) bool { return e.Cause == "rejected" })
	// junior is the only one qualified but just rejected: no re-offer to
	// them for one ring timeout (20 s by default).
	h.advance(19 * time.Second)
	h.noRing()
	h.advance(time.Second)
	r = h.ring()
	if r.Offer.Agent != "junior" {
		t.Fatalf("retry offered to %s, want junior", r.Offer.Agent)
	}
	r.Fail(acd.ErrRejected) // second miss in a row → not ready
	waitFor(h, func(e *acd.AgentPresenceChanged) bool { return e.Reason == acd.ReasonMissed })
	h.advance(10 * time.Second) // t = 60 s: french dropped
	waitFor(h, func(e *acd.CallRelaxed) bool { return e.Step == 1 })
	if r := h.ring(); r.Offer.Agent != "english" {
		t.Fatalf("after dropping french offered to %s, want english", r.Offer.Agent)
	}
}

func TestRelaxationAddQueue(t *testing.T) {
	h := newHarness(t, `
stats_interval: -1
queues:
  - name: gold
    skills: [{skill: gold, level: 1}]
    relax: [{after: 10s, add_queue: silver}]
  - name: silver
    skills: [{skill: silver, level: 1}]
`)
	h.login("s1", true, sk("silver", 2))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "gold"})
	h.advance(9 * time.Second)
	h.noRing()
	h.advance(time.Second)
	if r := h.ring(); r.Offer.Agent != "s1" {
		t.Fatalf("offered to %s", r.Offer.Agent)
	}
}

func TestGeographyPreference(t *testing.T) {
	h := newHarness(t, `
stats_interval: -1
queues:
  - name: intl
    skills: [{skill: intl, level: 1}]
    strategy: nearest
  - name: uk-only
    skills: [{skill: intl, level: 1}]
    geography: country
    relax: [{after: 20s, geography: any}]
`)
	h.loginSpec(acd.AgentSpec{ID: "us", Skills: []acd.SkillLevel{sk("intl", 5)}, Country: "US", TimeZone: "America/New_York", Ready: true})
	h.advance(time.Minute) // the US agent has idled longer
	h.loginSpec(acd.AgentSpec{ID: "uk", Skills: []acd.SkillLevel{sk("intl", 1)}, Country: "GB", TimeZone: "Europe/London", Ready: true})
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "intl", ANI: "+442079460958", Caller: geoOf("+442079460958")})
	off := waitFor(h, func(e *acd.CallOffered) bool { return true })
	if off.Agent != "uk" || off.Call.Country != "GB" || off.Reasons[0].Factor != "geo" {
		t.Fatalf("offer to %s (%+v), want uk by geo", off.Agent, off.Reasons)
	}
	h.ring().Fail(acd.ErrRejected)
	waitFor(h, func(e *acd.OfferFailed) bool { return true })
	if off := waitFor(h, func(e *acd.CallOffered) bool { return true }); off.Agent != "us" {
		t.Fatalf("re-offer to %s, want us", off.Agent)
	}
	h.ring().Fail(acd.ErrRejected)

	// Hard country filter, widened after 20 s.
	h2 := newHarness(t, `
stats_interval: -1
queues:
  - name: uk-only
    skills: [{skill: intl, level: 1}]
    geography: country
    relax: [{after: 20s, geography: any}]
`)
	h2.loginSpec(acd.AgentSpec{ID: "us", Skills: []acd.SkillLevel{sk("intl", 5)}, Country: "US", Ready: true})
	h2.enqueue(acd.CallRequest{ID: "c2", Queue: "uk-only", ANI: "+442079460958", Caller: geoOf("+442079460958")})
	h2.advance(19 * time.Second)
	h2.noRing()
	h2.advance(time.Second)
	if r := h2.ring(); r.Offer.Agent != "us" {
		t.Fatalf("after widening offered to %s", r.Offer.Agent)
	}
}

func TestStickyAgent(t *testing.T) {
	h := newHarness(t, `
stats_interval: -1
sticky_window: 15s
wrap_up: 0
queues:
  - name: sales
    skills: [{skill: sales, level: 1}]
`)
	h.login("last", true, sk("sales", 1))
	h.login("other", true, sk("sales", 1))
	// Available preferred agent wins over a longer-idle one.
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales", PreferredAgent: "last"})
	off := waitFor(h, func(e *acd.CallOffered) bool { return true })
	if off.Agent != "last" || off.Reasons[0].Factor != "sticky" {
		t.Fatalf("offer to %s (%+v), want last by sticky", off.Agent, off.Reasons)
	}
	h.ring().Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == "c1" })
	h.enqueue(acd.CallRequest{ID: "c1b", Queue: "sales"})
	if r := h.ring(); r.Offer.Agent != "other" {
		t.Fatalf("c1b rang %s", r.Offer.Agent)
	} else {
		r.Answer()
	}
	waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == "c1b" })
	if err := h.e.Hangup(h.ctx, "other"); err != nil {
		t.Fatal(err)
	}
	waitFor(h, func(e *acd.AgentStateChanged) bool { return e.Agent == "other" && e.State == acd.StateIdle })
	// "last" is busy: the caller waits for them within the window even
	// though "other" is idle.
	h.enqueue(acd.CallRequest{ID: "c2", Queue: "sales", PreferredAgent: "last"})
	h.advance(5 * time.Second)
	h.noRing()
	if err := h.e.Hangup(h.ctx, "last"); err != nil {
		t.Fatal(err)
	}
	if r := h.ring(); r.Offer.Agent != "last" || r.Offer.Call.ID != "c2" {
		t.Fatalf("ring %s for %s, want last for c2", r.Offer.Agent, r.Offer.Call.ID)
	} else {
		r.Answer()
	}
	waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == "c2" })
	// Window expiry: the busy preferred agent is skipped after 15 s.
	h.enqueue(acd.CallRequest{ID: "c3", Queue: "sales", PreferredAgent: "last"})
	h.advance(14 * time.Second)
	h.noRing()
	h.advance(time.Second)
	if r := h.ring(); r.Offer.Agent != "other" {
		t.Fatalf("after window ring %s, want other", r.Offer.Agent)
	}
}

func TestVIPPriorityAndCrossQueueOrder(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", false, sk("sales", 1), sk("support", 1))
	h.enqueue(acd.CallRequest{ID: "old-support", Queue: "support"})
	h.advance(time.Second)
	h.enqueue(acd.CallRequest{ID: "sales", Queue: "sales"})
	h.advance(time.Second)
	h.enqueue(acd.CallRequest{ID: "vip", Queue: "sales", Segment: "vip"})
	s, _ := h.e.Snapshot(h.ctx)
	pos := map[acd.CallID]int{}
	for _, c := range s.Calls {
		pos[c.Call.ID] = c.Position
	}
	if pos["vip"] != 1 || pos["sales"] != 2 {
		t.Errorf("positions = %v, want vip 1, sales 2", pos)
	}
	want := []acd.CallID{"vip", "old-support", "sales"}
	if err := h.e.SetPresence(h.ctx, "a1", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	for i, id := range want {
		r := h.ring()
		if r.Offer.Call.ID != id {
			t.Fatalf("offer %d = %s, want %s", i, r.Offer.Call.ID, id)
		}
		r.Answer()
		waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == id })
		if err := h.e.Hangup(h.ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if err := h.e.Wrap(h.ctx, "a1", "", ""); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMoveToFrontAndBump(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", false, sk("sales", 1))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	h.enqueue(acd.CallRequest{ID: "c2", Queue: "sales"})
	h.enqueue(acd.CallRequest{ID: "c3", Queue: "sales"})
	if err := h.e.MoveToFront(h.ctx, "c3"); err != nil {
		t.Fatal(err)
	}
	if err := h.e.SetPriority(h.ctx, "c2", 5); err != nil {
		t.Fatal(err)
	}
	if err := h.e.SetPriority(h.ctx, "zz", 5); !errors.Is(err, acd.ErrUnknownCall) {
		t.Errorf("bump unknown = %v", err)
	}
	if err := h.e.SetPresence(h.ctx, "a1", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	if r := h.ring(); r.Offer.Call.ID != "c2" {
		t.Fatalf("first offer %s, want bumped c2", r.Offer.Call.ID)
	} else {
		r.Fail(errors.New("busy"))
	}
	// c2 goes back to the head; a1 is excluded for it, so c3 (moved to the front) is next.
	if r := h.ring(); r.Offer.Call.ID != "c3" {
		t.Fatalf("second offer %s, want c3", r.Offer.Call.ID)
	}
}

func TestMissedOfferRequeue(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 1))
	h.advance(time.Second)
	h.login("a2", true, sk("sales", 1))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	r := h.ring()
	if r.Offer.Agent != "a1" {
		t.Fatalf("first offer to %s", r.Offer.Agent)
	}
	h.advance(15 * time.Second) // ring timeout
	<-r.Withdrawn()
	f := waitFor(h, func(e *acd.OfferFailed) bool { return true })
	if f.Cause != "no-answer" || f.Missed != 1 {
		t.Errorf("offer failed = %+v", f)
	}
	r2 := h.ring()
	if r2.Offer.Agent != "a2" || r2.Offer.Call.ID != "c1" {
		t.Fatalf("re-offer to %s for %s", r2.Offer.Agent, r2.Offer.Call.ID)
	}
	off := waitFor(h, func(e *acd.CallOffered) bool { return e.Agent == "a2" })
	if off.Attempt != 2 {
		t.Errorf("attempt = %d, want 2", off.Attempt)
	}
	r2.Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return true })
	// a1 misses a second call in a row → not ready "missed".
	h.enqueue(acd.CallRequest{ID: "c2", Queue: "sales"})
	r = h.ring()
	r.Fail(acd.ErrNoAnswer)
	pc := waitFor(h, func(e *acd.AgentPresenceChanged) bool { return e.Agent == "a1" })
	if pc.Presence != acd.PresenceNotReady || pc.Reason != acd.ReasonMissed || pc.By != "acd" {
		t.Errorf("presence = %+v", pc)
	}
	s, _ := h.e.Snapshot(h.ctx)
	for _, c := range s.Calls {
		if c.Call.ID == "c2" && (c.State != acd.CallStateQueued || c.Position != 1) {
			t.Errorf("c2 = %+v, want queued at the head", c)
		}
	}
}

func TestAbandonDuringOffer(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 1))
	caller := h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	r := h.ring()
	h.advance(8 * time.Second)
	caller.End()
	<-r.Withdrawn()
	ab := waitFor(h, func(e *acd.CallAbandoned) bool { return true })
	if !ab.DuringOffer || ab.Short || ab.Waited != 8*time.Second {
		t.Errorf("abandon = %+v", ab)
	}
	it := waitFor(h, func(e *acd.InteractionCompleted) bool { return true }).Interaction
	if it.Outcome != acd.OutcomeAbandoned {
		t.Errorf("outcome = %v", it.Outcome)
	}
	if s := h.agentState("a1"); s.State != acd.StateIdle || s.Missed != 0 || s.Presence != acd.PresenceReady {
		t.Errorf("agent = %+v, want idle ready, no miss", s)
	}
	// A late answer after withdrawal is hung up.
	late := r.Answer()
	_ = late
	// Short abandon while queued.
	h.login("a2", false, sk("sales", 1))
	if err := h.e.SetPresence(h.ctx, "a1", acd.PresenceNotReady, acd.ReasonBreak); err != nil {
		t.Fatal(err)
	}
	c2 := h.enqueue(acd.CallRequest{ID: "c2", Queue: "sales"})
	h.advance(2 * time.Second)
	c2.End()
	ab = waitFor(h, func(e *acd.CallAbandoned) bool { return e.CallID == "c2" })
	if !ab.Short || ab.DuringOffer {
		t.Errorf("short abandon = %+v", ab)
	}
	s, _ := h.e.Snapshot(h.ctx)
	if q := s.Queues[0]; q.Interval.Abandoned != 1 || q.Interval.ShortAbandoned != 1 || q.Interval.Offered != 2 {
		t.Errorf("stats = %+v", q.Interval)
	}
}

func TestOverflowVoicemail(t *testing.T) {
	h := newHarness(t, `
stats_interval: -1
queues:
  - name: q
    skills: [{skill: s, level: 1}]
    max_wait: 60s
    overflow: {action: voicemail}
`)
	caller := h.enqueue(acd.CallRequest{ID: "c1", Queue: "q", ANI: "+14155550123", Caller: geoOf("+14155550123")})
	h.advance(60 * time.Second)
	of := waitFor(h, func(e *acd.CallOverflowed) bool { return true })
	if of.Action != "voicemail" || of.Cause != "max-wait" {
		t.Errorf("overflow = %+v", of)
	}
	vm := waitFor(h, func(e *acd.VoicemailLeft) bool { return true })
	if vm.Recording != "voicemail/c1.wav" || vm.Call.E164 != "+14155550123" {
		t.Errorf("voicemail = %+v", vm)
	}
	it := waitFor(h, func(e *acd.InteractionCompleted) bool { return true }).Interaction
	if it.Outcome != acd.OutcomeVoicemail || it.Recording != "voicemail/c1.wav" {
		t.Errorf("interaction = %+v", it)
	}
	eventually(t, "caller hung up", caller.Ended)
}

func TestOverflowCallbackKeepsPosition(t *testing.T) {
	h := newHarness(t, `
stats_interval: -1
queues:
  - name: q
    skills: [{skill: s, level: 1}]
    max_wait: 30s
    overflow: {action: callback}
`)
	h.login("a1", false, sk("s", 1))
	cb := h.enqueue(acd.CallRequest{ID: "cb", Queue: "q", ANI: "+14155550123", Caller: geoOf("+14155550123")})
	h.advance(10 * time.Second)
	h.enqueue(acd.CallRequest{ID: "later", Queue: "q"})
	h.advance(20 * time.Second) // cb overflows to a callback
	waitFor(h, func(e *acd.CallOverflowed) bool { return e.CallID == "cb" && e.Action == "callback" })
	eventually(t, "caller leg released", cb.Ended)
	s, _ := h.e.Snapshot(h.ctx)
	for _, c := range s.Calls {
		if c.Call.ID == "cb" && (c.State != acd.CallStateCallback || c.Position != 1) {
			t.Errorf("callback = %+v, want virtual caller at position 1", c)
		}
	}
	if err := h.e.SetPresence(h.ctx, "a1", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	r := h.ring()
	if r.Offer.Call.ID != "cb" || r.Offer.Call.Direction != acd.Callback {
		t.Fatalf("first offer %s (%s), want the callback", r.Offer.Call.ID, r.Offer.Call.Direction)
	}
	r.Answer()
	ans := waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == "cb" })
	if ans.Agent != "a1" {
		t.Errorf("answered = %+v", ans)
	}
	if d := h.phone.Dials(); len(d) != 1 || d[0] != "+14155550123" {
		t.Errorf("dials = %v", d)
	}
}

func TestOverflowQueueAndNoAgents(t *testing.T) {
	h := newHarness(t, `
stats_interval: -1
queues:
  - name: front
    skills: [{skill: front, level: 1}]
    no_agents: overflow
    overflow: {action: queue, queue: back}
  - name: back
    skills: [{skill: back, level: 1}]
    max_length: 1
`)
	h.login("b", false, sk("back", 1))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "front"})
	of := waitFor(h, func(e *acd.CallOverflowed) bool { return true })
	if of.Cause != "no-agents" || of.Target != "back" {
		t.Errorf("overflow = %+v", of)
	}
	if _, err := h.e.Enqueue(h.ctx, acd.CallRequest{ID: "c2", Queue: "back"}, newLeg("c2")); !errors.Is(err, acd.ErrQueueFull) {
		t.Errorf("max length = %v, want ErrQueueFull", err)
	}
	if err := h.e.SetPresence(h.ctx, "b", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	if r := h.ring(); r.Offer.Call.ID != "c1" || r.Offer.Call.Queue != "back" {
		t.Fatalf("offer %s in %s", r.Offer.Call.ID, r.Offer.Call.Queue)
	}
}

func TestTransfers(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 1))
	caller := h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	leg1 := h.ring().Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return true })
	h.login("s1", true, sk("support", 2))
	if err := h.e.Transfer(h.ctx, "a1", acd.TransferTarget{Queue: "support"}); err != nil {
		t.Fatal(err)
	}
	tr := waitFor(h, func(e *acd.CallTransferred) bool { return true })
	if tr.To.Queue != "support" || tr.From != "a1" {
		t.Errorf("transfer = %+v", tr)
	}
	eventually(t, "a1 leg hung up", leg1.Ended)
	if s := h.agentState("a1"); s.State != acd.StateWrapUp {
		t.Errorf("a1 = %v, want wrap-up", s.State)
	}
	r := h.ring()
	if r.Offer.Agent != "s1" || r.Offer.Call.ID != "c1" || r.Offer.Call.Queue != "support" {
		t.Fatalf("offer %+v", r.Offer)
	}
	r.Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return e.Agent == "s1" })
	if caller.Ended() {
		t.Fatal("caller dropped by transfer")
	}
	if err := h.e.Wrap(h.ctx, "a1", "transferred", ""); err != nil {
		t.Fatal(err)
	}
	it := waitFor(h, func(e *acd.InteractionCompleted) bool { return true }).Interaction
	if it.Agent != "a1" || it.Outcome != acd.OutcomeTransferred || it.TransferTo != "support" {
		t.Errorf("first interaction = %+v", it)
	}
	// Blind transfer to a number.
	if err := h.e.Transfer(h.ctx, "s1", acd.TransferTarget{Number: "+14155550999"}); err != nil {
		t.Fatal(err)
	}
	// The caller hangs up once bridged to the number (not while it rings).
	eventually(t, "bridged to the number", func() bool {
		for _, b := range h.phone.Bridges() {
			if b.Agent.ID() == "dial-+14155550999" {
				return true
			}
		}
		return false
	})
	caller.End()
	ended := waitFor(h, func(e *acd.CallEnded) bool { return e.CallID == "c1" && e.Outcome == acd.OutcomeTransferred })
	_ = ended
	// Transfer to an agent, and bad targets.
	if err := h.e.Transfer(h.ctx, "s1", acd.TransferTarget{}); !errors.Is(err, acd.ErrInvalidArgument) {
		t.Errorf("empty target = %v", err)
	}
}

func TestTransferToAgent(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 1))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	h.ring().Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return true })
	h.login("a2", true, sk("billing", 1)) // not even in the queue's skills
	h.login("a3", true, sk("sales", 1))
	if err := h.e.Transfer(h.ctx, "a1", acd.TransferTarget{Agent: "a2"}); err != nil {
		t.Fatal(err)
	}
	if r := h.ring(); r.Offer.Agent != "a2" {
		t.Fatalf("transfer rang %s, want a2", r.Offer.Agent)
	}
	if err := h.e.Transfer(h.ctx, "a3", acd.TransferTarget{Agent: "a1"}); !errors.Is(err, acd.ErrNoCall) {
		t.Errorf("transfer without call = %v", err)
	}
}

func TestClickToDial(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", false, sk("sales", 1))
	id, err := h.e.Dial(h.ctx, "a1", "+14155550123")
	if err != nil {
		t.Fatal(err)
	}
	r := h.ring()
	if r.Offer.Call.Direction != acd.Outbound || r.Offer.Call.ID != id {
		t.Fatalf("ring = %+v", r.Offer)
	}
	if len(h.phone.Dials()) != 0 {
		t.Fatal("customer dialled before the agent answered")
	}
	r.Answer()
	ans := waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == id })
	if ans.Agent != "a1" {
		t.Errorf("answered = %+v", ans)
	}
	if d := h.phone.Dials(); len(d) != 1 || d[0] != "+14155550123" {
		t.Errorf("dials = %v", d)
	}
	if _, err := h.e.Dial(h.ctx, "a1", "+14155550124"); !errors.Is(err, acd.ErrAgentBusy) {
		t.Errorf("second dial = %v, want ErrAgentBusy", err)
	}
	if err := h.e.Hangup(h.ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Wrap(h.ctx, "a1", "callback-done", ""); err != nil {
		t.Fatal(err)
	}
	it := waitFor(h, func(e *acd.InteractionCompleted) bool { return true }).Interaction
	if it.Direction != acd.Outbound || it.Outcome != acd.OutcomeAnswered {
		t.Errorf("interaction = %+v", it)
	}
	// Customer does not answer.
	h.phone.DialFail.Store(true)
	id2, err := h.e.Dial(h.ctx, "a1", "+14155550125")
	if err != nil {
		t.Fatal(err)
	}
	h.ring().Answer()
	ended := waitFor(h, func(e *acd.CallEnded) bool { return e.CallID == id2 })
	if ended.Outcome != acd.OutcomeFailed {
		t.Errorf("outcome = %v", ended.Outcome)
	}
	// Nothing to wrap up: the agent is free at once.
	if s := h.agentState("a1"); s.State != acd.StateIdle {
		t.Errorf("after the failed dial a1 is %s, want idle", s.State)
	}
	// The agent's own phone fails.
	id3, err := h.e.Dial(h.ctx, "a1", "+14155550126")
	if err != nil {
		t.Fatal(err)
	}
	h.ring().Fail(errors.New("unreachable"))
	ended = waitFor(h, func(e *acd.CallEnded) bool { return e.CallID == id3 })
	if ended.Outcome != acd.OutcomeFailed {
		t.Errorf("outcome = %v", ended.Outcome)
	}
	if s := h.agentState("a1"); s.State != acd.StateIdle {
		t.Errorf("agent = %v, want idle", s.State)
	}
}

func TestAnswerAcceptAndReject(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 1))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	r := h.ring()
	select {
	case <-r.Offer.Accept:
		t.Fatal("accepted before Answer")
	default:
	}
	if err := h.e.Answer(h.ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	<-r.Offer.Accept // a WebRTC ringer would now return its leg
	if err := h.e.Reject(h.ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	<-r.Withdrawn()
	f := waitFor(h, func(e *acd.OfferFailed) bool { return true })
	if f.Cause != "rejected" {
		t.Errorf("cause = %q", f.Cause)
	}
	if err := h.e.Answer(h.ctx, "a1"); err == nil {
		// The call is re-offered to a1 (the only agent): Answer applies to it.
		h.ring()
	}
}

func TestRingAll(t *testing.T) {
	h := newHarness(t, `
stats_interval: -1
queues:
  - name: q
    skills: [{skill: s, level: 1}]
    strategy: ring-all
`)
	h.login("a1", true, sk("s", 1))
	h.login("a2", true, sk("s", 1))
	h.login("a3", true, sk("x", 1))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "q"})
	r1, r2 := h.ring(), h.ring()
	h.noRing()
	r2.Answer()
	ans := waitFor(h, func(e *acd.CallAnswered) bool { return true })
	if ans.Agent != r2.Offer.Agent {
		t.Errorf("answered by %s, want %s", ans.Agent, r2.Offer.Agent)
	}
	<-r1.Withdrawn()
	if s := h.agentState(string(r1.Offer.Agent)); s.State != acd.StateIdle || s.Missed != 0 {
		t.Errorf("loser = %+v", s)
	}
}

func TestAnnouncementsAndAging(t *testing.T) {
	h := newHarness(t, `
stats_interval: -1
aging: 60s
queues:
  - name: low
    skills: [{skill: s, level: 1}]
    announce: 30s
    music_on_hold: jazz.wav
  - name: high
    skills: [{skill: s, level: 1}]
    priority: 2
`)
	h.login("a1", false, sk("s", 1))
	h.login("a2", false, sk("s", 1))
	q := waitFor(h, func(e *acd.AgentPresenceChanged) bool { return e.Agent == "a2" })
	_ = q
	if err := h.e.SetPresence(h.ctx, "a2", acd.PresenceNotReady, acd.ReasonLunch); err != nil {
		t.Fatal(err)
	}
	h.enqueue(acd.CallRequest{ID: "old", Queue: "low"})
	h.advance(30 * time.Second)
	pos := waitFor(h, func(e *acd.CallPosition) bool { return true })
	if pos.Position != 1 || pos.Music != "jazz.wav" {
		t.Errorf("announcement = %+v", pos)
	}
	h.advance(2*time.Minute + 30*time.Second) // "old" aged by 3 points after 180 s
	h.enqueue(acd.CallRequest{ID: "new", Queue: "high"})
	if err := h.e.SetPresence(h.ctx, "a1", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	if r := h.ring(); r.Offer.Call.ID != "old" {
		t.Errorf("offer %s, want the aged call", r.Offer.Call.ID)
	}
	s, _ := h.e.Snapshot(h.ctx)
	for _, c := range s.Calls {
		if c.Call.ID == "new" && !c.EWT.Known {
			t.Errorf("EWT unknown with a staffed agent: %+v", c)
		}
	}
}

// TestCallbackWithoutLeg: a callback owed to a customer no longer on the
// line (queued again after a restart, or scheduled) needs no leg; it
// keeps its place by its queue time, the agent is rung first and the
// customer dialled, and its interaction completes. Without an id it is
// refused.
func TestCallbackWithoutLeg(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", false, sk("sales", 1))
	if _, err := h.e.Enqueue(h.ctx, acd.CallRequest{Queue: "sales", Callback: "+14155550123"}, nil); !errors.Is(err, acd.ErrInvalidArgument) {
		t.Errorf("callback without id or leg: %v, want ErrInvalidArgument", err)
	}
	if _, err := h.e.Enqueue(h.ctx, acd.CallRequest{ID: "c0", Queue: "sales"}, nil); !errors.Is(err, acd.ErrInvalidArgument) {
		t.Errorf("call without leg: %v, want ErrInvalidArgument", err)
	}
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	h.advance(10 * time.Second)
	if _, err := h.e.Enqueue(h.ctx, acd.CallRequest{ID: "cb", Queue: "sales", Callback: "+14155550123",
		Queued: h.clock.Now().Add(-time.Minute)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.e.SetPresence(h.ctx, "a1", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	r := h.ring()
	if r.Offer.Call.ID != "cb" || r.Offer.Call.Direction != acd.Callback || r.Offer.Call.Channel != acd.ChannelCallback {
		t.Fatalf("first offer %s (%s, %s), want the callback that queued first", r.Offer.Call.ID, r.Offer.Call.Direction, r.Offer.Call.Channel)
	}
	r.Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return e.CallID == "cb" && e.Agent == "a1" })
	if d := h.phone.Dials(); len(d) != 1 || d[0] != "+14155550123" {
		t.Errorf("dials = %v", d)
	}
	if err := h.e.Hangup(h.ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Wrap(h.ctx, "a1", "callback-done", ""); err != nil {
		t.Fatal(err)
	}
	it := waitFor(h, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "cb" }).Interaction
	if it.Outcome != acd.OutcomeAnswered || it.Agent != "a1" || it.Direction != acd.Callback {
		t.Errorf("interaction = %+v, want the callback answered by a1", it)
	}
}
