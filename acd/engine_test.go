package acd_test

import (
	"errors"
	"testing"
	"time"

	"switchboard/acd"
)

const basicYAML = `
ring_timeout: 15s
missed_offers: 2
wrap_up: 10s
stats_interval: -1
segments: {vip: 50}
queues:
  - name: sales
    skills: [{skill: sales, level: 1}]
    service_level: {threshold: 20s, target: 80, short_abandon: 5s}
  - name: support
    skills: [{skill: support, level: 1}]
    strategy: top-skill
`

func TestCallJourney(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 3))
	caller := h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales", ANI: "+14155550123", Caller: geoOf("+14155550123"), Language: "en",
		IVRPath: []string{"menu", "1"}, Vars: map[string]string{"account": "42"}, Data: "crm-contact-7"})
	off := waitFor(h, func(e *acd.CallOffered) bool { return true })
	if off.Agent != "a1" || off.Call.E164 != "+14155550123" || off.Call.Country != "US" || off.Call.Data != "crm-contact-7" ||
		off.Call.Vars["account"] != "42" || len(off.Call.IVRPath) != 2 || len(off.Reasons) == 0 {
		t.Fatalf("offer = %+v", off)
	}
	if off.Call.TimeZone == "" {
		t.Errorf("no time zone resolved for %s", off.Call.E164)
	}
	h.advance(3 * time.Second)
	r := h.ring()
	if r.Offer.Endpoint != "sip:a1" {
		t.Errorf("endpoint = %q", r.Offer.Endpoint)
	}
	agentLeg := r.Answer()
	ans := waitFor(h, func(e *acd.CallAnswered) bool { return true })
	if ans.Waited != 3*time.Second {
		t.Errorf("waited = %v, want 3s", ans.Waited)
	}
	if s := h.agentState("a1"); s.State != acd.StateOnCall || s.CallID != "c1" {
		t.Errorf("agent = %+v, want on-call c1", s)
	}
	h.advance(60 * time.Second)
	caller.End()
	ended := waitFor(h, func(e *acd.CallEnded) bool { return true })
	if ended.Outcome != acd.OutcomeAnswered {
		t.Errorf("outcome = %v", ended.Outcome)
	}
	waitFor(h, func(e *acd.AgentStateChanged) bool { return e.State == acd.StateWrapUp })
	eventually(t, "agent leg hung up", func() bool { return agentLeg.HungUp() > 0 })
	if err := h.e.Wrap(h.ctx, "a1", "sale", "upsold"); err != nil {
		t.Fatal(err)
	}
	ic := waitFor(h, func(e *acd.InteractionCompleted) bool { return true })
	it := ic.Interaction
	if it.Outcome != acd.OutcomeAnswered || it.Agent != "a1" || it.Wait != 3*time.Second || it.Talk != 60*time.Second ||
		it.Disposition != "sale" || it.Notes != "upsold" || it.Queue != "sales" || it.Offers != 1 || len(it.Reasons) == 0 {
		t.Errorf("interaction = %+v", it)
	}
	if s := h.agentState("a1"); s.State != acd.StateIdle || s.CallsToday != 1 {
		t.Errorf("agent after wrap = %+v", s)
	}
}

func TestWrapUpTimer(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 3))
	caller := h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	h.ring().Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return true })
	caller.End()
	waitFor(h, func(e *acd.AgentStateChanged) bool { return e.State == acd.StateWrapUp })
	h.advance(9 * time.Second)
	if s := h.agentState("a1"); s.State != acd.StateWrapUp {
		t.Fatalf("state after 9s = %v, want wrap-up", s.State)
	}
	h.advance(time.Second)
	ic := waitFor(h, func(e *acd.InteractionCompleted) bool { return true })
	if ic.Interaction.WrapUp != 10*time.Second {
		t.Errorf("wrap-up = %v, want 10s", ic.Interaction.WrapUp)
	}
}

func TestAgentHangupAndHold(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 3))
	caller := h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	h.ring().Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return true })
	if err := h.e.Hold(h.ctx, "a1", false); !errors.Is(err, acd.ErrNoCall) {
		t.Errorf("resume while not held = %v, want ErrNoCall", err)
	}
	if err := h.e.Hold(h.ctx, "a1", true); err != nil {
		t.Fatal(err)
	}
	if !caller.Held() || h.agentState("a1").State != acd.StateOnHold {
		t.Fatalf("held=%v state=%v", caller.Held(), h.agentState("a1").State)
	}
	h.advance(20 * time.Second)
	if err := h.e.Hold(h.ctx, "a1", false); err != nil {
		t.Fatal(err)
	}
	if caller.Held() || h.agentState("a1").State != acd.StateOnCall {
		t.Fatal("not resumed")
	}
	h.advance(10 * time.Second)
	if err := h.e.Hangup(h.ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	waitFor(h, func(e *acd.CallEnded) bool { return true })
	if err := h.e.Wrap(h.ctx, "a1", "done", ""); err != nil {
		t.Fatal(err)
	}
	it := waitFor(h, func(e *acd.InteractionCompleted) bool { return true }).Interaction
	if it.Hold != 20*time.Second || it.Talk != 10*time.Second {
		t.Errorf("hold=%v talk=%v, want 20s and 10s", it.Hold, it.Talk)
	}
	eventually(t, "caller hung up", func() bool { return caller.HungUp() > 0 })
}

