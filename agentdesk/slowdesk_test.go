package agentdesk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/agentdesk"
)

// closeLog records the hub's "connection closed by the server" log
// records: agent id → reason.
type closeLog struct {
	mu      sync.Mutex
	reasons map[string]string
	attrs   []slog.Attr
}

func newCloseLog() *closeLog { return &closeLog{reasons: map[string]string{}} }

func (l *closeLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *closeLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &closeLog{reasons: l.reasons, attrs: append(l.attrs[:len(l.attrs):len(l.attrs)], as...)}
}
func (l *closeLog) WithGroup(string) slog.Handler { return l }
func (l *closeLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "agentdesk: connection closed by the server" {
		return nil
	}
	var agent, reason string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "agent_id":
			agent = a.Value.String()
		case "reason":
			reason = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	l.reasons[agent] = reason
	l.mu.Unlock()
	return nil
}

func (l *closeLog) snapshot() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.reasons))
	for k, v := range l.reasons {
		out[k] = v
	}
	return out
}

// TestStuckSupervisorClosedWithReason: a wallboard that never reads while
// the floor changes fast is closed once its socket has taken nothing for
// WriteWait, with a log record naming it and the reason and the
// disconnects metric; the hub keeps serving the others.
func TestStuckSupervisorClosedWithReason(t *testing.T) {
	logs := newCloseLog()
	r := newFakeRig(t, func(c *agentdesk.Config) {
		c.SendBuffer = 4
		c.WriteWait = 200 * time.Millisecond
		c.Logger = slog.New(logs)
	})
	u := "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/cti"
	slow, _, err := websocket.DefaultDialer.Dial(u, bearer("tok-sup"))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast := login(t, r.srv, "a1")
	big := strings.Repeat("z", 3000)
	deadline := time.Now().Add(4 * waitLimit)
	for i := 0; logs.snapshot()["id-sup"] == ""; i++ {
		if time.Now().After(deadline) {
			t.Fatal("the stuck wallboard was not closed")
		}
		r.eng.Publish(agentdesk.AgentStatus{AgentID: fmt.Sprintf("id-x%d", i%50), Name: big, Presence: "ready", State: "idle", Since: time.Now()})
		if i%50 == 0 {
			time.Sleep(25 * time.Millisecond) // let flushes happen
		}
	}
	if reason := logs.snapshot()["id-sup"]; reason != "write_timeout" && reason != "queue_full" {
		t.Errorf("closed for %q, want write_timeout or queue_full", reason)
	}
	if n := counterValue(t, r.reg, "switchboard_agentdesk_disconnects_total"); n != 1 {
		t.Errorf("disconnects counted %v, want 1", n)
	}
	fast.mustOK(agentdesk.CmdPing, nil) // the hub is not blocked
	if reason, ok := logs.snapshot()["id-a1"]; ok {
		t.Errorf("the reading desk was closed (%s)", reason)
	}
}

