package acd

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"switchboard/acd/dialplan"
	"switchboard/acd/routing"
	"switchboard/acd/stats"
)

type call struct {
	id    CallID
	info  CallInfo
	q     *queue
	leg   Leg // the customer's leg; nil for a virtual callback caller
	state CallState
	order float64 // arrival order: lower is older
	prio  int
	rc    routing.Call
	base  []routing.Requirement
	relax int // relaxation steps applied
	geo   string
	extra [][]routing.Requirement
	// direct marks a call transferred to a named agent (rc.Only).
	direct bool
	// adapter owns a task of a channel other than the voice machine's
	// (nil for calls); tstate is that task's state (task.go).
	adapter ChannelAdapter
	tstate  TaskState

	stopWatch func()
	timers    []Timer
	offer     *offer
	offers    int
	agent     *agent
	agentLeg  Leg
	bridgeGen int
	bridgeX   context.CancelFunc
	dialX     context.CancelFunc

	queuedAt, offeredAt, answeredAt, endedAt, wrapEnd, holdSince time.Time
	hold                                                         time.Duration
	reasons                                                      []Reason
	outcome                                                      Outcome
	disposition, notes, transferTo, recording                    string
	completed                                                    bool
	// failure says why a dial of this call failed (CallEnded.Reason),
	// unreached why its customer was not reached (CallEnded.Unreached).
	failure, unreached string
	// consult is the third party the agent brought in (consult.go);
	// parties and holds are kept for the interaction.
	consult *consult
	parties []Party
	holds   []HoldSpan
	// continued marks an agent's part of a call that went on without
	// them (a transfer): its summary carries their wrap-up, not the record.
	continued bool
	// released marks a call taken out of its queue with its leg left up
	// (Release): the entry code ends the leg.
	released bool
}

type offer struct {
	gen     int
	at      time.Time // when the agents were offered the call
	pending map[*agent]*ring
	timer   Timer
}

type ring struct {
	cancel   context.CancelFunc
	accept   chan struct{}
	accepted bool
	// offered is closed once a task's channel adapter returned from
	// Offer: its Accept waits for it, so the adapter sees them in order.
	offered chan struct{}
}

func (c *call) stopTimers() {
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
}

// setCallState moves c through the call-state machine (state.go). A
// refused transition changes nothing and is returned, wrapping
// ErrTransition; nothing else assigns c.state.
func (e *Engine) setCallState(c *call, next CallState) error {
	if err := c.state.To(next); err != nil {
		e.log.Error("acd: refused call transition", "call_id", c.id, "err", err)
		return err
	}
	c.state = next
	return nil
}

func (c *call) waiting() bool {
	return (c.state == CallStateQueued || c.state == CallStateCallback) && c.offer == nil
}

// Enqueue puts a call that finished the IVR into its queue. leg is the
// caller's leg; the call leaves the system when leg's context ends. A
// callback (req.Callback set) owed to a customer no longer on the line
// (queued again from the CRM, or scheduled) has no leg: it needs its
// req.ID.
//
// A call re-announced to a new leader carries the time it joined its
// queue (CallRequest.Queued): it takes its place among the waiting calls
// by that time, ages from it, has the relaxation steps already due
// applied at once and the others armed for the time left, and overflows
// at once if it has waited the queue's max_wait already.
func (e *Engine) Enqueue(ctx context.Context, req CallRequest, leg Leg) (CallID, error) {
	id, err := checkRequest(req, leg)
	if err != nil {
		return "", err
	}
	if req.Callback != "" {
		if err := e.permitDial(dialplan.RoleCallback, req.Callback); err != nil {
			return "", err
		}
	}
	err = e.do(ctx, func() error { return e.enqueue(id, req, leg, nil) })
	return id, err
}

// checkRequest checks req for a call whose caller is leg (Enqueue,
// AdoptCall) and returns the call's id.
func checkRequest(req CallRequest, leg Leg) (CallID, error) {
	if leg == nil && req.Callback == "" {
		return "", fmt.Errorf("%w: nil leg", ErrInvalidArgument)
	}
	id := req.ID
	if id == "" && leg != nil {
		id = CallID(leg.ID())
	}
	if id == "" {
		return "", fmt.Errorf("%w: empty call id", ErrInvalidArgument)
	}
	for _, s := range req.Skills {
		if s.Skill == "" || s.Level < 1 || s.Level > routing.MaxLevel {
			return "", fmt.Errorf("%w: skill %q level %d", ErrInvalidArgument, s.Skill, s.Level)
		}
	}
	return id, nil
}

