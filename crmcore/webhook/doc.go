// Package webhook delivers the CRM's events to outside systems over HTTP:
// subscriptions per event type, an outbox written in the same transaction
// as the data, signed POSTs retried with backoff, a log of every attempt,
// and replay.
//
// # Flow
//
//	data transaction (pgstore) ──► webhook_events (outbox) ──NOTIFY──► dispatcher
//	  ticket created/updated,        one row per event, only        │ one transaction: take a batch
//	  interaction completed …        if an active subscription      │ (FOR UPDATE SKIP LOCKED), insert
//	                                 wants its type                 │ one river job per (event,
//	                                                                │ subscription), mark fanned out
//	                                                                ▼
//	                     river workers (river_job, same database) ──► POST to the subscription's URL
//	                        retries with backoff on any non-2xx       one webhook_deliveries row per attempt
//
// An event is recorded by the transaction that changes the data
// (crmcore/pgstore writes the outbox), so it exists exactly when the data
// was committed; a transaction nobody subscribed to writes nothing. The
// insert notifies WebhookNotifyChannel at commit; the dispatcher listens
// on a connection of its own and also polls (WithPollInterval), so a lost
// notification or connection only delays delivery. Several processes may
// dispatch at once: each batch is locked with SKIP LOCKED, and the jobs of
// an event are inserted in the transaction that marks it fanned out
// (river's InsertManyTx), so an event gets its jobs exactly once.
//
// A delivery is a river job with a delivery id chosen at fan-out. Every
// attempt — retries, and an attempt cut short by a stop or a crash and
// tried again by the next process — carries the same id in
// X-Switchboard-Delivery: delivery is at least once, and a receiver that
// remembers the ids it took gets each event once. The body is an Envelope
// (the event's id, type, time and data); X-Switchboard-Event names the
// type; X-Switchboard-Timestamp is the Unix time of the attempt and
// X-Switchboard-Signature is "sha256=" and the hex HMAC-SHA256, under the
// subscription's secret, of the timestamp, a dot and the body (see Sign
// and Verify). Receivers should check it in constant time and refuse old
// timestamps.
//
// An attempt succeeds on a 2xx answer. Anything else — another status, a
// refused connection, a timeout (WithRequestTimeout) — is logged and
// retried by river's retry policy (attempt⁴ seconds, or WithBackoff)
// until WithMaxAttempts. An attempt cut short by a stop is logged but not
// counted: river gives it back, so the next attempt bears its number. Redirects are not followed, only http and https
// URLs are accepted, and at most MaxResponseBody of an answer is read. A
// delivery whose subscription was deleted or deactivated is cancelled. A
// replay (ReplayDelivery, ReplayEvent) is a new delivery with a new id.
//
// Deliveries are jobs of the process's job runner (crmcore/jobs): New
// registers their worker, the runner works them, and a stop lets the
// attempts in flight end within StopGrace before it cancels them.
package webhook
