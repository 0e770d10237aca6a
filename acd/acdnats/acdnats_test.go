package acdnats_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"switchboard/acd"
	"switchboard/acd/acdnats"
	"switchboard/acd/acdtest"
	"switchboard/cmd/switchboard/edgetest"
)

const engineYAML = `
stats_interval: -1
wrap_up: 0s
queues:
  - name: support
    skills: [{skill: support, level: 1}]
`

type pop struct{ Contact string }

func logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// leader starts an engine whose telephony is a Leader of epoch on url.
func leader(t *testing.T, url, node string, epoch uint64, opts ...acd.Option) (*acd.Engine, *acdnats.Leader) {
	t.Helper()
	e, l, serve := newLeader(t, url, node, epoch, opts...)
	serve()
	return e, l
}

// newLeader returns an engine whose telephony is a Leader of epoch on url,
// and the function that starts the leader.
func newLeader(t *testing.T, url, node string, epoch uint64, opts ...acd.Option) (*acd.Engine, *acdnats.Leader, func()) {
	t.Helper()
	cfg, err := acd.ParseConfig([]byte(engineYAML))
	if err != nil {
		t.Fatal(err)
	}
	l := acdnats.NewLeader(connect(t, url), acdnats.LeaderOptions{Node: node, Epoch: epoch, LostAfter: 800 * time.Millisecond,
		Announce: 200 * time.Millisecond, NewData: func() any { return new(pop) }, Logger: logger()})
	opts = append(opts, acd.WithDialer(l), acd.WithVoicemail(l), acd.WithAfterCall(l.AfterCall), acd.WithLogger(logger()))
	e, err := acd.New(cfg, l, l, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done; e.Close() })
	return e, l, func() { go func() { defer close(done); _ = l.Serve(ctx, e) }() }
}

