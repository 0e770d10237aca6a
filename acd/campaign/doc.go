// Package campaign runs outbound campaigns: a list of contacts (a CRM
// segment, or a CSV file read by ParseCSV) dialled in preview,
// progressive or predictive mode under the rules outbound calling must
// keep: calling windows in the contact's local time, a do-not-call list,
// retry rules, and a cap on abandoned calls. It decides and counts; it
// dials nothing itself. The caller (the wiring around the ACD engine, or
// package acd/sim) places the calls, reports what became of them, and
// writes each attempt's record as an interaction.
//
// # A dial's life
//
// Pace says how many dials to start now; Next hands out each one (a
// contact, the number the dial plan approved, a dial id). The caller
// dials; when someone answers, answering-machine detection on the
// answered party's audio (the media layer's) says who, and Answered
// reports it (an undecided detection counts as a person: nobody is
// dropped). A person must be connected to an agent within the grace
// (2 s by default), else they hear the abandon prompt (Prompts.Abandon)
// and the call is released; a machine is dropped or given the machine
// prompt (Config.AMD). Finish reports the result: connected, abandoned,
// machine, busy, no-answer or failed (or out-of-window-later for a
// preview whose window closed before the agent dialled). Each contact
// moves through an explicit state machine (State: pending, dialing,
// retry, done): a result either schedules the next attempt by its retry
// rule, within MaxAttempts, or finishes the contact. Every dial, and
// every contact finished without one (dnc, uncallable), leaves an
// Attempt record, taken with Records.
//
// # What may be dialled, and when
//
// Every number passes the dial plan (package acd/dialplan, role
// campaign) and the do-not-call list (DNC) just before it is dialled,
// retries included, so that a number added to either since the list was
// loaded is not called. A number is called only when the calling window
// (default 09:00 to 21:00, Monday to Saturday) is open in its local
// time: the zone of the contact when the list gives one, else every zone
// phonenumbers knows for the number's prefix, and the window must be
// open in all of them at once (a number whose prefix spans zones is
// called only when it is within hours everywhere it may ring). A number
// with no known zone is never called unless its contact carries one.
// Contacts outside their window wait, in their turn, until it opens.
//
// # Abandoned calls
//
// A call is abandoned when a person answered and no agent was connected
// within the grace; a connection after the grace still counts as
// abandoned (Attempt.Late). The rate is abandoned calls over calls
// answered by a person, over a rolling window kept in 1440 slots. The
// UK rule (Ofcom) caps it at 3 % per campaign over 24 hours, the default
// window; the US rule (TCPA) at 3 % per campaign over 30 days: set
// Abandon.Window to 720h there. Calls answering machines take are not
// in the rate.
//
// # Pacing
//
// Preview dials nothing by itself: agents pull contacts with Next.
// Progressive dials one number per free agent, the agent reserved first,
// so nobody answers to silence. Predictive dials ahead: it keeps enough
// lines dialling that the people expected to answer match the agents
// expected free by then, scaled by a ratio (Pacing.Dials gives the
// formula). The ratio is steered by a controller: up a step for every
// call connected within the grace, down for every abandoned one by a step
// sized so that it settles where the abandonment rate equals the target
// (Abandon.Target, half the cap by default). As the rolling rate climbs
// from the target to the cap, dialling ahead shrinks to nothing; at the
// cap and above, predictive dials as progressive does (one line per idle
// agent, which abandons nobody) until the rate is back under it. Until
// enough dials are measured it dials InitialRatio lines per free agent.
// Lines in progress never exceed MaxLinesPerAgent per ready agent.
//
// # Concurrency and time
//
// A Campaign is safe for concurrent use. It starts no goroutine and
// reads no clock: every method that depends on time takes now, so that
// runs under a fake clock (the simulator's) are deterministic. Next asks
// the dial plan and the do-not-call list (which may do I/O) without
// holding the campaign's lock; the contact it is asking about is out of
// every queue meanwhile, so no other Next hands it out.
package campaign
