// Package jobs is the process's one durable job queue, river on the CRM's
// PostgreSQL: webhook deliveries, the report roll-ups and scheduled
// callbacks are its jobs.
//
// # One client per process
//
// Each component registers its job kinds with a Runner (Register: the
// worker, its queue and how many run at once here; AddPeriodic), then the
// process opens it (Open: the river client exists and jobs can be
// inserted) and starts it (Start). Registration is closed once the client
// exists, because river reads its workers and periodic jobs when the
// client is built.
//
// A job is a row in river's table, inserted by the transaction that
// creates the work (the webhook outbox's fan-out, the scheduling of a
// callback), so it exists exactly when that transaction commits. A job
// running in a process that dies is tried again after WithRescueAfter by
// another; workers are idempotent or check their own rows first.
//
// # Where a job runs
//
// A queue registered with workers is worked by every process. A queue
// registered with none is worked only where AddQueue adds it: the
// routing node adds the queues whose jobs need the routing engine when it
// starts to lead and removes them when it stops, so those jobs wait in
// PostgreSQL through a takeover and the next leader runs them.
//
// Periodic jobs are inserted by whichever process river elects leader of
// the job queue (not the routing leader), so every process registers the
// same ones.
//
// River's tables are created by Migrate, after pgstore.Migrate.
package jobs
