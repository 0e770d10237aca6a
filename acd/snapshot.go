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
	Offered        int
	Answered       int
	Abandoned      int
	ShortAbandoned int
	Overflowed     int
	ServiceLevel   float64 // 0..1, valid if HasSL
	HasSL          bool
	ASA            time.Duration
	AHT            time.Duration
	AbandonRate    float64
}

func periodOf(c stats.Counts, f stats.Formula) Period {
	sl, ok := c.ServiceLevel(f)
	return Period{Offered: c.Offered, Answered: c.Answered, Abandoned: c.Abandoned, ShortAbandoned: c.ShortAbandoned,
		Overflowed: c.Overflowed, ServiceLevel: sl, HasSL: ok, ASA: c.ASA(), AHT: c.AHT(), AbandonRate: c.AbandonRate()}
}

// QueueStats is one queue's real-time statistics.
type QueueStats struct {
	Queue       string
	Waiting     int
	LongestWait time.Duration
	Presence    map[string]int // qualified agents by presence
	States      map[string]int // qualified logged-in agents by system state
	Occupancy   float64
	// SLTarget is the queue's service-level target in percent, answered
	// within SLThreshold.
	SLTarget    float64
	SLThreshold time.Duration
	// Interval is the current reporting interval from IntervalStart.
	Interval      Period
	IntervalStart time.Time
	Last15        Period
	Last60        Period
	// AgentsNeeded is Erlang C's staffing for the SL target at the recent
	// arrival rate and AHT (Staffing says which); AgentsStaffed are the
	// qualified agents logged in and not on a not-ready break.
	AgentsNeeded  int
	Staffing      stats.Staffing
	AgentsStaffed int
}

// AgentSnapshot is one agent's state.
type AgentSnapshot struct {
	ID         AgentID
	Name       string
	Presence   Presence
	Reason     string
	State      AgentState
	Since      time.Time
	CallID     CallID
	Skills     []SkillLevel
	Missed     int
	CallsToday int
	Occupancy  float64
	// WrapUpEnd is when the agent's wrap-up ends unless submitted first
	// (zero: not in wrap-up).
	WrapUpEnd time.Time
	// Tasks are the tasks of other channels offered to or held by the
	// agent, in the order they were offered.
	Tasks []TaskSnapshot
	// Load is the share of the agent's capacity in use, 0..1.
	Load float64
	// Capacity is the agent's effective capacity per channel, only the
	// channels above 0 (as AgentCapacityChanged carries it).
	Capacity map[Channel]int
}

// TaskSnapshot is one task an agent holds.
type TaskSnapshot struct {
	ID      TaskID
	Channel Channel
	Queue   string
	State   TaskState
}

// CallSnapshot is one live call.
type CallSnapshot struct {
	Call  CallInfo
	State CallState
	Agent AgentID
	// Ringing are the agents the call is being offered to (state offering).
	Ringing []AgentID
	// RingDeadline is when the current offer times out (state offering).
	RingDeadline time.Time
	Position     int
	Waited       time.Duration
	EWT          EWT
	Reasons      []Reason
	Priority     int
}

// Snapshot is the engine's full state at Seq (the last published event).
type Snapshot struct {
	At     time.Time
	Seq    uint64
	Agents []AgentSnapshot
	Calls  []CallSnapshot
	Queues []QueueStats
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

func (e *Engine) snapshot() Snapshot {
	now := e.clock.Now()
	s := Snapshot{At: now.UTC(), Seq: e.seq}
	for _, a := range e.agents {
		as := AgentSnapshot{ID: a.spec.ID, Name: a.spec.Name, Presence: a.presence, Reason: a.reason, State: a.state,
			Since: a.stateSince.UTC(), Skills: a.spec.Skills, Missed: a.missed, CallsToday: a.calls, Occupancy: a.occupancy()}
		_, _, load := e.capacity(a)
		as.Load, as.Capacity = float64(load), e.capMap(a.caps)
		for _, c := range a.tasks {
			as.Tasks = append(as.Tasks, TaskSnapshot{ID: c.id, Channel: c.info.Channel, Queue: c.info.Queue, State: c.tstate})
		}
		if a.call != nil {
			as.CallID = a.call.id
			if a.state == StateWrapUp {
				as.WrapUpEnd = e.wrapUpEnd(a.call, a.stateSince)
			}
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
			if c.q != nil {
				cs.RingDeadline = c.offer.at.Add(c.q.ringTimeout(e.cfg)).UTC()
			}
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
		qs := QueueStats{Queue: q.name, Presence: map[string]int{}, States: map[string]int{},
			SLTarget: q.cfg.ServiceLevel.Target, SLThreshold: q.cfg.ServiceLevel.Threshold.D()}
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
