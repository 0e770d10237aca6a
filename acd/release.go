package acd

import (
	"context"
	"fmt"
	"time"

	"switchboard/acd/routing"
	"switchboard/acd/stats"
)

// Release takes waiting call id out of its queue without hanging up its
// leg: the entry code keeps the caller and tells them why (an outbound
// campaign's person nobody took within the grace hears the abandon
// message the rules require). The call ends abandoned, with reason as
// CallEnded's, and is counted and recorded as any abandoned call. A call
// that is no longer waiting — being offered, connected, ended — is left
// as it is: the error wraps ErrTransition (offered or on), or
// ErrUnknownCall.
func (e *Engine) Release(ctx context.Context, id CallID, reason string) error {
	return e.do(ctx, func() error {
		c := e.calls[id]
		if c == nil || c.adapter != nil || c.state == CallStateEnded {
			return fmt.Errorf("%w: %q", ErrUnknownCall, id)
		}
		if c.state != CallStateQueued {
			return fmt.Errorf("%w: call %q is %s", ErrTransition, id, c.state)
		}
		c.released = true
		c.failure = reason
		e.callerGone(c)
		return nil
	})
}

// Staff is what pacing outbound dials for a queue needs of its agents.
type Staff struct {
	// Ready are the agents qualified for the queue who are logged in and
	// ready, or busy with a call or task.
	Ready int
	// Idle are those of them free for a call now: ready, idle, no call.
	Idle int
	// Waiting are the calls waiting in the queue.
	Waiting int
}

// QueueStaff returns the staff of queue name (ErrUnknownQueue).
func (e *Engine) QueueStaff(ctx context.Context, name string) (Staff, error) {
	var s Staff
	err := e.do(ctx, func() error {
		q := e.queues[name]
		if q == nil {
			return fmt.Errorf("%w: %q", ErrUnknownQueue, name)
		}
		for _, c := range e.waiting {
			if c.q == q && c.state == CallStateQueued {
				s.Waiting++
			}
		}
		probe := routing.Call{Reqs: q.reqs, Language: -1, Preferred: -1, Only: -1}
		for _, a := range e.agents {
			if !routing.Qualifies(e.idx.Agent(a.slot), &probe) {
				continue
			}
			if a.presence == PresenceReady || a.busy() {
				s.Ready++
			}
			if a.presence == PresenceReady && a.state == StateIdle && a.call == nil {
				s.Idle++
			}
		}
		return nil
	})
	return s, err
}

// QueueMinute is a queue's counts of one past minute: what the records
// of calls completed before the engine started (a restart, a new
// cluster leader) say.
type QueueMinute struct {
	Queue  string
	Minute time.Time
	Counts stats.Counts
}

// SeedStats adds past minutes to the queues' live statistics (current
// interval, last 15 and 60 minutes, staffing), so that they do not start
// from zero when the engine does. Minutes over an hour old and unknown
// queues are ignored.
func (e *Engine) SeedStats(ctx context.Context, minutes []QueueMinute) error {
	return e.do(ctx, func() error {
		now := e.clock.Now()
		for _, m := range minutes {
			if q := e.queues[m.Queue]; q != nil {
				q.win.AddPast(now, m.Minute, m.Counts)
			}
		}
		return nil
	})
}
