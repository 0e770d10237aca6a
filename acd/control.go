package acd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"switchboard/acd/dialplan"
	"switchboard/acd/stats"
)

// Answer accepts the offer ringing agent id: it closes Offer.Accept for
// the Ringer (see Offer). It is needed for legs that require an explicit
// accept, such as a WebRTC softphone; for SIP phones the phone's own
// answer is enough.
func (e *Engine) Answer(ctx context.Context, id AgentID) error {
	return e.do(ctx, func() error {
		if cs := e.consultRinging(id); cs != nil {
			if cs.accept != nil {
				close(cs.accept)
				cs.accept = nil
			}
			return nil
		}
		a, c, err := e.ringing(id)
		if err != nil {
			return err
		}
		r := c.offer.pending[a]
		if !r.accepted {
			r.accepted = true
			close(r.accept)
		}
		return nil
	})
}

// ringing finds the agent id and the call whose offer is ringing them.
func (e *Engine) ringing(id AgentID) (*agent, *call, error) {
	a, err := e.agent(id)
	if err != nil {
		return nil, nil, err
	}
	c := a.call
	if a.state != StateReserved || c == nil || c.offer == nil || c.offer.pending[a] == nil {
		return nil, nil, fmt.Errorf("%w: no offer ringing %q", ErrNoCall, id)
	}
	return a, c, nil
}

// consultRinging returns the consultation ringing agent id, if any.
func (e *Engine) consultRinging(id AgentID) *consult {
	a := e.agents[id]
	if a == nil || a.state != StateReserved || a.call == nil {
		return nil
	}
	if cs := a.call.consult; cs != nil && cs.agent == a && cs.leg == nil {
		return cs
	}
	return nil
}

// Reject declines the offer ringing agent id; it counts as a missed offer
// and the call goes to the next best agent.
func (e *Engine) Reject(ctx context.Context, id AgentID) error {
	return e.do(ctx, func() error {
		if cs := e.consultRinging(id); cs != nil {
			a := e.agents[id]
			e.consultFailed(a.call, cs, "rejected")
			return nil
		}
		a, c, err := e.ringing(id)
		if err != nil {
			return err
		}
		e.offerFailed(c, c.offer, a, "rejected", true)
		return nil
	})
}

// Hangup ends the agent's current call (or outbound attempt).
func (e *Engine) Hangup(ctx context.Context, id AgentID) error {
	return e.do(ctx, func() error {
		a, err := e.agent(id)
		if err != nil {
			return err
		}
		c := a.call
		if c == nil || c.state == CallStateEnded {
			return fmt.Errorf("%w: %q", ErrNoCall, id)
		}
		if c.agent != a {
			// A consulted agent leaves; the call goes on.
			return e.leaveConsult(a, c)
		}
		if c.consult != nil {
			// The agent leaves their consultation or conference: the
			// caller stays, with the third party (consultDone).
			if c.agentLeg != nil {
				e.hangup(c.agentLeg)
			}
			return nil
		}
		switch c.state {
		case CallStateConnected, CallStateHeld, CallStateDialing:
			if c.outcome == "" {
				c.outcome = OutcomeAnswered
			}
			e.endCall(c)
		default:
			return fmt.Errorf("%w: call %q is %s", ErrNoCall, c.id, c.state)
		}
		return nil
	})
}

