package acd

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"time"

	"switchboard/acd/routing"
	"switchboard/acd/stats"
)

// rank orders waiting calls: higher first, then older.
func (e *Engine) rank(c *call, now time.Time) int {
	if e.cfg.Ordering == "oldest-first" {
		return 0
	}
	r := c.prio + c.q.cfg.Priority
	if e.cfg.Aging > 0 {
		r += int(now.Sub(c.queuedAt) / e.cfg.Aging.D())
	}
	return r
}

func (e *Engine) before(a, b *call, now time.Time) bool {
	ra, rb := e.rank(a, now), e.rank(b, now)
	if ra != rb {
		return ra > rb
	}
	return a.order < b.order
}

// orderAt returns the place in the global waiting order (call.order) of
// a new call that queued at queued. A call queued now comes after every
// other. One queued before now (re-announced to a new leader) goes after
// the waiting calls queued at or before it and before the first of those
// queued after it, midway between the two: calls re-announced in any
// order, by several nodes, end up in the order they queued, ahead of the
// calls queued since the takeover.
func (e *Engine) orderAt(queued, now time.Time) float64 {
	e.nextOrder++
	if !queued.Before(now) {
		return e.nextOrder
	}
	lo, hi := math.Inf(-1), e.nextOrder
	for _, o := range e.waiting {
		if !o.queuedAt.After(queued) {
			lo = max(lo, o.order)
		}
	}
	for _, o := range e.waiting {
		if o.queuedAt.After(queued) && o.order > lo {
			hi = min(hi, o.order)
		}
	}
	if math.IsInf(lo, -1) {
		return hi - 1
	}
	mid := lo + (hi-lo)/2
	if mid <= lo || mid >= hi {
		// Halving the same gap again and again exhausted its precision.
		e.renumber()
		return e.orderAt(queued, now)
	}
	return mid
}

// renumber gives the live calls consecutive orders, keeping their order,
// so that there is room between any two again.
func (e *Engine) renumber() {
	calls := slices.SortedFunc(maps.Values(e.calls), func(a, b *call) int { return cmp.Compare(a.order, b.order) })
	for i, c := range calls {
		c.order = float64(i + 1)
	}
	e.nextOrder = float64(len(calls))
}

func (e *Engine) position(c *call) int {
	now := e.clock.Now()
	p := 1
	for _, o := range e.waiting {
		if o != c && o.q == c.q && o.state != CallStateEnded && e.before(o, c, now) {
			p++
		}
	}
	return p
}

func (e *Engine) queueLen(q *queue) int {
	n := 0
	for _, c := range e.waiting {
		if c.q == q && c.state != CallStateEnded {
			n++
		}
	}
	return n
}

// staffed counts logged-in agents (not offline) who qualify for c.
func (e *Engine) staffed(c *call) int {
	n := 0
	for _, a := range e.agents {
		if a.presence != PresenceOffline && routing.Qualifies(e.idx.Agent(a.slot), &c.rc) {
			n++
		}
	}
	return n
}

func (e *Engine) ewt(c *call) EWT {
	if c.q == nil {
		return EWT{}
	}
	now := e.clock.Now()
	last, period := c.q.win.Recent(now, 15*time.Minute)
	n := e.idx.CountStaffed(&c.rc)
	lambda := float64(last.Offered) / max(period, stats.MinRatePeriod).Seconds()
	return ewtOf(stats.Estimate(stats.EWTInput{Position: e.position(c), Agents: n, AHT: last.AHT(), Lambda: lambda}))
}

func (e *Engine) unwait(c *call) {
	if i := slices.Index(e.waiting, c); i >= 0 {
		e.waiting = slices.Delete(e.waiting, i, i+1)
		e.wkeys = slices.Delete(e.wkeys, i, i+1)
	}
}

func toReasons(d *routing.Decision) []Reason {
	out := make([]Reason, 0, routing.MaxReasons)
	for _, r := range d.Reasons {
		if r.Contribution > 0 {
			out = append(out, Reason{Factor: r.Factor.String(), Value: r.Value, Contribution: r.Contribution})
		}
	}
	return out
}

// routeCall offers c to the best available agent, if any (none while
// routing is held).
func (e *Engine) routeCall(c *call) {
	if e.held || !c.waiting() || c.q == nil {
		return
	}
	now := e.clock.Now()
	// An older or higher-priority call that these agents could take goes
	// first: the agent-side scan keeps the global order.
	d := e.idx.Best(&c.rc, &c.q.weights, now.UnixNano())
	if d.Agent < 0 {
		return
	}
	a := e.slots[d.Agent]
	if first := e.firstFor(a, now); first != nil && first != c {
		// A call ahead of c wants this agent.
		e.routeAgent(a)
		if c.waiting() {
			e.routeCall(c)
		}
		return
	}
	e.offerTo(c, a, &d)
}

// wkey is a compact prefilter for a waiting call, kept parallel to
// e.waiting so the agent-side scan rarely touches the call itself.
type wkey struct {
	ch    uint8 // rc.Channel
	only  int32 // rc.Only
	skill int32 // the first required skill, or -1 (no prefilter)
	level routing.Level
}

// rekey refreshes c's prefilter after its requirements changed.
func (e *Engine) rekey(c *call) {
	i := slices.Index(e.waiting, c)
	if i < 0 {
		return
	}
	k := wkey{ch: c.rc.Channel, only: c.rc.Only, skill: -1}
	if len(c.rc.Reqs) > 0 && len(c.rc.Alt) == 0 {
		k.skill, k.level = int32(c.rc.Reqs[0].Skill), max(c.rc.Reqs[0].MinLevel, 1)
	}
	e.wkeys[i] = k
}

// firstFor returns the first waiting call in global order for which a is
// eligible.
func (e *Engine) firstFor(a *agent, now time.Time) *call {
	var best *call
	ra := e.idx.Agent(a.slot)
	if ra == nil {
		return nil
	}
	sk, full := ra.Skills, ra.Full
	for i, k := range e.wkeys {
		if full&(1<<k.ch) != 0 || (k.only >= 0 && k.only != a.slot) || (k.skill >= 0 && (int(k.skill) >= len(sk) || sk[k.skill] < k.level)) {
			continue
		}
		c := e.waiting[i]
		if !c.waiting() || !e.idx.Eligible(a.slot, &c.rc) {
			continue
		}
		if best == nil || e.before(c, best, now) {
			best = c
		}
	}
	return best
}

// routeAgent offers the best waiting calls and tasks, in global order, to
// a newly available agent while they have capacity for them (none while
// routing is held).
func (e *Engine) routeAgent(a *agent) {
	for !e.held && e.available(a) {
		now := e.clock.Now()
		c := e.firstFor(a, now)
		if c == nil {
			return
		}
		rc := c.rc
		rc.Only = a.slot
		d := e.idx.Best(&rc, &c.q.weights, now.UnixNano())
		if d.Agent != a.slot {
			return
		}
		e.offerTo(c, a, &d)
		if c.waiting() {
			return // the offer was refused: nothing changed
		}
	}
}
