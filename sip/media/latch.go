package media

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
)

// ErrAddrFamily is returned when a remote address cannot be reached from
// the local socket: an IPv6 peer on an IPv4 socket, or an IPv4 peer on an
// IPv6 socket that is not the dual-stack wildcard.
var ErrAddrFamily = errors.New("media: remote address not reachable from the local socket's address family")

// ErrNotUnicast is returned for a remote address packets must never be
// sent to: multicast, the IPv4 broadcast address, or an unspecified one.
var ErrNotUnicast = errors.New("media: remote address is not a unicast address")

// CanSend reports whether RTP may be sent from a socket bound to local to
// remote: remote is a unicast address (not unspecified, multicast, the
// IPv4 broadcast or "this network" 0.0.0.0/8, and without an IPv6 zone)
// of local's family, or an IPv4 address when local is the IPv6 wildcard
// (a dual-stack socket).
func CanSend(local, remote netip.Addr) error {
	remote = remote.Unmap()
	switch {
	case !remote.IsValid() || remote.IsUnspecified() || remote.IsMulticast() || remote.Zone() != "":
		return ErrNotUnicast
	case remote.Is4() && (remote == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || remote.As4()[0] == 0):
		return ErrNotUnicast
	}
	local6 := local.Is6() && !local.Is4In6()
	switch {
	case !local6 && !remote.Is4():
		return ErrAddrFamily
	case local6 && remote.Is4() && !local.IsUnspecified():
		return ErrAddrFamily
	}
	return nil
}

// latch is the strict, symmetric RTP of a dedicated port pair (Asterisk's
// strictrtp with comedia). The first valid RTP packet teaches it the
// peer's source address and SSRC; from then on RTP from any other address,
// or with another SSRC, is dropped, and what the leg sends goes to that
// source, wherever the SDP said the peer was (a NAT rewrites the address;
// RTP comes back through the mapping the peer's packets opened). RTCP is
// accepted only from the learnt source's IP, and sent back to where it
// came from. Until the source is learnt, packets go to the SDP address,
// unless the leg was told not to trust it (ExpectRemote).
//
// A new offer/answer (SetRemote, ExpectRemote) restarts learning: the SSRC
// always (a re-INVITE may restart the peer's stream), the address when the
// SDP address changed.
type latch struct {
	cur atomic.Pointer[latchState] // nil: nothing known yet
	mu  sync.Mutex                 // serialises changes of cur
}

// latchState is one immutable view of a latch.
type latchState struct {
	sdp  netip.AddrPort // where the SDP says the peer's RTP is (invalid: unknown)
	send bool           // send to sdp until a source is learnt
	src  netip.AddrPort // the learnt RTP source (invalid while learning)
	ssrc uint32         // the learnt SSRC, when has
	has  bool
	rtcp netip.AddrPort // the learnt RTCP source (invalid: port+1 of the RTP destination)
}

// set records a new SDP address; send says whether packets may go there
// before the source is learnt.
func (l *latch) set(sdp netip.AddrPort, send bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := &latchState{sdp: sdp, send: send}
	if old := l.cur.Load(); old != nil && old.sdp == sdp {
		next.src, next.rtcp = old.src, old.rtcp // same peer: only the SSRC is learnt again
	}
	l.cur.Store(next)
}

// rtp reports whether an RTP packet from from is the peer's, learning the
// source from the first valid packet.
func (l *latch) rtp(from netip.AddrPort, pkt []byte) bool {
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return false
	}
	from = unmap(from)
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	st := l.cur.Load()
	if st != nil && st.has {
		return from == st.src && ssrc == st.ssrc
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st = l.cur.Load()
	switch {
	case st == nil:
		st = &latchState{}
	case st.has:
		return from == st.src && ssrc == st.ssrc
	case st.src.IsValid() && from != st.src:
		return false // the SSRC is learnt again from the same source only
	}
	next := *st
	next.src, next.ssrc, next.has = from, ssrc, true
	if next.rtcp.IsValid() && next.rtcp.Addr() != from.Addr() {
		next.rtcp = netip.AddrPort{}
	}
	l.cur.Store(&next)
	return true
}

// rtcpFrom reports whether an RTCP packet from from is the peer's: from
// the learnt source's IP (or, before that, the SDP address's IP). The
// first one accepted sets where RTCP is sent.
func (l *latch) rtcpFrom(from netip.AddrPort) bool {
	from = unmap(from)
	st := l.cur.Load()
	if st == nil {
		return false
	}
	peer := st.src
	if !peer.IsValid() {
		peer = st.sdp
	}
	if !peer.IsValid() || from.Addr() != peer.Addr() {
		return false
	}
	if st.rtcp == from {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur := l.cur.Load(); cur == st {
		next := *st
		next.rtcp = from
		l.cur.Store(&next)
	}
	return true
}

// dest returns where RTP (rtcp false) or RTCP goes, false while there is
// nowhere to send.
func (l *latch) dest(rtcp bool) (netip.AddrPort, bool) {
	st := l.cur.Load()
	if st == nil {
		return netip.AddrPort{}, false
	}
	if rtcp && st.rtcp.IsValid() {
		return st.rtcp, true
	}
	d := st.src
	if !d.IsValid() {
		if !st.send {
			return netip.AddrPort{}, false
		}
		d = st.sdp
	}
	if !usable(d) {
		return netip.AddrPort{}, false
	}
	if rtcp {
		if d.Port() == 65535 {
			return netip.AddrPort{}, false
		}
		d = netip.AddrPortFrom(d.Addr(), d.Port()+1)
	}
	return d, true
}

// remote returns the learnt source, or the SDP address before that.
func (l *latch) remote() netip.AddrPort {
	st := l.cur.Load()
	switch {
	case st == nil:
		return netip.AddrPort{}
	case st.src.IsValid():
		return st.src
	}
	return st.sdp
}
