// Package voice is the journey of an inbound phone call around the
// routing engine: the IVR flow of the dialled number, the caller's CRM
// lookup, the queue (or voicemail, or a hang-up), what the caller hears
// while waiting (position, expected wait, music on hold), the post-call
// survey, and the interaction record of every call.
//
// The journey is a channel of the engine like any other: it hands the
// engine an acd.CallRequest with the caller's leg and follows the engine's
// events; the engine knows nothing of IVR flows or the CRM. The caller's
// number is resolved (E.164, country, time zone) once, where the call
// enters the journey, and the result travels with the call.
//
// # Concurrency
//
// Handle runs on the telephony side's goroutine for the call and returns
// once the call is queued or has ended. Run is the journey's own loop: it
// writes every interaction the engine completes through the durable
// recorder and drives the waiting callers' announcements and music.
// AfterCall starts the survey in a goroutine tied to the caller's leg.
package voice
