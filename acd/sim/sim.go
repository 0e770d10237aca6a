package sim

import (
	"container/heap"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"time"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/acd/routing"
	"switchboard/acd/stats"
)

// QueueResult is one queue's outcome over the measured period.
type QueueResult struct {
	Queue          string
	Offered        int
	Answered       int
	AnsweredWithin int
	Abandoned      int
	// ServiceLevel is answered within the queue's threshold over answered
	// plus abandoned (the "offered" formula), 0..1.
	ServiceLevel float64
	ASA          time.Duration
	AbandonRate  float64
	// Occupancy is the mean busy fraction of the agents qualified for the queue.
	Occupancy float64
	// ErlangC is Erlang C's SL prediction if the queue's qualified agents
	// served only this queue (exact for single-skill scenarios without
	// abandonment or wrap-up), from the scenario's nominal rate and mean
	// handle time; ErlangCRealized uses the measured arrival rate and mean
	// handle time of the calls actually generated.
	ErlangC, ErlangCRealized float64
	Agents                   int
}

// Result is one simulation run.
type Result struct {
	Scenario string
	Strategy string
	Seed     uint64
	Duration time.Duration
	Calls    int
	Queues   []QueueResult
	// Occupancy is the mean busy fraction of all agents.
	Occupancy float64
}

// Options override scenario values.
type Options struct {
	// Strategy, if set, replaces every queue's strategy.
	Strategy string
	// Seed, if non-zero, replaces the scenario seed.
	Seed uint64
	// Duration, if positive, replaces the scenario duration.
	Duration time.Duration
}

type simEvent struct {
	at   time.Time
	seq  uint64
	kind int // evArrival, evAbandon, evEnd
	rec  *callRec
	arr  int
}

const (
	evArrival = iota
	evAbandon
	evEnd
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

type callRec struct {
	id       string
	queue    string
	leg      *acdtest.Leg
	arrived  time.Time
	handle   time.Duration
	answered time.Time
	done     bool
	measured bool
}

type agentRec struct {
	busy      bool
	since     time.Time
	busyTotal time.Duration
	skills    []acd.SkillLevel
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
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	end := start.Add(dur)
	measureFrom := start.Add(warm)

	clock := acdtest.NewClock(start)
	phone := acdtest.NewPhone()
	phone.AutoAnswer = func(acd.Offer) bool { return true }
	e, err := acd.New(&cfg, phone, phone, acd.WithClock(clock), acd.WithDialer(phone), acd.WithVoicemail(phone),
		acd.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), acd.WithCommandBuffer(1<<14))
	if err != nil {
		return Result{}, fmt.Errorf("sim: %w", err)
	}
	defer e.Close()
	ctx := context.Background()
	sub, _, err := e.Subscribe(ctx, acd.SubscribeOptions{Name: "sim", Buffer: 1 << 16})
	if err != nil {
		return Result{}, fmt.Errorf("sim: %w", err)
	}
	defer sub.Close()

	agents := map[acd.AgentID]*agentRec{}
	for _, p := range sc.Agents {
		for i := 0; i < p.Count; i++ {
			id := acd.AgentID(fmt.Sprintf("%s-%03d", p.Name, i))
			agents[id] = &agentRec{since: start, skills: p.Skills}
			if err := e.Login(ctx, acd.AgentSpec{ID: id, Skills: p.Skills, Languages: p.Languages, Country: p.Country,
				TimeZone: p.TimeZone, Ready: true}); err != nil {
				return Result{}, fmt.Errorf("sim: %w", err)
			}
		}
	}

	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var h eventHeap
	var seq uint64
	push := func(ev *simEvent) { seq++; ev.seq = seq; heap.Push(&h, ev) }
	// Each arrival stream's number is resolved once, as an entry resolves
	// a caller's, and carried on every call of the stream.
	callers := make([]acd.Geography, len(sc.Arrivals))
	for i, a := range sc.Arrivals {
		push(&simEvent{at: start.Add(expDur(r, a.Rate)), kind: evArrival, arr: i})
		callers[i] = acd.ResolveNumber(a.ANI, cfg.DefaultRegion)
	}
	byID := map[string]*callRec{}
	var recs []*callRec
	ncall := 0

	settle := func() {
		for i := 0; !e.Quiet(); i++ {
			if i < 5000 {
				runtime.Gosched()
			} else {
				time.Sleep(20 * time.Microsecond)
			}
		}
	}
	var taken []acd.Event
	account := func() {
		taken, _ = sub.Take(taken[:0])
		for _, ev := range taken {
			switch ev := ev.(type) {
			case *acd.CallAnswered:
				if rec := byID[string(ev.CallID)]; rec != nil && rec.answered.IsZero() {
					rec.answered = ev.At
					push(&simEvent{at: ev.At.Add(rec.handle), kind: evEnd, rec: rec})
				}
			case *acd.AgentStateChanged:
				a := agents[ev.Agent]
				if a == nil {
					continue
				}
				busy := ev.State != acd.StateIdle
				if busy != a.busy {
					a.flush(ev.At, measureFrom)
					a.busy = busy
				}
			}
		}
	}

	for {
		settle()
		account()
		next, ok := clock.Next()
		if len(h) > 0 && (!ok || !h[0].at.After(next)) {
			next, ok = h[0].at, true
		}
		if !ok || next.After(end) {
			break
		}
		clock.AdvanceTo(next)
		if len(h) == 0 || h[0].at.After(next) {
			continue // engine timers only
		}
		settle()
		account()
		for len(h) > 0 && !h[0].at.After(next) {
			ev := heap.Pop(&h).(*simEvent)
			switch ev.kind {
			case evArrival:
				a := sc.Arrivals[ev.arr]
				push(&simEvent{at: next.Add(expDur(r, a.Rate)), kind: evArrival, arr: ev.arr})
				ncall++
				rec := &callRec{id: fmt.Sprintf("sim-%d", ncall), queue: a.Queue, arrived: next,
					handle: max(a.Handle.draw(r), time.Second), measured: !next.Before(measureFrom)}
				rec.leg = acdtest.NewLeg(rec.id)
				req := acd.CallRequest{ID: acd.CallID(rec.id), Queue: a.Queue, Priority: a.Priority, Language: a.Language, ANI: a.ANI,
					Caller: callers[ev.arr]}
				if a.VIP > 0 && r.Float64() < a.VIP {
					req.Segment = "vip"
					rec.queue = a.Queue + "/vip"
				}
				pat := a.Patience.draw(r)
				byID[rec.id] = rec
				recs = append(recs, rec)
				if _, err := e.Enqueue(ctx, req, rec.leg); err != nil {
					return Result{}, fmt.Errorf("sim: %w", err)
				}
				if pat >= 0 {
					push(&simEvent{at: next.Add(pat), kind: evAbandon, rec: rec})
				}
			case evAbandon:
				if ev.rec.answered.IsZero() && !ev.rec.done {
					ev.rec.done = true
					ev.rec.leg.End()
				}
			case evEnd:
				ev.rec.done = true
				ev.rec.leg.End()
			}
			settle()
			account()
		}
	}
	for _, a := range agents {
		a.flush(end, measureFrom)
	}
	return summarize(sc, &cfg, recs, agents, end.Sub(measureFrom), seed, dur, opt.Strategy), nil
}