// Hold puts the agent's caller on hold (on) or resumes the call. The leg
// must implement Holder.
func (e *Engine) Hold(ctx context.Context, id AgentID, on bool) error {
	var leg Leg
	var c0 *call
	err := e.do(ctx, func() error {
		a, err := e.agent(id)
		if err != nil {
			return err
		}
		c := a.call
		want := CallStateConnected
		if !on {
			want = CallStateHeld
		}
		if c == nil || c.state != want || c.leg == nil || c.agent != a {
			return fmt.Errorf("%w: no call to %s for %q", ErrNoCall, map[bool]string{true: "hold", false: "resume"}[on], id)
		}
		if c.consult != nil {
			return fmt.Errorf("%w: %q is consulting (cancel, complete or merge)", ErrInvalidArgument, id)
		}
		leg, c0 = c.leg, c
		return nil
	})
	if err != nil {
		return err
	}
	h, ok := leg.(Holder)
	if !ok {
		return fmt.Errorf("%w: leg %q cannot hold", ErrNotSupported, leg.ID())
	}
	if err := h.Hold(ctx, on); err != nil {
		return fmt.Errorf("acd: hold: %w", err)
	}
	return e.do(ctx, func() error {
		c := c0
		a := c.agent
		want := CallStateConnected
		if !on {
			want = CallStateHeld
		}
		if c.state != want || a == nil || a.call != c || c.consult != nil {
			return fmt.Errorf("%w: call %q changed", ErrNoCall, c.id)
		}
		callNext, agentNext := CallStateConnected, StateOnCall
		if on {
			callNext, agentNext = CallStateHeld, StateOnHold
		}
		// Both machines are asked first, so a refused edge changes nothing.
		if err := errors.Join(c.state.To(callNext), a.state.To(agentNext)); err != nil {
			return err
		}
		now := e.clock.Now()
		_ = e.setCallState(c, callNext)
		_ = e.setState(a, agentNext, c)
		if on {
			c.holdSince = now
		} else {
			e.endHold(c, now)
		}
		e.publish(&CallHeld{CallID: c.id, Agent: a.spec.ID, On: on})
		return nil
	})
}

// Transfer blind-transfers the agent's call to another agent, a queue or
// a number (which needs WithDialer and which the dial plan, if any, must
// permit for the agent's role). The agent goes to wrap-up.
func (e *Engine) Transfer(ctx context.Context, id AgentID, to TransferTarget) error {
	n := 0
	for _, s := range []string{string(to.Agent), to.Queue, to.Number} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: transfer target needs exactly one of agent, queue, number", ErrInvalidArgument)
	}
	if to.Number != "" && e.dialer == nil {
		return fmt.Errorf("%w: transfer to a number without a dialer", ErrNotSupported)
	}
	return e.do(ctx, func() error {
		a, err := e.agent(id)
		if err != nil {
			return err
		}
		if to.Number != "" {
			if err := e.permitDial(a.role(), to.Number); err != nil {
				return err
			}
		}
		c := a.call
		if c == nil || (c.state != CallStateConnected && c.state != CallStateHeld) || c.leg == nil || c.agent != a {
			return fmt.Errorf("%w: no call to transfer for %q", ErrNoCall, id)
		}
		if c.consult != nil {
			return fmt.Errorf("%w: %q is consulting (cancel, complete or merge)", ErrInvalidArgument, id)
		}
		var q *queue
		var target *agent
		switch {
		case to.Queue != "":
			if q = e.queues[to.Queue]; q == nil || q.removed {
				return fmt.Errorf("%w: %q", ErrUnknownQueue, to.Queue)
			}
		case to.Agent != "":
			if target, err = e.agent(to.Agent); err != nil {
				return err
			}
			if target == a {
				return fmt.Errorf("%w: transfer to self", ErrInvalidArgument)
			}
			q = c.q
		}
		now := e.clock.Now()
		// Detach the agent: stop the bridge, hang up their leg, wrap up.
		c.bridgeGen++
		c.bridgeX()
		e.endHold(c, now)
		e.hangup(c.agentLeg)
		c.agentLeg = nil
		e.publish(&CallTransferred{CallID: c.id, From: a.spec.ID, To: to})
		// The transferring agent's part ends here (their wrap-up); the call
		// goes on under the same id, and its last part is its record.
		old := *c
		old.endedAt, old.outcome, old.continued = now, OutcomeTransferred, true
		_ = e.setCallState(&old, CallStateEnded) // allowed: connected or held
		old.transferTo = firstNonEmpty(string(to.Agent), to.Queue, to.Number)
		old.completed = false
		a.call = &old
		e.startWrapUp(a, &old)
		c.parties = append(slices.Clone(c.parties), Party{Agent: a.spec.ID, Role: RoleAgent, Joined: utc(c.answeredAt), Left: now.UTC()})
		c.agent = nil
		c.answeredAt, c.offeredAt, c.offers, c.reasons, c.hold = time.Time{}, time.Time{}, 0, nil, 0
		c.disposition, c.notes = "", ""
		if to.Number != "" {
			_ = e.setCallState(c, CallStateTransferring) // allowed: connected or held
			c.transferTo, c.info.Role = to.Number, a.role()
			e.dialNumber(c, to.Number)
			return nil
		}
		_ = e.setCallState(c, CallStateQueued) // allowed: connected or held
		c.rc.Exclude = c.rc.Exclude[:0]
		if target != nil {
			c.rc.Only, c.direct = target.slot, true
		} else {
			c.rc.Only, c.direct = -1, false
		}
		e.join(c, q, now)
		q.win.Add(now, stats.Counts{Offered: 1})
		e.routeCall(c)
		return nil
	})
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// dialNumber dials number for c's customer leg and bridges them.
func (e *Engine) dialNumber(c *call, number string) {
	e.dialThen(c, number, CallStateTransferring, nil, "transfer", func(leg Leg) {
		c.agentLeg = leg
		c.outcome = OutcomeTransferred
		_ = e.setCallState(c, CallStateConnected) // allowed: dialThen checked transferring
		e.bridge(c, c.leg, leg)
	})
}

