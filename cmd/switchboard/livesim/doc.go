// Package livesim puts simulated traffic on a running Switchboard over the
// real protocols, so that a newcomer sees queues fill, the wallboard move
// and interactions land without owning a phone:
//
//   - simulated callers place SIP calls to the IVR's numbers, key their way
//     through the menus with RFC 4733 DTMF, wait, and hang up impatiently
//     (exponential patience) unless an agent picks up;
//   - simulated agents log in over the REST API, connect the CTI WebSocket,
//     go ready, register a SIP phone (digest auth) that auto-answers and
//     talks for a lognormal time, and wrap up with a disposition.
//
// For load tests (Options.SIPp, `make load-journey`) the callers are SIPp
// (sip-tester) instead: one SIPp process places every call at the given
// rate, talks over RTP with rtp_stream, presses 1 by SIP INFO and hangs up
// after the IVR and a talk time; the agents then talk until the caller
// hangs up, and the report checks that every call got its interaction
// record. It also says why SIPp's failed calls failed (and which calls the
// server turned away), how long the server's goroutines waited for a CPU
// and where the machine's CPU went (server, SIPp, simulator, the rest):
// the generators share the machine with the server under test.
//
// The simulator runs its own SIP user agent: a sip.Gateway on a local port,
// whose inbound calls are the agents' phones ringing and whose Dial places
// the callers' calls. Every goroutine ends with the context given to Run.
// Traffic goes only to the addresses given (loopback by default).
package livesim
