package acd

import (
	"context"
	"fmt"
	"slices"
	"time"

	"switchboard/acd/routing"
	"switchboard/acd/stats"
)

// TaskID identifies a task; a call's id is its task id.
type TaskID = CallID

// ChannelAdapter is what the engine tells a channel about its tasks (a
// chat, an email, a ticket, a lead). The engine calls it from its own
// goroutines, never from the routing goroutine; each method should
// return promptly. The voice machine's channels (voice, callback) use
// Ringer and Bridger instead.
type ChannelAdapter interface {
	// Offer presents the task o.Call to agent o.Agent (the desk pops it).
	// The agent answers with Engine.Accept or Engine.RejectTask; an error
	// fails the offer at once. ctx ends when the offer does (accepted,
	// rejected, timed out or withdrawn).
	Offer(ctx context.Context, o Offer) error
	// Accept tells the channel that agent took the task: connect them
	// (join the chat, assign the ticket).
	Accept(ctx context.Context, task CallInfo, agent AgentID) error
	// End tells the channel that the task ended with outcome.
	End(ctx context.Context, task CallInfo, outcome Outcome) error
}

// Task is a task of a channel other than voice, handed to Engine.Submit
// (or Engine.Adopt) by the adapter that owns it.
type Task struct {
	// ID is the task's id, unique among live calls and tasks.
	ID TaskID
	// Channel must have an adapter (WithChannel).
	Channel Channel
	// Queue is the target queue's name.
	Queue string
	// Priority adds to the queue's priority.
	Priority int
	// Skills adds requirements to the queue's.
	Skills []SkillLevel
	// Language, Segment, Geography and Region route the task as they
	// route a call (CallRequest).
	Language string
	Segment  string
	Customer string // the customer's CRM identity
	Geography
	Region string
	// PreferredAgent is the customer's last or owning agent (sticky).
	PreferredAgent AgentID
	// Arrived is when the task reached the system; zero means now.
	Arrived time.Time
	// Handle is the adapter's opaque reference to the task; it comes back
	// in CallInfo.Handle.
	Handle any
	// Data rides on CallOffered for the pop, like CallRequest.Data.
	Data any
}

// maxTaskID bounds a task's id.
const maxTaskID = 128

// Submit queues a task of a channel with an adapter. It is routed like a
// call, to agents with free capacity on its channel (see Config.Capacity).
func (e *Engine) Submit(ctx context.Context, t Task) (TaskID, error) {
	if err := e.validateTask(t); err != nil {
		return "", err
	}
	err := e.do(ctx, func() error { return e.enqueue(t.ID, t.request(), nil, &t) })
	return t.ID, err
}

// validateTask checks a task handed to Submit or Adopt: its id, its
// skills and an adapter for its channel.
func (e *Engine) validateTask(t Task) error {
	if t.ID == "" || len(t.ID) > maxTaskID {
		return fmt.Errorf("%w: task id must be 1..%d bytes", ErrInvalidArgument, maxTaskID)
	}
	for _, s := range t.Skills {
		if s.Skill == "" || s.Level < 1 || s.Level > routing.MaxLevel {
			return fmt.Errorf("%w: skill %q level %d", ErrInvalidArgument, s.Skill, s.Level)
		}
	}
	if id, ok := e.chanIDs[t.Channel]; !ok || e.chans[id].adapter == nil {
		return fmt.Errorf("%w: no adapter for channel %q", ErrNotSupported, t.Channel)
	}
	return nil
}

// request is what routes t, as a call's request routes the call.
func (t *Task) request() CallRequest {
	return CallRequest{Queue: t.Queue, Skills: t.Skills, Priority: t.Priority, Segment: t.Segment, Language: t.Language,
		Caller: t.Geography, Region: t.Region, PreferredAgent: t.PreferredAgent, Arrived: t.Arrived, Data: t.Data}
}

// setTaskState moves c through the task-state machine (state.go) with
// agent a (nil for a task ending while it waits). A refused transition
// changes nothing and is returned, wrapping ErrTransition; nothing else
// assigns c.tstate.
func (e *Engine) setTaskState(c *call, a *agent, next TaskState) error {
	if err := c.tstate.To(next); err != nil {
		e.log.Error("acd: refused task transition", "task_id", c.id, "err", err)
		return err
	}
	c.tstate = next
	now := e.clock.Now()
	ev := &TaskStateChanged{Meta: Meta{At: now.UTC()}, TaskID: c.id, Channel: c.info.Channel, Queue: c.info.Queue, State: next}
	if next == TaskWrapUp {
		ev.WrapUpEnd = e.wrapUpEnd(c, now)
	}
	if a != nil {
		ev.Agent = a.spec.ID
		a.accrue(now)
		e.syncAgent(a, now)
	}
	e.publish(ev)
	return nil
}