// dialCustomer dials the customer of an outbound or callback call whose
// agent has answered, and bridges them.
func (e *Engine) dialCustomer(c *call) {
	if e.dialer == nil {
		c.outcome = OutcomeFailed
		e.endCall(c)
		return
	}
	c.unreached = "failed" // until the customer answers
	e.dialThen(c, c.info.Number, CallStateDialing, []context.Context{c.agentLeg.Context()}, "customer", func(leg Leg) {
		c.unreached = ""
		c.leg = leg
		c.answeredAt = e.clock.Now()
		c.outcome = OutcomeAnswered
		_ = e.setCallState(c, CallStateConnected) // allowed: dialThen checked dialing
		e.publish(&CallAnswered{CallID: c.id, Queue: c.info.Queue, Agent: c.agent.spec.ID})
		e.bridge(c, leg, c.agentLeg)
	})
}

// dialThen dials number off the actor; back on it, a call no longer in
// state want drops the new leg, a failed dial ends the call, and an
// answered one goes to connected. watch lists contexts whose end cancels
// the dial (besides the engine's).
func (e *Engine) dialThen(c *call, number string, want CallState, watch []context.Context, what string, connected func(Leg)) {
	ctx, cancel := context.WithCancel(e.ctx)
	c.dialX = cancel
	info := c.info
	var cancelOn []context.Context
	if watch != nil {
		cancelOn = append([]context.Context{ctx}, watch...)
	}
	e.goTask(cancelOn, func() func() {
		leg, err := e.dialer.Dial(ctx, number, info)
		return func() {
			cancel()
			if c.state != want {
				if leg != nil {
					e.hangup(leg)
				}
				return
			}
			if err != nil {
				e.log.Info("acd: "+what+" dial failed", "call_id", c.id, "err", err)
				c.outcome = OutcomeFailed
				c.failure = err.Error()
				switch {
				case c.unreached == "":
				case errors.Is(err, ErrBusy):
					c.unreached = "busy"
				case errors.Is(err, ErrNoAnswer):
					c.unreached = "no-answer"
				}
				e.endCall(c)
				return
			}
			connected(leg)
		}
	})
}

// Dial is click-to-dial: the agent's endpoint rings first; when the agent
// answers, number is dialled and bridged. The agent must be idle (ready
// or not ready), and the dial plan, if any, must permit number for the
// agent's role. It returns the new call's id.
func (e *Engine) Dial(ctx context.Context, id AgentID, number string) (CallID, error) {
	return e.DialWith(ctx, id, number, nil)
}