func (a *agentRec) flush(at, from time.Time) {
	s := a.since
	if s.Before(from) {
		s = from
	}
	if a.busy && at.After(s) {
		a.busyTotal += at.Sub(s)
	}
	a.since = at
}

func expDur(r *rand.Rand, perHour float64) time.Duration {
	return time.Duration(r.ExpFloat64() / perHour * float64(time.Hour))
}

func qualifies(skills []acd.SkillLevel, q acd.QueueConfig) bool {
	for _, req := range q.Skills {
		ok := false
		for _, s := range skills {
			if s.Skill == req.Skill && s.Level >= req.Level {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func summarize(sc *Scenario, cfg *acd.Config, recs []*callRec, agents map[acd.AgentID]*agentRec, measured time.Duration,
	seed uint64, dur time.Duration, strategy string) Result {
	res := Result{Scenario: sc.Name, Strategy: strategy, Seed: seed, Duration: dur}
	if strategy == "" {
		res.Strategy = "configured"
	}
	var busyAll time.Duration
	for _, a := range agents {
		busyAll += a.busyTotal
	}
	if len(agents) > 0 && measured > 0 {
		res.Occupancy = busyAll.Seconds() / (float64(len(agents)) * measured.Seconds())
	}
	idx := map[string]int{}
	thr := map[string]time.Duration{}
	add := func(name string, q acd.QueueConfig) {
		idx[name] = len(res.Queues)
		thr[name] = q.ServiceLevel.Threshold.D()
		qr := QueueResult{Queue: name}
		var busy time.Duration
		for _, a := range agents {
			if qualifies(a.skills, q) {
				qr.Agents++
				busy += a.busyTotal
			}
		}
		if qr.Agents > 0 && measured > 0 {
			qr.Occupancy = busy.Seconds() / (float64(qr.Agents) * measured.Seconds())
		}
		res.Queues = append(res.Queues, qr)
	}
	for _, q := range cfg.Queues {
		add(q.Name, q)
	}
	for _, q := range cfg.Queues {
		for _, a := range sc.Arrivals {
			if a.Queue == q.Name && a.VIP > 0 {
				add(q.Name+"/vip", q)
				break
			}
		}
	}
	handleSum := make([]float64, len(res.Queues))
	for _, rec := range recs {
		if !rec.measured {
			continue
		}
		res.Calls++
		i, ok := idx[rec.queue]
		if !ok {
			continue
		}
		qr := &res.Queues[i]
		qr.Offered++
		handleSum[i] += rec.handle.Seconds()
		switch {
		case !rec.answered.IsZero():
			qr.Answered++
			w := rec.answered.Sub(rec.arrived)
			qr.ASA += w
			if w <= thr[rec.queue] {
				qr.AnsweredWithin++
			}
		case rec.done:
			qr.Abandoned++
		}
	}
	for i := range res.Queues {
		qr := &res.Queues[i]
		if qr.Answered > 0 {
			qr.ASA /= time.Duration(qr.Answered)
		}
		if d := qr.Answered + qr.Abandoned; d > 0 {
			qr.ServiceLevel = float64(qr.AnsweredWithin) / float64(d)
			qr.AbandonRate = float64(qr.Abandoned) / float64(d)
		}
		// Erlang C for the base queue's own traffic.
		var lambda, aht float64
		for _, a := range sc.Arrivals {
			if a.Queue == qr.Queue {
				lambda += a.Rate / 3600
				aht = a.Handle.Mean.D().Seconds()
			}
		}
		if lambda > 0 {
			qr.ErlangC = stats.ServiceLevel(qr.Agents, lambda, aht, thr[qr.Queue].Seconds())
		}
		if qr.Offered > 0 && measured > 0 {
			qr.ErlangCRealized = stats.ServiceLevel(qr.Agents, float64(qr.Offered)/measured.Seconds(),
				handleSum[i]/float64(qr.Offered), thr[qr.Queue].Seconds())
		}
	}
	return res
}
