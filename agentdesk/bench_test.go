package agentdesk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/agentdesk"
	"switchboard/crmcore"
)

// benchAuth accepts "tok-<agent id>" for anyone; ids starting with "sup"
// are supervisors.
type benchAuth struct{}

func (benchAuth) Verify(_ context.Context, token string) (agentdesk.Identity, error) {
	id := strings.TrimPrefix(token, "tok-")
	role := crmcore.RoleAgent
	if strings.HasPrefix(id, "sup") {
		role = crmcore.RoleSupervisor
	}
	return agentdesk.Identity{AgentID: id, Login: id, Name: "Agent " + id, Role: role}, nil
}

func (benchAuth) Login(context.Context, string, string, string) (string, agentdesk.Identity, error) {
	return "", agentdesk.Identity{}, crmcore.ErrUnauthenticated
}

// benchConn is a raw client that timestamps the screen pops it reads.
type benchConn struct {
	conn *websocket.Conn
	msgs atomic.Int64
}

func benchDial(b *testing.B, srv *httptest.Server, id string, onPop func(agentdesk.Offer, time.Time), wg *sync.WaitGroup) *benchConn {
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/cti"
	conn, _, err := websocket.DefaultDialer.Dial(u, bearer("tok-"+id))
	if err != nil {
		b.Fatalf("dial %s: %v", id, err)
	}
	c := &benchConn{conn: conn}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			_, msg, err := conn.ReadMessage()
			now := time.Now()
			if err != nil {
				return
			}
			c.msgs.Add(1)
			if onPop != nil && strings.Contains(string(msg[:min(len(msg), 40)]), `"call.offered"`) {
				var env struct {
					Data agentdesk.Offer `json:"data"`
				}
				if json.Unmarshal(msg, &env) == nil {
					onPop(env.Data, now)
				}
			}
		}
	}()
	return c
}

