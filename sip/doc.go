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
//     customer numbers through the trunk; with WithDialPolicy a leg bound
//     for the trunk (a number, or a URI naming the trunk) is sent only if
//     the dial plan allows it for DialOptions.Role, in the E.164 form the
//     plan returns, and otherwise fails with ErrDialDenied before any
//     INVITE. A provisional response with SDP
//     (a 183 with the far end's ringback or announcement) points the
//     ringing leg's RTP at that address and codec and starts its receive
//     loop, so the early media reaches the leg's Session before the 200
//     (DialOptions.OnEarlyMedia hands the ringing leg out); the 200's SDP
//     is applied again and wins. 180/183 without SDP are only waited
//     through; 4xx–6xx map to ErrBusy, ErrNoAnswer or ErrRejected.
//   - Registrar (registrar.go): REGISTER with digest authentication, the
//     interval bounded by Config.MinExpiry (423 below) and MaxExpiry, the
//     bindings kept in a BindingStore (PostgreSQL in serve, so a restart
//     or another node reaches registered phones). A REGISTER's Path
//     (RFC 3327, path.go: every Path header in order, at most
//     maxPathURIs sip:/sips: URIs, else 400) is stored with the bindings it
//     adds and echoed in the 200 to a UA that sent Supported: path. Dial
//     rings such a binding with its Path as Route headers, so the INVITE
//     goes to the first (the edge the phone registered through); the
//     dialog's later requests follow the 200's Record-Route. A Path is
//     accepted from any registering client: like the Contact, it only
//     steers calls to that client's own user.
//   - Digest authentication (auth.go, nonce.go) of REGISTERs and untrusted
//     INVITEs, before anything else is done for them: one challenge per
//     Config.DigestAlgorithms (default SHA-256, RFC 7616, then MD5),
//     qop=auth. Nonces are stateless: issue time,
//     salt and an HMAC under a per-process key over the realm and the
//     client's address, valid 30 s (then stale=true). The digest-uri must
//     name the Request-URI; each use of a nonce must raise its nonce count
//     (a bounded table of nonces that authenticated), so a captured request
//     cannot be replayed, from its source or another. Responses are
//     compared in constant time against the stored HA1 (Credentials: the
//     password itself is never stored); failures are counted per client
//     address (see "Behind a SIP edge proxy").
//   - Limits (limit.go, limit_udp.go, limit_tcp.go): requests without valid
//     credentials are rate-limited per client address (a bounded table of
//     token buckets); over UDP the excess is dropped before parsing, so a
//     flood costs neither memory nor sipgo transactions (except datagrams
//     from an edge proxy, limited per client after parsing). TCP/TLS listeners
//     cap connections in all and per source, close a connection that does
//     not authenticate within Config.TCPIdleTimeout, and retry failed
//     accepts after a pause. Every transport caps a message at 16 KiB.
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
// legs. Only legs whose SDP address is believable share them (medialeg.go:
// a caller whose SDP address is its INVITE's source, an outbound leg to
// the trunk). Every other leg — behind NAT, an agent's phone, a leg whose
// remote address is already taken on every shared socket, every leg when
// the option is 0 — binds its own even RTP port and RTCP on port+1 from
// the rest of the range (released on hang-up; exhaustion answers 503),
// with strict, symmetric RTP: it learns the peer's source from its first
// packet, sends there and drops everyone else's (package media, "Shared
// sockets, NAT and strict RTP"). Sessions only see media.Transport, so
// either layout is the same to them. An offer whose connection address RTP
// cannot or must not go to (another address family than the media
// address, multicast, broadcast, unspecified outside a re-INVITE's hold)
// is answered 488.
// An outbound (UAC) leg starts pending, with no remote address, and gets
// it from the first SDP answer it sees — a 183's early media or the 200 —
// moving when a later one differs.
//
// # Failures of one call
//
// A panic in one call's code — the call handler, its media, a dialog
// goroutine, the SIP handler of its request — is recovered where it
// happens (panics.go): logged with the call's ids and stack, counted in
// switchboard_sip_panics_total, and that call alone is ended (500 while it
// rings, BYE once answered).
//
// With WithNumberFilter an INVITE to a number nobody configured is
// answered 404 and handed to the refusal handler, not answered into
// silence. The gateway's UDP requests leave from its SIP listener's
// socket (udproute.go).
//
// # Safety of outside input
//
// Values copied from outside (CRM names, CTI, caller ids) pass through
// sanitizeHeaderValue/sanitizeUser before they reach a header. UDP
// datagrams that sipgo cannot parse (or that lack mandatory headers) are
// answered with a stateless 400 by badRequestConn and never reach sipgo.
//
// # Behind a SIP edge proxy
//
// Behind an edge proxy (Kamailio, deploy/kamailio) every request arrives
// from the edge's address. With the edge listed in Config.EdgeProxies,
// each decision made per source — the failed-digest lockout, the rate of
// unauthenticated requests, the address a digest nonce is bound to, and
// Config.TrustedSources for INVITEs under RequireAuth — is made per
// client address instead (edge.go): for a request from an edge, the
// address the edge stamped on the Via just below its own (RFC 3581
// received, else that Via's host; rport, else its port); for any other
// request, its transport source. Only the transport source being an edge
// makes that Via count: anyone else's Vias are ignored, since anyone can
// write them. A client may write received and rport itself; the edge
// rewrites the last of each, which is the one read, and a parameter named
// in two spellings is refused. A request from an edge without a usable
// client Via is answered 400 and counted (refused_total, reason
// edge_via), except the requests an edge sends on its own with its Via
// alone (OPTIONS probes, hop-by-hop CANCEL and ACK), whose client is the
// edge. The edge is not trusted for being an edge: an INVITE through it is
// authenticated under RequireAuth unless its client is a trusted source,
// so a trunk behind the edge is listed by its own address. UDP datagrams
// from an edge skip the pre-parse drop (the client is known only from the
// Vias) and get 503 when their client is over its rate. The edge's TCP
// connections count toward the connection limits like a trusted
// source's. Responses follow the Vias back through the edge, and
// registrations store the phone's Contact with the Path the edge added
// (its own URI, the phone's source address in a received parameter), so
// a phone behind NAT is rung through the edge, which sends the INVITE to
// that address.
package sip
