package agentdesk_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/agentdesk"
)

const rigYAML = `
ring_timeout: 30s
missed_offers: 0
wrap_up: 60s
stats_interval: 100ms
segments: {vip: 50}
queues:
  - name: sales
    skills: [{skill: sales, level: 1}]
    strategy: top-skill
    service_level: {threshold: 20s, target: 80}
  - name: support
    skills: [{skill: support, level: 1}]
    service_level: {threshold: 30s, target: 90}
`

// deskRinger is the fake telephony of a desk-answered softphone: a ring
// attempt succeeds when the agent accepts in the desktop (Engine.Answer
// closes Offer.Accept) and fails when the engine withdraws it.
type deskRinger struct{}

func (deskRinger) Ring(ctx context.Context, o acd.Offer) (acd.Leg, error) {
	select {
	case <-o.Accept:
		return acdtest.NewLeg("agent-" + string(o.Agent) + "-" + string(o.Call.ID)), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// skillOf is each test user's sales level (top-skill routing prefers a1).
var skillOf = map[string]int{"id-a1": 5, "id-a2": 3, "id-a3": 1, "id-sup": 2}

type acdRig struct {
	eng    *acd.Engine
	hub    *agentdesk.Hub
	srv    *httptest.Server
	events <-chan acd.Event // a separate engine subscription, as the voice journey's record writer has
	auth   *fakeAuth
	phone  *acdtest.Phone
}

// newACDRig starts the real acd engine with fake telephony, the hub on top
// of it through the ACD adapter, and an httptest server with the UI.
func newACDRig(t *testing.T, mod func(*agentdesk.Config)) *acdRig {
	t.Helper()
	return newACDRigYAML(t, rigYAML, mod)
}

// newACDRigYAML is newACDRig with the engine configured by yaml and opts.
func newACDRigYAML(t *testing.T, yaml string, mod func(*agentdesk.Config), opts ...acd.Option) *acdRig {
	t.Helper()
	cfg, err := acd.ParseConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	phone := acdtest.NewPhone()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := acd.New(cfg, deskRinger{}, phone, append([]acd.Option{acd.WithDialer(phone), acd.WithLogger(log)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	auth := newFakeAuth()
	names := map[string]string{}
	for _, id := range auth.users {
		names[id.AgentID] = id.Name
	}
	adapter := agentdesk.NewACD(eng, agentdesk.ACDOptions{
		AgentSpec: func(_ context.Context, agentID string) (acd.AgentSpec, error) {
			return acd.AgentSpec{Name: names[agentID], Endpoint: "webrtc:" + agentID,
				Skills: []acd.SkillLevel{{Skill: "sales", Level: skillOf[agentID]}, {Skill: "support", Level: 2}}}, nil
		},
	})
	evc, cancelSub := engineEvents(t, eng)
	hcfg := agentdesk.Config{
		Engine: adapter, Events: adapter, Auth: auth,
		Dispositions: testDispositions,
		ReasonCodes:  []agentdesk.Code{{Code: "break", Label: "Break"}, {Code: "lunch", Label: "Lunch"}},
		Grace:        300 * time.Millisecond, FlushInterval: 30 * time.Millisecond,
	}
	if mod != nil {
		mod(&hcfg)
	}
	hub, err := agentdesk.New(hcfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	srv := httptest.NewServer(hub.Handler())
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		srv.Close()
		cancelSub()
		eng.Close()
	})
	return &acdRig{eng: eng, hub: hub, srv: srv, events: evc, auth: auth, phone: phone}
}

// engineEvents forwards the engine's events to a channel until stop is
// called (or the engine stops); the channel is closed then.
func engineEvents(t *testing.T, eng *acd.Engine) (events <-chan acd.Event, stop func()) {
	t.Helper()
	sub, _, err := eng.Subscribe(context.Background(), acd.SubscribeOptions{Name: "test", Buffer: 100000})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan acd.Event, 100000)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		var buf []acd.Event
		for {
			select {
			case <-sub.Ready():
			case <-quit:
				return
			}
			var open bool
			buf, open = sub.Take(buf[:0])
			for _, ev := range buf {
				select {
				case ch <- ev:
				case <-quit:
					return
				}
			}
			if !open {
				return
			}
		}
	}()
	var once sync.Once
	return ch, func() { once.Do(func() { sub.Close(); close(quit); <-done }) }
}

// enqueue puts a caller into a queue with a CRM lookup attached.
func (r *acdRig) enqueue(t *testing.T, id, queue string, crm any) *acdtest.Leg {
	t.Helper()
	leg := acdtest.NewLeg(id)
	_, err := r.eng.Enqueue(context.Background(), acd.CallRequest{
		ID: acd.CallID(id), Queue: queue, ANI: "+14155550123", DNIS: "+18005550100", Segment: "vip",
		Caller:  acd.ResolveNumber("+14155550123", "US"),
		IVRPath: []string{"main-menu", "sales"}, Vars: map[string]string{"account": "42", "digits": "1"}, Data: crm,
	}, leg)
	if err != nil {
		t.Fatalf("enqueue %s: %v", id, err)
	}
	return leg
}

// waitEngine reads the test's own engine subscription until an event of
// type T satisfies ok.
func waitEngine[T acd.Event](t *testing.T, r *acdRig, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case ev := <-r.events:
			if e, is := ev.(T); is && ok(e) {
				return e
			}
		case <-deadline:
			var zero T
			t.Fatalf("no %T within %v", zero, waitLimit)
			return zero
		}
	}
}

