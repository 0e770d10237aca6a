package callbacks

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"switchboard/crmcore"
)

// dueArgs is a scheduled callback's job, run when it is due.
type dueArgs struct {
	CallbackID string `json:"callback_id"`
}

// Kind implements river.JobArgs.
func (dueArgs) Kind() string { return "callback_due" }

// dueWorker hands a due callback to the routing node's router.
type dueWorker struct {
	river.WorkerDefaults[dueArgs]
	s *Service
}

// errNoRouter is returned while the routing node has no router set (it is
// starting or stopping): the job is tried again.
var errNoRouter = errors.New("callbacks: no router on this node yet")

// Timeout implements river.Worker: queueing is quick; the call back itself
// is the routing engine's.
func (w *dueWorker) Timeout(*river.Job[dueArgs]) time.Duration { return 30 * time.Second }

// Work implements river.Worker. A cancelled callback is dropped; any
// other is marked queued, then handed to the router (a retry after a
// failure hands it again, which the router takes as already queued).
func (w *dueWorker) Work(ctx context.Context, job *river.Job[dueArgs]) error {
	cb, err := w.s.Get(ctx, job.Args.CallbackID)
	if errors.Is(err, crmcore.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if cb.State == crmcore.CallbackStateCancelled || cb.State == crmcore.CallbackStateDone {
		return nil
	}
	route := w.s.routerFn()
	if route == nil {
		return errNoRouter
	}
	if _, err := w.s.pool.Exec(ctx, `update callbacks set state = 'queued' where id = $1 and state = 'scheduled'`, cb.ID); err != nil {
		return mapErr("queue", err)
	}
	cb.State = crmcore.CallbackStateQueued
	return route(ctx, cb)
}
