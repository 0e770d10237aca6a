// Package media is the gateway's RTP media engine: G.711 μ-law/A-law (bit
// exact with the ITU reference, transcoding between them), RFC 4733
// telephone-event DTMF (decode with end-packet redundancy, encode), WAV
// reading and writing, prompt playback paced at 20 ms with barge-in, stereo
// recording, the RTP port pool and UDP transports, and RTCP quality.
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
package media