func ready(t *testing.T, c *wsClient, agentID string) {
	t.Helper()
	c.mustOK(agentdesk.CmdPresenceSet, map[string]any{"presence": "ready"})
	c.waitFor(agentID+" ready", func(m agentdesk.Envelope) bool {
		if m.Type != agentdesk.EvAgentState {
			return false
		}
		var s agentdesk.AgentStatus
		json.Unmarshal(m.Data, &s)
		return s.Presence == "ready"
	})
}

func isSupAgent(id, state string) func(agentdesk.Envelope) bool {
	return func(m agentdesk.Envelope) bool {
		if m.Type != agentdesk.EvSupAgent {
			return false
		}
		var a agentdesk.AgentView
		json.Unmarshal(m.Data, &a)
		return a.AgentID == id && (a.State == state || a.Presence == state)
	}
}

var testCRM = map[string]any{
	"contact":           map[string]any{"id": "ct-1", "name": "Vera Important", "segment": "vip"},
	"account":           map[string]any{"id": "ac-1", "name": "Acme Corp"},
	"segment":           "vip",
	"open_tickets":      []any{map[string]any{"id": "tk-1", "number": "T-1042", "subject": "Broken widget", "status": "open"}},
	"last_interactions": []any{map[string]any{"arrived_at": "2026-11-20T10:00:00Z", "disposition": "resolved", "notes": "reset password"}},
}

