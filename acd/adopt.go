package acd

import (
	"context"
	"fmt"
	"time"
)

// Adopt registers task t (validated as by Submit, its channel's adapter
// attached the same way) as already accepted by agent, as a channel
// does after a restart for the work its agents accepted before: t is
// not offered, the adapter is told neither Offer nor Accept, and t is
// active at once. It holds one unit of agent's capacity on its channel,
// beyond the capacity if need be (the work is already theirs). Adopt
// publishes what Accept publishes (TaskStateChanged active,
// CallAnswered), without counting an answer in the queue's statistics.
// From then on Complete, Withdraw, TransferTask and WrapTask act on t as
// on any active task, and the adapter's End is called when it ends.
//
// agent need not be logged in: an agent the engine does not know is
// registered offline, holding t, as if they had logged out while
// holding it, and Login later keeps what they hold (they are not logged
// in meanwhile: SetPresence and the agent's other commands refuse them
// with ErrUnknownAgent). An id already live is refused with an error
// wrapping ErrDuplicate, an unknown queue with ErrUnknownQueue.
func (e *Engine) Adopt(ctx context.Context, t Task, agent AgentID) error {
	if err := e.validateTask(t); err != nil {
		return err
	}
	if agent == "" {
		return fmt.Errorf("%w: empty agent id", ErrInvalidArgument)
	}
	return e.do(ctx, func() error { return e.adopt(&t, agent) })
}

// adopt makes t active on agent id (Adopt).
func (e *Engine) adopt(t *Task, id AgentID) error {
	if e.closing {
		return ErrClosed
	}
	q, err := e.newcomer(t.ID, t.Queue)
	if err != nil {
		return err
	}
	now := e.clock.Now()
	a := e.agents[id]
	if a == nil {
		a = e.addAgent(id, now)
	}
	c := e.newCall(t.ID, q, t.request(), t, CallStateConnected, now)
	c.agent, c.answeredAt = a, now
	e.calls[c.id] = c
	e.hold(a, c, true)
	_ = e.setTaskState(c, a, TaskActive) // allowed: a new task waits, and adoption is the edge to active
	e.publish(&CallAnswered{CallID: c.id, Channel: c.info.Channel, Queue: q.name, Agent: id})
	e.log.Info("acd: task adopted", "task_id", c.id, "agent_id", id, "queue", q.name, "presence", a.presence)
	return nil
}

// AdoptCall registers the voice call req, whose caller is on caller's
// leg, as already connected to agent on agentLeg since answered: a call a
// node reports, with the media bridged on that node, when a new leader
// takes over. It is not offered, no answer is counted in the queue's
// statistics, and CallAnswered is published. From then on it is a
// connected call like any other: the engine watches both legs and runs
// Bridger.Bridge(ctx, caller, agentLeg) as after an answer (the node's
// Bridger attaches to the bridge it already runs), and Hold, Transfer,
// Hangup and wrap-up act on it, ending in one InteractionCompleted
// (Arrived, Queued and Answered as given, no offer). The call's id is
// req.ID, or caller's ID if empty, as for Enqueue.
//
// answered zero or after now counts as now; req.Queued zero or after
// answered counts as answered (the call waited nothing the engine knows
// of). agent need not be logged in: an agent the engine does not know is
// registered offline holding the call, and Login later keeps it, as for
// Adopt. A call whose leg has already ended ends at once and is recorded.
// An id already live is refused with an error wrapping ErrDuplicate, an
// unknown queue with ErrUnknownQueue, an agent on another call with
// ErrAgentBusy, and nil legs, an empty agent or a callback number with
// ErrInvalidArgument.
func (e *Engine) AdoptCall(ctx context.Context, req CallRequest, caller Leg, agent AgentID, agentLeg Leg, answered time.Time) (CallID, error) {
	id, err := checkRequest(req, caller)
	if err != nil {
		return "", err
	}
	switch {
	case agentLeg == nil:
		return "", fmt.Errorf("%w: nil agent leg", ErrInvalidArgument)
	case agent == "":
		return "", fmt.Errorf("%w: empty agent id", ErrInvalidArgument)
	case req.Callback != "":
		return "", fmt.Errorf("%w: a connected call has no callback number", ErrInvalidArgument)
	}
	err = e.do(ctx, func() error { return e.adoptCall(id, req, caller, agent, agentLeg, answered) })
	return id, err
}

// adoptCall connects call id to agent aid (AdoptCall).
func (e *Engine) adoptCall(id CallID, req CallRequest, caller Leg, aid AgentID, agentLeg Leg, answered time.Time) error {
	if e.closing {
		return ErrClosed
	}
	q, err := e.newcomer(id, req.Queue)
	if err != nil {
		return err
	}
	a := e.agents[aid]
	if a != nil && a.state != StateIdle {
		return fmt.Errorf("%w: %q is %s", ErrAgentBusy, aid, a.state)
	}
	now := e.clock.Now()
	if answered.IsZero() || answered.After(now) {
		answered = now
	}
	if req.Queued.IsZero() || req.Queued.After(answered) {
		req.Queued = answered
	}
	if a == nil {
		a = e.addAgent(aid, now)
	}
	c := e.newCall(id, q, req, nil, CallStateConnected, now)
	c.leg, c.agent, c.agentLeg, c.answeredAt = caller, a, agentLeg, answered
	e.calls[id] = c
	c.stopWatch = e.watch(caller, func() { e.callerGone(c) })
	a.call = c
	_ = e.setState(a, StateOnCall, c) // allowed: the agent is idle, and adoption is the edge to on-call
	e.publish(&CallAnswered{CallID: id, Channel: c.info.Channel, Queue: q.name, Agent: aid, Waited: answered.Sub(c.queuedAt)})
	e.bridge(c, caller, agentLeg)
	e.log.Info("acd: call adopted", "call_id", id, "agent_id", aid, "queue", q.name, "presence", a.presence)
	return nil
}
