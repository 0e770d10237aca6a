package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// peerConn is a UDP socket on loopback that sends RTP as one stream.
type peerConn struct {
	t    *testing.T
	c    *net.UDPConn
	ssrc uint32
	seq  uint16
	ts   uint32
}

func newPeer(t *testing.T, ssrc uint32) *peerConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peerConn{t: t, c: c, ssrc: ssrc, seq: uint16(ssrc * 100), ts: ssrc * 1000}
}

func (p *peerConn) addr() netip.AddrPort { return p.c.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *peerConn) send(to netip.AddrPort, pt uint8, ts uint32, payload []byte) {
	p.t.Helper()
	p.seq++
	pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: p.seq, Timestamp: ts, SSRC: p.ssrc}, Payload: payload}).Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.c.WriteToUDPAddrPort(pkt, to); err != nil {
		p.t.Fatal(err)
	}
}

// audio sends one 20 ms PCMU frame.
func (p *peerConn) audio(to netip.AddrPort) {
	p.ts += FrameSamples
	p.send(to, uint8(PCMU), p.ts, make([]byte, FrameSamples))
}

// digit sends one RFC 4733 event for d (payload type 101): an update and
// three end packets.
func (p *peerConn) digit(to netip.AddrPort, d byte) {
	p.t.Helper()
	ev, ok := EventForDigit(d)
	if !ok {
		p.t.Fatalf("bad digit %q", d)
	}
	p.ts += 8 * FrameSamples
	p.send(to, 101, p.ts, DTMFEvent{Event: ev, Volume: 10, Duration: 160}.AppendTo(nil))
	for range 3 {
		p.send(to, 101, p.ts, DTMFEvent{Event: ev, Volume: 10, Duration: 480, End: true}.AppendTo(nil))
	}
}

// dedicatedLeg runs a Session on a dedicated port pair and returns it with
// its transport and the digits it recognises.
func dedicatedLeg(t *testing.T) (*UDPTransport, *Session, <-chan byte) {
	t.Helper()
	pool, err := NewEphemeralPortPool(loopback, 2)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	s := NewSession(tr, SessionConfig{Codec: PCMU, DTMFPayloadType: 101})
	digits := make(chan byte, 16)
	s.OnDigit(func(d byte) { digits <- d })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return tr, s, digits
}

func nextDigit(t *testing.T, digits <-chan byte) byte {
	t.Helper()
	select {
	case d := <-digits:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no digit recognised")
		return 0
	}
}

// TestStrictRTP: a dedicated port learns its peer's source and SSRC from
// the first packet and ignores DTMF from any other address, or from the
// right address with another SSRC; a new SDP address (re-INVITE) lets it
// learn again.
func TestStrictRTP(t *testing.T) {
	tr, s, digits := dedicatedLeg(t)
	caller := newPeer(t, 1)
	intruder := newPeer(t, 1) // same SSRC, other address
	if err := tr.SetRemote(caller.addr()); err != nil {
		t.Fatal(err)
	}
	caller.audio(tr.LocalAddr())
	intruder.digit(tr.LocalAddr(), '9')
	other := &peerConn{t: t, c: caller.c, ssrc: 2} // right address, other SSRC
	other.digit(tr.LocalAddr(), '8')
	caller.digit(tr.LocalAddr(), '5')
	if got := nextDigit(t, digits); got != '5' {
		t.Fatalf("first digit recognised %q, want '5' from the latched source", got)
	}
	if got := tr.Remote(); got != caller.addr() {
		t.Errorf("remote = %v, want the caller %v", got, caller.addr())
	}

	// The digit is recognised at its first packet; its end packets are
	// taken before the re-INVITE, or the first of them would be learnt
	// as the new source.
	waitUntil(t, "the caller's five packets are taken", func() bool { return s.Quality().PacketsReceived == 5 })

	// A re-INVITE moves the peer: the new source is learnt, the old ignored.
	if err := tr.SetRemote(intruder.addr()); err != nil {
		t.Fatal(err)
	}
	// The new source's first digit is awaited before the old one sends:
	// datagrams from two sockets may be read in either order.
	intruder.digit(tr.LocalAddr(), '3')
	if got := nextDigit(t, digits); got != '3' {
		t.Fatalf("digit %q after the re-INVITE, want '3'", got)
	}
	caller.digit(tr.LocalAddr(), '7')
	intruder.digit(tr.LocalAddr(), '4')
	if got := nextDigit(t, digits); got != '4' {
		t.Fatalf("digit %q from the old source after the re-INVITE, want '4' from the new", got)
	}
}