func TestPresenceAPI(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", false, sk("sales", 3))
	if s := h.agentState("a1"); s.Presence != acd.PresenceNotReady || s.Reason != acd.ReasonLogin {
		t.Fatalf("after login = %+v", s)
	}
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	h.noRing()
	if err := h.e.SetPresence(h.ctx, "a1", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	r := h.ring()
	if r.Offer.Call.ID != "c1" {
		t.Fatalf("ring for %s", r.Offer.Call.ID)
	}
	if err := h.e.SetPresence(h.ctx, "a1", acd.PresenceReady, ""); !errors.Is(err, acd.ErrTransition) {
		t.Errorf("ready→ready = %v, want ErrTransition", err)
	}
	if err := h.e.ForcePresence(h.ctx, "sup1", "a1", acd.PresenceNotReady, acd.ReasonTraining); err != nil {
		t.Fatal(err)
	}
	pc := waitFor(h, func(e *acd.AgentPresenceChanged) bool { return e.By == "sup1" })
	if pc.Reason != acd.ReasonTraining {
		t.Errorf("forced reason = %q", pc.Reason)
	}
	if err := h.e.SetPresence(h.ctx, "nobody", acd.PresenceReady, ""); !errors.Is(err, acd.ErrUnknownAgent) {
		t.Errorf("unknown agent = %v", err)
	}
	if err := h.e.Login(h.ctx, acd.AgentSpec{ID: "a1"}); !errors.Is(err, acd.ErrDuplicate) {
		t.Errorf("double login = %v", err)
	}
	// Logging out while reserved: the agent leaves once the offer ends.
	if err := h.e.Logout(h.ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	r.Fail(acd.ErrRejected)
	waitFor(h, func(e *acd.OfferFailed) bool { return true })
	h.sync()
	s, _ := h.e.Snapshot(h.ctx)
	if len(s.Agents) != 0 {
		t.Errorf("agents after logout = %+v", s.Agents)
	}
}

func TestEnqueueErrors(t *testing.T) {
	h := newHarness(t, basicYAML)
	if _, err := h.e.Enqueue(h.ctx, acd.CallRequest{ID: "x", Queue: "nope"}, nil); !errors.Is(err, acd.ErrInvalidArgument) {
		t.Errorf("nil leg = %v", err)
	}
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	if _, err := h.e.Enqueue(h.ctx, acd.CallRequest{ID: "c2", Queue: "nope"}, newLeg("c2")); !errors.Is(err, acd.ErrUnknownQueue) {
		t.Errorf("unknown queue = %v", err)
	}
	if _, err := h.e.Enqueue(h.ctx, acd.CallRequest{ID: "c1", Queue: "sales"}, newLeg("c1")); !errors.Is(err, acd.ErrDuplicate) {
		t.Errorf("duplicate = %v", err)
	}
}

func TestReload(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", false, sk("sales", 1), sk("vip", 2))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	cfg, err := acd.ParseConfig([]byte(basicYAML + `
  - name: vip
    skills: [{skill: vip, level: 2}]
    priority: 100
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.e.Reload(h.ctx, cfg); err != nil {
		t.Fatal(err)
	}
	h.enqueue(acd.CallRequest{ID: "c2", Queue: "vip"})
	if err := h.e.SetPresence(h.ctx, "a1", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	if r := h.ring(); r.Offer.Call.ID != "c2" {
		t.Errorf("first offer %s, want c2 from the new high-priority queue", r.Offer.Call.ID)
	}
	bad := *cfg
	bad.Ordering = "random"
	if err := h.e.Reload(h.ctx, &bad); !errors.Is(err, acd.ErrConfig) {
		t.Errorf("bad reload = %v", err)
	}
}

func TestCloseIdempotent(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 1))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	h.ring() // leave it ringing: Close must cancel the ring goroutine
	if err := h.e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Login(h.ctx, acd.AgentSpec{ID: "x"}); !errors.Is(err, acd.ErrClosed) {
		t.Errorf("login after close = %v, want ErrClosed", err)
	}
}

// TestEngineParsesNoNumber: the engine routes on the geography the entry
// resolved and carried in the request; it does not parse the caller's
// number itself.
func TestEngineParsesNoNumber(t *testing.T) {
	h := newHarness(t, basicYAML)
	h.login("a1", true, sk("sales", 3))
	h.enqueue(acd.CallRequest{ID: "raw", Queue: "sales", ANI: "+14155550123"})
	off := waitFor(h, func(e *acd.CallOffered) bool { return true })
	if off.Call.ANI != "+14155550123" || off.Call.E164 != "" || off.Call.Country != "" || off.Call.TimeZone != "" {
		t.Errorf("offer = %+v, want the ANI as given and no geography", off.Call)
	}
}