func TestACDCallRoundTrip(t *testing.T) {
	r := newACDRig(t, nil)
	sup := login(t, r.srv, "sup")
	snap := decode[agentdesk.SupSnapshot](t, sup.waitType(agentdesk.EvSupSnapshot))
	if len(snap.Queues) != 2 || snap.Queues[0].Queue != "sales" || snap.Queues[0].SLTarget != 80 {
		t.Fatalf("initial sup snapshot queues = %+v", snap.Queues)
	}
	a1 := login(t, r.srv, "a1")
	a2 := login(t, r.srv, "a2")
	ready(t, a1, "id-a1")
	ready(t, a2, "id-a2")
	sup.waitFor("sup.agent a1 ready", isSupAgent("id-a1", "ready"))

	r.enqueue(t, "call-1", "sales", testCRM)
	pop := a1.waitType(agentdesk.EvCallOffered)
	var got struct {
		CallID  string            `json:"call_id"`
		Queue   string            `json:"queue"`
		ANI     string            `json:"ani"`
		Geo     agentdesk.Geo     `json:"geo"`
		IVRPath []string          `json:"ivr_path"`
		IVRVars map[string]string `json:"ivr_vars"`
		Reasons []string          `json:"routing_reasons"`
		Waited  *float64          `json:"waited_s"`
		EWT     *float64          `json:"ewt_s"`
		Timeout float64           `json:"timeout_s"`
		CRM     map[string]any    `json:"crm"`
	}
	if err := json.Unmarshal(pop.Data, &got); err != nil {
		t.Fatal(err)
	}
	wantCRM := map[string]any{}
	b, _ := json.Marshal(testCRM)
	json.Unmarshal(b, &wantCRM)
	if diff := cmp.Diff(wantCRM, got.CRM); diff != "" {
		t.Errorf("pop crm differs (-want +got):\n%s", diff)
	}
	if got.CallID != "call-1" || got.Queue != "sales" || got.ANI != "+14155550123" || got.Geo.Country != "US" ||
		len(got.IVRPath) != 2 || got.IVRVars["account"] != "42" || len(got.Reasons) == 0 || got.Waited == nil || got.EWT == nil {
		t.Errorf("pop = %s", pop.Data)
	}
	if got.Timeout != 30 { // the engine's ring deadline, from the event
		t.Errorf("pop timeout_s = %v, want the ring timeout 30", got.Timeout)
	}
	// Only the offered agent gets the pop.
	a2.noneBeforePing(agentdesk.EvCallOffered)
	sup.noneBeforePing(agentdesk.EvCallOffered)

	// A stale call id is refused.
	id := a1.send(agentdesk.CmdCallAnswer, map[string]any{"call_id": "call-zzz"})
	if e := a1.errorData(a1.reply(id)); e.Code != agentdesk.CodeNotFound || e.Field != "data.call_id" {
		t.Fatalf("stale answer: %+v", e)
	}
	a1.mustOK(agentdesk.CmdCallAnswer, map[string]any{"call_id": "call-1"})
	ans := decode[agentdesk.CallInfo](t, a1.waitType(agentdesk.EvCallAnswered))
	if ans.CallID != "call-1" || ans.State != agentdesk.CallTalking {
		t.Fatalf("answered = %+v", ans)
	}
	sup.waitFor("sup.agent a1 on-call", isSupAgent("id-a1", "on-call"))

	a1.mustOK(agentdesk.CmdCallHold, map[string]any{"call_id": "call-1"})
	a1.waitType(agentdesk.EvCallHeld)
	a1.mustOK(agentdesk.CmdCallUnhold, map[string]any{"call_id": "call-1"})
	a1.waitType(agentdesk.EvCallUnheld)

	a1.mustOK(agentdesk.CmdCallHangup, map[string]any{"call_id": "call-1"})
	a1.waitType(agentdesk.EvCallEnded)
	wu := decode[agentdesk.WrapUpTimer](t, a1.waitType(agentdesk.EvWrapUpStarted))
	if wu.CallID != "call-1" || wu.Deadline.IsZero() {
		t.Fatalf("wrapup.started = %+v", wu)
	}
	ws := waitEngine(t, r, func(e *acd.AgentStateChanged) bool { return e.Agent == "id-a1" && e.State == acd.StateWrapUp })
	if d := ws.WrapUpEnd.Sub(ws.At); d != time.Minute || !wu.Deadline.Equal(ws.WrapUpEnd) {
		t.Errorf("wrap-up deadline %v (engine: %v, %v after the start), want the engine's, 1m after", wu.Deadline, ws.WrapUpEnd, d)
	}
	id = a1.send(agentdesk.CmdWrapUp, map[string]any{"call_id": "call-1", "disposition": "sold-a-boat"})
	if e := a1.errorData(a1.reply(id)); e.Field != "data.disposition" {
		t.Fatalf("unknown disposition: %+v", e)
	}
	a1.mustOK(agentdesk.CmdWrapUp, map[string]any{"call_id": "call-1", "disposition": "resolved", "notes": "fixed the widget"})
	ic := waitEngine(t, r, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "call-1" })
	if ic.Interaction.Disposition != "resolved" || ic.Interaction.Notes != "fixed the widget" || ic.Interaction.Agent != "id-a1" {
		t.Fatalf("interaction = %+v", ic.Interaction)
	}
	a1.waitType(agentdesk.EvWrapUpEnded)
	sup.waitFor("sup.agent a1 idle", isSupAgent("id-a1", "idle"))

	// Click-to-dial: the agent's leg is connected first, then the number.
	ok := a1.mustOK(agentdesk.CmdDial, map[string]any{"number": "+14155550199", "contact_id": "ct-9"})
	out := decode[map[string]string](t, ok)["call_id"]
	if out == "" {
		t.Fatalf("dial reply = %s", ok.Data)
	}
	a1.waitFor("outbound answered", func(m agentdesk.Envelope) bool {
		return m.Type == agentdesk.EvCallAnswered && decode[agentdesk.CallInfo](t, m).CallID == out
	})
	if d := r.phone.Dials(); len(d) != 1 || d[0] != "+14155550199" {
		t.Fatalf("dialled %q", d)
	}
	a1.mustOK(agentdesk.CmdCallHangup, map[string]any{"call_id": out})
	a1.waitType(agentdesk.EvWrapUpStarted)
	a1.mustOK(agentdesk.CmdWrapUp, map[string]any{"call_id": out, "disposition": "callback"})

	// A supervisor forces a2 not ready; a2 sees it.
	sup.mustOK(agentdesk.CmdSupPresenceSet, map[string]any{"agent_id": "id-a2", "presence": "not-ready", "reason": "lunch"})
	st := decode[agentdesk.AgentStatus](t, a2.waitFor("a2 not ready", func(m agentdesk.Envelope) bool {
		return m.Type == agentdesk.EvAgentState && json.Valid(m.Data) && string(m.Data) != "" &&
			decodeStatus(m).Presence == "not-ready"
	}))
	if st.Reason != "lunch" {
		t.Fatalf("a2 status = %+v", st)
	}
}

