package agentdesk_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"switchboard/agentdesk"
	"switchboard/agentdesk/agentdesktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var testDispositions = []agentdesk.Code{{Code: "resolved", Label: "Resolved"}, {Code: "callback", Label: "Call back"}}

type fakeRig struct {
	eng *agentdesktest.Engine
	hub *agentdesk.Hub
	srv *httptest.Server
	reg *prometheus.Registry
}

// newFakeRig starts a hub on a fake engine (for mechanics that do not need
// routing: protocol errors, limits, heartbeats, slow clients).
func newFakeRig(t *testing.T, mod func(*agentdesk.Config)) *fakeRig {
	t.Helper()
	eng := agentdesktest.NewEngine(agentdesk.State{
		Queues: []agentdesk.QueueStats{{Queue: "sales", SLTarget: 80}},
		Agents: []agentdesk.AgentStatus{{AgentID: "id-a1", Name: "Alice Agent", Presence: "offline", State: "idle"}},
	})
	reg := prometheus.NewRegistry()
	cfg := agentdesk.Config{
		Engine: eng, Events: eng, Auth: newFakeAuth(),
		Dispositions: testDispositions,
		ReasonCodes:  []agentdesk.Code{{Code: "break", Label: "Break"}, {Code: "lunch", Label: "Lunch"}},
		MaxMessage:   4 << 10, HardMaxMessage: 64 << 10,
		Grace: 200 * time.Millisecond, FlushInterval: 20 * time.Millisecond,
		Metrics: agentdesk.NewMetrics(reg),
	}
	if mod != nil {
		mod(&cfg)
	}
	hub, err := agentdesk.New(cfg)
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
	})
	return &fakeRig{eng: eng, hub: hub, srv: srv, reg: reg}
}

func TestLoginFirstMessage(t *testing.T) {
	r := newFakeRig(t, nil)
	c := dialCTI(t, r.srv, "", nil)

	// Commands before login are refused but the connection stays.
	id := c.send(agentdesk.CmdPresenceSet, map[string]any{"presence": "ready"})
	if e := c.errorData(c.reply(id)); e.Code != agentdesk.CodeUnauthenticated {
		t.Fatalf("before login: code %q, want unauthenticated", e.Code)
	}
	id = c.send(agentdesk.CmdLogin, map[string]any{"login": "a1", "password": "wrong"})
	if e := c.errorData(c.reply(id)); e.Code != agentdesk.CodeUnauthenticated {
		t.Fatalf("wrong password: code %q, want unauthenticated", e.Code)
	}
	ok := c.mustOK(agentdesk.CmdLogin, map[string]any{"login": "a1", "password": "secret-a1"})
	got := decode[struct {
		Token string             `json:"token"`
		Agent agentdesk.Identity `json:"agent"`
	}](t, ok)
	if got.Token != "tok-a1" || got.Agent.AgentID != "id-a1" || got.Agent.Role != "agent" {
		t.Fatalf("login reply = %+v", got)
	}
	hello := decode[struct {
		Agent        agentdesk.Identity `json:"agent"`
		Dispositions []agentdesk.Code   `json:"dispositions"`
	}](t, c.waitType(agentdesk.EvHello))
	if diff := cmp.Diff(testDispositions, hello.Dispositions); diff != "" || hello.Agent.Login != "a1" {
		t.Fatalf("hello: agent %+v dispositions diff %s", hello.Agent, diff)
	}
	snap := decode[agentdesk.AgentSnapshot](t, c.waitType(agentdesk.EvAgentSnapshot))
	if snap.Status.AgentID != "id-a1" || snap.Status.Presence != "offline" {
		t.Fatalf("snapshot status = %+v", snap.Status)
	}
	// A second login on an authenticated connection is refused.
	id = c.send(agentdesk.CmdLogin, map[string]any{"login": "a1", "password": "secret-a1"})
	if e := c.errorData(c.reply(id)); e.Code != agentdesk.CodeInvalidState {
		t.Fatalf("second login: code %q", e.Code)
	}
}