// newcomer returns the queue a new call or task id joins, refusing an id
// already live and a queue that does not exist (any more).
func (e *Engine) newcomer(id CallID, queue string) (*queue, error) {
	q := e.queues[queue]
	if q == nil || q.removed {
		return nil, fmt.Errorf("%w: %q", ErrUnknownQueue, queue)
	}
	if _, dup := e.calls[id]; dup {
		return nil, fmt.Errorf("%w: call %q", ErrDuplicate, id)
	}
	return q, nil
}

// enqueue queues a call (leg set) or a task of another channel (t set).
func (e *Engine) enqueue(id CallID, req CallRequest, leg Leg, t *Task) error {
	if e.closing {
		return ErrClosed
	}
	q, err := e.newcomer(id, req.Queue)
	if err != nil {
		return err
	}
	if leg != nil && leg.Context().Err() != nil {
		return fmt.Errorf("%w: caller already hung up", ErrInvalidArgument)
	}
	if act := q.cfg.Overflow.Action; q.cfg.MaxLength > 0 && (act == "" || act == "none") && e.queueLen(q) >= q.cfg.MaxLength {
		return fmt.Errorf("%w: %q has %d calls", ErrQueueFull, q.name, q.cfg.MaxLength)
	}
	now := e.clock.Now()
	c := e.newCall(id, q, req, t, CallStateQueued, now)
	c.leg = leg
	e.calls[id] = c
	if leg != nil {
		c.stopWatch = e.watch(leg, func() { e.callerGone(c) })
	}
	e.join(c, q, c.queuedAt)
	q.win.Add(now, stats.Counts{Offered: 1})
	if e.metrics != nil {
		e.metrics.offered.WithLabelValues(q.name).Inc()
	}
	// Sticky: hold the call for a busy preferred agent for a while.
	if p := e.agents[req.PreferredAgent]; p != nil && e.cfg.StickyWindow > 0 && p.presence != PresenceOffline &&
		!e.freeFor(p, c.rc.Channel) && routing.Qualifies(e.idx.Agent(p.slot), &c.rc) {
		c.rc.Only = p.slot
		e.rekey(c)
		c.timers = append(c.timers, e.after(e.cfg.StickyWindow.D(), func() {
			if c.rc.Only == p.slot && c.state != CallStateEnded {
				c.rc.Only = -1
				e.rekey(c)
				e.routeCall(c)
			}
		}))
	}
	e.log.Info("acd: call queued", "call_id", id, "channel", c.info.Channel, "queue", q.name)
	if req.Callback != "" {
		// A callback requested in the IVR: the caller hangs up and keeps
		// their place as a virtual caller; an agent is rung first, then
		// the customer dialled.
		e.toCallback(c, req.Callback)
		e.routeCall(c)
		return nil
	}
	e.admit(c)
	return nil
}

// newCall builds the call or task (t set) id of req in queue q, in its
// first state: queued for what waits for an agent, connected for a call
// or task adopted as already answered (AdoptCall, Adopt). It queued at
// req.Queued (now if zero or later) and takes its place in the global
// waiting order by that time.
func (e *Engine) newCall(id CallID, q *queue, req CallRequest, t *Task, state CallState, now time.Time) *call {
	queued := now
	if !req.Queued.IsZero() && req.Queued.Before(now) {
		queued = req.Queued
	}
	info := CallInfo{
		ID: id, Channel: ChannelVoice, Direction: Inbound, Queue: q.name, ANI: req.ANI, DNIS: req.DNIS, E164: req.Caller.E164,
		Country: req.Caller.Country, TimeZone: req.Caller.TimeZone, Region: req.Region, Language: req.Language,
		Segment: req.Segment, Skills: req.Skills, IVRPath: req.IVRPath, Vars: req.Vars,
		Arrived: req.Arrived.UTC(), Queued: queued.UTC(), Fronted: req.Fronted.UTC(), Data: req.Data,
	}
	if info.Arrived.IsZero() {
		info.Arrived = info.Queued
	}
	c := &call{id: id, info: info, q: q, state: state, queuedAt: queued}
	c.prio = req.Priority
	if !req.WholePriority {
		c.prio += e.cfg.Segments[req.Segment]
	}
	c.info.Priority = c.prio
	c.rc = routing.Call{Language: e.langID(req.Language), Preferred: -1, Only: -1,
		Country: intern(e.countries, info.Country), Region: intern(e.regions, info.Region)}
	c.rc.TZOffset, c.rc.HasTZ = e.zones.offset(info.TimeZone, now)
	if t != nil {
		c.info.Channel, c.info.Customer, c.info.Handle = t.Channel, t.Customer, t.Handle
		c.rc.Channel = e.chanIDs[t.Channel]
		c.adapter = e.chans[c.rc.Channel].adapter
	}
	for _, s := range req.Skills {
		c.base = append(c.base, routing.Requirement{Skill: e.skillID(s.Skill), MinLevel: routing.Level(s.Level)})
	}
	if p := e.agents[req.PreferredAgent]; p != nil {
		c.rc.Preferred = p.slot
	}
	c.order = e.placeAt(queued, req.Fronted, now)
	return c
}

