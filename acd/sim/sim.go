package sim

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/acd/campaign"
	"switchboard/acd/routing"
)

// Options override scenario values.
type Options struct {
	// Strategy, if set, replaces every queue's strategy.
	Strategy string
	// Rules, if set, names the rule set (Scenario.Rules) whose capacity
	// rules replace acd.capacity.
	Rules string
	// Seed, if non-zero, replaces the scenario seed.
	Seed uint64
	// Duration, if positive, replaces the scenario duration.
	Duration time.Duration
	// Agents, if positive, scales the scenario's pools, in proportion,
	// to this many agents in all.
	Agents int
}

type simEvent struct {
	at   time.Time
	seq  uint64
	kind int // evArrival, evBacklog, evAbandon, evEnd, evDial, evMachineDone, evPace
	rec  *taskRec
	arr  int
	dial *dial
}

const (
	evArrival = iota
	evBacklog
	evAbandon
	evEnd
	// evDial: a campaign's dial is answered, busy, rings out or fails.
	evDial
	// evMachineDone: a machine's treatment is over.
	evMachineDone
	// evPace: a tick that makes the campaigns pace when nothing else
	// happens (they pace after every instant with events).
	evPace
)

type eventHeap []*simEvent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*simEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// taskRec is one call or task the simulator generated.
type taskRec struct {
	id      string
	ch      int    // index in runner.chans
	queue   string // the result row: the queue, "/vip" for the VIP segment
	leg     *acdtest.Leg
	arrived time.Time
	handle  time.Duration
	// target is the stream's response-time target (Arrival.Target).
	target    time.Duration
	answered  time.Time
	completed time.Time
	abandoned bool
	// ended: the engine ended it (CallEnded), by any outcome.
	ended    bool
	measured bool
	// camp is the campaign of an outbound call a person answered.
	camp *campRun
}

// adapter is the simulator's ChannelAdapter for every channel but voice.
// It takes each offer at once; the simulator accepts it (Engine.Accept)
// in the order the engine published the offers, which keeps a run
// deterministic, and completes the task when its handle time is over.
type adapter struct{}

var _ acd.ChannelAdapter = adapter{}

// Offer implements acd.ChannelAdapter.
func (adapter) Offer(context.Context, acd.Offer) error { return nil }

// Accept implements acd.ChannelAdapter.
func (adapter) Accept(context.Context, acd.CallInfo, acd.AgentID) error { return nil }

// End implements acd.ChannelAdapter.
func (adapter) End(context.Context, acd.CallInfo, acd.Outcome) error { return nil }

// errBehind is returned when the simulator's subscription overflowed.
var errBehind = errors.New("sim: fell behind the engine's events")

// runner is one simulation run.
type runner struct {
	sc          *Scenario
	cfg         acd.Config
	ctx         context.Context
	e           *acd.Engine
	clock       *acdtest.Clock
	sub         *acd.Subscription
	measureFrom time.Time
	// chans are the scenario's channels, voice first; chanIdx finds one;
	// voice is voice's index, -1 without voice streams.
	chans   []acd.Channel
	chanIdx map[acd.Channel]int
	voice   int

	h       eventHeap
	seq     uint64
	streams []*rand.Rand
	callers []acd.Geography
	byID    map[string]*taskRec
	recs    []*taskRec
	n       int

	agents map[acd.AgentID]*agentRec
	order  []*agentRec
	holder map[acd.TaskID]*agentRec
	taken  []acd.Event
	camps  []*campRun
}

