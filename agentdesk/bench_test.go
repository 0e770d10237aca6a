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
	"switchboard/agentdesk/agentdesktest"
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
// 20 supervisors connected, and the routing decision itself (from Enqueue
// to the decision). It reports p50/p99/max in µs. With stuck=100, another
// 100 ready agents' desks never read their sockets: the calls offered to
// them are hung up unseen, and routing and the others' pops go on.
func BenchmarkScreenPop(b *testing.B) {
	for _, stuck := range []int{0, 100} {
		b.Run(fmt.Sprintf("stuck=%d", stuck), func(b *testing.B) { benchScreenPop(b, stuck) })
	}
}

func benchScreenPop(b *testing.B, stuck int) {
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
	adapter := agentdesk.NewACD(eng, agentdesk.ACDOptions{})
	hub, err := agentdesk.New(agentdesk.Config{Engine: adapter, Events: adapter, Auth: benchAuth{},
		Dispositions: testDispositions, Grace: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	srv := httptest.NewServer(hub.Handler())

	var mu sync.Mutex
	var lat []time.Duration
	popped := make(chan agentdesk.Offer, 16)
	var wg sync.WaitGroup
	conns := make([]*benchConn, 0, agents+sups)
	login := func(id string) {
		if err := eng.Login(ctx, acd.AgentSpec{ID: acd.AgentID(id), Name: id, Endpoint: "webrtc:" + id,
			Skills: []acd.SkillLevel{{Skill: "sales", Level: 1}}, Ready: true}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range stuck {
		id := fmt.Sprintf("s%04d", i)
		login(id)
		u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/cti"
		conn, _, err := websocket.DefaultDialer.Dial(u, bearer("tok-"+id))
		if err != nil {
			b.Fatalf("dial %s: %v", id, err)
		}
		conns = append(conns, &benchConn{conn: conn}) // never read
	}
	for i := range agents {
		id := fmt.Sprintf("a%04d", i)
		login(id)
		conns = append(conns, benchDial(b, srv, id, func(o agentdesk.Offer, at time.Time) {
			mu.Lock()
			lat = append(lat, at.Sub(o.DecidedAt))
			mu.Unlock()
			popped <- o
		}, &wg))
	}
	var supConns []*benchConn
	for i := range sups {
		c := benchDial(b, srv, fmt.Sprintf("sup%02d", i), nil, &wg)
		supConns = append(supConns, c)
		conns = append(conns, c)
	}
	time.Sleep(200 * time.Millisecond) // let registrations settle
	sub, _, err := eng.Subscribe(ctx, acd.SubscribeOptions{Name: "bench", Buffer: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	offers := make(chan *acd.CallOffered, 16)
	wg.Add(1)
	go func() {
		defer wg.Done()
		var evs []acd.Event
		for open := true; open; {
			<-sub.Ready()
			evs, open = sub.Take(evs[:0])
			for _, ev := range evs {
				if o, ok := ev.(*acd.CallOffered); ok {
					offers <- o
				}
			}
		}
	}()

	var decide []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("call-%d", i)
		leg := acdtest.NewLeg(id)
		start := time.Now()
		if _, err := eng.Enqueue(ctx, acd.CallRequest{ID: acd.CallID(id), Queue: "sales", ANI: "+14155550123",
			IVRPath: []string{"menu", "1"}, Data: map[string]any{"contact": map[string]any{"name": "Bench Caller"}}}, leg); err != nil {
			b.Fatal(err)
		}
		var o *acd.CallOffered
		select {
		case o = <-offers:
		case <-time.After(10 * time.Second):
			b.Fatal("no offer")
		}
		if string(o.Call.ID) != id {
			b.Fatalf("offer of %s, want %s", o.Call.ID, id)
		}
		decide = append(decide, o.At.Sub(start))
		if !strings.HasPrefix(string(o.Agent), "s") { // a reading desk
			select {
			case got := <-popped:
				if got.CallID != id {
					b.Fatalf("pop for %s, want %s", got.CallID, id)
				}
			case <-time.After(10 * time.Second):
				b.Fatal("no pop")
			}
		}
		leg.End() // caller hangs up: the offer is withdrawn, the agent is free
	}
	b.StopTimer()
	var supMsgs int64
	for _, c := range supConns {
		supMsgs += c.msgs.Load()
	}
	mu.Lock()
	report := func(d []time.Duration, unit string) {
		slices.Sort(d)
		if n := len(d); n > 0 {
			b.ReportMetric(float64(d[n/2].Microseconds()), unit+"-p50-µs")
			b.ReportMetric(float64(d[n*99/100].Microseconds()), unit+"-p99-µs")
			b.ReportMetric(float64(d[n-1].Microseconds()), unit+"-max-µs")
		}
	}
	report(lat, "pop")
	report(decide, "decide")
	mu.Unlock()
	b.ReportMetric(float64(supMsgs)/float64(sups), "sup-msgs/supervisor")
	cancel()
	<-done
	srv.Close()
	for _, c := range conns {
		c.conn.Close()
	}
	sub.Close()
	wg.Wait()
}

// BenchmarkSupervisorFanout measures the supervisor feed: a fake engine
// publishes agent and queue changes as fast as the hub takes them; 20
// supervisors read the coalesced deltas. It reports delivered supervisor
// messages per second and engine events per second.
func BenchmarkSupervisorFanout(b *testing.B) {
	const sups, agents, queues = 20, 1000, 20
	eng := agentdesktest.NewEngine(agentdesk.State{})
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
		eng.Publish(agentdesk.AgentStatus{AgentID: fmt.Sprintf("a%04d", i%agents), Name: "x", Presence: "ready",
			State: []string{"idle", "reserved", "on-call", "wrap-up"}[i%4], Since: time.Now()})
		if i%10 == 0 {
			eng.Publish(agentdesk.QueueStats{Queue: fmt.Sprintf("q%02d", i%queues), Waiting: i % 7})
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
