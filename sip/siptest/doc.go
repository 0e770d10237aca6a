// Package siptest provides a real SIP phone for tests: a sipgo user agent on
// loopback that registers with digest authentication, answers or refuses
// the calls it is sent, places calls, and carries G.711 RTP with RFC 4733
// DTMF through the gateway's own media session. It stands in for an agent's
// desk phone or a caller in integration and end-to-end tests. Calls it
// places follow early media (a provisional response with SDP) and keep
// what they heard before the answer.
//
// Every call of a Phone owns one RTP session goroutine, ended by the call's
// hang-up or by the test's cleanup.
package siptest