// placeAt returns the place in the global waiting order (call.order) of
// a new call that queued at queued and, under an earlier leader, was
// moved to the front at fronted (zero: never). The waiting calls moved
// to the front stay ahead of the others, the one moved last first, as
// MoveToFront leaves them: a call moved to the front goes right after
// those moved at or after its own time, and one never moved goes where
// orderAt puts it, behind all of them.
func (e *Engine) placeAt(queued, fronted, now time.Time) float64 {
	if fronted.IsZero() {
		// orderAt places it by queue time, a call queued now after every
		// other; only a call that queued before every waiting call not
		// moved to the front can land among those moved, and it then
		// goes first after them.
		if order := e.orderAt(queued, now); !queued.Before(now) || order > e.frontEnd(time.Time{}) {
			return order
		}
	}
	for {
		lo, hi := e.frontEnd(fronted), math.Inf(1)
		for _, o := range e.waiting {
			if o.order > lo {
				hi = min(hi, o.order)
			}
		}
		switch {
		case math.IsInf(hi, 1):
			e.nextOrder = max(e.nextOrder, lo) + 1
			return e.nextOrder
		case math.IsInf(lo, -1):
			return hi - 1
		}
		if mid := lo + (hi-lo)/2; mid > lo && mid < hi {
			return mid
		}
		// Halving the same gap again and again exhausted its precision.
		e.renumber()
	}
}

// frontEnd returns the highest order among the waiting calls moved to
// the front at or after since (any time, for zero), or -Inf if none.
func (e *Engine) frontEnd(since time.Time) float64 {
	end := math.Inf(-1)
	for _, o := range e.waiting {
		if f := o.info.Fronted; !f.IsZero() && !f.Before(since) {
			end = max(end, o.order)
		}
	}
	return end
}

// join attaches c to q, where it queued at queued (initial enqueue; now
// for an overflow or a transfer to a queue), and arms the queue's timers
// for the time left from then. Relaxation steps already due are applied
// at once, in order, and published after CallQueued; a max_wait already
// passed arms nothing: admit overflows the call.
func (e *Engine) join(c *call, q *queue, queued time.Time) {
	c.q = q
	c.info.Queue = q.name
	c.relax = 0
	c.extra = nil
	c.geo = q.cfg.Geography
	c.queuedAt = queued
	c.info.Queued = queued.UTC()
	waited := e.clock.Now().Sub(queued)
	due := 0
	for due < len(q.cfg.Relax) && q.cfg.Relax[due].After.D() <= waited { // steps are in order of After
		e.relaxStep(c, due)
		due++
	}
	e.rebuildReqs(c)
	if !slices.Contains(e.waiting, c) {
		e.waiting = append(e.waiting, c)
		e.wkeys = append(e.wkeys, wkey{})
	}
	e.rekey(c)
	c.stopTimers()
	for step := due; step < len(q.cfg.Relax); step++ {
		c.timers = append(c.timers, e.after(q.cfg.Relax[step].After.D()-waited, func() {
			if c.q == q && c.relax == step && c.state != CallStateEnded {
				e.applyRelax(c, step)
			}
		}))
	}
	if q.cfg.MaxWait > 0 && q.cfg.MaxWait.D() > waited {
		c.timers = append(c.timers, e.after(q.cfg.MaxWait.D()-waited, func() {
			if c.q == q && c.waiting() {
				e.overflow(c, "max-wait")
			}
		}))
	}
	if q.cfg.Announce > 0 {
		var tick func()
		tick = func() {
			if c.q != q || !c.waiting() || c.state != CallStateQueued {
				return
			}
			e.publish(&CallPosition{CallID: c.id, Position: e.position(c), EWT: e.ewt(c), Music: q.cfg.MusicOnHold})
			c.timers = append(c.timers, e.after(q.cfg.Announce.D(), tick))
		}
		c.timers = append(c.timers, e.after(q.cfg.Announce.D(), tick))
	}
	e.publish(&CallQueued{Call: c.info, Position: e.position(c), EWT: e.ewt(c)})
	for step := range due {
		e.publish(&CallRelaxed{CallID: c.id, Queue: q.name, Step: step})
	}
}

