package acd

import (
	"context"
	"slices"
	"time"

	"switchboard/acd/routing"
	"switchboard/acd/stats"
)

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

// ringCause names why ringing an agent (or dialling a number) failed:
// rejected, no-answer or failed.
func ringCause(err error) string {
	switch {
	case isErr(err, ErrRejected):
		return "rejected"
	case isErr(err, ErrNoAnswer), isErr(err, context.DeadlineExceeded):
		return "no-answer"
	}
	return "failed"
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
		e.log.Info("acd: offer failed", "call_id", c.id, "agent_id", a.spec.ID, "err", err)
		e.offerFailed(c, off, a, ringCause(err), true)
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
