package acd

import (
	"context"
	"fmt"
	"slices"
	"time"

	"switchboard/acd/routing"
)

// Conferencer connects legs whose audio must reach more than one party,
// or a party other than the customer: an agent consulting a third party
// while the customer waits on hold, and a conference of three where each
// hears the other two. The SIP gateway implements it with its mixer.
type Conferencer interface {
	// Conference connects legs (two or more; legs[0] is the customer's
	// when the customer is in it) until ctx is cancelled or one of the
	// legs ends. It hangs up no leg.
	Conference(ctx context.Context, legs []Leg) error
}

// WithConferencer enables consultation, warm transfer and conference
// (Engine.Consult, Engine.Conference).
func WithConferencer(m Conferencer) Option { return func(e *Engine) { e.conf = m } }

// ConsultPhase is where an agent's consultation of a third party stands.
type ConsultPhase string

// Consultation phases (ConsultChanged.Phase).
const (
	// ConsultRinging: the caller is on hold, the third party is rung or
	// dialled.
	ConsultRinging ConsultPhase = "ringing"
	// ConsultTalking: the agent talks to the third party, the caller on hold.
	ConsultTalking ConsultPhase = "talking"
	// ConsultConference: caller, agent and third party hear each other.
	ConsultConference ConsultPhase = "conference"
	// ConsultCompleted: warm transfer done, the caller talks to the third
	// party and the agent wraps up.
	ConsultCompleted ConsultPhase = "completed"
	// ConsultCancelled: the agent went back to the caller (or the third
	// party hung up during the consultation).
	ConsultCancelled ConsultPhase = "cancelled"
	// ConsultFailed: the third party was not reached; the agent is back
	// with the caller.
	ConsultFailed ConsultPhase = "failed"
	// ConsultLeft: the third party left the conference.
	ConsultLeft ConsultPhase = "left"
)

// Roles of a call's parties (Party.Role).
const (
	RoleAgent      = "agent"      // the agent who answered or took over the call
	RoleConsult    = "consult"    // a third party the agent consulted
	RoleConference = "conference" // a third party in a conference
)

// Party is one participant besides the customer in a call: who, in which
// role, and from when to when.
type Party struct {
	Agent  AgentID `json:"agent_id,omitempty"`
	Number string  `json:"number,omitempty"`
	Role   string  `json:"role"`
	// Joined is when the party answered; Left when they hung up, the
	// call moved on without them or ended.
	Joined time.Time `json:"joined"`
	Left   time.Time `json:"left"`
}