// TestSlowDesksIsolated: 100 agents' desks never read their sockets while
// calls are routed and popped on ten desks that do. Every pop offered to a
// reading desk reaches it, no reading desk is closed, and every stuck desk
// is eventually closed with a logged reason and counted; the calls offered
// to a stuck desk go to the next agent once it is closed.
func TestSlowDesksIsolated(t *testing.T) {
	const stuck, reading, calls = 100, 10, 40
	cfg, err := acd.ParseConfig([]byte(`
ring_timeout: 60s
missed_offers: 0
wrap_up: 0s
stats_interval: 100ms
queues:
  - name: sales
    skills: [{skill: sales, level: 1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := acd.New(cfg, deskRinger{}, acdtest.NewPhone(), acd.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	events, stopEvents := engineEvents(t, eng)
	defer stopEvents()
	logs := newCloseLog()
	reg := prometheus.NewRegistry()
	adapter := agentdesk.NewACD(eng, agentdesk.ACDOptions{})
	hub, err := agentdesk.New(agentdesk.Config{Engine: adapter, Events: adapter, Auth: benchAuth{},
		Dispositions: testDispositions, PingInterval: time.Second, Grace: 100 * time.Millisecond,
		FlushInterval: 50 * time.Millisecond, Logger: slog.New(logs), Metrics: agentdesk.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	srv := httptest.NewServer(hub.Handler())
	var wg sync.WaitGroup
	var conns []*websocket.Conn
	defer func() {
		cancel()
		<-done
		srv.Close()
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	dial := func(id string) *websocket.Conn {
		t.Helper()
		if err := eng.Login(ctx, acd.AgentSpec{ID: acd.AgentID(id), Name: id, Endpoint: "webrtc:" + id,
			Skills: []acd.SkillLevel{{Skill: "sales", Level: 1}}, Ready: true}); err != nil {
			t.Fatal(err)
		}
		u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/cti"
		conn, _, err := websocket.DefaultDialer.Dial(u, bearer("tok-"+id))
		if err != nil {
			t.Fatalf("dial %s: %v", id, err)
		}
		conns = append(conns, conn)
		return conn
	}
	for i := range stuck {
		dial(fmt.Sprintf("s%03d", i)) // never read
	}
	var mu sync.Mutex
	popped := map[string]string{} // call id → the reading desk that showed it
	pops := make(chan struct{}, calls*2)
	for i := range reading {
		id := fmt.Sprintf("r%02d", i)
		conn := dial(id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, msg, err := conn.ReadMessage()
				if err != nil {
					return
				}
				var env struct {
					Type string          `json:"type"`
					Data agentdesk.Offer `json:"data"`
				}
				if json.Unmarshal(msg, &env) == nil && env.Type == agentdesk.EvCallOffered {
					mu.Lock()
					popped[env.Data.CallID] = id
					mu.Unlock()
					pops <- struct{}{}
				}
			}
		}()
	}

	// Route calls one at a time until each is offered to a reading desk
	// (a call offered to a stuck desk moves on once the desk is closed).
	offeredTo := map[string]string{}
	for i := range calls {
		id := fmt.Sprintf("call-%d", i)
		leg := acdtest.NewLeg(id)
		if _, err := eng.Enqueue(ctx, acd.CallRequest{ID: acd.CallID(id), Queue: "sales", ANI: "+14155550123"}, leg); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(6 * waitLimit)
		for offeredTo[id] == "" {
			select {
			case ev := <-events:
				if o, ok := ev.(*acd.CallOffered); ok && string(o.Call.ID) == id && strings.HasPrefix(string(o.Agent), "r") {
					offeredTo[id] = string(o.Agent)
				}
			case <-deadline:
				t.Fatalf("%s was never offered to a reading desk", id)
			}
		}
		leg.End()
	}
	deadline := time.After(6 * waitLimit)
	for {
		mu.Lock()
		n := len(popped)
		mu.Unlock()
		if n >= calls {
			break
		}
		select {
		case <-pops:
		case <-deadline:
			t.Fatalf("%d pops of %d reached the reading desks", n, calls)
		}
	}
	mu.Lock()
	for call, agent := range offeredTo {
		if popped[call] != agent {
			t.Errorf("%s offered to %s, popped on %q", call, agent, popped[call])
		}
	}
	mu.Unlock()

	for {
		closed := logs.snapshot()
		n := 0
		for agent, reason := range closed {
			switch {
			case strings.HasPrefix(agent, "r"):
				t.Fatalf("reading desk %s closed (%s)", agent, reason)
			case reason == "":
				t.Errorf("stuck desk %s closed without a reason", agent)
			default:
				n++
			}
		}
		if n == stuck {
			break
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("hub stopped")
		}
	}
	if n := counterValue(t, reg, "switchboard_agentdesk_disconnects_total"); n != stuck {
		t.Errorf("disconnects counted %v, want %d", n, stuck)
	}
}
