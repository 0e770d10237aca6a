// Package sip is Switchboard's SIP/WebRTC gateway: every call enters here
// and all audio lives here.
//
// # Structure
//
//   - Gateway (gateway.go, handlers.go): a sipgo UserAgent listening on UDP,
//     TCP and optionally TLS. Inbound INVITEs are answered (while
//     Config.AnswerDelay runs either 180 Ringing without SDP or, with
//     Config.EarlyMedia, 183 Session Progress carrying the SDP answer and
//     Config.Ringback looped over RTP, like Asterisk's Progress() +
//     Playtones(ring); then 200 repeating that same SDP, RFC 3264 session
//     id and version unchanged) and handed to the call handler in their own
//     goroutine. A CANCEL while ringing gets 487 (sipgo) and releases the
//     leg and its RTP. Dial rings registered phones (every contact in
//     parallel, first 200 wins, the other forks are CANCELled), SIP URIs or
//     customer numbers through the trunk. A provisional response with SDP
//     (a 183 with the far end's ringback or announcement) points the
//     ringing leg's RTP at that address and codec and starts its receive
//     loop, so the early media reaches the leg's Session before the 200
//     (DialOptions.OnEarlyMedia hands the ringing leg out); the 200's SDP
//     is applied again and wins. 180/183 without SDP are only waited
//     through; 4xx–6xx map to ErrBusy, ErrNoAnswer or ErrRejected.
//   - Registrar (registrar.go): REGISTER with MD5 digest (qop=auth), nonce
//     per Call-ID, stale nonces, constant-time comparison, per-source
//     failure counting. Secrets come from the Credentials interface.
//   - Call (call.go): one leg with an explicit state machine
//     (new → ringing → answered ⇄ held → ended, see callTransitions). Its
//     Context ends on hang-up from either side.
//   - Media lives in sip/media (G.711, RFC 4733, WAV, RTP sessions, port
//     pool, playback, recording) and SDP offer/answer in sip/sdp.
//   - WebRTC legs (webrtc.go) use pion with only PCMU/telephone-event so
//     they bridge to SIP legs without transcoding.
//
// # Concurrency
//
// sipgo runs every request in its own goroutine. Dialog state is matched by
// our own map (dialog id → *Call) under Gateway.mu: ACKs are routed to the
// blocked RespondSDP concurrently, BYE looks up server then client dialogs
// and answers 481 otherwise, and re-INVITEs (To-tag present) are matched to
// the existing dialog here because sipgo does not. A BYE that arrives before
// the ACK ends the call normally.
//
// Each leg owns one media goroutine set, all ended by the call's context:
// the RTP session (media.Session.Run; the packets come from the shared
// sockets' or the port pool's readers, see package media) plus its RTCP
// reporter; playback runs in the caller of Play (inbound ringback is a
// looped Play by the INVITE goroutine, stopped before the 200 is sent);
// recordings are written on a clock shared by every recording (package
// media). Bridging only swaps atomic peer pointers on both
// sessions: the reader of leg A's packets writes straight into leg B's socket
// under B's send mutex, with pooled per-session buffers and no per-packet
// allocation.
//
// # RTP port layout
//
// With Config.RTPSharedSockets > 0 (serve's default is 2) the bottom of
// the port range holds that many shared socket pairs (media.MuxSet): legs
// share them, demultiplexed by the remote address from SDP, reading with
// recvmmsg (on a blocking descriptor outside Go's poller, a millisecond's
// packets at a time) and sending every packet relayed or played during a
// batch with one sendmmsg; prompts are paced by one media.Pacer for all
// legs. A leg whose remote address is already taken
// on every shared socket, and every leg when the option is 0, binds its own
// even RTP port and RTCP on port+1 from the rest of the range (released on
// hang-up; exhaustion answers 503). Sessions only see media.Transport, so
// either layout is the same to them.
// An outbound (UAC) leg starts pending, with no remote address, and gets
// it from the first SDP answer it sees — a 183's early media or the 200 —
// moving when a later one differs.
//
// # Safety of outside input
//
// Values copied from outside (CRM names, CTI, caller ids) pass through
// sanitizeHeaderValue/sanitizeUser before they reach a header. UDP
// datagrams that sipgo cannot parse (or that lack mandatory headers) are
// answered with a stateless 400 by badRequestConn and never reach sipgo.
package sip
