// Package acd is the automatic call distributor: it owns every call's
// journey after the IVR and every agent's state, decides who gets which
// call, and explains why.
//
// # Concurrency
//
// Engine is an actor. One goroutine owns queues, waiting calls, offers and
// agent states; exported methods send it a command (a closure) and wait
// for the result, so every routing decision is race-free and, under a fake
// Clock, deterministic. The actor never blocks on I/O: ringing an agent
// (Ringer), bridging (Bridger), dialling (Dialer), taking voicemail and
// hanging up run in goroutines the engine spawns and tracks; they report
// back by posting commands. A caller's hang-up is noticed through its
// leg's Context (context.AfterFunc) and withdraws the call everywhere:
// pending rings are cancelled, reserved agents released. Timers (ring
// timeout, wrap-up, relaxation, max wait, sticky window, announcements,
// statistics ticks) come from the injected Clock and also post commands.
// Close cancels every goroutine and waits for them.
//
// # Events
//
// Every transition is published as a typed event (pointer to a struct in
// events.go) with a sequence number. Subscribe returns a bounded channel
// plus a snapshot consistent with it; publishing never blocks: a
// subscriber whose buffer is full receives ResyncRequired and its channel
// is closed, and it should subscribe again. Attach registers a Sink
// instead, called synchronously on the actor (no goroutine between a
// routing decision and its consumer); a sink that refuses an event is
// detached and should attach again. CallOffered carries all a
// screen pop needs (CallInfo with ANI, E.164, geography, IVR path and
// variables, the entry code's Data), the time waited, the routing reasons
// and the expected wait. InteractionCompleted carries the call's summary
// once wrap-up is over (disposition and notes included).
//
// # State machines
//
// Presence (chosen by the agent), AgentState (driven by calls) and
// CallState are explicit machines with transition tables (state.go);
// To(next) refuses edges not in the table.
//
// # Routing
//
// Routing is delegated to package routing: agents live in an index by
// skill; when a call arrives the best eligible idle agent is chosen by
// the queue strategy's weights, and when an agent becomes free the first
// waiting call it may take, in global order (priority, then time waiting),
// is offered to it. A missed or rejected offer releases the agent, counts
// toward the missed-offer rule (not-ready "missed" after Config.MissedOffers
// in a row) and sends the call back to the head of its queue for the next
// best agent. Relaxation steps lower levels, drop skills, widen geography
// or add an overflow queue's agents without losing the caller's place.
//
// # Explicit answer
//
// Ringer.Ring returns when the agent answers. For endpoints that are
// already connected and need the agent to accept in the desk (a WebRTC
// softphone), the desk calls Engine.Answer, which closes Offer.Accept;
// such a Ringer waits on it before returning the leg. Engine.Reject fails
// the offer at once.
//
// # Dial plan
//
// With WithDialPlan every number the engine would dial is checked first
// against package dialplan, for the role on whose behalf it is dialled
// (DialRole): click-to-dial and transfers to a number fail with
// ErrNotPermitted before anything rings, a callback number is refused at
// Enqueue (and by the IVR before the caller confirms it), and a queue's
// overflow to callback keeps a caller it may not call back waiting. The
// telephony adapter checks the same plan where it dials.
//
// # Simulation
//
// Quiet reports whether the engine is idle until something external
// happens, which lets package acd/sim drive the real engine with a fake
// clock deterministically.
package acd
