package sim

import (
	"time"

	"switchboard/acd"
)

// agentRec follows what one agent holds per channel over time.
type agentRec struct {
	id     acd.AgentID
	pool   string
	skills []acd.SkillLevel
	// caps and used are per channel (runner.chans): the agent's
	// capacity and the tasks they hold (offered, active or in wrap-up;
	// a call from offer to the end of wrap-up).
	caps  []int
	used  []int
	total int
	since time.Time
	// loadSec and chanSec integrate, in seconds, the load and each
	// channel's share of capacity in use over the measured period.
	loadSec float64
	chanSec []float64
}

// newAgentRec returns the record of agent id of pool p, with the
// capacities the engine gives them: p's overrides, else the rules; at
// most 1 call.
func newAgentRec(id acd.AgentID, p Pool, chans []acd.Channel, rules acd.CapacityConfig, now time.Time) *agentRec {
	a := &agentRec{id: id, pool: p.Name, skills: p.Skills, total: rules.Total, since: now,
		caps: make([]int, len(chans)), used: make([]int, len(chans)), chanSec: make([]float64, len(chans))}
	for i, ch := range chans {
		n, ok := p.Capacity[ch]
		if !ok {
			n, _ = rules.Rule(ch)
		}
		if ch == acd.ChannelVoice {
			n = min(n, 1)
		}
		a.caps[i] = n
	}
	return a
}

// load is the share of the agent's capacity in use, as the engine's
// workload routing counts it: the sum over channels of tasks held /
// capacity, at least the tasks held / the total cap, at most 1.
func (a *agentRec) load() float64 {
	l, held := 0.0, 0
	for i, n := range a.used {
		held += n
		if a.caps[i] > 0 {
			l += float64(n) / float64(a.caps[i])
		}
	}
	if a.total > 0 {
		l = max(l, float64(held)/float64(a.total))
	}
	return min(l, 1)
}

// idle reports whether the agent holds nothing.
func (a *agentRec) idle() bool {
	for _, n := range a.used {
		if n > 0 {
			return false
		}
	}
	return true
}

// flush accounts for the time since the last change up to at, counting
// only what lies after from (the end of the warm-up).
func (a *agentRec) flush(at, from time.Time) {
	s := a.since
	if s.Before(from) {
		s = from
	}
	if at.After(s) {
		d := at.Sub(s).Seconds()
		a.loadSec += d * a.load()
		for i, n := range a.used {
			if a.caps[i] > 0 {
				a.chanSec[i] += d * float64(n) / float64(a.caps[i])
			}
		}
	}
	a.since = at
}
