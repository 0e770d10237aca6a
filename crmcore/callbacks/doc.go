// Package callbacks keeps the callbacks owed to customers in PostgreSQL,
// so that none is lost when the routing node restarts or another takes
// over, and calls the scheduled ones when they are due.
//
// # Lifecycle
//
//	IVR: caller asks ──Keep──► queued ──Router──► virtual caller in the engine ──► called back: done
//	REST: Schedule ──► scheduled + due job (one transaction)
//	                       │ due (job queue "callbacks", routing node only)
//	                       ▼
//	                    queued ──Router──► virtual caller … done
//	new routing node: Requeue ──► every queued callback not done, with its queue time
//
// A callback is done when its interaction (InteractionID) has a final
// outcome: the record of the call back completes it, so "done" is read
// from the record, never written apart from it, and a routing node that
// dies between the call and a mark cannot leave a callback made twice.
// The routing engine ends a virtual caller it never called (a shutdown)
// with the outcome callback requested, which the CRM's writer lets the
// later call back replace.
//
// The Router is the routing node's voice journey: it queues the callback
// as a virtual caller under its CallID, keeping its place by RequestedAt,
// and takes a callback already queued as done. The due jobs are worked
// only where the queue Queue is added (the routing node, while it
// leads), so a due callback waits in PostgreSQL through a takeover.
package callbacks