// HoldSpan is one time the customer was on hold, and the agent who held
// the call then.
type HoldSpan struct {
	Agent AgentID   `json:"agent_id,omitempty"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
}

// consult is a third party an agent brought into their call.
type consult struct {
	target TransferTarget
	agent  *agent // the consulted agent; nil for a number
	leg    Leg    // the third party's leg, once it answered
	cancel context.CancelFunc
	accept chan struct{}
	timer  Timer
	// merge asks for a conference as soon as the third party answers
	// (Engine.Conference); merged is set once they are in one.
	merge, merged bool
	// orphan: the consulting agent hung up before the third party
	// answered, who then takes the call at once.
	orphan bool
	joined time.Time
	// holdDone is closed when the caller's hold request has returned, so
	// a later resume cannot overtake it.
	holdDone  chan struct{}
	stopWatch []func()
}

// Consult puts the agent's caller on hold and rings (or dials) a third
// party for the agent to talk to: another agent, the longest-idle free
// agent of a queue, or a number the dial plan permits for the agent. Then
// CompleteTransfer hands the caller over (warm transfer), CancelConsult
// goes back to the caller and Merge makes it a conference.
func (e *Engine) Consult(ctx context.Context, id AgentID, to TransferTarget) error {
	return e.startConsult(ctx, id, to, false)
}

// Conference adds a third party to the agent's call: as Consult, but the
// three are joined as soon as the third party answers.
func (e *Engine) Conference(ctx context.Context, id AgentID, to TransferTarget) error {
	return e.startConsult(ctx, id, to, true)
}

func (e *Engine) startConsult(ctx context.Context, id AgentID, to TransferTarget, merge bool) error {
	if err := checkTarget(to); err != nil {
		return err
	}
	if e.conf == nil {
		return fmt.Errorf("%w: consultation needs a conferencer", ErrNotSupported)
	}
	if to.Number != "" {
		if e.dialer == nil {
			return fmt.Errorf("%w: consulting a number without a dialer", ErrNotSupported)
		}
		if err := e.permitAgentDial(ctx, id, to.Number); err != nil {
			return err
		}
		if err := e.reachable(ctx, to.Number); err != nil {
			return err
		}
	}
	return e.do(ctx, func() error {
		a, c, err := e.ownCall(id)
		if err != nil {
			return err
		}
		if c.state != CallStateConnected || c.leg == nil || c.agentLeg == nil {
			return fmt.Errorf("%w: no connected call to consult from for %q", ErrNoCall, id)
		}
		if c.consult != nil {
			return fmt.Errorf("%w: %q is already consulting", ErrInvalidArgument, id)
		}
		if _, ok := c.leg.(Holder); !ok {
			return fmt.Errorf("%w: leg %q cannot hold", ErrNotSupported, c.leg.ID())
		}
		var target *agent
		switch {
		case to.Agent != "":
			if target, err = e.agent(to.Agent); err != nil {
				return err
			}
			if target == a {
				return fmt.Errorf("%w: consult self", ErrInvalidArgument)
			}
			if !e.canConsult(target) {
				return fmt.Errorf("%w: %q is %s (%s)", ErrAgentBusy, to.Agent, target.state, target.presence)
			}
		case to.Queue != "":
			q := e.queues[to.Queue]
			if q == nil || q.removed {
				return fmt.Errorf("%w: %q", ErrUnknownQueue, to.Queue)
			}
			if target = e.freeAgentOf(q, a); target == nil {
				return fmt.Errorf("%w: no agent of %q is free", ErrAgentBusy, to.Queue)
			}
		}
		now := e.clock.Now()
		cs := &consult{target: to, agent: target, merge: merge, holdDone: make(chan struct{})}
		if target != nil {
			cs.target = TransferTarget{Agent: target.spec.ID}
		}
		c.consult = cs
		// The caller waits on hold, out of the bridge.
		c.bridgeGen++
		c.bridgeX()
		_ = e.setCallState(c, CallStateHeld) // allowed: connected
		_ = e.setState(a, StateOnHold, c)    // allowed: on a connected call
		c.holdSince = now
		e.publish(&CallHeld{CallID: c.id, Agent: a.spec.ID, On: true})
		caller := c.leg
		e.goTask(nil, func() func() {
			defer close(cs.holdDone)
			hctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
			defer cancel()
			if err := caller.(Holder).Hold(hctx, true); err != nil {
				e.log.Warn("acd: consult: hold", "call_id", c.id, "err", err)
			}
			return nil
		})
		cs.stopWatch = append(cs.stopWatch,
			e.watch(c.leg, func() {
				if c.consult == cs {
					e.dropConsult(c, cs, "caller hung up")
					e.endCall(c)
				}
			}),
			e.watch(c.agentLeg, func() {
				if c.consult == cs && cs.leg == nil {
					cs.orphan = true
				}
			}))
		e.reachConsult(c, cs, a)
		e.publish(&ConsultChanged{CallID: c.id, Agent: a.spec.ID, Target: cs.target, Phase: ConsultRinging, Call: c.info})
		return nil
	})
}

// checkTarget requires exactly one of a target's fields.
func checkTarget(to TransferTarget) error {
	n := 0
	for _, s := range []string{string(to.Agent), to.Queue, to.Number} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: target needs exactly one of agent, queue, number", ErrInvalidArgument)
	}
	return nil
}

// ownCall returns agent id and the voice call they hold (not one they
// were consulted on).
func (e *Engine) ownCall(id AgentID) (*agent, *call, error) {
	a, err := e.agent(id)
	if err != nil {
		return nil, nil, err
	}
	c := a.call
	if c == nil || c.agent != a || c.state == CallStateEnded {
		return nil, nil, fmt.Errorf("%w: %q", ErrNoCall, id)
	}
	return a, c, nil
}

// canConsult reports whether a may be brought into another agent's call:
// logged in and on no call. A colleague reaches them when not ready too,
// as a phone call between colleagues would; a queue's agent must be ready
// (freeAgentOf).
func (e *Engine) canConsult(a *agent) bool {
	return a.presence != PresenceOffline && a.state == StateIdle && a.call == nil
}

// freeAgentOf returns the qualified agent of q idle longest, other than
// not, or nil.
func (e *Engine) freeAgentOf(q *queue, not *agent) *agent {
	var best *agent
	for _, a := range e.agents {
		if a == not || a.anon || a.removed || a.presence != PresenceReady || !e.canConsult(a) || !e.freeFor(a, e.chanIDs[ChannelVoice]) {
			continue
		}
		rc := routing.Call{Reqs: q.reqs, Language: -1, Preferred: -1, Only: -1, Channel: e.chanIDs[ChannelVoice]}
		if ra := e.idx.Agent(a.slot); ra == nil || !routing.Qualifies(ra, &rc) {
			continue
		}
		if best == nil || a.stateSince.Before(best.stateSince) || (a.stateSince.Equal(best.stateSince) && a.spec.ID < best.spec.ID) {
			best = a
		}
	}
	return best
}

// reachConsult rings the consulted agent or dials the number.
func (e *Engine) reachConsult(c *call, cs *consult, a *agent) {
	ctx, cancel := context.WithCancel(e.ctx)
	cs.cancel = cancel
	if t := cs.agent; t != nil {
		cs.accept = make(chan struct{})
		t.call = c
		_ = e.setState(t, StateReserved, c) // allowed: canConsult found them idle
		o := Offer{Call: c.info, Agent: t.spec.ID, Endpoint: t.spec.Endpoint, Accept: cs.accept}
		cs.timer = e.after(e.cfg.RingTimeout.D(), func() {
			if c.consult == cs && cs.leg == nil {
				e.consultFailed(c, cs, "no-answer")
			}
		})
		e.goTask(nil, func() func() {
			leg, err := e.ringer.Ring(ctx, o)
			return func() { e.consultAnswered(c, cs, leg, err) }
		})
		return
	}
	info := c.info
	info.Role = a.role()
	number := cs.target.Number
	e.goTask(nil, func() func() {
		leg, err := e.dialer.Dial(ctx, number, info)
		return func() { e.consultAnswered(c, cs, leg, err) }
	})
}

// consultAnswered takes the result of ringing or dialling the third party.
func (e *Engine) consultAnswered(c *call, cs *consult, leg Leg, err error) {
	if c.consult != cs || c.state == CallStateEnded || cs.leg != nil {
		if leg != nil {
			e.hangup(leg)
		}
		return
	}
	if err != nil {
		e.log.Info("acd: consultation not answered", "call_id", c.id, "err", err)
		e.consultFailed(c, cs, ringCause(err))
		return
	}
	if cs.timer != nil {
		cs.timer.Stop()
	}
	now := e.clock.Now()
	cs.leg, cs.joined = leg, now
	if t := cs.agent; t != nil {
		_ = e.setState(t, StateOnCall, c) // allowed: ringing (reserved)
	}
	if cs.orphan || c.agentLeg.Context().Err() != nil {
		e.completeConsult(c, cs)
		return
	}
	if cs.merge {
		e.mergeConsult(c, cs)
		return
	}
	e.connect(c, cs, []Leg{c.agentLeg, leg})
	e.publish(&ConsultChanged{CallID: c.id, Agent: c.agent.spec.ID, Target: cs.target, Phase: ConsultTalking, Call: c.info})
}

// connect runs a conference of legs for c (replacing its bridge); when it
// ends on its own, consultDone decides what follows.
func (e *Engine) connect(c *call, cs *consult, legs []Leg) {
	c.bridgeGen++
	gen := c.bridgeGen
	ctx, cancel := context.WithCancel(e.ctx)
	c.bridgeX = cancel
	park := []context.Context{ctx}
	for _, l := range legs {
		park = append(park, l.Context())
	}
	e.goTask(park, func() func() {
		err := e.conf.Conference(ctx, legs)
		return func() {
			if c.bridgeGen != gen || c.consult != cs || c.state == CallStateEnded {
				return
			}
			if err != nil && ctx.Err() == nil {
				e.log.Warn("acd: conference ended with error", "call_id", c.id, "err", err)
			}
			e.consultDone(c, cs)
		}
	})
}

// consultDone follows a party's leaving the consultation or conference:
// the caller ends the call, the agent leaves the call to the third party,
// the third party leaves the agent with the caller.
func (e *Engine) consultDone(c *call, cs *consult) {
	switch {
	case c.leg.Context().Err() != nil:
		e.dropConsult(c, cs, "caller hung up")
		if c.outcome == "" {
			c.outcome = OutcomeAnswered
		}
		e.endCall(c)
	case c.agentLeg.Context().Err() != nil:
		e.completeConsult(c, cs)
	case cs.leg.Context().Err() != nil:
		phase := ConsultCancelled
		if cs.merged {
			phase = ConsultLeft
		}
		e.backToCaller(c, cs, phase, "third party hung up")
	default:
		// Nobody left: the conferencer gave up; go back to the caller.
		e.backToCaller(c, cs, ConsultCancelled, "connection lost")
	}
}

// consultFailed ends a consultation whose third party was not reached.
func (e *Engine) consultFailed(c *call, cs *consult, cause string) {
	if cs.orphan || c.agentLeg.Context().Err() != nil {
		// Nobody is left to talk to the caller.
		e.dropConsult(c, cs, cause)
		c.outcome, c.failure = OutcomeFailed, "consultation "+cause+" after the agent left"
		e.endCall(c)
		return
	}
	e.backToCaller(c, cs, ConsultFailed, cause)
}

// dropConsult forgets c's consultation: the ring or dial is cancelled,
// the third party's leg hung up and a consulted agent freed.
func (e *Engine) dropConsult(c *call, cs *consult, why string) {
	if c.consult != cs {
		return
	}
	c.consult = nil
	for _, stop := range cs.stopWatch {
		stop()
	}
	if cs.timer != nil {
		cs.timer.Stop()
	}
	if cs.cancel != nil {
		cs.cancel()
	}
	now := e.clock.Now()
	if cs.leg != nil {
		e.hangup(cs.leg)
		e.addParty(c, cs, now)
	}
	if t := cs.agent; t != nil && t.call == c && c.agent != t {
		t.call = nil
		_ = e.setState(t, StateIdle, nil) // allowed: reserved or on a call
		e.becameFree(t)
	}
	e.log.Info("acd: consultation over", "call_id", c.id, "why", why)
}

// addParty keeps cs's third party among c's parties, from when they
// answered until now.
func (e *Engine) addParty(c *call, cs *consult, now time.Time) {
	role := RoleConsult
	if cs.merged {
		role = RoleConference
	}
	p := Party{Number: cs.target.Number, Role: role, Joined: cs.joined.UTC(), Left: now.UTC()}
	if cs.agent != nil {
		p.Agent = cs.agent.spec.ID
	}
	c.parties = append(c.parties, p)
}

// backToCaller ends the consultation and reconnects the agent with the
// caller, off hold.
func (e *Engine) backToCaller(c *call, cs *consult, phase ConsultPhase, why string) {
	a := c.agent
	e.dropConsult(c, cs, why)
	c.bridgeGen++
	c.bridgeX()
	e.publish(&ConsultChanged{CallID: c.id, Agent: a.spec.ID, Target: cs.target, Phase: phase, Reason: why, Call: c.info})
	e.resume(c, cs, func() {
		if a.state == StateOnHold {
			_ = e.setState(a, StateOnCall, c) // allowed: held
		}
		e.bridge(c, c.leg, c.agentLeg)
	})
}

// resume takes the caller off hold (once the hold request that cs made
// has returned) and then, back on the actor, connects them with then if
// the call is still live and no newer consultation began.
func (e *Engine) resume(c *call, cs *consult, then func()) {
	now := e.clock.Now()
	if c.state == CallStateHeld {
		_ = e.setCallState(c, CallStateConnected) // allowed: held
		e.endHold(c, now)
		if c.agent != nil {
			e.publish(&CallHeld{CallID: c.id, Agent: c.agent.spec.ID, On: false})
		}
	}
	caller := c.leg
	gen := c.bridgeGen
	e.goTask([]context.Context{caller.Context()}, func() func() {
		<-cs.holdDone
		hctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		defer cancel()
		if err := caller.(Holder).Hold(hctx, false); err != nil {
			e.log.Warn("acd: consult: resume", "call_id", c.id, "err", err)
		}
		return func() {
			if c.state == CallStateEnded || c.bridgeGen != gen {
				return
			}
			then()
		}
	})
}

// endHold closes the hold begun at c.holdSince: its time counts in c's
// hold total and its span is kept with the agent who held the call.
func (e *Engine) endHold(c *call, now time.Time) {
	if c.holdSince.IsZero() {
		return
	}
	c.hold += now.Sub(c.holdSince)
	span := HoldSpan{From: c.holdSince.UTC(), To: now.UTC()}
	if c.agent != nil {
		span.Agent = c.agent.spec.ID
	}
	c.holds = append(c.holds, span)
	c.holdSince = time.Time{}
}

// CompleteTransfer completes the agent's warm transfer: the caller is
// connected to the third party they consulted (who answered) and the
// agent goes to wrap-up.
func (e *Engine) CompleteTransfer(ctx context.Context, id AgentID) error {
	return e.do(ctx, func() error {
		_, c, err := e.ownCall(id)
		if err != nil {
			return err
		}
		cs := c.consult
		if cs == nil || cs.leg == nil {
			return fmt.Errorf("%w: %q has no answered consultation", ErrNoCall, id)
		}
		e.completeConsult(c, cs)
		return nil
	})
}

// completeConsult hands c over to its third party: the agent's part ends
// as a transfer (their record, wrap-up) and the call goes on with the
// consulted agent, or the number, under the same id.
func (e *Engine) completeConsult(c *call, cs *consult) {
	a := c.agent
	now := e.clock.Now()
	for _, stop := range cs.stopWatch {
		stop()
	}
	cs.stopWatch = nil
	if cs.timer != nil {
		cs.timer.Stop()
	}
	c.bridgeGen++
	c.bridgeX()
	e.hangup(c.agentLeg)
	target := firstNonEmpty(string(cs.target.Agent), cs.target.Number)
	e.publish(&CallTransferred{CallID: c.id, From: a.spec.ID, To: cs.target})
	e.publish(&ConsultChanged{CallID: c.id, Agent: a.spec.ID, Target: cs.target, Phase: ConsultCompleted, Call: c.info})
	// The agent's record ends here, as a blind transfer's does.
	e.endHold(c, now)
	consulted := Party{Agent: cs.target.Agent, Number: cs.target.Number, Role: RoleConsult, Joined: cs.joined.UTC(), Left: now.UTC()}
	if cs.merged {
		consulted.Role = RoleConference
	}
	old := *c
	old.endedAt, old.outcome, old.transferTo, old.continued = now, OutcomeTransferred, target, true
	old.consult = nil
	_ = e.setCallState(&old, CallStateEnded) // allowed: connected or held
	old.completed = false
	old.parties = append(slices.Clone(c.parties), consulted)
	a.call = &old
	e.startWrapUp(a, &old)
	// The call goes on with the third party; its record, written at its
	// end, keeps every party and hold.
	c.consult = nil
	c.agentLeg = cs.leg
	c.parties = append(slices.Clone(c.parties), Party{Agent: a.spec.ID, Role: RoleAgent, Joined: utc(c.answeredAt), Left: now.UTC()}, consulted)
	c.hold = 0
	c.offeredAt, c.answeredAt, c.offers, c.reasons = cs.joined, cs.joined, 1, nil
	c.disposition, c.notes = "", ""
	if cs.cancel != nil {
		cs.cancel()
	}
	if t := cs.agent; t != nil {
		c.agent = t
	} else {
		c.agent = nil
		c.outcome, c.transferTo = OutcomeTransferred, target
	}
	e.resume(c, cs, func() { e.bridge(c, c.leg, c.agentLeg) })
}

// CancelConsult ends the agent's consultation (ringing or talking) and
// takes the caller off hold, back with the agent.
func (e *Engine) CancelConsult(ctx context.Context, id AgentID) error {
	return e.do(ctx, func() error {
		_, c, err := e.ownCall(id)
		if err != nil {
			return err
		}
		cs := c.consult
		if cs == nil || cs.merged {
			return fmt.Errorf("%w: %q is not consulting", ErrNoCall, id)
		}
		e.backToCaller(c, cs, ConsultCancelled, "cancelled by the agent")
		return nil
	})
}

// Merge joins the caller, the agent and the consulted third party in a
// conference.
func (e *Engine) Merge(ctx context.Context, id AgentID) error {
	return e.do(ctx, func() error {
		_, c, err := e.ownCall(id)
		if err != nil {
			return err
		}
		cs := c.consult
		if cs == nil || cs.leg == nil || cs.merged {
			return fmt.Errorf("%w: %q has no answered consultation to merge", ErrNoCall, id)
		}
		e.mergeConsult(c, cs)
		return nil
	})
}

// mergeConsult makes c's consultation a conference of three.
func (e *Engine) mergeConsult(c *call, cs *consult) {
	a := c.agent
	cs.merged = true
	c.bridgeGen++
	c.bridgeX()
	e.publish(&ConsultChanged{CallID: c.id, Agent: a.spec.ID, Target: cs.target, Phase: ConsultConference, Call: c.info})
	e.resume(c, cs, func() {
		if a.state == StateOnHold {
			_ = e.setState(a, StateOnCall, c) // allowed: held
		}
		e.connect(c, cs, []Leg{c.leg, c.agentLeg, cs.leg})
	})
}

// leaveConsult is a consulted agent hanging up: their leg ends, and the
// conference (or consultation) goes on without them.
func (e *Engine) leaveConsult(a *agent, c *call) error {
	cs := c.consult
	if cs == nil || cs.agent != a {
		return fmt.Errorf("%w: %q", ErrNoCall, a.spec.ID)
	}
	if cs.leg == nil {
		e.consultFailed(c, cs, "rejected")
		return nil
	}
	e.hangup(cs.leg)
	return nil
}