// DialWith is Dial with data attached to the call (CallInfo.Data): the
// entry code's screen pop and record of a campaign's preview call.
func (e *Engine) DialWith(ctx context.Context, id AgentID, number string, data any) (CallID, error) {
	if e.dialer == nil {
		return "", fmt.Errorf("%w: no dialer", ErrNotSupported)
	}
	if number == "" || len(number) > maxANI {
		return "", fmt.Errorf("%w: bad number", ErrInvalidArgument)
	}
	if err := e.permitAgentDial(ctx, id, number); err != nil {
		return "", err
	}
	if err := e.reachable(ctx, number); err != nil {
		return "", err
	}
	geo := ResolveNumber(number, *e.region.Load())
	var cid CallID
	err := e.do(ctx, func() error {
		a, err := e.agent(id)
		if err != nil {
			return err
		}
		if a.state != StateIdle || a.presence == PresenceOffline {
			return fmt.Errorf("%w: %q is %s", ErrAgentBusy, id, a.state)
		}
		now := e.clock.Now()
		e.gen++
		cid = CallID(fmt.Sprintf("out-%s-%d-%d", id, now.UnixNano(), e.gen))
		c := &call{id: cid, state: CallStateCallback, queuedAt: now,
			info: CallInfo{ID: cid, Channel: ChannelVoice, Direction: Outbound, Number: number, ANI: number, E164: geo.E164, Country: geo.Country,
				TimeZone: geo.TimeZone, Arrived: now.UTC(), Queued: now.UTC(), Role: a.role(), Data: data}}
		c.rc.Only, c.rc.Preferred, c.rc.Language = a.slot, -1, -1
		e.calls[cid] = c
		e.ringOutbound(c, a)
		return nil
	})
	return cid, err
}

// ringOutbound rings the agent for an outbound call (no queue).
func (e *Engine) ringOutbound(c *call, a *agent) {
	e.gen++
	off := &offer{gen: e.gen, pending: map[*agent]*ring{}}
	ctx, cancel := context.WithCancel(e.ctx)
	r := &ring{cancel: cancel, accept: make(chan struct{}), accepted: true}
	close(r.accept) // the agent asked for this call
	off.pending[a] = r
	c.offer = off
	c.offers++
	c.offeredAt = e.clock.Now()
	// Allowed: a new outbound call waits as a callback for an idle agent.
	_ = e.setCallState(c, CallStateOffering)
	a.call = c
	_ = e.setState(a, StateReserved, c)
	o := Offer{Call: c.info, Agent: a.spec.ID, Endpoint: a.spec.Endpoint, Accept: r.accept}
	off.timer = e.after(e.cfg.RingTimeout.D(), func() {
		if c.offer == off {
			for ag := range off.pending {
				e.offerFailed(c, off, ag, "no-answer", false)
			}
			if c.state == CallStateCallback && c.info.Direction == Outbound {
				c.outcome = OutcomeFailed
				e.endCall(c)
			}
		}
	})
	e.goTask(nil, func() func() {
		leg, err := e.ringer.Ring(ctx, o)
		return func() {
			if err != nil && c.offer == off && off.pending[a] != nil {
				e.offerFailed(c, off, a, "failed", false)
				if c.info.Direction == Outbound {
					c.outcome = OutcomeFailed
					e.endCall(c)
				}
				return
			}
			e.ringDone(c, off, a, leg, err)
		}
	})
}