func TestTokenAuth(t *testing.T) {
	r := newFakeRig(t, nil)
	t.Run("auth message", func(t *testing.T) {
		c := dialCTI(t, r.srv, "", nil)
		ok := c.mustOK(agentdesk.CmdAuth, map[string]string{"token": "tok-a2"})
		if a := decode[struct{ Agent agentdesk.Identity }](t, ok).Agent; a.AgentID != "id-a2" {
			t.Fatalf("auth reply agent = %+v", a)
		}
		h := decode[struct{ Agent agentdesk.Identity }](t, c.waitType(agentdesk.EvHello))
		if h.Agent.AgentID != "id-a2" {
			t.Fatalf("agent = %+v", h.Agent)
		}
	})
	t.Run("token in URL refused", func(t *testing.T) {
		u := "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/cti?token=tok-a2"
		conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
		if err == nil {
			conn.Close()
			t.Fatal("a token in the URL was accepted")
		}
		if resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("response %v, want 400", resp)
		}
	})
	t.Run("bearer", func(t *testing.T) {
		c := dialCTI(t, r.srv, "", bearer("tok-sup"))
		h := decode[struct{ Agent agentdesk.Identity }](t, c.waitType(agentdesk.EvHello))
		if h.Agent.Role != "supervisor" {
			t.Fatalf("agent = %+v", h.Agent)
		}
		c.waitType(agentdesk.EvSupSnapshot)
	})
	t.Run("bad token", func(t *testing.T) {
		c := dialToken(t, r.srv, "", "tok-nobody")
		if e := c.errorData(c.next()); e.Code != agentdesk.CodeUnauthenticated {
			t.Fatalf("code %q", e.Code)
		}
		if code := c.closeCode(); code != 4401 {
			t.Fatalf("close code %d, want 4401", code)
		}
	})
}

