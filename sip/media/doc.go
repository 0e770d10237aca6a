// Package media is the gateway's RTP media engine: G.711 μ-law/A-law (bit
// exact with the ITU reference, transcoding between them), RFC 4733
// telephone-event DTMF (decode with end-packet redundancy, encode), WAV
// reading and writing, prompt playback paced at 20 ms with barge-in, stereo
// recording, conference mixing, answering-machine detection, the RTP port
// pool and UDP transports, and RTCP quality.
//
// # Sessions and concurrency
//
// A Session is the media endpoint of one call leg. Its Run method lasts as
// long as the leg; packets reach HandlePacket, which detects DTMF, keeps
// the statistics, feeds audio taps (recording, listen-in) and, when the session
// is bridged (SetPeer), relays each packet to the peer. Relaying is the hot
// path: pooled buffers, no heap allocation per packet, no transcoding when
// both legs use the same codec. Everything that sends — relayed packets,
// playback, generated DTMF — goes through one mutex-guarded sender that
// rewrites SSRC, sequence number and timestamp, so the far end sees one
// continuous stream across hold, transfer and prompt changes. Run ends when
// its context (the call's) is cancelled or the transport closes; every
// other method is safe for concurrent use.
//
// Who calls HandlePacket depends on the transport. MuxSet is the RTP port
// layout for many calls: a few shared sockets, each carrying many legs told
// apart by remote address, read and written in batches (recvmmsg/sendmmsg)
// on one goroutine per socket. A dedicated port pair (PortPool, for legs
// whose remote address is taken on every shared socket, or behind NAT) is
// read, on Linux, by its pool's reader: a few epoll sets, one goroutine
// each, so that a thousand such legs do not put a thousand goroutines on
// the run queues fifty times a second (elsewhere Run reads its socket).
// Run then only waits for the end of the leg. Pacer plays the
// audio of every prompt from one goroutine per core on a shared 20 ms
// clock, inside a MuxSet batch, instead of a goroutine and timer per leg.
// StereoRecorders share such a clock too (clockShard): each recording
// writes on its own phase of the clock, so a tick writes only a slice of
// the recordings and the writes of many calls never arrive at once.
//
// A panic while a session handles a received packet (in a digit callback,
// an audio tap) is recovered on the goroutine that delivered it: that
// session is closed and its OnPanic callback told, and the socket's reader
// goes on serving every other leg.
//
// # Shared sockets, NAT and strict RTP
//
// A shared socket tells its legs apart by the remote address the SDP
// gave, so it cannot learn where a leg's packets really come from: a
// caller behind NAT (or one that, like baresip by default, advertises an
// address it does not send from) would never be heard, and latching a
// shared socket's leg onto the first unknown source would hand one call's
// media to whichever leg is waiting. So package sip puts on a shared
// socket only the legs whose SDP address is believable — an inbound
// caller whose SDP address is the address its INVITE came from, an
// outbound leg to the trunk — and gives every other leg a dedicated port
// pair (PortPool). A dedicated pair runs strict, symmetric RTP (latch, as
// Asterisk's strictrtp with comedia): the first valid RTP packet teaches
// it the peer's source address and SSRC; RTP from any other address, or
// with another SSRC, is dropped from then on (no one else can inject DTMF
// or audio), RTCP is taken only from the source's IP, and everything the
// leg sends goes to that source, whatever the SDP said. A new offer or
// answer learns again: the SSRC always, the address when the SDP address
// changed. Until the source is learnt packets go to the SDP address —
// except for a peer told not to trust it (ExpectRemote: its signalling
// came from elsewhere, or a loopback media address cannot reach it), which
// is sent nothing before its first packet.
//
// No send path writes an address of the wrong family: CanSend says which
// remote addresses a socket may send to (unicast, of its family, or IPv4
// on the dual-stack IPv6 wildcard), SetRemote refuses the others, and a
// datagram for one is an error (ErrAddrFamily), never a panic.
//
// # Conferences
//
// A Mixer mixes conferences: three-way calls, consultation merges and
// supervisors who listen, whisper or barge in. Each Party of a Conference
// is a Session; its received audio reaches the conference through an audio
// tap into a jitter buffer of three frames (the oldest dropped beyond; an
// empty buffer is silence), and every 20 ms the mixer takes one frame
// from each buffer and sends each party, with WriteFrame in the party's
// own codec, the saturated sum of the parties that talk to it, never its
// own voice (mix-minus). A party talks to everyone (TalkToAll: barge),
// to nobody (TalkTo(): listen, mute) or to some parties only (TalkTo(agent):
// whisper); what it hears does not depend on its own mask. Masks change
// between two frames. Joining replaces the relay: Join clears the
// session's peer, and the peer's when it relays back, and while a session
// is a party nothing else may send it audio. A party whose session closes
// leaves by itself.
//
// The mixer's clock is sharded like the Pacer's (clockShard): one
// goroutine per shard, running only while the shard has conferences, and
// ticking four times per frame; each conference is mixed on its own one of
// those ticks (its phase), inside a batch of the mixer's MuxSet, so the
// work and the packets of many conferences are spread over the frame. The
// steady path allocates nothing. A frame is late when it is handed to its
// session more than half a frame after its due time on the conference's
// clock, or skipped because the shard fell more than three frames behind;
// Mixer.Stats counts both, and BenchmarkConferences reports the ratio
// for 200 three-party conferences over loopback UDP.
//
// # Answering-machine detection
//
// AMD decides whether an answered outbound call reached a human or a
// machine with the cadence rules and defaults of Asterisk's app_amd: each
// 20 ms frame is voice or silence by its mean amplitude, words are voice
// between silences, and a short greeting followed by silence is a human
// while a long greeting, too many words, a word too long or a long
// initial silence is a machine; past the analysis time it is not sure.
// It is a pure state machine fed frames in order, typically from an audio
// tap, with no goroutine and no allocation per frame.
package media
