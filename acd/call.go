package acd

import (
	"context"
	"fmt"
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
	// failure says why a dial of this call failed (CallEnded.Reason).
	failure string
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
// caller's leg; the call leaves the system when leg's context ends.
func (e *Engine) Enqueue(ctx context.Context, req CallRequest, leg Leg) (CallID, error) {
	if leg == nil {
		return "", fmt.Errorf("%w: nil leg", ErrInvalidArgument)
	}
	id := req.ID
	if id == "" {
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
	if req.Callback != "" {
		if err := e.permitDial(dialplan.RoleCallback, req.Callback); err != nil {
			return "", err
		}
	}
	err := e.do(ctx, func() error { return e.enqueue(id, req, leg, nil) })
	return id, err
}

// enqueue queues a call (leg set) or a task of another channel (t set).
func (e *Engine) enqueue(id CallID, req CallRequest, leg Leg, t *Task) error {
	if e.closing {
		return ErrClosed
	}
	q := e.queues[req.Queue]
	if q == nil || q.removed {
		return fmt.Errorf("%w: %q", ErrUnknownQueue, req.Queue)
	}
	if _, dup := e.calls[id]; dup {
		return fmt.Errorf("%w: call %q", ErrDuplicate, id)
	}
	if leg != nil && leg.Context().Err() != nil {
		return fmt.Errorf("%w: caller already hung up", ErrInvalidArgument)
	}
	if act := q.cfg.Overflow.Action; q.cfg.MaxLength > 0 && (act == "" || act == "none") && e.queueLen(q) >= q.cfg.MaxLength {
		return fmt.Errorf("%w: %q has %d calls", ErrQueueFull, q.name, q.cfg.MaxLength)
	}
	now := e.clock.Now()
	info := CallInfo{
		ID: id, Channel: ChannelVoice, Direction: Inbound, Queue: q.name, ANI: req.ANI, DNIS: req.DNIS, E164: req.Caller.E164,
		Country: req.Caller.Country, TimeZone: req.Caller.TimeZone, Region: req.Region, Language: req.Language,
		Segment: req.Segment, Skills: req.Skills, IVRPath: req.IVRPath, Vars: req.Vars,
		Arrived: req.Arrived.UTC(), Queued: now.UTC(), Data: req.Data,
	}
	if info.Arrived.IsZero() {
		info.Arrived = info.Queued
	}
	c := &call{id: id, info: info, leg: leg, state: CallStateQueued, queuedAt: now}
	c.prio = req.Priority + e.cfg.Segments[req.Segment]
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
	e.nextOrder++
	c.order = e.nextOrder
	e.calls[id] = c
	if leg != nil {
		c.stopWatch = e.watch(leg, func() { e.callerGone(c) })
	}
	e.join(c, q, now)
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

// join attaches c to q (initial enqueue, overflow to a queue, transfer to
// a queue) and arms the queue's timers.
func (e *Engine) join(c *call, q *queue, now time.Time) {
	c.q = q
	c.info.Queue = q.name
	c.relax = 0
	c.extra = nil
	c.geo = q.cfg.Geography
	c.queuedAt = now
	c.info.Queued = now.UTC()
	e.rebuildReqs(c)
	if !slices.Contains(e.waiting, c) {
		e.waiting = append(e.waiting, c)
		e.wkeys = append(e.wkeys, wkey{})
	}
	e.rekey(c)
	c.stopTimers()
	for i, st := range q.cfg.Relax {
		step := i
		c.timers = append(c.timers, e.after(st.After.D(), func() {
			if c.q == q && c.relax == step && c.state != CallStateEnded {
				e.applyRelax(c, step)
			}
		}))
	}
	if q.cfg.MaxWait > 0 {
		c.timers = append(c.timers, e.after(q.cfg.MaxWait.D(), func() {
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
}

// admit applies max-length and no-agents rules, then routes.
func (e *Engine) admit(c *call) {
	q := c.q
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

func (e *Engine) applyRelax(c *call, step int) {
	st := c.q.cfg.Relax[step]
	c.relax = step + 1
	if st.AddQueue != "" {
		if oq := e.queues[st.AddQueue]; oq != nil {
			c.extra = append(c.extra, oq.reqs)
		}
	}
	e.rebuildReqs(c)
	e.publish(&CallRelaxed{CallID: c.id, Queue: c.q.name, Step: step})
	if c.waiting() {
		e.routeCall(c)
	}
}

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

// ------------------------------------------------------------- routing

func toReasons(d *routing.Decision) []Reason {
	out := make([]Reason, 0, routing.MaxReasons)
	for _, r := range d.Reasons {
		if r.Contribution > 0 {
			out = append(out, Reason{Factor: r.Factor.String(), Value: r.Value, Contribution: r.Contribution})
		}
	}
	return out
}

// routeCall offers c to the best available agent, if any.
func (e *Engine) routeCall(c *call) {
	if !c.waiting() || c.q == nil {
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
// a newly available agent while they have capacity for them.
func (e *Engine) routeAgent(a *agent) {
	for e.available(a) {
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

// offerTo reserves a (and for ring-all every other eligible agent) and
// rings them.
func (e *Engine) offerTo(c *call, a *agent, d *routing.Decision) {
	if c.adapter != nil {
		e.offerTask(c, a, d)
		return
	}
	now := e.clock.Now()
	agents := []*agent{a}
	if c.q.strategy == routing.RingAll && c.rc.Only < 0 {
		e.scratch = e.idx.AppendEligible(e.scratch[:0], &c.rc, &c.q.weights, now.UnixNano())
		for _, s := range e.scratch {
			if s != a.slot {
				agents = append(agents, e.slots[s])
			}
		}
	}
	// Routing offers a waiting call to idle agents. Both machines are
	// asked first, so a refused edge changes nothing.
	if err := c.state.To(CallStateOffering); err != nil {
		e.log.Error("acd: refused call transition", "call_id", c.id, "err", err)
		return
	}
	agents = slices.DeleteFunc(agents, func(ag *agent) bool {
		err := ag.state.To(StateReserved)
		if err != nil {
			e.log.Error("acd: refused agent transition", "agent_id", ag.spec.ID, "err", err)
		}
		return err != nil
	})
	if len(agents) == 0 {
		return
	}
	e.gen++
	off := &offer{gen: e.gen, at: now, pending: map[*agent]*ring{}}
	c.offer = off
	c.offers++
	if c.offeredAt.IsZero() {
		c.offeredAt = now
	}
	c.reasons = toReasons(d)
	_ = e.setCallState(c, CallStateOffering) // allowed: asked above
	ewt := e.ewt(c)
	deadline := now.Add(c.q.ringTimeout(e.cfg)).UTC()
	for _, ag := range agents {
		ag.call = c
		_ = e.setState(ag, StateReserved, c) // allowed: asked above
		ra := e.idx.Agent(ag.slot)
		ra.LastOffer = now.UnixNano()
		ctx, cancel := context.WithCancel(e.ctx)
		r := &ring{cancel: cancel, accept: make(chan struct{})}
		off.pending[ag] = r
		e.publish(&CallOffered{Call: c.info, Agent: ag.spec.ID, Waited: now.Sub(c.queuedAt), Reasons: c.reasons, EWT: ewt, Attempt: c.offers,
			Meta: Meta{At: now.UTC()}, Deadline: deadline})
		o := Offer{Call: c.info, Agent: ag.spec.ID, Endpoint: ag.spec.Endpoint, Accept: r.accept}
		ag := ag
		e.goTask(nil, func() func() {
			leg, err := e.ringer.Ring(ctx, o)
			return func() { e.ringDone(c, off, ag, leg, err) }
		})
	}
	off.timer = e.after(c.q.ringTimeout(e.cfg), func() {
		if c.offer != off {
			return
		}
		for ag := range off.pending {
			e.offerFailed(c, off, ag, "no-answer", true)
		}
	})
}

// offerFailed ends one agent's part of an offer; when no agent is left
// ringing, the call goes back to the head of its queue.
func (e *Engine) offerFailed(c *call, off *offer, a *agent, cause string, missed bool) {
	r := off.pending[a]
	if r == nil {
		return
	}
	r.cancel()
	delete(off.pending, a)
	if missed {
		a.missed++
	}
	a.call = nil
	_ = e.setState(a, StateIdle, nil) // allowed: a ringing agent is reserved
	e.publish(&OfferFailed{CallID: c.id, Agent: a.spec.ID, Cause: cause, Missed: a.missed})
	e.missedOffer(c, a, missed)
	if len(off.pending) == 0 && c.offer == off {
		off.timer.Stop()
		c.offer = nil
		if c.state == CallStateOffering {
			if c.leg == nil {
				_ = e.setCallState(c, CallStateCallback)
			} else {
				_ = e.setCallState(c, CallStateQueued)
			}
			if c.q != nil {
				// Back in the waiting list it left with the offer.
				e.publish(&CallQueued{Call: c.info, Position: e.position(c), EWT: e.ewt(c)})
			}
			e.routeCall(c)
		}
	}
	e.becameFree(a)
}

// missedOffer applies the missed-offer rule after a's offer of c failed:
// the agent goes not-ready after Config.MissedOffers in a row, and is
// not offered c again for one ring timeout.
func (e *Engine) missedOffer(c *call, a *agent, missed bool) {
	if missed && e.cfg.MissedOffers > 0 && a.missed >= e.cfg.MissedOffers && a.presence == PresenceReady {
		_ = e.setPresence(a, PresenceNotReady, ReasonMissed, "acd")
	}
	if missed && !slices.Contains(c.rc.Exclude, a.slot) && c.q != nil {
		// The agent is not offered this call again for one ring timeout,
		// so the next best agent gets it first.
		slot := a.slot
		c.rc.Exclude = append(c.rc.Exclude, slot)
		c.timers = append(c.timers, e.after(c.q.ringTimeout(e.cfg), func() {
			if i := slices.Index(c.rc.Exclude, slot); i >= 0 {
				c.rc.Exclude = slices.Delete(c.rc.Exclude, i, i+1)
				if c.waiting() {
					e.routeCall(c)
				}
			}
		}))
	}
}

// ringDone handles a Ring result.
func (e *Engine) ringDone(c *call, off *offer, a *agent, leg Leg, err error) {
	if c.offer != off || off.pending[a] == nil {
		if leg != nil { // answered too late (ring-all loser, withdrawn offer)
			e.hangup(leg)
		}
		return
	}
	if err != nil {
		cause := "failed"
		switch {
		case isErr(err, ErrRejected):
			cause = "rejected"
		case isErr(err, ErrNoAnswer), isErr(err, context.DeadlineExceeded):
			cause = "no-answer"
		}
		e.log.Info("acd: offer failed", "call_id", c.id, "agent_id", a.spec.ID, "err", err)
		e.offerFailed(c, off, a, cause, true)
		return
	}
	// Answered: withdraw the other rings.
	delete(off.pending, a)
	defer e.freeAll(e.withdraw(c))
	a.missed = 0
	now := e.clock.Now()
	if e.metrics != nil {
		e.metrics.ringTime.Observe(now.Sub(off.at).Seconds())
	}
	c.agent, c.agentLeg = a, leg
	c.answeredAt = now
	c.rc.Exclude = c.rc.Exclude[:0]
	e.unwait(c)
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
	// Allowed: the agent was ringing (reserved), and a call is offering
	// while it has an offer.
	_ = e.setState(a, StateOnCall, c)
	if c.leg == nil { // callback: the agent answered, now dial the customer
		_ = e.setCallState(c, CallStateDialing)
		e.dialCustomer(c)
		return
	}
	_ = e.setCallState(c, CallStateConnected)
	e.answered(c, a, now)
	e.bridge(c, c.leg, leg)
}

// answered counts c as answered by a in its queue's statistics and
// publishes CallAnswered.
func (e *Engine) answered(c *call, a *agent, now time.Time) {
	wait := now.Sub(c.queuedAt)
	cnt := stats.Counts{Answered: 1, WaitAnsweredSum: wait.Seconds(), MaxWait: wait.Seconds()}
	if wait <= c.q.cfg.ServiceLevel.Threshold.D() {
		cnt.AnsweredWithin = 1
	}
	c.q.win.Add(now, cnt)
	if e.metrics != nil {
		e.metrics.answered.WithLabelValues(c.q.name).Inc()
	}
	e.publish(&CallAnswered{CallID: c.id, Channel: c.info.Channel, Queue: c.q.name, Agent: a.spec.ID, Waited: wait})
}

func isErr(err, target error) bool {
	for err != nil {
		if err == target {
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// bridge connects the customer leg to the other leg in a task.
func (e *Engine) bridge(c *call, caller, other Leg) {
	c.bridgeGen++
	gen := c.bridgeGen
	ctx, cancel := context.WithCancel(e.ctx)
	c.bridgeX = cancel
	e.goTask([]context.Context{ctx, caller.Context(), other.Context()}, func() func() {
		err := e.bridger.Bridge(ctx, caller, other)
		return func() { e.bridgeDone(c, gen, err) }
	})
}

// bridgeDone ends the call when its bridge ends (unless a transfer
// replaced the bridge).
func (e *Engine) bridgeDone(c *call, gen int, err error) {
	if c.bridgeGen != gen || c.state == CallStateEnded {
		return
	}
	if err != nil && e.ctx.Err() == nil {
		e.log.Warn("acd: bridge ended with error", "call_id", c.id, "err", err)
	}
	c.bridgeX()
	if c.outcome == "" {
		c.outcome = OutcomeAnswered
	}
	e.endCall(c)
}

// endCall hangs up the legs, moves the agent to wrap-up and publishes
// CallEnded; the interaction completes after wrap-up.
func (e *Engine) endCall(c *call) {
	if c.adapter != nil {
		e.endTask(c)
		return
	}
	if c.state == CallStateEnded {
		return
	}
	now := e.clock.Now()
	if !c.holdSince.IsZero() {
		c.hold += now.Sub(c.holdSince)
		c.holdSince = time.Time{}
	}
	c.endedAt = now
	_ = e.setCallState(c, CallStateEnded) // allowed: every state but ended may end
	c.stopTimers()
	if c.stopWatch != nil {
		c.stopWatch()
	}
	if c.dialX != nil {
		c.dialX()
	}
	e.unwait(c)
	// An offer still ringing ends with the call (a shutdown): its agents
	// are released, and a late answer finds no offer and is hung up.
	defer e.freeAll(e.withdraw(c))
	if c.leg != nil {
		handed := c.outcome == OutcomeAnswered && c.leg.Context().Err() == nil && e.afterCall != nil && e.afterCall(c.id, c.leg)
		if !handed {
			e.hangup(c.leg)
		}
	}
	if c.agentLeg != nil {
		e.hangup(c.agentLeg)
	}
	a := c.agent
	var aid AgentID
	if a != nil {
		aid = a.spec.ID
	}
	e.publish(&CallEnded{CallID: c.id, Channel: c.info.Channel, Agent: aid, Outcome: c.outcome, Reason: c.failure})
	if a != nil && a.call == c {
		switch a.state {
		case StateOnCall, StateOnHold:
			if c.info.Direction == Outbound && c.leg == nil {
				// The agent's click-to-dial never reached the customer:
				// there was no conversation to wrap up.
				a.call = nil
				_ = e.setState(a, StateIdle, nil) // allowed: on a call (not held) until the customer answers
				e.becameFree(a)
				break
			}
			e.startWrapUp(a, c)
			return
		case StateReserved:
			a.call = nil
			_ = e.setState(a, StateIdle, nil)
			e.becameFree(a)
		}
	}
	e.complete(c)
}

// hangup ends a leg in a task.
func (e *Engine) hangup(l Leg) {
	if l.Context().Err() != nil {
		return
	}
	e.goTask(nil, func() func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := l.Hangup(ctx); err != nil {
			e.log.Debug("acd: hangup", "leg", l.ID(), "err", err)
		}
		return nil
	})
}

// complete publishes the interaction summary and forgets the call.
func (e *Engine) complete(c *call) {
	if c.completed {
		return
	}
	c.completed = true
	if e.calls[c.id] == c {
		delete(e.calls, c.id)
	}
	it := Interaction{
		CallID: c.id, Channel: c.info.Channel, Direction: c.info.Direction, ANI: c.info.ANI, E164: c.info.E164,
		Arrived: c.info.Arrived, Queued: c.queuedAt.UTC(), Offered: utc(c.offeredAt), Answered: utc(c.answeredAt),
		Ended: utc(c.endedAt), Completed: e.clock.Now().UTC(), Hold: c.hold, Offers: c.offers, Outcome: c.outcome,
		Reasons: c.reasons, Disposition: c.disposition, Notes: c.notes, TransferTo: c.transferTo,
		Recording: c.recording, Data: c.info.Data,
	}
	if c.q != nil {
		it.Queue = c.q.name
	}
	if c.agent != nil {
		it.Agent = c.agent.spec.ID
	}
	if !c.answeredAt.IsZero() {
		it.Wait = c.answeredAt.Sub(c.queuedAt)
		it.Talk = c.endedAt.Sub(c.answeredAt) - c.hold
		if !c.wrapEnd.IsZero() {
			it.WrapUp = c.wrapEnd.Sub(c.endedAt)
		}
		if c.q != nil && c.info.Direction == Inbound {
			c.q.win.Add(e.clock.Now(), stats.Counts{Handled: 1, HandleSum: (it.Talk + it.Hold + it.WrapUp).Seconds(),
				TalkSum: it.Talk.Seconds(), HoldSum: it.Hold.Seconds(), WrapSum: it.WrapUp.Seconds()})
		}
	} else if !c.endedAt.IsZero() {
		it.Wait = c.endedAt.Sub(c.queuedAt)
	}
	e.publish(&InteractionCompleted{Interaction: it})
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// withdraw cancels what is left of c's offer: every agent still ringing
// is released, idle again. It returns those agents, to be offered other
// calls (freeAll) once c is settled.
func (e *Engine) withdraw(c *call) []*agent {
	off := c.offer
	if off == nil {
		return nil
	}
	if c.adapter != nil {
		return e.withdrawTask(c)
	}
	off.timer.Stop()
	c.offer = nil
	var freed []*agent
	for a, r := range off.pending {
		r.cancel()
		delete(off.pending, a)
		a.call = nil
		_ = e.setState(a, StateIdle, nil) // allowed: a ringing agent is reserved
		e.publish(&OfferFailed{CallID: c.id, Agent: a.spec.ID, Cause: "withdrawn", Missed: a.missed})
		freed = append(freed, a)
	}
	return freed
}

// freeAll lets each agent take another call (becameFree).
func (e *Engine) freeAll(agents []*agent) {
	for _, a := range agents {
		e.becameFree(a)
	}
}

// callerGone handles the customer hanging up at any moment.
func (e *Engine) callerGone(c *call) {
	if c.state == CallStateEnded || c.completed {
		return
	}
	now := e.clock.Now()
	switch c.state {
	case CallStateQueued, CallStateOffering:
		during := c.offer != nil
		defer e.freeAll(e.withdraw(c))
		wait := now.Sub(c.queuedAt)
		short := wait < c.q.cfg.ServiceLevel.ShortAbandon.D()
		cnt := stats.Counts{}
		if short {
			c.outcome = OutcomeShortAbandoned
			cnt.ShortAbandoned = 1
		} else {
			c.outcome = OutcomeAbandoned
			cnt.Abandoned = 1
			cnt.AbandonWaitSum = wait.Seconds()
			if wait <= c.q.cfg.ServiceLevel.Threshold.D() {
				cnt.AbandonedWithin = 1
			}
		}
		c.q.win.Add(now, cnt)
		if e.metrics != nil {
			e.metrics.abandoned.WithLabelValues(c.q.name).Inc()
		}
		e.publish(&CallAbandoned{CallID: c.id, Queue: c.q.name, Waited: wait, Short: short, DuringOffer: during})
		e.endCall(c)
	case CallStateTransferring:
		if c.outcome == "" {
			c.outcome = OutcomeAbandoned
		}
		e.endCall(c)
	default:
		// Connected or held: the bridge returns and bridgeDone ends the call.
	}
}