func TestBadMessagesKeepConnection(t *testing.T) {
	r := newFakeRig(t, nil)
	c := login(t, r.srv, "a1")
	big := `{"v":1,"type":"call.answer","id":"big","data":{"call_id":"` + strings.Repeat("x", 5000) + `"}}`
	tests := []struct {
		name      string
		raw       string
		wantID    string
		wantCode  string
		wantField string
	}{
		{"invalid JSON", `{"v":1,"type":`, "", agentdesk.CodeBadJSON, ""},
		{"not an object", `[1,2]`, "", agentdesk.CodeBadJSON, ""},
		{"no id", `{"v":1,"type":"ping"}`, "", agentdesk.CodeBadEnvelope, "id"},
		{"wrong version", `{"v":2,"type":"ping","id":"x1"}`, "x1", agentdesk.CodeBadEnvelope, "v"},
		{"unknown type", `{"v":1,"type":"call.teleport","id":"x2"}`, "x2", agentdesk.CodeUnknownType, "type"},
		{"missing data", `{"v":1,"type":"presence.set","id":"x3"}`, "x3", agentdesk.CodeMissingField, "data"},
		{"missing field", `{"v":1,"type":"call.answer","id":"x4","data":{}}`, "x4", agentdesk.CodeMissingField, "data.call_id"},
		{"wrong type", `{"v":1,"type":"call.answer","id":"x5","data":{"call_id":7}}`, "x5", agentdesk.CodeInvalidField, "data.call_id"},
		{"bad enum", `{"v":1,"type":"presence.set","id":"x6","data":{"presence":"asleep"}}`, "x6", agentdesk.CodeInvalidField, "data.presence"},
		{"reason not configured", `{"v":1,"type":"presence.set","id":"x7","data":{"presence":"not-ready","reason":"nap"}}`, "x7", agentdesk.CodeInvalidField, "data.reason"},
		{"oversize", big, "big", agentdesk.CodeTooLarge, ""},
		{"trickle ice", `{"v":1,"type":"webrtc.ice","id":"x8","data":{"candidate":"c"}}`, "x8", agentdesk.CodeUnsupported, "type"},
		{"no softphone", `{"v":1,"type":"webrtc.offer","id":"x9","data":{"sdp":"v=0\r\n"}}`, "x9", agentdesk.CodeUnsupported, "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.sendRaw([]byte(tt.raw))
			m := c.waitFor("error", func(m agentdesk.Envelope) bool { return m.Type == agentdesk.EvError })
			e := c.errorData(m)
			if m.ID != tt.wantID || e.Code != tt.wantCode || e.Field != tt.wantField {
				t.Errorf("got id=%q code=%q field=%q (%s), want id=%q code=%q field=%q",
					m.ID, e.Code, e.Field, e.Message, tt.wantID, tt.wantCode, tt.wantField)
			}
			c.mustOK(agentdesk.CmdPing, nil) // still connected
		})
	}
	c.t = t
	// Over the hard cap the connection is closed with 1009 (RFC 6455).
	// (the server may reset the connection while we are still writing)
	_ = c.conn.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"id":"huge","type":"ping","data":"`+strings.Repeat("y", 70<<10)+`"}`))
	if code := c.closeCode(); code != websocket.CloseMessageTooBig && code != -1 {
		t.Fatalf("close code %d, want %d", code, websocket.CloseMessageTooBig)
	}
}

func TestRoleRefusal(t *testing.T) {
	r := newFakeRig(t, nil)
	a := login(t, r.srv, "a1")
	for _, typ := range []string{agentdesk.CmdSupPresenceSet, agentdesk.CmdSupPriority, agentdesk.CmdSupListen} {
		id := a.send(typ, map[string]any{"agent_id": "id-a2", "presence": "ready", "call_id": "c1", "priority": 5})
		if e := a.errorData(a.reply(id)); e.Code != agentdesk.CodeForbidden {
			t.Errorf("%s by agent: code %q, want forbidden", typ, e.Code)
		}
	}
	s := login(t, r.srv, "sup")
	s.mustOK(agentdesk.CmdSupPresenceSet, map[string]any{"agent_id": "id-a2", "presence": "not-ready", "reason": "break"})
	if p := <-r.eng.Presences; p != (agentdesktest.Presence{AgentID: "id-a2", Presence: "not-ready", Reason: "break"}) {
		t.Fatalf("forced presence = %+v", p)
	}
	s.mustOK(agentdesk.CmdSupPriority, map[string]any{"call_id": "c9", "priority": 9})
	if a := <-r.eng.Actions; a.CallID != "c9" || a.Action != "prioritize:9:false" {
		t.Fatalf("prioritize = %+v", a)
	}
	id := s.send(agentdesk.CmdSupListen, map[string]any{"call_id": "c9"})
	if e := s.errorData(s.reply(id)); e.Code != agentdesk.CodeUnsupported {
		t.Fatalf("listen without listener: %q", e.Code)
	}
}

func TestRateLimit(t *testing.T) {
	r := newFakeRig(t, func(c *agentdesk.Config) { c.RatePerSecond = 1; c.RateBurst = 3 })
	c := login(t, r.srv, "a1")
	limited := 0
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = c.send(agentdesk.CmdPing, nil)
	}
	for _, id := range ids {
		m := c.reply(id)
		if m.Type == agentdesk.EvError && c.errorData(m).Code == agentdesk.CodeRateLimited {
			limited++
		}
	}
	if limited < 5 {
		t.Fatalf("rate limited %d of 10 with burst 3, want ≥5", limited)
	}
}

func TestOriginCheck(t *testing.T) {
	r := newFakeRig(t, func(c *agentdesk.Config) { c.AllowedOrigins = []string{"https://crm.example.com"} })
	u := "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/cti"
	for _, tt := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, {r.srv.URL, true}, {"https://crm.example.com", true}, {"https://evil.example.com", false},
	} {
		h := bearer("tok-a1")
		if tt.origin != "" {
			h.Set("Origin", tt.origin)
		}
		conn, resp, err := websocket.DefaultDialer.Dial(u, h)
		if (err == nil) != tt.ok {
			t.Errorf("origin %q: err %v, want ok=%v", tt.origin, err, tt.ok)
		}
		if err == nil {
			conn.Close()
		} else if resp != nil && resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: status %d, want 403", tt.origin, resp.StatusCode)
		}
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return 0
}

func TestHubFakeEngineFlow(t *testing.T) {
	r := newFakeRig(t, nil)
	a1 := login(t, r.srv, "a1")
	a1.waitType(agentdesk.EvAgentSnapshot)
	a2 := login(t, r.srv, "a2")
	sup := login(t, r.srv, "sup")
	snap := decode[agentdesk.SupSnapshot](t, sup.waitType(agentdesk.EvSupSnapshot))
	if len(snap.Queues) != 1 || snap.Queues[0].Queue != "sales" || len(snap.Agents) != 1 {
		t.Fatalf("sup snapshot = %+v", snap)
	}

	a1.mustOK(agentdesk.CmdPresenceSet, map[string]any{"presence": "ready"})
	if p := <-r.eng.Presences; p.AgentID != "id-a1" || p.Presence != "ready" {
		t.Fatalf("presence = %+v", p)
	}
	now := time.Now().UTC()
	r.eng.Publish(agentdesk.AgentStatus{AgentID: "id-a1", Name: "Alice Agent", Presence: "ready", State: "idle", Since: now})
	st := decode[agentdesk.AgentStatus](t, a1.waitType(agentdesk.EvAgentState))
	if st.Presence != "ready" {
		t.Fatalf("agent.state = %+v", st)
	}
	d := decode[agentdesk.AgentView](t, sup.waitType(agentdesk.EvSupAgent))
	if d.AgentID != "id-a1" || d.Presence != "ready" {
		t.Fatalf("sup.agent = %+v", d)
	}

	crm := map[string]any{"contact": map[string]any{"name": "Vera VIP"}, "segment": "vip"}
	r.eng.Publish(agentdesk.Offer{CallID: "call-1", AgentID: "id-a1", Queue: "sales", ANI: "+14155550100",
		IVRPath: []string{"menu:1"}, IVRVars: map[string]string{"account": "42"}, Reasons: []string{"skill sales 5"},
		WaitedSec: 3, EWTSec: 10, Data: crm, DecidedAt: time.Now()})
	pop := a1.waitType(agentdesk.EvCallOffered)
	var got struct {
		CallID string         `json:"call_id"`
		CRM    map[string]any `json:"crm"`
	}
	json.Unmarshal(pop.Data, &got)
	if got.CallID != "call-1" || got.CRM["segment"] != "vip" {
		t.Fatalf("pop = %s", pop.Data)
	}
	a2.noneBeforePing(agentdesk.EvCallOffered)
	sup.noneBeforePing(agentdesk.EvCallOffered)

	// Disconnecting during the offer withdraws it at once.
	a1.conn.Close()
	act := <-r.eng.Actions
	if act.AgentID != "id-a1" || act.Action != agentdesk.ActGone || act.CallID != "call-1" {
		t.Fatalf("action = %+v, want gone", act)
	}
	// Grace expires: offline.
	if p := <-r.eng.Presences; p.AgentID != "id-a1" || p.Presence != "offline" {
		t.Fatalf("after grace = %+v", p)
	}
}

func TestReconnectWithinGraceKeepsPresence(t *testing.T) {
	r := newFakeRig(t, func(c *agentdesk.Config) { c.Grace = 2 * time.Second })
	a1 := login(t, r.srv, "a1")
	r.eng.Publish(agentdesk.CallInfo{CallID: "call-7", AgentID: "id-a1", State: agentdesk.CallTalking, Since: time.Now()})
	a1.waitType(agentdesk.EvCallAnswered)
	a1.conn.Close()
	time.Sleep(50 * time.Millisecond)
	b := dialToken(t, r.srv, "", "tok-a1")
	h := decode[struct{ Resumed bool }](t, b.waitType(agentdesk.EvHello))
	if !h.Resumed {
		t.Fatal("hello.resumed = false, want true")
	}
	snap := decode[agentdesk.AgentSnapshot](t, b.waitType(agentdesk.EvAgentSnapshot))
	if snap.Call == nil || snap.Call.CallID != "call-7" {
		t.Fatalf("resync snapshot call = %+v", snap.Call)
	}
	select {
	case p := <-r.eng.Presences:
		t.Fatalf("presence changed on reconnect: %+v", p)
	case a := <-r.eng.Actions:
		t.Fatalf("call action on reconnect: %+v", a)
	case <-time.After(2500 * time.Millisecond):
	}
}
