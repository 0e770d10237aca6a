package acd

import (
	"context"
	"fmt"
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
	q := e.queues[t.Queue]
	if q == nil || q.removed {
		return fmt.Errorf("%w: %q", ErrUnknownQueue, t.Queue)
	}
	if _, dup := e.calls[t.ID]; dup {
		return fmt.Errorf("%w: task %q", ErrDuplicate, t.ID)
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