// overflow applies the queue's overflow action to a waiting call.
func (e *Engine) overflow(c *call, cause string) {
	q := c.q
	act := q.cfg.Overflow.Action
	now := e.clock.Now()
	if act == "" || act == "none" {
		if cause == "max-length" {
			act = "reject"
		} else {
			return // keep waiting
		}
	}
	if c.adapter != nil && (act == "voicemail" || act == "callback") {
		// A task has no caller to record or call back: it keeps waiting
		// (or, over max-length, is refused).
		if cause != "max-length" {
			return
		}
		act = "reject"
	}
	if act == "callback" {
		if err := e.permitDial(dialplan.RoleCallback, firstNonEmpty(c.info.E164, c.info.ANI)); err != nil {
			e.log.Info("acd: no overflow to callback", "call_id", c.id, "queue", q.name, "err", err)
			if cause != "max-length" {
				return // keep waiting
			}
			act = "reject"
		}
	}
	e.publish(&CallOverflowed{CallID: c.id, Queue: q.name, Action: act, Target: q.cfg.Overflow.Queue, Cause: cause})
	q.win.Add(now, stats.Counts{Overflowed: 1})
	switch act {
	case "queue":
		nq := e.queues[q.cfg.Overflow.Queue]
		e.join(c, nq, now)
		nq.win.Add(now, stats.Counts{Offered: 1})
		e.admit(c)
	case "callback":
		e.toCallback(c, firstNonEmpty(c.info.E164, c.info.ANI))
		// It keeps its place as a virtual caller: still waiting.
		e.publish(&CallQueued{Call: c.info, Position: e.position(c), EWT: e.ewt(c)})
		e.routeCall(c)
	case "voicemail":
		e.unwait(c)
		c.stopTimers()
		c.outcome = OutcomeVoicemail
		if e.vm == nil || c.leg == nil {
			e.endCall(c)
			return
		}
		c.stopWatch()
		c.stopWatch = nil
		leg := c.leg
		info := c.info
		e.goTask([]context.Context{e.ctx, leg.Context()}, func() func() {
			rec, err := e.vm.TakeVoicemail(e.ctx, leg, info)
			return func() {
				if err != nil {
					e.log.Warn("acd: voicemail failed", "call_id", c.id, "err", err)
				} else {
					c.recording = rec
					e.publish(&VoicemailLeft{Call: info, Recording: rec})
				}
				e.endCall(c)
			}
		})
	default: // reject: queue full and nowhere to go
		c.outcome = OutcomeOverflow
		e.endCall(c)
	}
}

// toCallback turns a waiting call into a virtual caller to be called back
// at number: the caller's leg is released, the call keeps its place.
func (e *Engine) toCallback(c *call, number string) {
	if e.setCallState(c, CallStateCallback) != nil {
		return // already a virtual caller
	}
	if c.leg != nil {
		c.stopWatch()
		c.stopWatch = nil
		e.hangup(c.leg)
		c.leg = nil
	}
	c.info.Direction = Callback
	c.info.Channel, c.rc.Channel = ChannelCallback, chCallback
	e.rekey(c)
	c.info.Number = number
	c.outcome = OutcomeCallback
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
}

// SetPriority changes a waiting call's priority (a supervisor's bump):
// priority is the call's whole priority, the segment bonus not added. A
// node re-announces it to a new leader (CallRequest.WholePriority).
func (e *Engine) SetPriority(ctx context.Context, id CallID, priority int) error {
	return e.do(ctx, func() error {
		c := e.calls[id]
		if c == nil || !c.waiting() {
			return fmt.Errorf("%w: %q not waiting", ErrUnknownCall, id)
		}
		c.prio = priority
		c.info.Priority = priority
		e.publish(&CallQueued{Call: c.info, Position: e.position(c), EWT: e.ewt(c)})
		return nil
	})
}

// MoveToFront makes a waiting call the oldest of its priority. The time
// it did is CallInfo.Fronted, by which a new leader puts the call back
// in front (CallRequest.Fronted).
func (e *Engine) MoveToFront(ctx context.Context, id CallID) error {
	return e.do(ctx, func() error {
		c := e.calls[id]
		if c == nil || !c.waiting() {
			return fmt.Errorf("%w: %q not waiting", ErrUnknownCall, id)
		}
		lowest := c.order
		for _, o := range e.waiting {
			lowest = min(lowest, o.order)
		}
		c.order = lowest - 1
		c.info.Fronted = e.clock.Now().UTC()
		e.publish(&CallQueued{Call: c.info, Position: e.position(c), EWT: e.ewt(c)})
		return nil
	})
}