func node(t *testing.T, url, id string, phone *acdtest.Phone) *acdnats.Node {
	t.Helper()
	n, err := acdnats.NewNode(connect(t, url), acdnats.NodeOptions{Node: id, Local: phone, Heartbeat: 100 * time.Millisecond,
		LeaderWait: 5 * time.Second, Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// events is a feed's events in order, taken as a test needs them.
type events struct {
	f       *acdnats.Feed
	pending []acd.Event
}

// next returns the next event of type T, skipping the others.
func next[T acd.Event](t testing.TB, e *events) T {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		for len(e.pending) > 0 {
			ev := e.pending[0]
			e.pending = e.pending[1:]
			if v, ok := ev.(T); ok {
				return v
			}
		}
		select {
		case <-e.f.Ready():
			e.pending, _ = e.f.Take(e.pending)
		case <-timeout:
			var zero T
			t.Fatalf("timed out waiting for %T", zero)
		}
	}
}

func login(t *testing.T, e *acd.Engine, agent string) {
	t.Helper()
	err := e.Login(context.Background(), acd.AgentSpec{ID: acd.AgentID(agent), Name: agent, Endpoint: agent,
		Skills: []acd.SkillLevel{{Skill: "support", Level: 3}}, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
}

// A call from a node that does not lead is routed by the leader's engine,
// rung and bridged on its node, and its record reaches that node with
// the node's own data.
func TestCallOnAnotherNode(t *testing.T) {
	url := edgetest.StartNATS(t)
	e, _ := leader(t, url, "a", 1)
	phoneA, phoneB := acdtest.NewPhone(), acdtest.NewPhone()
	phoneB.AutoAnswer = func(acd.Offer) bool { return true }
	node(t, url, "a", phoneA)
	b := node(t, url, "b", phoneB)
	feed := &events{f: b.Follow()}
	defer feed.f.Close()
	login(t, e, "alice")

	caller := acdtest.NewLeg("call-1")
	data := &pop{Contact: "c-1"}
	if _, err := b.Enqueue(context.Background(), acd.CallRequest{ID: "call-1", Queue: "support", ANI: "+15550100", Data: data}, caller); err != nil {
		t.Fatal(err)
	}
	if q := next[*acd.CallQueued](t, feed); q.Call.ID != "call-1" {
		t.Fatalf("queued %q", q.Call.ID)
	}
	next[*acd.CallAnswered](t, feed)
	waitFor(t, "the bridge on node b", func() bool { return len(phoneB.Bridges()) == 1 })
	br := phoneB.Bridges()[0]
	if br.Caller != acd.Leg(caller) {
		t.Fatalf("bridged %v, want the caller's own leg", br.Caller.ID())
	}
	if len(phoneA.Bridges()) != 0 {
		t.Fatal("node a bridged a call it does not hold")
	}
	info, err := e.Call(context.Background(), "call-1")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := info.Data.(*pop); !ok || p.Contact != "c-1" {
		t.Fatalf("leader's call data %#v", info.Data)
	}

	caller.End()
	done := next[*acd.InteractionCompleted](t, feed)
	if done.Interaction.Agent != "alice" || done.Interaction.Outcome != acd.OutcomeAnswered {
		t.Fatalf("interaction %+v", done.Interaction)
	}
	if done.Interaction.Data != any(data) {
		t.Fatalf("record data %#v, want the node's own", done.Interaction.Data)
	}
	waitFor(t, "the agent's leg hung up", func() bool { return br.Agent.Context().Err() != nil })
}

// A node that stops answering is taken for lost: the engine ends its
// calls and frees their agents.
func TestNodeLost(t *testing.T) {
	url := edgetest.StartNATS(t)
	e, _ := leader(t, url, "a", 1)
	phoneB := acdtest.NewPhone()
	phoneB.AutoAnswer = func(acd.Offer) bool { return true }
	ncB, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	b, err := acdnats.NewNode(ncB, acdnats.NodeOptions{Node: "b", Local: phoneB, Heartbeat: 100 * time.Millisecond, Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	login(t, e, "alice")
	if _, err := b.Enqueue(context.Background(), acd.CallRequest{ID: "call-1", Queue: "support"}, acdtest.NewLeg("call-1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bridge", func() bool { return len(phoneB.Bridges()) == 1 })
	b.Close()
	ncB.Close() // the node is gone
	waitFor(t, "the call ended by the leader", func() bool {
		_, err := e.Call(context.Background(), "call-1")
		return errors.Is(err, acd.ErrUnknownCall)
	})
	snap, err := e.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range snap.Agents {
		if a.ID == "alice" && a.State != acd.StateIdle {
			t.Fatalf("alice is %s after her call's node was lost", a.State)
		}
	}
}

// A new leader gets every live call again: a waiting caller with the
// time they joined the queue, a connected call adopted with its agent,
// its bridge joined rather than started twice.
func TestNewLeaderGetsCalls(t *testing.T) {
	url := edgetest.StartNATS(t)
	ctx := context.Background()
	e1, _ := leader(t, url, "a", 1)
	phoneB := acdtest.NewPhone()
	phoneB.AutoAnswer = func(o acd.Offer) bool { return o.Call.ID == "talking" }
	b := node(t, url, "b", phoneB)
	login(t, e1, "alice")
	waiting := acdtest.NewLeg("waiting")
	talking := acdtest.NewLeg("talking")
	if _, err := b.Enqueue(ctx, acd.CallRequest{ID: "talking", Queue: "support"}, talking); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bridge", func() bool { return len(phoneB.Bridges()) == 1 })
	if _, err := b.Enqueue(ctx, acd.CallRequest{ID: "waiting", Queue: "support"}, waiting); err != nil {
		t.Fatal(err)
	}
	w1, err := e1.Call(ctx, "waiting")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the new term starts visibly later

	e2, _ := leader(t, url, "c", 2)
	waitFor(t, "both calls re-announced", func() bool {
		_, err1 := e2.Call(ctx, "waiting")
		_, err2 := e2.Call(ctx, "talking")
		return err1 == nil && err2 == nil
	})
	w2, _ := e2.Call(ctx, "waiting")
	if !w2.Queued.Equal(w1.Queued) {
		t.Fatalf("re-announced call queued at %v, first queued at %v", w2.Queued, w1.Queued)
	}
	snap, err := e2.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range snap.Agents {
		if a.ID == "alice" {
			found = true
		}
	}
	if !found {
		t.Fatal("the new leader does not know the agent of the connected call")
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(phoneB.Bridges()); n != 1 {
		t.Fatalf("%d bridges on node b, want the first one only", n)
	}
	talking.End()
	waitFor(t, "the adopted call ended", func() bool {
		_, err := e2.Call(ctx, "talking")
		return errors.Is(err, acd.ErrUnknownCall)
	})
}

// A new leader holds its offers until the nodes re-announced their calls:
// an agent whose desk logged in before their call was re-announced is
// not offered another; the connected call is adopted, and once settled
// the waiting caller goes to a free agent.
func TestNewLeaderSettles(t *testing.T) {
	url := edgetest.StartNATS(t)
	ctx := context.Background()
	e1, _ := leader(t, url, "a", 1)
	phoneB := acdtest.NewPhone()
	phoneB.AutoAnswer = func(o acd.Offer) bool { return true }
	b := node(t, url, "b", phoneB)
	login(t, e1, "alice")
	talking := acdtest.NewLeg("talking")
	if _, err := b.Enqueue(ctx, acd.CallRequest{ID: "talking", Queue: "support"}, talking); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bridge", func() bool { return len(phoneB.Bridges()) == 1 })
	if _, err := b.Enqueue(ctx, acd.CallRequest{ID: "waiting", Queue: "support"}, acdtest.NewLeg("waiting")); err != nil {
		t.Fatal(err)
	}

	e2, l2, serve := newLeader(t, url, "c", 2, acd.WithRoutingHeld())
	login(t, e2, "alice") // her desk is back before her call
	login(t, e2, "bob")
	serve()
	if late := l2.Settle(ctx, 5*time.Second); len(late) != 0 {
		t.Fatalf("nodes not settled: %v", late)
	}
	if got := onCall(t, e2, "alice"); got != "talking" {
		t.Fatalf("alice is on %q on the new leader, want talking (adopted)", got)
	}
	if err := e2.ReleaseRouting(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the waiting caller bridged", func() bool { return len(phoneB.Bridges()) == 2 })
	if got := onCall(t, e2, "bob"); got != "waiting" {
		t.Fatalf("bob is on %q, want the waiting call", got)
	}
}

// onCall returns the call agent is on in e.
func onCall(t *testing.T, e *acd.Engine, agent acd.AgentID) acd.CallID {
	t.Helper()
	snap, err := e.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range snap.Agents {
		if a.ID == agent {
			return a.CallID
		}
	}
	return ""
}

// BenchmarkCallOverBus puts calls from a node that does not lead through
// the leader's engine (queued, rung and bridged on the node, hung up,
// recorded) and reports the bus traffic per call, counted by a
// subscriber to every subject.
func BenchmarkCallOverBus(b *testing.B) {
	url := edgetest.StartNATS(b)
	cfg, err := acd.ParseConfig([]byte(engineYAML))
	if err != nil {
		b.Fatal(err)
	}
	nc := func() *nats.Conn {
		c, err := nats.Connect(url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Close)
		return c
	}
	var msgs, bytes atomic.Int64
	if _, err := nc().Subscribe(">", func(m *nats.Msg) { msgs.Add(1); bytes.Add(int64(len(m.Data))) }); err != nil {
		b.Fatal(err)
	}
	l := acdnats.NewLeader(nc(), acdnats.LeaderOptions{Node: "a", Epoch: 1, Announce: time.Hour, NewData: func() any { return new(pop) }})
	e, err := acd.New(cfg, l, l, acd.WithDialer(l), acd.WithVoicemail(l), acd.WithAfterCall(l.AfterCall),
		acd.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); _ = l.Serve(ctx, e) }()
	defer func() { cancel(); <-served; e.Close() }()
	phone := acdtest.NewPhone()
	phone.AutoAnswer = func(acd.Offer) bool { return true }
	n, err := acdnats.NewNode(nc(), acdnats.NodeOptions{Node: "b", Local: phone, Heartbeat: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	feed := &events{f: n.Follow()}
	defer feed.f.Close()
	if err := e.Login(ctx, acd.AgentSpec{ID: "alice", Endpoint: "alice", Skills: []acd.SkillLevel{{Skill: "support", Level: 3}}, Ready: true}); err != nil {
		b.Fatal(err)
	}
	data := &pop{Contact: "0192f5a8-1c2b-7d3e-9f40-5a6b7c8d9e0f"}
	msgs.Store(0)
	bytes.Store(0)
	b.ResetTimer()
	for i := range b.N {
		id := acd.CallID(fmt.Sprintf("call-%d", i))
		caller := acdtest.NewLeg(string(id))
		if _, err := n.Enqueue(ctx, acd.CallRequest{ID: id, Queue: "support", ANI: "+15550100", Data: data}, caller); err != nil {
			b.Fatal(err)
		}
		next[*acd.CallAnswered](b, feed)
		caller.End()
		next[*acd.InteractionCompleted](b, feed)
	}
	b.StopTimer()
	time.Sleep(100 * time.Millisecond) // the last call's messages are counted
	b.ReportMetric(float64(msgs.Load())/float64(b.N), "msgs/call")
	b.ReportMetric(float64(bytes.Load())/float64(b.N), "bytes/call")
}

// A call that ended under a leader that died before completing it (its
// agent was still in wrap-up) is recorded by its node when the next
// leader takes over: answered by that agent, with the node's own data.
func TestEndedUnderDeadLeaderRecordedByNode(t *testing.T) {
	url := edgetest.StartNATS(t)
	ctx := context.Background()
	cfg, err := acd.ParseConfig([]byte(strings.Replace(engineYAML, "wrap_up: 0s", "wrap_up: 10m", 1)))
	if err != nil {
		t.Fatal(err)
	}
	l1 := acdnats.NewLeader(connect(t, url), acdnats.LeaderOptions{Node: "a", Epoch: 1, Announce: 200 * time.Millisecond,
		NewData: func() any { return new(pop) }, Logger: logger()})
	e1, err := acd.New(cfg, l1, l1, acd.WithAfterCall(l1.AfterCall), acd.WithLogger(logger()))
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() { defer close(served); _ = l1.Serve(sctx, e1) }()
	phone := acdtest.NewPhone()
	phone.AutoAnswer = func(acd.Offer) bool { return true }
	b := node(t, url, "b", phone)
	feed := &events{f: b.Follow()}
	defer feed.f.Close()
	login(t, e1, "alice")
	caller := acdtest.NewLeg("call-1")
	data := &pop{Contact: "c-1"}
	if _, err := b.Enqueue(ctx, acd.CallRequest{ID: "call-1", Queue: "support", Data: data}, caller); err != nil {
		t.Fatal(err)
	}
	next[*acd.CallAnswered](t, feed)
	caller.End()
	next[*acd.CallEnded](t, feed) // alice is in wrap-up: no record yet
	l1.Detach()                   // the leader dies before the wrap-up ends
	stop()
	<-served
	e1.Close()

	leader(t, url, "c", 2)
	done := next[*acd.InteractionCompleted](t, feed)
	it := done.Interaction
	if it.CallID != "call-1" || it.Outcome != acd.OutcomeAnswered || it.Agent != "alice" || it.Answered.IsZero() || it.Data != any(data) {
		t.Fatalf("record made by the node: %+v", it)
	}
}
