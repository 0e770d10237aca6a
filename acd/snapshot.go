package acd

import (
	"context"
	"fmt"
	"slices"
	"time"

	"switchboard/acd/routing"
	"switchboard/acd/stats"
)

// Period is a queue's statistics over one period.
type Period struct {
	Offered        int           `json:"offered"`
	Answered       int           `json:"answered"`
	Abandoned      int           `json:"abandoned"`
	ShortAbandoned int           `json:"short_abandoned"`
	Overflowed     int           `json:"overflowed"`
	ServiceLevel   float64       `json:"service_level"` // 0..1, valid if HasSL
	HasSL          bool          `json:"has_sl"`
	ASA            time.Duration `json:"asa"`
	AHT            time.Duration `json:"aht"`
	AbandonRate    float64       `json:"abandon_rate"`
}

func periodOf(c stats.Counts, f stats.Formula) Period {
	sl, ok := c.ServiceLevel(f)
	return Period{Offered: c.Offered, Answered: c.Answered, Abandoned: c.Abandoned, ShortAbandoned: c.ShortAbandoned,
		Overflowed: c.Overflowed, ServiceLevel: sl, HasSL: ok, ASA: c.ASA(), AHT: c.AHT(), AbandonRate: c.AbandonRate()}
}

// QueueStats is one queue's real-time statistics.
type QueueStats struct {
	Queue       string         `json:"queue"`
	Waiting     int            `json:"waiting"`
	LongestWait time.Duration  `json:"longest_wait"`
	Presence    map[string]int `json:"presence"` // qualified agents by presence
	States      map[string]int `json:"states"`   // qualified logged-in agents by system state
	Occupancy   float64        `json:"occupancy"`
	// Interval is the current reporting interval from IntervalStart.
	Interval      Period    `json:"interval"`
	IntervalStart time.Time `json:"interval_start"`
	Last15        Period    `json:"last_15m"`
	Last60        Period    `json:"last_60m"`
	// AgentsNeeded is Erlang C's staffing for the SL target at the recent
	// arrival rate and AHT (Staffing says which); AgentsStaffed are the
	// qualified agents logged in and not on a not-ready break.
	AgentsNeeded  int            `json:"agents_needed"`
	Staffing      stats.Staffing `json:"staffing"`
	AgentsStaffed int            `json:"agents_staffed"`
}

// AgentSnapshot is one agent's state.
type AgentSnapshot struct {
	ID         AgentID      `json:"id"`
	Name       string       `json:"name"`
	Presence   Presence     `json:"presence"`
	Reason     string       `json:"reason,omitempty"`
	State      AgentState   `json:"state"`
	Since      time.Time    `json:"since"`
	CallID     CallID       `json:"call_id,omitempty"`
	Skills     []SkillLevel `json:"skills"`
	Missed     int          `json:"missed"`
	CallsToday int          `json:"calls_today"`
	Occupancy  float64      `json:"occupancy"`
}

// CallSnapshot is one live call.
type CallSnapshot struct {
	Call  CallInfo  `json:"call"`
	State CallState `json:"state"`
	Agent AgentID   `json:"agent_id,omitempty"`
	// Ringing are the agents the call is being offered to (state offering).
	Ringing  []AgentID     `json:"ringing,omitempty"`
	Position int           `json:"position,omitempty"`
	Waited   time.Duration `json:"waited"`
	EWT      EWT           `json:"ewt"`
	Reasons  []Reason      `json:"reasons,omitempty"`
	Priority int           `json:"priority"`
}

// Snapshot is the engine's full state at Seq (the last published event).
type Snapshot struct {
	At     time.Time       `json:"at"`
	Seq    uint64          `json:"seq"`
	Agents []AgentSnapshot `json:"agents"`
	Calls  []CallSnapshot  `json:"calls"`
	Queues []QueueStats    `json:"queues"`
}

// Snapshot returns the engine's current state.
func (e *Engine) Snapshot(ctx context.Context) (Snapshot, error) {
	var s Snapshot
	err := e.do(ctx, func() error { s = e.snapshot(); return nil })
	return s, err
}

// Call returns the details of a live call, including one whose agent is
// still wrapping it up; ErrUnknownCall once it is complete.
func (e *Engine) Call(ctx context.Context, id CallID) (CallInfo, error) {
	var info CallInfo
	err := e.do(ctx, func() error {
		c := e.calls[id]
		if c == nil {
			return fmt.Errorf("%w: %q", ErrUnknownCall, id)
		}
		info = c.info
		return nil
	})
	return info, err
}

// Subscribe registers a subscriber with a buffer of bufSize events and
// returns its channel, a snapshot consistent with the first event it will
// receive, and a cancel function. A subscriber that lets its buffer fill
// up receives ResyncRequired and its channel is closed; it should
// subscribe again.
func (e *Engine) Subscribe(ctx context.Context, bufSize int) (<-chan Event, Snapshot, func(), error) {
	if bufSize < 1 {
		bufSize = 1
	}
	s := &subscriber{ch: make(chan Event, bufSize)}
	var snap Snapshot
	err := e.do(ctx, func() error {
		e.subs[s] = struct{}{}
		snap = e.snapshot()
		return nil
	})
	if err != nil {
		return nil, Snapshot{}, func() {}, err
	}
	return s.ch, snap, e.unsubscribe(s), nil
}

