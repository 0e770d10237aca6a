package agentdesk_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/agentdesk"
)

// missYAML rings briefly and sets an agent not ready after two missed offers.
const missYAML = `
ring_timeout: 300ms
missed_offers: 2
wrap_up: 60s
stats_interval: 100ms
queues:
  - name: sales
    skills: [{skill: sales, level: 1}]
    service_level: {threshold: 20s, target: 80}
`

// A caller whose agent missed two offers (and went not ready) is still
// waiting: the supervisor's deltas, a fresh snapshot and the engine agree.
func TestACDMissedOffersKeepCallerWaiting(t *testing.T) {
	r := newACDRigYAML(t, missYAML, nil)
	a1 := login(t, r.srv, "a1")
	ready(t, a1, "id-a1")
	sup := login(t, r.srv, "sup")
	sup.waitType(agentdesk.EvSupSnapshot)

	r.enqueue(t, "miss-1", "sales", nil)
	for i := range 2 {
		pop := decode[agentdesk.Offer](t, a1.waitType(agentdesk.EvCallOffered))
		if pop.CallID != "miss-1" {
			t.Fatalf("offer %d: call %q", i+1, pop.CallID)
		}
		a1.mustOK(agentdesk.CmdCallReject, map[string]any{"call_id": "miss-1"})
	}
	waitEngine(t, r, func(e *acd.AgentPresenceChanged) bool {
		return e.Agent == "id-a1" && e.Presence == acd.PresenceNotReady
	})
	snap, err := r.eng.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Queues) != 1 || snap.Queues[0].Waiting != 1 {
		t.Fatalf("engine queues = %+v, want sales with 1 waiting", snap.Queues)
	}

	isWaiting := func(q agentdesk.QueueView) bool {
		return q.Queue == "sales" && q.Waiting == 1 && len(q.Calls) == 1 && q.Calls[0].CallID == "miss-1"
	}
	sup.waitFor("sup.queue with miss-1 waiting", func(m agentdesk.Envelope) bool {
		return m.Type == agentdesk.EvSupQueue && isWaiting(decode[agentdesk.QueueView](t, m))
	})
	sup.waitFor("sup.agent a1 not ready", isSupAgent("id-a1", "not-ready"))
	fresh := login(t, r.srv, "sup")
	s := decode[agentdesk.SupSnapshot](t, fresh.waitType(agentdesk.EvSupSnapshot))
	if len(s.Queues) != 1 || !isWaiting(s.Queues[0]) {
		t.Fatalf("fresh sup.snapshot queues = %+v, want miss-1 waiting in sales", s.Queues)
	}
}

// floorView is what the hub's model and the engine must agree on.
type floorView struct {
	Waiting map[string]string // call → queue/priority
	Offers  map[string]string // agent → call
	Calls   map[string]string // agent → call/state
	Agents  map[string]string // agent → presence/reason/state/call
}

func viewOf(s agentdesk.State) floorView {
	v := floorView{Waiting: map[string]string{}, Offers: map[string]string{}, Calls: map[string]string{}, Agents: map[string]string{}}
	for _, w := range s.Waiting {
		v.Waiting[w.CallID] = fmt.Sprintf("%s/%d", w.Queue, w.Priority)
	}
	for _, o := range s.Offers {
		v.Offers[o.AgentID] = o.CallID
	}
	for _, c := range s.Calls {
		v.Calls[c.AgentID] = c.CallID + "/" + c.State
	}
	for _, a := range s.Agents {
		v.Agents[a.AgentID] = strings.Join([]string{a.Presence, a.Reason, a.State, a.CallID}, "/")
	}
	return v
}

// floorRig is the real engine under a fake clock with a manual phone, the
// hub on top of it (no connections needed to keep its model).
type floorRig struct {
	clock   *acdtest.Clock
	phone   *acdtest.Phone
	eng     *acd.Engine
	adapter *agentdesk.ACD
	hub     *agentdesk.Hub
}

func newFloorRig(t *testing.T) *floorRig {
	t.Helper()
	cfg, err := acd.ParseConfig([]byte(rigYAML))
	if err != nil {
		t.Fatal(err)
	}
	r := &floorRig{clock: acdtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), phone: acdtest.NewPhone()}
	r.eng, err = acd.New(cfg, r.phone, r.phone, acd.WithClock(r.clock), acd.WithDialer(r.phone),
		acd.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	r.adapter = agentdesk.NewACD(r.eng, agentdesk.ACDOptions{
		AgentSpec: func(_ context.Context, id string) (acd.AgentSpec, error) {
			return acd.AgentSpec{Name: id, Endpoint: "sip:" + id,
				Skills: []acd.SkillLevel{{Skill: "sales", Level: skillOf[id]}, {Skill: "support", Level: 2}}}, nil
		}})
	r.hub, err = agentdesk.New(agentdesk.Config{Engine: r.adapter, Events: r.adapter, Auth: newFakeAuth(),
		Dispositions: testDispositions, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		r.eng.Close()
	})
	return r
}

