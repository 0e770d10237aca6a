package main

import (
	"context"

	"switchboard/crmcore/callbacks"
)

// callbackWorkers is how many due callbacks the routing node queues at
// once.
const callbackWorkers = 4

// startCallbacks makes this routing node the one that calls customers
// back: due scheduled callbacks come to its journey, and once the engine
// routes, every callback still owed (a predecessor stopped or died before
// calling back) is queued again with its place.
func (r *routing) startCallbacks(ctx context.Context) {
	if r.callbacks == nil {
		return
	}
	r.callbacks.SetRouter(r.queueCallback)
	if err := r.jobs.AddQueue(callbacks.Queue, callbackWorkers); err != nil {
		r.log.Error("callbacks: due callbacks not worked here", "err", err)
	}
	go func() {
		select {
		case <-r.routes:
		case <-ctx.Done():
			return
		}
		n, err := r.callbacks.Requeue(ctx, r.queueCallback)
		if err != nil && ctx.Err() == nil {
			r.log.Error("callbacks: owed callbacks not queued again", "err", err)
			return
		}
		if n > 0 {
			r.log.Info("callbacks: owed callbacks queued again", "callbacks", n)
		}
	}()
}

// stopCallbacks stops taking due callbacks here; they wait in PostgreSQL
// for the next routing node.
func (r *routing) stopCallbacks(ctx context.Context) {
	if r.callbacks == nil {
		return
	}
	r.callbacks.SetRouter(nil)
	if err := r.jobs.RemoveQueue(ctx, callbacks.Queue); err != nil {
		r.log.Warn("callbacks: stopping the due callbacks", "err", err)
	}
}