// Run simulates sc.
func Run(sc *Scenario, opt Options) (Result, error) {
	cfg := sc.ACD
	cfg.Queues = append([]acd.QueueConfig(nil), sc.ACD.Queues...)
	if opt.Strategy != "" {
		if _, err := routing.ParseStrategy(opt.Strategy); err != nil {
			return Result{}, fmt.Errorf("sim: %w", err)
		}
		for i := range cfg.Queues {
			cfg.Queues[i].Strategy = opt.Strategy
		}
	}
	if opt.Rules != "" {
		i := slices.IndexFunc(sc.Rules, func(r RuleSet) bool { return r.Name == opt.Rules })
		if i < 0 {
			return Result{}, fmt.Errorf("%w: no rule set %q", ErrScenario, opt.Rules)
		}
		cfg.Capacity = sc.Rules[i].Capacity
	}
	if cfg.StatsInterval == 0 {
		cfg.StatsInterval = acd.Duration(-1)
	}
	seed := sc.Seed
	if opt.Seed != 0 {
		seed = opt.Seed
	}
	dur := sc.Duration.D()
	if opt.Duration > 0 {
		dur = opt.Duration
	}
	warm := sc.Warmup.D()
	if warm >= dur {
		warm = 0
	}
	start := sc.start()
	end := start.Add(dur)
	if opt.Agents > 0 {
		scaled := *sc
		scaled.Agents = scalePools(sc.Agents, opt.Agents)
		sc = &scaled
	}

	r := &runner{sc: sc, cfg: cfg, ctx: context.Background(), clock: acdtest.NewClock(start), measureFrom: start.Add(warm),
		chanIdx: map[acd.Channel]int{}, voice: -1, byID: map[string]*taskRec{}, agents: map[acd.AgentID]*agentRec{},
		holder: map[acd.TaskID]*agentRec{}}
	err := r.start(seed)
	if r.e != nil {
		defer r.e.Close()
	}
	if r.sub != nil {
		defer r.sub.Close()
	}
	if err != nil {
		return Result{}, err
	}
	if err := r.loop(end); err != nil {
		return Result{}, err
	}
	for _, a := range r.order {
		a.flush(end, r.measureFrom)
	}
	res := r.summarize(end)
	r.finishCampaigns(end, &res)
	res.Seed, res.Duration, res.Strategy, res.Rules = seed, dur, opt.Strategy, opt.Rules
	if opt.Strategy == "" {
		res.Strategy = "configured"
	}
	return res, nil
}

// start builds the engine with an adapter per channel, logs the agents
// in and schedules the first arrivals.
func (r *runner) start(seed uint64) error {
	set := map[acd.Channel]bool{}
	for _, a := range r.sc.Arrivals {
		set[a.channel()] = true
	}
	if set[acd.ChannelVoice] || len(r.sc.Campaigns) > 0 {
		r.chans, r.voice = append(r.chans, acd.ChannelVoice), 0
	}
	delete(set, acd.ChannelVoice)
	r.chans = append(r.chans, slices.Sorted(maps.Keys(set))...)
	phone := acdtest.NewPhone()
	phone.AutoAnswer = func(acd.Offer) bool { return true }
	opts := []acd.Option{acd.WithClock(r.clock), acd.WithDialer(phone), acd.WithVoicemail(phone),
		acd.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), acd.WithCommandBuffer(1 << 14)}
	for i, ch := range r.chans {
		r.chanIdx[ch] = i
		if ch != acd.ChannelVoice {
			opts = append(opts, acd.WithChannel(ch, adapter{}))
		}
	}
	e, err := acd.New(&r.cfg, phone, phone, opts...)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	r.e = e
	if r.sub, _, err = e.Subscribe(r.ctx, acd.SubscribeOptions{Name: "sim", Buffer: 1 << 16}); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	now := r.clock.Now()
	for _, p := range r.sc.Agents {
		for i := 0; i < p.Count; i++ {
			id := acd.AgentID(fmt.Sprintf("%s-%03d", p.Name, i))
			a := newAgentRec(id, p, r.chans, r.cfg.Capacity, now)
			r.agents[id] = a
			r.order = append(r.order, a)
			if err := e.Login(r.ctx, acd.AgentSpec{ID: id, Skills: p.Skills, Languages: p.Languages, Country: p.Country,
				TimeZone: p.TimeZone, Capacity: p.Capacity, Ready: true}); err != nil {
				return fmt.Errorf("sim: %w", err)
			}
			if err := r.drain(); err != nil {
				return err
			}
		}
	}
	// Each stream draws from its own source, so adding a stream leaves
	// the others' traffic unchanged; its number is resolved once, as an
	// entry resolves a caller's, and carried on every arrival.
	for i, a := range r.sc.Arrivals {
		r.streams = append(r.streams, rand.New(rand.NewPCG(seed, (seed^0x9e3779b97f4a7c15)+uint64(i))))
		r.callers = append(r.callers, acd.ResolveNumber(a.ANI, r.cfg.DefaultRegion))
		for range a.Backlog {
			r.push(&simEvent{at: now, kind: evBacklog, arr: i})
		}
		if a.Rate > 0 {
			r.push(&simEvent{at: now.Add(expDur(r.streams[i], a.Rate)), kind: evArrival, arr: i})
		}
	}
	return r.startCampaigns(seed, now)
}

