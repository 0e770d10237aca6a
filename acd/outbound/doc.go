// Package outbound is the dialer: it runs outbound campaigns (package
// acd/campaign decides what to dial and when) over real calls, and is the
// CRM API's campaign runner (crmapi.CampaignRunner).
//
// # A dial's life
//
// Each running progressive or predictive campaign has one goroutine
// that dials. Every pacing step it asks the engine for the campaign
// queue's staff, asks the campaign how many dials to start, and hands
// each out to a goroutine of its own. Before a
// number is dialled its interaction record is on disk (outcome in
// progress), so that a crash leaves no dial without one. The Phone
// dials it and, once it is answered, says by answering-machine detection
// who answered:
//   - nobody (busy, no answer, failed): the record is completed with
//     that result;
//   - a machine: dropped, or given the campaign's machine message, then
//     the record is completed (result machine);
//   - a person (or a detection that could not tell: nobody is dropped):
//     the Connector hands the call to the campaign's queue, ahead of
//     every inbound call, and the engine routes it like any call. The
//     grace (2 s by default) starts at the answer: a call still waiting
//     when it ends is released from the queue (Engine.Release), hears the
//     abandon message and is hung up. The engine's record of the call
//     completes the interaction (result connected, or abandoned).
//
// # Preview
//
// A preview campaign dials nothing by itself: an agent asks for the next
// contact (Preview), sees it with the CRM's record of the number, and
// dials it (DialPreview) with the engine's click-to-dial: the agent's
// endpoint rings first, then the number. The contact is the agent's until
// dialled, or for ten minutes; then it goes back to the list. The
// engine's record of the agent's call completes the dial's record: the
// customer reached (connected), busy, not answering, or the dial failed.
//
// The dialer follows the engine's events to learn, as it happens, that
// an agent answered one of its calls (the campaign counts it connected,
// late when after the grace) and when it ended (its handle time feeds
// predictive pacing).
//
// # State
//
// Campaigns, their lists and the do-not-call list are kept in the CRM
// (Store). A campaign is created paused; its state survives a restart,
// and the contacts it finished are not called again. The abandonment
// rate's rolling window and the pacing measurements start afresh at a
// restart.
//
// # Concurrency
//
// A Manager is safe for concurrent use. Its campaigns' goroutines and
// dials end with the context given to Run.
package outbound