// hold adds c to a's tasks or, with on false, removes it; occupancy is
// accrued first, so the time before counts at the old load.
func (e *Engine) hold(a *agent, c *call, on bool) {
	a.accrue(e.clock.Now())
	if on {
		a.tasks = append(a.tasks, c)
		return
	}
	if i := slices.Index(a.tasks, c); i >= 0 {
		a.tasks = slices.Delete(a.tasks, i, i+1)
	}
}

// offerTask offers task c to agent a alone (ring-all rings calls only)
// and tells the channel.
func (e *Engine) offerTask(c *call, a *agent, d *routing.Decision) {
	if err := c.state.To(CallStateOffering); err != nil {
		e.log.Error("acd: refused call transition", "call_id", c.id, "err", err)
		return
	}
	if c.tstate.To(TaskOffered) != nil {
		_ = e.setTaskState(c, a, TaskOffered) // logs the refusal
		return
	}
	now := e.clock.Now()
	e.gen++
	ctx, cancel := context.WithCancel(e.ctx)
	offered := make(chan struct{})
	off := &offer{gen: e.gen, at: now, pending: map[*agent]*ring{a: {cancel: cancel, offered: offered}}}
	c.offer = off
	c.offers++
	if c.offeredAt.IsZero() {
		c.offeredAt = now
	}
	c.reasons = toReasons(d)
	_ = e.setCallState(c, CallStateOffering) // allowed: asked above
	e.hold(a, c, true)
	e.idx.Agent(a.slot).LastOffer = now.UnixNano()
	_ = e.setTaskState(c, a, TaskOffered) // allowed: asked above
	deadline := now.Add(c.q.ringTimeout(e.cfg)).UTC()
	e.publish(&CallOffered{Call: c.info, Agent: a.spec.ID, Waited: now.Sub(c.queuedAt), Reasons: c.reasons, EWT: e.ewt(c),
		Attempt: c.offers, Meta: Meta{At: now.UTC()}, Deadline: deadline})
	o := Offer{Call: c.info, Agent: a.spec.ID, Endpoint: a.spec.Endpoint, Reasons: c.reasons}
	ad := c.adapter
	e.goTask(nil, func() func() {
		err := ad.Offer(ctx, o)
		close(offered)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		return func() {
			if c.offer == off && off.pending[a] != nil {
				e.log.Info("acd: task offer failed", "task_id", c.id, "agent_id", a.spec.ID, "err", err)
				e.taskOfferFailed(c, off, a, "failed")
			}
		}
	})
	off.timer = e.after(c.q.ringTimeout(e.cfg), func() {
		if c.offer == off && off.pending[a] != nil {
			e.taskOfferFailed(c, off, a, "no-answer")
		}
	})
}

// taskOfferFailed ends a's offer of c (missed, rejected or failed): the
// agent's capacity is freed and the task is back at the head of its
// queue for the next best agent.
func (e *Engine) taskOfferFailed(c *call, off *offer, a *agent, cause string) {
	off.pending[a].cancel()
	delete(off.pending, a)
	off.timer.Stop()
	c.offer = nil
	a.missed++
	e.hold(a, c, false)
	_ = e.setTaskState(c, a, TaskWaiting)  // allowed: the task was offered
	_ = e.setCallState(c, CallStateQueued) // allowed: the call was offering
	e.publish(&OfferFailed{CallID: c.id, Agent: a.spec.ID, Cause: cause, Missed: a.missed})
	e.missedOffer(c, a, true)
	e.publish(&CallQueued{Call: c.info, Position: e.position(c), EWT: e.ewt(c)})
	e.routeCall(c)
	e.becameFree(a)
}

// withdrawTask cancels c's offer (the task ends while offered) and
// returns the agent it was offered to.
func (e *Engine) withdrawTask(c *call) []*agent {
	off := c.offer
	off.timer.Stop()
	c.offer = nil
	var freed []*agent
	for a, r := range off.pending {
		r.cancel()
		delete(off.pending, a)
		e.hold(a, c, false)
		_ = e.setTaskState(c, a, TaskWaiting) // allowed: the task was offered
		e.publish(&OfferFailed{CallID: c.id, Agent: a.spec.ID, Cause: "withdrawn", Missed: a.missed})
		freed = append(freed, a)
	}
	return freed
}

// task finds a live task (not a call) by id.
func (e *Engine) task(id TaskID) (*call, error) {
	c := e.calls[id]
	if c == nil || c.adapter == nil {
		return nil, fmt.Errorf("%w: task %q", ErrUnknownCall, id)
	}
	return c, nil
}

// heldBy finds task id among agent's tasks.
func (e *Engine) heldBy(agent AgentID, id TaskID) (*agent, *call, error) {
	a, err := e.agent(agent)
	if err != nil {
		return nil, nil, err
	}
	c, err := e.task(id)
	if err != nil {
		return nil, nil, err
	}
	if !slices.Contains(a.tasks, c) {
		return nil, nil, fmt.Errorf("%w: task %q is not %q's", ErrNoCall, id, agent)
	}
	return a, c, nil
}

