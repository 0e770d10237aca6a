package acd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"switchboard/acd/routing"
)

type benchLeg struct {
	id  string
	ctx context.Context
}

func (l *benchLeg) ID() string                   { return l.id }
func (l *benchLeg) Context() context.Context     { return l.ctx }
func (l *benchLeg) Hangup(context.Context) error { return nil }

type benchPhone struct{}

func (benchPhone) Ring(ctx context.Context, _ Offer) (Leg, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (benchPhone) Bridge(ctx context.Context, _, _ Leg) error { <-ctx.Done(); return nil }

// benchChannel presents task offers nowhere.
type benchChannel struct{}

func (benchChannel) Offer(context.Context, Offer) error              { return nil }
func (benchChannel) Accept(context.Context, CallInfo, AgentID) error { return nil }
func (benchChannel) End(context.Context, CallInfo, Outcome) error    { return nil }

// bigEngine builds an engine with 10,000 logged-in (not ready) agents with
// five skills each, 200 queues (one skill each) and 1,000 waiting calls.
func bigEngine(tb testing.TB) *Engine { return buildBigEngine(tb, nil) }

// bigMultiEngine is bigEngine with chat and email channels: of the 1,000
// waiting tasks a third each are calls, chats and emails.
func bigMultiEngine(tb testing.TB) *Engine {
	return buildBigEngine(tb, []Channel{ChannelChat, ChannelEmail})
}

func buildBigEngine(tb testing.TB, channels []Channel) *Engine {
	r := rand.New(rand.NewPCG(3, 4))
	cfg := &Config{StatsInterval: Duration(-1)}
	for q := 0; q < 200; q++ {
		cfg.Queues = append(cfg.Queues, QueueConfig{Name: fmt.Sprintf("q%d", q),
			Skills: []SkillLevel{{Skill: fmt.Sprintf("s%d", q), Level: 1 + r.IntN(3)}}})
	}
	opts := []Option{WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}
	for _, ch := range channels {
		opts = append(opts, WithChannel(ch, benchChannel{}))
	}
	e, err := New(cfg, benchPhone{}, benchPhone{}, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 10000; i++ {
		var sk []SkillLevel
		seen := map[int]bool{}
		for len(sk) < 5 {
			s := r.IntN(200)
			if !seen[s] {
				seen[s] = true
				sk = append(sk, SkillLevel{Skill: fmt.Sprintf("s%d", s), Level: 1 + r.IntN(5)})
			}
		}
		if err := e.Login(ctx, AgentSpec{ID: AgentID(fmt.Sprintf("a%d", i)), Skills: sk}); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < 1000; i++ {
		req := CallRequest{ID: CallID(fmt.Sprintf("c%d", i)), Queue: fmt.Sprintf("q%d", r.IntN(200)), Priority: r.IntN(3)}
		var err error
		if k := i % (len(channels) + 1); k == 0 {
			_, err = e.Enqueue(ctx, req, &benchLeg{id: string(req.ID), ctx: ctx})
		} else {
			_, err = e.Submit(ctx, Task{ID: req.ID, Channel: channels[k-1], Queue: req.Queue, Priority: req.Priority})
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

// BenchmarkAgentDecision measures the engine's agent-side routing
// decision (an agent becomes ready: find the first waiting call it may
// take in global order among 1,000, then score it) with 10,000 agents and
// 200 queues. It runs on the benchmark goroutine while the actor is idle.
func BenchmarkAgentDecision(b *testing.B) {
	e := bigEngine(b)
	defer e.Close()
	if _, err := e.Snapshot(context.Background()); err != nil { // actor idle from here on
		b.Fatal(err)
	}
	agents := make([]*agent, 0, len(e.agents))
	for _, a := range e.agents {
		agents = append(agents, a)
	}
	sort.Slice(agents, func(i, j int) bool { return agents[i].slot < agents[j].slot })
	now := e.clock.Now()
	lat := make([]int64, 0, 1<<16)
	found := 0
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		a := agents[i%len(agents)]
		i++
		ra := e.idx.Agent(a.slot)
		ra.Available = true
		t := time.Now()
		if c := e.firstFor(a, now); c != nil {
			rc := c.rc
			rc.Only = a.slot
			if d := e.idx.Best(&rc, &c.q.weights, now.UnixNano()); d.Agent == a.slot {
				found++
			}
		}
		if len(lat) < cap(lat) {
			lat = append(lat, int64(time.Since(t)))
		}
		ra.Available = false
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
		b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
	}
	if found == 0 {
		b.Fatal("no decision found a call")
	}
}

// BenchmarkCallDecision measures the call-side decision inside the same
// engine state: a call arrives and the best of the eligible agents
// (a quarter of them ready and idle) is chosen.
func BenchmarkCallDecision(b *testing.B) {
	e := bigEngine(b)
	defer e.Close()
	if _, err := e.Snapshot(context.Background()); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, a := range e.agents {
		if r.IntN(4) == 0 {
			e.idx.Agent(a.slot).Available = true
		}
	}
	calls := append([]*call(nil), e.waiting...)
	now := e.clock.Now().UnixNano()
	lat := make([]int64, 0, 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		c := calls[i%len(calls)]
		i++
		t := time.Now()
		e.idx.Best(&c.rc, &c.q.weights, now)
		if len(lat) < cap(lat) {
			lat = append(lat, int64(time.Since(t)))
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
		b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
	}
}

// BenchmarkMultiChannelDecision measures the agent-side decision with
// capacity: 10,000 agents, 200 queues and 1,000 waiting tasks (calls,
// chats and emails). Each agent holds 0..3 chats and 0..1 email; the
// decision computes the agent's capacity (blocking, total, full channels,
// load), finds the first waiting task of a channel with room in global
// order, and scores it.
func BenchmarkMultiChannelDecision(b *testing.B) {
	e := bigMultiEngine(b)
	defer e.Close()
	if _, err := e.Snapshot(context.Background()); err != nil { // actor idle from here on
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	chat, email := &call{rc: routing.Call{Channel: e.chanIDs[ChannelChat]}}, &call{rc: routing.Call{Channel: e.chanIDs[ChannelEmail]}}
	agents := make([]*agent, 0, len(e.agents))
	for _, a := range e.agents {
		for range r.IntN(4) {
			a.tasks = append(a.tasks, chat)
		}
		if r.IntN(2) == 0 {
			a.tasks = append(a.tasks, email)
		}
		agents = append(agents, a)
	}
	sort.Slice(agents, func(i, j int) bool { return agents[i].slot < agents[j].slot })
	now := e.clock.Now()
	lat := make([]int64, 0, 1<<16)
	found := 0
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		a := agents[i%len(agents)]
		i++
		a.presence = PresenceReady
		ra := e.idx.Agent(a.slot)
		t := time.Now()
		avail, full, load := e.capacity(a)
		ra.Available, ra.Full, ra.Load = avail, full, load
		if avail {
			if c := e.firstFor(a, now); c != nil {
				rc := c.rc
				rc.Only = a.slot
				if d := e.idx.Best(&rc, &c.q.weights, now.UnixNano()); d.Agent == a.slot {
					found++
				}
			}
		}
		if len(lat) < cap(lat) {
			lat = append(lat, int64(time.Since(t)))
		}
		ra.Available = false
		a.presence = PresenceNotReady
	}
	b.StopTimer()
	for _, a := range agents {
		a.tasks = nil
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
		b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
	}
	if found == 0 {
		b.Fatal("no decision found a task")
	}
}