// unsubscribe returns the idempotent cancel function of s.
func (e *Engine) unsubscribe(s *subscriber) func() {
	return func() {
		_ = e.do(context.Background(), func() error {
			if _, ok := e.subs[s]; ok {
				e.endSub(s)
			}
			return nil
		})
	}
}

// Sink receives the engine's events synchronously, on the engine's
// goroutine, in order: the shortest path from a routing decision to a
// consumer (no goroutine between them). Its methods must not block and
// must not call the engine.
type Sink interface {
	// Start is called once, before any event, with the state the events
	// that follow apply to.
	Start(Snapshot)
	// Event is called with every event. Returning false (the sink cannot
	// take it, e.g. its own buffer is full) detaches the sink; it should
	// attach again and start over from a new snapshot.
	Event(Event) bool
	// End is called once when the subscription ends: Event returned false,
	// cancel was called, or the engine stopped.
	End()
}

// Attach registers s (Start is called before Attach returns) and returns
// an idempotent function that detaches it.
func (e *Engine) Attach(ctx context.Context, s Sink) (cancel func(), err error) {
	sub := &subscriber{sink: s}
	err = e.do(ctx, func() error {
		e.subs[sub] = struct{}{}
		s.Start(e.snapshot())
		return nil
	})
	if err != nil {
		return func() {}, err
	}
	return e.unsubscribe(sub), nil
}

func (e *Engine) snapshot() Snapshot {
	now := e.clock.Now()
	s := Snapshot{At: now.UTC(), Seq: e.seq}
	for _, a := range e.agents {
		as := AgentSnapshot{ID: a.spec.ID, Name: a.spec.Name, Presence: a.presence, Reason: a.reason, State: a.state,
			Since: a.stateSince.UTC(), Skills: a.spec.Skills, Missed: a.missed, CallsToday: a.calls, Occupancy: a.occupancy()}
		if a.call != nil {
			as.CallID = a.call.id
		}
		s.Agents = append(s.Agents, as)
	}
	slices.SortFunc(s.Agents, func(x, y AgentSnapshot) int {
		if x.ID < y.ID {
			return -1
		}
		if x.ID > y.ID {
			return 1
		}
		return 0
	})
	for _, c := range e.calls {
		cs := CallSnapshot{Call: c.info, State: c.state, Waited: now.Sub(c.queuedAt), Reasons: c.reasons, Priority: c.prio}
		if c.agent != nil {
			cs.Agent = c.agent.spec.ID
		}
		if c.offer != nil {
			for a := range c.offer.pending {
				cs.Ringing = append(cs.Ringing, a.spec.ID)
			}
			slices.Sort(cs.Ringing)
		}
		if c.q != nil && (c.state == CallStateQueued || c.state == CallStateOffering || c.state == CallStateCallback) {
			cs.Position = e.position(c)
			cs.EWT = e.ewt(c)
		}
		s.Calls = append(s.Calls, cs)
	}
	slices.SortFunc(s.Calls, func(x, y CallSnapshot) int {
		return x.Call.Queued.Compare(y.Call.Queued)
	})
	s.Queues = e.queueStats(now)
	return s
}

func (e *Engine) queueStats(now time.Time) []QueueStats {
	out := make([]QueueStats, 0, len(e.qorder))
	for _, q := range e.qorder {
		qs := QueueStats{Queue: q.name, Presence: map[string]int{}, States: map[string]int{}}
		for _, c := range e.waiting {
			if c.q == q && c.state != CallStateEnded {
				qs.Waiting++
				qs.LongestWait = max(qs.LongestWait, now.Sub(c.queuedAt))
			}
		}
		probe := routing.Call{Reqs: q.reqs, Language: -1, Preferred: -1, Only: -1}
		var occ float64
		for _, a := range e.agents {
			if !routing.Qualifies(e.idx.Agent(a.slot), &probe) {
				continue
			}
			qs.Presence[a.presence.String()]++
			if a.presence != PresenceOffline {
				qs.States[a.state.String()]++
				occ += a.occupancy()
			}
			if a.presence == PresenceReady || a.busy() {
				qs.AgentsStaffed++
			}
		}
		if n := qs.States; len(n) > 0 {
			total := 0
			for _, v := range n {
				total += v
			}
			qs.Occupancy = occ / float64(total)
		}
		cur, start := q.win.Interval(now)
		qs.Interval, qs.IntervalStart = periodOf(cur, q.formula), start.UTC()
		qs.Last15 = periodOf(q.win.Last(now, 15*time.Minute), q.formula)
		qs.Last60 = periodOf(q.win.Last(now, time.Hour), q.formula)
		recent, period := q.win.Recent(now, stats.StaffingWindow)
		sl := q.cfg.ServiceLevel
		qs.Staffing = stats.Recommend(recent, period, sl.Target/100, sl.Threshold.D())
		qs.AgentsNeeded = qs.Staffing.Agents
		out = append(out, qs)
	}
	return out
}

// scheduleStats publishes QueueStatsTick every StatsInterval and updates
// the metrics.
func (e *Engine) scheduleStats() {
	d := e.cfg.StatsInterval.D()
	if d <= 0 {
		return
	}
	e.statsT = e.after(d, func() {
		now := e.clock.Now()
		qs := e.queueStats(now)
		e.publish(&QueueStatsTick{Queues: qs})
		if e.metrics != nil {
			e.metrics.update(qs, e.agents)
		}
		e.scheduleStats()
	})
}