// Accept is agent's acceptance of task id offered to them: the task is
// active, counts as answered, and its channel is told (Accept). An
// agent's acceptance of a task not in state offered is refused with an
// error wrapping ErrTransition.
func (e *Engine) Accept(ctx context.Context, agent AgentID, id TaskID) error {
	return e.do(ctx, func() error {
		a, c, err := e.heldBy(agent, id)
		if err != nil {
			return err
		}
		if err := c.tstate.To(TaskActive); err != nil {
			return err
		}
		off := c.offer
		offered := off.pending[a].offered
		off.pending[a].cancel()
		delete(off.pending, a)
		off.timer.Stop()
		c.offer = nil
		a.missed = 0
		now := e.clock.Now()
		c.agent, c.answeredAt = a, now
		c.rc.Exclude = c.rc.Exclude[:0]
		e.unwait(c)
		c.stopTimers()
		_ = e.setCallState(c, CallStateConnected) // allowed: an offered task's call is offering
		_ = e.setTaskState(c, a, TaskActive)      // allowed: asked above
		e.answered(c, a, now)
		info, ad := c.info, c.adapter
		e.goTask(nil, func() func() {
			if offered != nil {
				<-offered
			}
			if err := ad.Accept(e.ctx, info, agent); err != nil {
				e.log.Warn("acd: channel refused an accepted task", "task_id", id, "channel", info.Channel, "err", err)
			}
			return nil
		})
		return nil
	})
}

// RejectTask is agent's refusal of task id offered to them; it counts as
// a missed offer and the task goes to the next best agent. A task not in
// state offered is refused with an error wrapping ErrTransition.
func (e *Engine) RejectTask(ctx context.Context, agent AgentID, id TaskID) error {
	return e.do(ctx, func() error {
		a, c, err := e.heldBy(agent, id)
		if err != nil {
			return err
		}
		if c.tstate != TaskOffered {
			return fmt.Errorf("%w: reject a task %s", ErrTransition, c.tstate)
		}
		e.taskOfferFailed(c, c.offer, a, "rejected")
		return nil
	})
}

// Complete ends the active task id (the conversation is over, the email
// answered): its agent wraps it up for the queue's wrap-up time, then the
// task completes and the capacity is free. A task not active is refused
// with an error wrapping ErrTransition.
func (e *Engine) Complete(ctx context.Context, id TaskID) error {
	return e.do(ctx, func() error {
		c, err := e.task(id)
		if err != nil {
			return err
		}
		if err := c.tstate.To(TaskWrapUp); err != nil {
			return err
		}
		c.outcome = OutcomeAnswered
		e.endTask(c)
		return nil
	})
}

// Withdraw ends task id from the customer's side (the chat left, the
// ticket closed): a waiting or offered task is abandoned, an active one
// ends as Complete does.
func (e *Engine) Withdraw(ctx context.Context, id TaskID) error {
	return e.do(ctx, func() error {
		c, err := e.task(id)
		if err != nil {
			return err
		}
		switch c.state {
		case CallStateQueued, CallStateOffering:
			e.callerGone(c)
		case CallStateConnected:
			c.outcome = OutcomeAnswered
			e.endTask(c)
		default:
			return fmt.Errorf("%w: task %q is %s", ErrNoCall, id, c.state)
		}
		return nil
	})
}

// WrapTask records agent's disposition and notes of task id and, while
// their part of it is in wrap-up, ends the wrap-up early. It acts on the
// task as agent holds it: after TransferTask the transferring agent wraps
// up their own part while the task goes on with its next agent, whose
// part this leaves untouched. On an active task it only records. Should
// agent hold two parts of the same task (it came back to them while they
// still wrap up their first part), the part in wrap-up is the one meant.
// An agent who does not hold the task gets an error wrapping ErrNoCall,
// an offered task one wrapping ErrTransition.
func (e *Engine) WrapTask(ctx context.Context, agent AgentID, id TaskID, disposition, notes string) error {
	if len(disposition) > 128 || len(notes) > 8192 {
		return fmt.Errorf("%w: disposition or notes too long", ErrInvalidArgument)
	}
	return e.do(ctx, func() error {
		a, err := e.agent(agent)
		if err != nil {
			return err
		}
		c := a.part(id)
		switch {
		case c == nil:
			return fmt.Errorf("%w: task %q is not %q's", ErrNoCall, id, agent)
		case c.tstate != TaskActive && c.tstate != TaskWrapUp:
			return fmt.Errorf("%w: wrap up a task %s", ErrTransition, c.tstate)
		}
		c.disposition, c.notes = disposition, notes
		if c.tstate == TaskWrapUp {
			e.endTaskWrap(c)
		}
		return nil
	})
}