func (r *runner) push(ev *simEvent) { r.seq++; ev.seq = r.seq; heap.Push(&r.h, ev) }

// loop advances the fake clock from event to event until end. Once the
// engine has settled after the events of an instant, the campaigns pace:
// whatever happened (an agent free, a call over) may call for new dials.
func (r *runner) loop(end time.Time) error {
	for {
		if err := r.drain(); err != nil {
			return err
		}
		if err := r.pace(r.clock.Now()); err != nil {
			return err
		}
		next, ok := r.clock.Next()
		if len(r.h) > 0 && (!ok || !r.h[0].at.After(next)) {
			next, ok = r.h[0].at, true
		}
		if !ok || next.After(end) {
			return nil
		}
		r.clock.AdvanceTo(next)
		for len(r.h) > 0 && !r.h[0].at.After(next) {
			if err := r.drain(); err != nil {
				return err
			}
			if err := r.step(heap.Pop(&r.h).(*simEvent), next); err != nil {
				return err
			}
		}
	}
}

// step applies one simulator event at now.
func (r *runner) step(ev *simEvent, now time.Time) error {
	switch ev.kind {
	case evArrival, evBacklog:
		a := r.sc.Arrivals[ev.arr]
		rnd := r.streams[ev.arr]
		if ev.kind == evArrival {
			r.push(&simEvent{at: now.Add(expDur(rnd, a.Rate)), kind: evArrival, arr: ev.arr})
		}
		return r.arrive(a, ev.arr, rnd, now, ev.kind == evBacklog)
	case evAbandon:
		rec := ev.rec
		if !rec.answered.IsZero() || rec.ended {
			return nil
		}
		rec.abandoned = true
		if rec.camp != nil {
			// No agent within the grace: the person hears the abandon
			// prompt and the call is released.
			if err := rec.camp.c.Finish(rec.id, campaign.ResultAbandoned, now); err != nil {
				return fmt.Errorf("sim: %w", err)
			}
		}
		if rec.leg != nil {
			rec.leg.End()
			return nil
		}
		if err := r.e.Withdraw(r.ctx, acd.TaskID(rec.id)); err != nil {
			return fmt.Errorf("sim: withdraw %s: %w", rec.id, err)
		}
	case evEnd:
		rec := ev.rec
		rec.completed = now
		if rec.camp != nil {
			rec.camp.c.ObserveHandle(rec.handle + rec.camp.wrap)
		}
		if rec.leg != nil {
			rec.leg.End()
			return nil
		}
		if err := r.e.Complete(r.ctx, acd.TaskID(rec.id)); err != nil {
			return fmt.Errorf("sim: complete %s: %w", rec.id, err)
		}
	case evDial:
		return r.dialed(ev.dial, now)
	case evMachineDone:
		if err := ev.dial.camp.c.Finish(ev.dial.d.ID, campaign.ResultMachine, now); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
	case evPace:
		r.push(&simEvent{at: now.Add(paceEvery), kind: evPace})
	}
	return nil
}