// admit applies the max-wait, max-length and no-agents rules, then
// routes. Only a call re-announced to a new leader can have waited its
// max_wait already (join armed no timer for it); an overflow that keeps
// it waiting in q lets the other rules follow.
func (e *Engine) admit(c *call) {
	q := c.q
	if q.cfg.MaxWait > 0 && e.clock.Now().Sub(c.queuedAt) >= q.cfg.MaxWait.D() {
		e.overflow(c, "max-wait")
		if c.q != q || c.state != CallStateQueued || c.offer != nil {
			return
		}
	}
	if q.cfg.MaxLength > 0 && e.queueLen(q) > q.cfg.MaxLength {
		e.overflow(c, "max-length")
		return
	}
	if q.cfg.NoAgents == "overflow" && e.staffed(c) == 0 {
		e.overflow(c, "no-agents")
		return
	}
	e.routeCall(c)
}

// rebuildReqs recomputes c's routing requirements from its queue, the
// request's extra skills and the relaxation steps applied so far.
func (e *Engine) rebuildReqs(c *call) {
	reqs := append([]routing.Requirement(nil), c.q.reqs...)
	for _, b := range c.base {
		merged := false
		for i := range reqs {
			if reqs[i].Skill == b.Skill {
				reqs[i].MinLevel = max(reqs[i].MinLevel, b.MinLevel)
				merged = true
			}
		}
		if !merged {
			reqs = append(reqs, b)
		}
	}
	geo := c.geo
	for i := 0; i < c.relax && i < len(c.q.cfg.Relax); i++ {
		st := c.q.cfg.Relax[i]
		if st.Lower > 0 {
			for j := range reqs {
				reqs[j].MinLevel = routing.Level(max(1, int(reqs[j].MinLevel)-st.Lower))
			}
		}
		for _, d := range st.Drop {
			id := e.skillID(d)
			reqs = slices.DeleteFunc(reqs, func(r routing.Requirement) bool { return r.Skill == id })
		}
		if st.Geography != "" {
			geo = st.Geography
		}
	}
	c.rc.Reqs = reqs
	c.rc.Alt = c.extra
	c.rc.Scope = scopeOf(geo)
	c.rc.LanguageRequired = c.q.cfg.LanguageRequired
	if c.direct { // transferred to a named agent: no requirements
		c.rc.Reqs, c.rc.Alt, c.rc.Scope, c.rc.LanguageRequired = nil, nil, routing.ScopeAny, false
	}
	e.rekey(c)
}

// applyRelax applies relaxation step of c's queue when its time comes,
// and routes c with the requirements it leaves.
func (e *Engine) applyRelax(c *call, step int) {
	e.relaxStep(c, step)
	e.rebuildReqs(c)
	e.publish(&CallRelaxed{CallID: c.id, Queue: c.q.name, Step: step})
	if c.waiting() {
		e.routeCall(c)
	}
}

// relaxStep counts step of c's queue as applied, with the queue it adds;
// rebuildReqs then derives c's requirements from the steps applied.
func (e *Engine) relaxStep(c *call, step int) {
	c.relax = step + 1
	if add := c.q.cfg.Relax[step].AddQueue; add != "" {
		if oq := e.queues[add]; oq != nil {
			c.extra = append(c.extra, oq.reqs)
		}
	}
}