func decodeStatus(m agentdesk.Envelope) agentdesk.AgentStatus {
	var s agentdesk.AgentStatus
	json.Unmarshal(m.Data, &s)
	return s
}

func TestACDDisconnectDuringOfferReoffers(t *testing.T) {
	r := newACDRig(t, nil)
	a1 := login(t, r.srv, "a1")
	a2 := login(t, r.srv, "a2")
	ready(t, a1, "id-a1")
	ready(t, a2, "id-a2")
	r.enqueue(t, "call-2", "sales", map[string]any{"contact": map[string]any{"name": "Flaky Wifi"}})
	if p := decode[agentdesk.Offer](t, a1.waitType(agentdesk.EvCallOffered)); p.CallID != "call-2" {
		t.Fatalf("first offer to a1 = %+v", p)
	}
	a1.conn.Close() // Wi-Fi drops during the offer
	p := decode[agentdesk.Offer](t, a2.waitType(agentdesk.EvCallOffered))
	if p.CallID != "call-2" || p.AgentID != "id-a2" {
		t.Fatalf("re-offer = %+v", p)
	}
	failed := waitEngine(t, r, func(e *acd.OfferFailed) bool { return e.CallID == "call-2" })
	if failed.Agent != "id-a1" {
		t.Fatalf("offer failed for %s, want id-a1", failed.Agent)
	}
	a2.mustOK(agentdesk.CmdCallAnswer, map[string]any{"call_id": "call-2"})
	a2.waitType(agentdesk.EvCallAnswered)
}

func TestACDActiveCallSurvivesReconnect(t *testing.T) {
	r := newACDRig(t, func(c *agentdesk.Config) { c.Grace = 5 * time.Second })
	a1 := login(t, r.srv, "a1")
	ready(t, a1, "id-a1")
	r.enqueue(t, "call-3", "sales", nil)
	a1.waitType(agentdesk.EvCallOffered)
	a1.mustOK(agentdesk.CmdCallAnswer, map[string]any{"call_id": "call-3"})
	a1.waitType(agentdesk.EvCallAnswered)
	a1.conn.Close()

	b := dialToken(t, r.srv, "", "tok-a1")
	if h := decode[struct{ Resumed bool }](t, b.waitType(agentdesk.EvHello)); !h.Resumed {
		t.Error("hello.resumed = false")
	}
	snap := decode[agentdesk.AgentSnapshot](t, b.waitType(agentdesk.EvAgentSnapshot))
	if snap.Call == nil || snap.Call.CallID != "call-3" || snap.Status.State != "on-call" || snap.Status.Presence != "ready" {
		t.Fatalf("snapshot after reconnect = %+v call %+v", snap.Status, snap.Call)
	}
	b.mustOK(agentdesk.CmdCallHangup, map[string]any{"call_id": "call-3"})
	b.waitType(agentdesk.EvCallEnded)
}

func TestACDSupervisorSnapshotAndDeltas(t *testing.T) {
	r := newACDRig(t, nil)
	a1 := login(t, r.srv, "a1")
	ready(t, a1, "id-a1")
	a1.mustOK(agentdesk.CmdPresenceSet, map[string]any{"presence": "not-ready", "reason": "break"})
	// Callers wait: nobody is ready.
	r.enqueue(t, "w-1", "sales", nil)
	r.enqueue(t, "w-2", "sales", nil)

	sup := dialToken(t, r.srv, "?client=wallboard", "tok-sup")
	h := decode[struct{ Client string }](t, sup.waitType(agentdesk.EvHello))
	if h.Client != "wallboard" {
		t.Fatalf("client = %q", h.Client)
	}
	var snap agentdesk.SupSnapshot
	// The snapshot may predate the second call; the deltas complete it.
	snap = decode[agentdesk.SupSnapshot](t, sup.waitType(agentdesk.EvSupSnapshot))
	if len(snap.Agents) != 1 || snap.Agents[0].Presence != "not-ready" || snap.Agents[0].Reason != "break" {
		t.Fatalf("snapshot agents = %+v", snap.Agents)
	}
	waiting := len(snap.Queues[0].Calls)
	for waiting < 2 {
		q := decode[agentdesk.QueueView](t, sup.waitType(agentdesk.EvSupQueue))
		if q.Queue == "sales" {
			waiting = len(q.Calls)
		}
	}
	// a1 goes ready: the first call is offered; deltas show it leaving the queue.
	a1.mustOK(agentdesk.CmdPresenceSet, map[string]any{"presence": "ready"})
	sup.waitFor("sales with one waiting", func(m agentdesk.Envelope) bool {
		if m.Type != agentdesk.EvSupQueue {
			return false
		}
		q := decode[agentdesk.QueueView](t, m)
		return q.Queue == "sales" && len(q.Calls) == 1 && q.Waiting == 1 && q.Calls[0].CallID == "w-2"
	})
	sup.waitFor("sup.agent a1 reserved", isSupAgent("id-a1", "reserved"))
	// Supervisor bumps the waiting call.
	sup.mustOK(agentdesk.CmdSupPriority, map[string]any{"call_id": "w-2", "priority": 40})
	id := sup.send(agentdesk.CmdSupPriority, map[string]any{"call_id": "nope", "priority": 40})
	if e := sup.errorData(sup.reply(id)); e.Code != agentdesk.CodeNotFound {
		t.Fatalf("bump unknown call: %+v", e)
	}
}

