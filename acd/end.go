package acd

import (
	"context"
	"slices"
	"time"

	"switchboard/acd/stats"
)

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
	if cs := c.consult; cs != nil {
		e.dropConsult(c, cs, "call ended")
	}
	now := e.clock.Now()
	e.endHold(c, now)
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
		if !handed && !c.released {
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
	e.publish(&CallEnded{CallID: c.id, Channel: c.info.Channel, Agent: aid, Outcome: c.outcome, Reason: c.failure, Unreached: c.unreached})
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
		Recording: c.recording, Data: c.info.Data, Unreached: c.unreached, Holds: c.holds, Continued: c.continued,
	}
	it.Parties = slices.Clone(c.parties)
	if c.agent != nil && !c.answeredAt.IsZero() {
		it.Parties = append(it.Parties, Party{Agent: c.agent.spec.ID, Role: RoleAgent, Joined: c.answeredAt.UTC(), Left: utc(c.endedAt)})
	}
	slices.SortStableFunc(it.Parties, func(a, b Party) int { return a.Joined.Compare(b.Joined) })
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