// BenchmarkScreenPop measures the time from the engine's routing decision
// (CallOffered's timestamp, real acd engine on the wall clock) to the
// offered agent's WebSocket client reading the pop, with 1,000 agents and
// 20 supervisors connected. It reports p50/p99/max in µs.
func BenchmarkScreenPop(b *testing.B) {
	const agents, sups = 1000, 20
	cfg, err := acd.ParseConfig([]byte(`
ring_timeout: 60s
missed_offers: 0
wrap_up: 0s
stats_interval: 1s
queues:
  - name: sales
    skills: [{skill: sales, level: 1}]
    service_level: {threshold: 20s, target: 80}
`))
	if err != nil {
		b.Fatal(err)
	}
	phone := acdtest.NewPhone()
	eng, err := acd.New(cfg, deskRinger{}, phone, acd.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	adapter := agentdesk.NewACD(eng, agentdesk.ACDOptions{Config: cfg})
	hub, err := agentdesk.New(agentdesk.Config{Engine: adapter, Events: adapter, Auth: benchAuth{},
		Dispositions: testDispositions, SendBuffer: 1024})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	srv := httptest.NewServer(hub.Handler())

	var mu sync.Mutex
	var lat []time.Duration
	popped := make(chan string, 16)
	var wg sync.WaitGroup
	conns := make([]*benchConn, 0, agents+sups)
	for i := range agents {
		id := fmt.Sprintf("a%04d", i)
		if err := eng.Login(ctx, acd.AgentSpec{ID: acd.AgentID(id), Name: id, Endpoint: "webrtc:" + id,
			Skills: []acd.SkillLevel{{Skill: "sales", Level: 1 + i%5}}, Ready: true}); err != nil {
			b.Fatal(err)
		}
		conns = append(conns, benchDial(b, srv, id, func(o agentdesk.Offer, at time.Time) {
			mu.Lock()
			lat = append(lat, at.Sub(o.DecidedAt))
			mu.Unlock()
			popped <- o.CallID
		}, &wg))
	}
	var supConns []*benchConn
	for i := range sups {
		c := benchDial(b, srv, fmt.Sprintf("sup%02d", i), nil, &wg)
		supConns = append(supConns, c)
		conns = append(conns, c)
	}
	time.Sleep(200 * time.Millisecond) // let registrations settle

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("call-%d", i)
		leg := acdtest.NewLeg(id)
		if _, err := eng.Enqueue(ctx, acd.CallRequest{ID: acd.CallID(id), Queue: "sales", ANI: "+14155550123",
			IVRPath: []string{"menu", "1"}, Data: map[string]any{"contact": map[string]any{"name": "Bench Caller"}}}, leg); err != nil {
			b.Fatal(err)
		}
		select {
		case got := <-popped:
			if got != id {
				b.Fatalf("pop for %s, want %s", got, id)
			}
		case <-time.After(10 * time.Second):
			b.Fatal("no pop")
		}
		leg.End() // caller hangs up: the offer is withdrawn, the agent is free
	}
	b.StopTimer()
	var supMsgs int64
	for _, c := range supConns {
		supMsgs += c.msgs.Load()
	}
	mu.Lock()
	slices.Sort(lat)
	if n := len(lat); n > 0 {
		b.ReportMetric(float64(lat[n/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[n*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(lat[n-1].Microseconds()), "max-µs")
	}
	mu.Unlock()
	b.ReportMetric(float64(supMsgs)/float64(sups), "sup-msgs/supervisor")
	cancel()
	<-done
	srv.Close()
	for _, c := range conns {
		c.conn.Close()
	}
	wg.Wait()
}

// BenchmarkSupervisorFanout measures the supervisor feed: a fake engine
// publishes agent and queue changes as fast as the hub takes them; 20
// supervisors read the coalesced deltas. It reports delivered supervisor
// messages per second and engine events per second.
func BenchmarkSupervisorFanout(b *testing.B) {
	const sups, agents, queues = 20, 1000, 20
	eng := newBenchEngine()
	hub, err := agentdesk.New(agentdesk.Config{Engine: eng, Events: eng, Auth: benchAuth{}, SendBuffer: 4096,
		FlushInterval: 250 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	srv := httptest.NewServer(hub.Handler())
	var wg sync.WaitGroup
	var conns []*benchConn
	for i := range sups {
		conns = append(conns, benchDial(b, srv, fmt.Sprintf("sup%02d", i), nil, &wg))
	}
	time.Sleep(100 * time.Millisecond)
	before := int64(0)
	for _, c := range conns {
		before += c.msgs.Load()
	}
	start := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		eng.ch <- agentdesk.AgentStatus{AgentID: fmt.Sprintf("a%04d", i%agents), Name: "x", Presence: "ready",
			State: []string{"idle", "reserved", "on-call", "wrap-up"}[i%4], Since: time.Now()}
		if i%10 == 0 {
			eng.ch <- agentdesk.QueueStats{Queue: fmt.Sprintf("q%02d", i%queues), Waiting: i % 7}
		}
	}
	time.Sleep(300 * time.Millisecond) // last flush
	b.StopTimer()
	elapsed := time.Since(start)
	var total int64
	for _, c := range conns {
		total += c.msgs.Load()
	}
	b.ReportMetric(float64(total-before)/elapsed.Seconds(), "sup-msgs/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	cancel()
	<-done
	srv.Close()
	for _, c := range conns {
		c.conn.Close()
	}
	wg.Wait()
}

// benchEngine is an event source fed by the benchmark directly.
type benchEngine struct{ ch chan agentdesk.Event }

func newBenchEngine() *benchEngine { return &benchEngine{ch: make(chan agentdesk.Event, 8192)} }

func (e *benchEngine) Subscribe(context.Context) (agentdesk.State, <-chan agentdesk.Event, error) {
	return agentdesk.State{}, e.ch, nil
}
func (e *benchEngine) SetPresence(context.Context, string, string, string) error { return nil }
func (e *benchEngine) ForcePresence(context.Context, string, string, string, string) error {
	return nil
}
func (e *benchEngine) CallControl(context.Context, string, agentdesk.CallAction) error { return nil }
func (e *benchEngine) Dial(context.Context, string, agentdesk.Dial) (string, error)    { return "", nil }
func (e *benchEngine) Prioritize(context.Context, string, int, bool) error             { return nil }

// BenchmarkDecodeCommand is the per-message parsing cost.
func BenchmarkDecodeCommand(b *testing.B) {
	msg := []byte(`{"v":1,"type":"wrapup.submit","id":"c12","data":{"call_id":"9f1c2a","disposition":"resolved","notes":"Reset the router.","create_ticket":{"subject":"Router keeps dropping","priority":"high"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := agentdesk.DecodeCommand(msg, 1<<16); err != nil {
			b.Fatal(err)
		}
	}
}