func TestACDTransferToQueue(t *testing.T) {
	r := newACDRig(t, nil)
	a1 := login(t, r.srv, "a1")
	a2 := login(t, r.srv, "a2")
	ready(t, a1, "id-a1")
	ready(t, a2, "id-a2")
	r.enqueue(t, "call-x", "sales", nil)
	a1.waitType(agentdesk.EvCallOffered)
	a1.mustOK(agentdesk.CmdCallAnswer, map[string]any{"call_id": "call-x"})
	a1.waitType(agentdesk.EvCallAnswered)
	id := a1.send(agentdesk.CmdCallTransfer, map[string]any{"call_id": "call-x", "target": map[string]any{"kind": "queue", "value": "nowhere"}})
	if e := a1.errorData(a1.reply(id)); e.Code != agentdesk.CodeNotFound {
		t.Fatalf("transfer to unknown queue: %+v", e)
	}
	a1.mustOK(agentdesk.CmdCallTransfer, map[string]any{"call_id": "call-x", "target": map[string]any{"kind": "queue", "value": "support"}})
	x := decode[agentdesk.CallInfo](t, a1.waitType(agentdesk.EvCallXfer))
	if x.Target != "support" {
		t.Fatalf("transferred = %+v", x)
	}
	if p := decode[agentdesk.Offer](t, a2.waitType(agentdesk.EvCallOffered)); p.CallID != "call-x" || p.Queue != "support" {
		t.Fatalf("offer after transfer = %+v", p)
	}
}

// TestACDSubscriptionOverflow: the adapter's feed is bounded; a hub that
// falls behind loses the pending changes and the feed ends (the hub then
// resubscribes) while the engine keeps serving; a new subscription starts
// from the current state; ending the context ends it.
func TestACDSubscriptionOverflow(t *testing.T) {
	cfg, err := acd.ParseConfig([]byte(rigYAML))
	if err != nil {
		t.Fatal(err)
	}
	phone := acdtest.NewPhone()
	eng, err := acd.New(cfg, deskRinger{}, phone, acd.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	adapter := agentdesk.NewACD(eng, agentdesk.ACDOptions{Buffer: 2,
		AgentSpec: func(_ context.Context, id string) (acd.AgentSpec, error) {
			return acd.AgentSpec{Name: "Agent " + id, Endpoint: "webrtc:" + id,
				Skills: []acd.SkillLevel{{Skill: "sales", Level: 1}}}, nil
		}})
	ctx := context.Background()
	st, feed, err := adapter.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Agents) != 0 {
		t.Fatalf("initial state = %+v", st)
	}
	for _, id := range []string{"a1", "a2", "a3"} {
		if err := adapter.SetPresence(ctx, id, agentdesk.PresenceReady, ""); err != nil {
			t.Fatal(err)
		}
	}
	<-feed.Ready()
	evs, open := feed.Take(nil)
	if open || len(evs) != 0 {
		t.Errorf("after overflowing took %d events, open %v; want none and the feed ended", len(evs), open)
	}
	sctx, stop := context.WithCancel(ctx)
	st, feed, err = adapter.Subscribe(sctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Agents) != 3 {
		t.Errorf("state after resubscribing has %d agents, want 3", len(st.Agents))
	}
	stop()
	for open := true; open; {
		<-feed.Ready()
		_, open = feed.Take(nil)
	}
}