// TestSymmetricRTP: a leg told not to trust its SDP address (ExpectRemote)
// sends nothing until the peer's first packet, then answers to the
// packet's source — the address a NAT gave the peer.
func TestSymmetricRTP(t *testing.T) {
	tr, s, _ := dedicatedLeg(t)
	nat := newPeer(t, 1)
	if err := tr.ExpectRemote(netip.MustParseAddrPort("192.0.2.2:4000")); err != nil {
		t.Fatal(err)
	}
	if d, ok := tr.latch.dest(false); ok {
		t.Fatalf("destination %v before the peer sent anything", d)
	}
	if err := s.WriteFrame(make([]int16, FrameSamples)); err != nil {
		t.Fatal(err)
	}
	nat.audio(tr.LocalAddr())
	waitUntil(t, "the source is learnt", func() bool { return tr.Remote() == nat.addr() })
	if err := s.WriteFrame(make([]int16, FrameSamples)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, maxPacket)
	_ = nat.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, from, err := nat.c.ReadFromUDPAddrPort(buf); err != nil || from != tr.LocalAddr() {
		t.Fatalf("peer got %v from %v, want a packet from %v", err, from, tr.LocalAddr())
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCanSend(t *testing.T) {
	for _, tc := range []struct {
		local, remote string
		want          error
	}{
		{"127.0.0.1", "127.0.0.1", nil},
		{"127.0.0.1", "::1", ErrAddrFamily},
		{"127.0.0.1", "::ffff:10.0.0.1", nil},
		{"::1", "::1", nil},
		{"::1", "127.0.0.1", ErrAddrFamily},
		{"::", "127.0.0.1", nil},
		{"::", "2001:db8::1", nil},
		{"127.0.0.1", "224.0.0.1", ErrNotUnicast},
		{"127.0.0.1", "239.255.255.250", ErrNotUnicast},
		{"127.0.0.1", "255.255.255.255", ErrNotUnicast},
		{"127.0.0.1", "0.0.0.0", ErrNotUnicast},
		{"127.0.0.1", "0.1.2.3", ErrNotUnicast},
		{"::1", "ff02::1", ErrNotUnicast},
		{"::1", "::", ErrNotUnicast},
		{"::1", "fe80::1%eth0", ErrNotUnicast},
	} {
		t.Run(tc.local+"→"+tc.remote, func(t *testing.T) {
			if got := CanSend(netip.MustParseAddr(tc.local), netip.MustParseAddr(tc.remote)); !errors.Is(got, tc.want) {
				t.Errorf("CanSend = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSendWrongFamily: an IPv6 destination on an IPv4 socket is an error,
// never a panic, on every send path: a dedicated port's RTP and RTCP, a
// shared socket's batch (whose other datagrams still leave) and its legs.
func TestSendWrongFamily(t *testing.T) {
	v6 := netip.MustParseAddrPort("[::1]:4000")
	tr, _, _ := dedicatedLeg(t)
	if err := tr.SetRemote(v6); !errors.Is(err, ErrAddrFamily) {
		t.Errorf("dedicated SetRemote(%v) = %v, want ErrAddrFamily", v6, err)
	}
	if err := tr.rtcp.writeTo(make([]byte, 8), v6); !errors.Is(err, ErrAddrFamily) {
		t.Errorf("rtcp writeTo = %v, want ErrAddrFamily", err)
	}

	set, err := NewMuxSet(loopback, 0, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if _, err := set.NewLeg(v6); err == nil {
		t.Error("shared socket took an IPv6 leg on an IPv4 socket")
	}
	peer := newPeer(t, 1)
	ds := newDatagrams(2)
	ds[0].n, ds[0].addr = 12, v6
	ds[1].n, ds[1].addr = 12, peer.addr()
	if err := set.socks[0].rtp.writeBatch(ds); !errors.Is(err, ErrAddrFamily) {
		t.Errorf("writeBatch = %v, want ErrAddrFamily", err)
	}
	_ = peer.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := peer.c.Read(make([]byte, 64)); err != nil {
		t.Errorf("the batch's IPv4 datagram was not sent: %v", err)
	}
}

// TestSessionPanic: a panic in a digit callback, on a shared socket's
// reader, ends that leg only: the socket goes on serving its other legs.
func TestSessionPanic(t *testing.T) {
	set, err := NewMuxSet(loopback, 0, 1, 8)
	if err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- set.Run() }()
	defer func() { set.Close(); <-runDone }()

	bad, good := newPeer(t, 1), newPeer(t, 2)
	panicked := make(chan any, 1)
	legs := map[*peerConn]*Session{}
	digits := make(chan byte, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, p := range []*peerConn{bad, good} {
		l, err := set.NewLeg(p.addr())
		if err != nil {
			t.Fatal(err)
		}
		s := NewSession(l, SessionConfig{Codec: PCMU, DTMFPayloadType: 101})
		legs[p] = s
		go func() { _ = s.Run(ctx) }()
	}
	legs[bad].OnDigit(func(byte) { panic("boom") })
	legs[bad].OnPanic(func(v any, stack []byte) { panicked <- v })
	legs[good].OnDigit(func(d byte) { digits <- d })

	to := set.socks[0].LocalAddr()
	bad.digit(to, '1')
	select {
	case v := <-panicked:
		if v != "boom" {
			t.Errorf("panic value %v", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("panic not reported")
	}
	select {
	case <-legs[bad].Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the panicking leg's session did not end")
	}
	good.digit(to, '2')
	if got := nextDigit(t, digits); got != '2' {
		t.Errorf("other leg got %q, want '2'", got)
	}
}
