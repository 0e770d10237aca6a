package acd_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"switchboard/acd"
	"switchboard/acd/acdtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type harness struct {
	t      *testing.T
	e      *acd.Engine
	clock  *acdtest.Clock
	phone  *acdtest.Phone
	events <-chan acd.Event
	ctx    context.Context
}

func newHarness(t *testing.T, yaml string, opts ...acd.Option) *harness {
	t.Helper()
	cfg, err := acd.ParseConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: acdtest.NewClock(t0), phone: acdtest.NewPhone(), ctx: context.Background()}
	opts = append([]acd.Option{acd.WithClock(h.clock), acd.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		acd.WithDialer(h.phone), acd.WithVoicemail(h.phone), acd.WithConferencer(h.phone)}, opts...)
	h.e, err = acd.New(cfg, h.phone, h.phone, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.e.Close() })
	sub, _, err := h.e.Subscribe(h.ctx, acd.SubscribeOptions{Name: "test", Buffer: 100000})
	if err != nil {
		t.Fatal(err)
	}
	h.events = pump(t, sub)
	return h
}

// pump forwards sub's events to the returned channel until sub ends or the
// test is over; the channel is closed then.
func pump(t *testing.T, sub *acd.Subscription) <-chan acd.Event {
	ch := make(chan acd.Event, 100000)
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { sub.Close(); close(stop); <-done })
	go func() {
		defer close(done)
		defer close(ch)
		var buf []acd.Event
		for {
			select {
			case <-sub.Ready():
			case <-stop:
				return
			}
			var open bool
			buf, open = sub.Take(buf[:0])
			for _, ev := range buf {
				select {
				case ch <- ev:
				case <-stop:
					return
				}
			}
			if !open {
				return
			}
		}
	}()
	return ch
}

func (h *harness) login(id string, ready bool, skills ...acd.SkillLevel) {
	h.t.Helper()
	h.loginSpec(acd.AgentSpec{ID: acd.AgentID(id), Endpoint: "sip:" + id, Skills: skills, Ready: ready})
}

func (h *harness) loginSpec(s acd.AgentSpec) {
	h.t.Helper()
	if err := h.e.Login(h.ctx, s); err != nil {
		h.t.Fatalf("login %s: %v", s.ID, err)
	}
}

func (h *harness) enqueue(req acd.CallRequest) *acdtest.Leg {
	h.t.Helper()
	leg := acdtest.NewLeg(string(req.ID))
	if _, err := h.e.Enqueue(h.ctx, req, leg); err != nil {
		h.t.Fatalf("enqueue %s: %v", req.ID, err)
	}
	return leg
}

// ring waits for the next ring attempt.
func (h *harness) ring() *acdtest.Ringing {
	h.t.Helper()
	select {
	case r := <-h.phone.Rings:
		return r
	case <-time.After(10 * time.Second):
		h.t.Fatal("no ring attempt")
		return nil
	}
}

// noRing checks that no ring attempt is pending once the engine has
// processed everything sent so far.
func (h *harness) noRing() {
	h.t.Helper()
	h.sync()
	select {
	case r := <-h.phone.Rings:
		h.t.Fatalf("unexpected ring of %s for %s", r.Offer.Agent, r.Offer.Call.ID)
	default:
	}
}

// sync waits until the actor has processed every command sent before it.
func (h *harness) sync() {
	h.t.Helper()
	if _, err := h.e.Snapshot(h.ctx); err != nil {
		h.t.Fatal(err)
	}
}

// advance moves the fake clock and lets the actor process the timers.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.sync() // timers armed by commands already sent must exist first
	h.clock.Advance(d)
	h.sync()
}

// waitFor reads events until one of type T satisfies ok.
func waitFor[T acd.Event](h *harness, ok func(T) bool) T {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, open := <-h.events:
			if !open {
				h.t.Fatal("event channel closed")
			}
			if x, is := ev.(T); is && (ok == nil || ok(x)) {
				return x
			}
		case <-deadline:
			var zero T
			h.t.Fatalf("no %T event", zero)
			return zero
		}
	}
}

func (h *harness) agentState(id string) acd.AgentSnapshot {
	h.t.Helper()
	s, err := h.e.Snapshot(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, a := range s.Agents {
		if a.ID == acd.AgentID(id) {
			return a
		}
	}
	h.t.Fatalf("agent %s not in snapshot", id)
	return acd.AgentSnapshot{}
}

func sk(name string, level int) acd.SkillLevel { return acd.SkillLevel{Skill: name, Level: level} }

// geoOf is the geography of ani, resolved as an entry resolves it before
// it enqueues a call.
func geoOf(ani string) acd.Geography { return acd.ResolveNumber(ani, "US") }

func newLeg(id string) *acdtest.Leg { return acdtest.NewLeg(id) }

// eventually polls cond (for effects of the engine's I/O goroutines).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