// endTask ends task c (Complete, Withdraw, an overflow's refusal,
// Shutdown): an offer still out is withdrawn, the channel is told (End),
// and an agent who held it wraps it up; otherwise it completes.
func (e *Engine) endTask(c *call) {
	if c.state == CallStateEnded {
		return
	}
	now := e.clock.Now()
	c.endedAt = now
	_ = e.setCallState(c, CallStateEnded) // allowed: every state but ended may end
	c.stopTimers()
	e.unwait(c)
	defer e.freeAll(e.withdraw(c))
	if c.outcome == "" {
		c.outcome = OutcomeFailed
		if !c.answeredAt.IsZero() {
			c.outcome = OutcomeAnswered
		}
	}
	var aid AgentID
	if c.agent != nil {
		aid = c.agent.spec.ID
	}
	e.publish(&CallEnded{CallID: c.id, Channel: c.info.Channel, Agent: aid, Outcome: c.outcome})
	info, out, ad := c.info, c.outcome, c.adapter
	e.goTask(nil, func() func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ad.End(ctx, info, out); err != nil {
			e.log.Debug("acd: task end", "task_id", info.ID, "err", err)
		}
		return nil
	})
	if c.tstate != TaskActive {
		_ = e.setTaskState(c, nil, TaskDone) // allowed: not active, the task waits (its offer withdrawn above)
		e.complete(c)
		return
	}
	e.startTaskWrap(c)
}

// startTaskWrap moves the active task c to wrap-up by its agent for the
// queue's wrap-up time.
func (e *Engine) startTaskWrap(c *call) {
	_ = e.setTaskState(c, c.agent, TaskWrapUp) // allowed: callers pass an active task
	d := e.wrapUpFor(c)
	if d <= 0 {
		e.endTaskWrap(c)
		return
	}
	c.timers = append(c.timers, e.after(d, func() {
		if c.tstate == TaskWrapUp {
			e.endTaskWrap(c)
		}
	}))
}

// TransferTask moves the active task id to another queue or to a named
// agent (to.Number is not for tasks). The transferring agent's part ends
// (outcome transferred, after their wrap-up); the task goes on under the
// same id, routed afresh, and its channel learns the new agent from the
// next Offer and Accept. A task not active is refused with an error
// wrapping ErrTransition.
func (e *Engine) TransferTask(ctx context.Context, id TaskID, to TransferTarget) error {
	if to.Number != "" || (to.Agent == "") == (to.Queue == "") {
		return fmt.Errorf("%w: a task transfers to exactly one of agent, queue", ErrInvalidArgument)
	}
	return e.do(ctx, func() error {
		c, err := e.task(id)
		if err != nil {
			return err
		}
		if c.tstate != TaskActive {
			return fmt.Errorf("%w: transfer a task %s", ErrTransition, c.tstate)
		}
		a := c.agent
		q := c.q
		var target *agent
		if to.Queue != "" {
			if q = e.queues[to.Queue]; q == nil || q.removed {
				return fmt.Errorf("%w: %q", ErrUnknownQueue, to.Queue)
			}
		} else {
			if target, err = e.agent(to.Agent); err != nil {
				return err
			}
			if target == a {
				return fmt.Errorf("%w: transfer to self", ErrInvalidArgument)
			}
		}
		now := e.clock.Now()
		e.publish(&CallTransferred{CallID: c.id, From: a.spec.ID, To: to})
		// The transferring agent keeps a copy to wrap up; its interaction
		// completes with outcome transferred.
		old := *c
		old.endedAt, old.outcome, old.transferTo, old.timers = now, OutcomeTransferred, firstNonEmpty(string(to.Agent), to.Queue), nil
		_ = e.setCallState(&old, CallStateEnded) // allowed: an active task's call is connected
		a.tasks[slices.Index(a.tasks, c)] = &old
		e.startTaskWrap(&old)
		c.agent = nil
		c.answeredAt, c.offeredAt, c.offers, c.reasons = time.Time{}, time.Time{}, 0, nil
		c.disposition, c.notes = "", ""
		_ = e.setTaskState(c, nil, TaskWaiting) // allowed: the task was active
		_ = e.setCallState(c, CallStateQueued)  // allowed: connected
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

// endTaskWrap ends the wrap-up of task c: the interaction completes and
// its agent's capacity is free for the next task.
func (e *Engine) endTaskWrap(c *call) {
	a := c.agent
	c.stopTimers()
	c.wrapEnd = e.clock.Now()
	e.hold(a, c, false)
	a.calls++
	_ = e.setTaskState(c, a, TaskDone) // allowed: callers pass a task in wrap-up
	e.complete(c)
	e.becameFree(a)
}