// arrive enters one call (voice) or task of stream i.
func (r *runner) arrive(a Arrival, i int, rnd *rand.Rand, now time.Time, backlog bool) error {
	r.n++
	rec := &taskRec{id: fmt.Sprintf("sim-%d", r.n), ch: r.chanIdx[a.channel()], queue: a.Queue, arrived: now,
		handle: max(a.Handle.draw(rnd), time.Second), target: a.Target.D(), measured: backlog || !now.Before(r.measureFrom)}
	segment := ""
	if a.VIP > 0 && rnd.Float64() < a.VIP {
		segment, rec.queue = "vip", a.Queue+"/vip"
	}
	pat := a.Patience.draw(rnd)
	r.byID[rec.id] = rec
	r.recs = append(r.recs, rec)
	var err error
	if a.channel() == acd.ChannelVoice {
		rec.leg = acdtest.NewLeg(rec.id)
		_, err = r.e.Enqueue(r.ctx, acd.CallRequest{ID: acd.CallID(rec.id), Queue: a.Queue, Priority: a.Priority,
			Language: a.Language, ANI: a.ANI, Segment: segment, Caller: r.callers[i]}, rec.leg)
	} else {
		_, err = r.e.Submit(r.ctx, acd.Task{ID: acd.TaskID(rec.id), Channel: a.channel(), Queue: a.Queue, Priority: a.Priority,
			Language: a.Language, Segment: segment, Geography: r.callers[i], Handle: rec})
	}
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if pat >= 0 {
		r.push(&simEvent{at: now.Add(pat), kind: evAbandon, rec: rec})
	}
	return nil
}

// drain lets the engine settle and applies its events until it has
// nothing more to say.
func (r *runner) drain() error {
	for {
		r.settle()
		r.taken, _ = r.sub.Take(r.taken[:0])
		if len(r.taken) == 0 {
			return nil
		}
		for _, ev := range r.taken {
			if err := r.apply(ev); err != nil {
				return err
			}
		}
	}
}

// settle waits until the engine is Quiet.
func (r *runner) settle() {
	for i := 0; !r.e.Quiet(); i++ {
		if i < 5000 {
			runtime.Gosched()
		} else {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

// apply accounts for one engine event: answers start the handle time,
// task offers are accepted at once, and every change of what an agent
// holds moves their occupancy.
func (r *runner) apply(ev acd.Event) error {
	switch ev := ev.(type) {
	case *acd.ResyncRequired:
		return errBehind
	case *acd.CallOffered:
		if ch := ev.Call.Channel; ch == acd.ChannelVoice || ch == acd.ChannelCallback {
			return nil
		}
		if err := r.e.Accept(r.ctx, ev.Agent, ev.Call.ID); err != nil {
			return fmt.Errorf("sim: accept %s: %w", ev.Call.ID, err)
		}
	case *acd.CallAnswered:
		if rec := r.byID[string(ev.CallID)]; rec != nil && rec.answered.IsZero() {
			rec.answered = ev.At
			r.push(&simEvent{at: ev.At.Add(rec.handle), kind: evEnd, rec: rec})
			if rec.camp != nil {
				if err := rec.camp.c.Finish(rec.id, campaign.ResultConnected, ev.At); err != nil {
					return fmt.Errorf("sim: %w", err)
				}
			}
		}
	case *acd.CallEnded:
		if rec := r.byID[string(ev.CallID)]; rec != nil {
			rec.ended = true
		}
	case *acd.AgentStateChanged:
		// Calls (and callbacks) count on voice.
		if a, ch := r.agents[ev.Agent], r.voice; a != nil && ch >= 0 {
			busy := 0
			if ev.State != acd.StateIdle {
				busy = 1
			}
			if a.used[ch] != busy {
				a.flush(ev.At, r.measureFrom)
				a.used[ch] = busy
			}
		}
	case *acd.TaskStateChanged:
		var next *agentRec
		if ev.State == acd.TaskOffered || ev.State == acd.TaskActive || ev.State == acd.TaskWrapUp {
			next = r.agents[ev.Agent]
		}
		prev := r.holder[ev.TaskID]
		if prev == next {
			return nil
		}
		ch := r.chanIdx[ev.Channel]
		if prev != nil {
			prev.flush(ev.At, r.measureFrom)
			prev.used[ch]--
			delete(r.holder, ev.TaskID)
		}
		if next != nil {
			next.flush(ev.At, r.measureFrom)
			next.used[ch]++
			r.holder[ev.TaskID] = next
		}
	}
	return nil
}

func expDur(r *rand.Rand, perHour float64) time.Duration {
	return time.Duration(r.ExpFloat64() / perHour * float64(time.Hour))
}