// engineView is the engine's own state, through a fresh subscription.
func (r *floorRig) engineView(t *testing.T) floorView {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, _, err := r.adapter.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return viewOf(st)
}

// agree waits until the hub's model matches the engine's state; the engine
// settles by itself between two steps (the clock and the phone wait for the
// test).
func (r *floorRig) agree(t *testing.T, step string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		want := r.engineView(t)
		diff := cmp.Diff(want, viewOf(r.hub.Floor()))
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the hub's model differs from the engine (-engine +hub):\n%s", step, diff)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// After any sequence of calls, answers, misses, hangups, holds, transfers,
// presence changes, reprioritisations and timer expiries, the hub's model
// (what sup.snapshot and the deltas are made of) equals the engine's state.
func TestFloorMatchesEngine(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := newFloorRig(t)
			rng := rand.New(rand.NewPCG(seed, 16))
			ctx := context.Background()
			agents := []string{"id-a1", "id-a2", "id-a3"}
			queues := []string{"sales", "support"}
			var legs []*acdtest.Leg
			var rings []*acdtest.Ringing
			pick := func(n int) int { return rng.IntN(n) }
			for i := range 150 {
				// Collect ring attempts; forget withdrawn ones.
				for more := true; more; {
					select {
					case rg := <-r.phone.Rings:
						rings = append(rings, rg)
					default:
						more = false
					}
				}
				rings = slices.DeleteFunc(rings, func(rg *acdtest.Ringing) bool {
					select {
					case <-rg.Withdrawn():
						return true
					default:
						return false
					}
				})
				a := agents[pick(len(agents))]
				var step string
				switch op := pick(12); {
				case op == 0 || op == 1:
					id := fmt.Sprintf("c%d", i)
					leg := acdtest.NewLeg(id)
					q := queues[pick(len(queues))]
					_, err := r.eng.Enqueue(ctx, acd.CallRequest{ID: acd.CallID(id), Queue: q, ANI: "+14155550123"}, leg)
					if err != nil {
						t.Fatal(err)
					}
					legs = append(legs, leg)
					step = "enqueue " + id + " to " + q
				case op == 2 && len(legs) > 0:
					l := legs[pick(len(legs))]
					l.End()
					step = "caller " + l.ID() + " hangs up"
				case op == 3:
					p := []string{agentdesk.PresenceReady, agentdesk.PresenceReady, agentdesk.PresenceNotReady, agentdesk.PresenceOffline}[pick(4)]
					reason := ""
					if p == agentdesk.PresenceNotReady {
						reason = "break"
					}
					_ = r.adapter.SetPresence(ctx, a, p, reason)
					step = a + " " + p
				case (op == 4 || op == 5) && len(rings) > 0:
					k := pick(len(rings))
					rg := rings[k]
					rings = slices.Delete(rings, k, k+1)
					switch pick(3) {
					case 0:
						rg.Fail(acd.ErrRejected)
						step = string(rg.Offer.Agent) + " rejects " + string(rg.Offer.Call.ID)
					default:
						rg.Answer()
						step = string(rg.Offer.Agent) + " answers " + string(rg.Offer.Call.ID)
					}
				case op == 6:
					_ = r.eng.Hangup(ctx, acd.AgentID(a))
					step = a + " hangs up"
				case op == 7:
					_ = r.eng.Hold(ctx, acd.AgentID(a), pick(2) == 0)
					step = a + " hold/unhold"
				case op == 8:
					_ = r.eng.Transfer(ctx, acd.AgentID(a), acd.TransferTarget{Queue: queues[pick(len(queues))]})
					step = a + " transfers to a queue"
				case op == 9:
					_ = r.eng.Wrap(ctx, acd.AgentID(a), "resolved", "")
					step = a + " wraps up"
				case op == 10 && len(legs) > 0:
					id := acd.CallID(legs[pick(len(legs))].ID())
					if pick(2) == 0 {
						_ = r.eng.SetPriority(ctx, id, pick(100))
					} else {
						_ = r.eng.MoveToFront(ctx, id)
					}
					step = "reprioritise " + string(id)
				default:
					d := time.Duration(pick(40)) * time.Second
					r.clock.Advance(d)
					step = "advance " + d.String()
				}
				r.agree(t, fmt.Sprintf("step %d (%s)", i, step))
			}
		})
	}
}
