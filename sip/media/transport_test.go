package media

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestDedicatedLegsSharedReader: many dedicated port pairs, fed from one
// remote socket (as SIPp sends every call's RTP from one port), each
// deliver exactly their own packets to their own Session and latch that
// remote; legs closed and replaced meanwhile (their descriptor numbers
// reused) neither lose nor steal packets; and nothing keeps running once
// every leg is closed (goleak in TestMain).
func TestDedicatedLegsSharedReader(t *testing.T) {
	pool, err := NewEphemeralPortPool(netip.MustParseAddr("127.0.0.1"), 500)
	if err != nil {
		t.Fatal(err)
	}
	src, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	type leg struct {
		tr   *UDPTransport
		s    *Session
		want uint64
		done chan struct{}
	}
	open := func(n int) []*leg {
		var legs []*leg
		for range n {
			tr, err := pool.Allocate()
			if err != nil {
				t.Fatal(err)
			}
			l := &leg{tr: tr, s: NewSession(tr, SessionConfig{Codec: PCMU, DTMFPayloadType: 101}), done: make(chan struct{})}
			go func() { defer close(l.done); _ = l.s.Run(ctx) }()
			legs = append(legs, l)
		}
		return legs
	}
	var seq uint16
	send := func(legs []*leg) {
		for i, l := range legs {
			for range i%5 + 1 {
				seq++
				pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: uint32(l.tr.LocalPort())},
					Payload: make([]byte, 160)}).Marshal()
				if _, err := src.WriteToUDPAddrPort(pkt, l.tr.LocalAddr()); err != nil {
					t.Fatal(err)
				}
				l.want++
			}
		}
	}
	check := func(legs []*leg) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for _, l := range legs {
			for l.s.Quality().PacketsReceived < l.want && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := l.s.Quality().PacketsReceived; got != l.want {
				t.Errorf("leg on port %d received %d packets, want %d", l.tr.LocalPort(), got, l.want)
			}
			if got, want := l.tr.Remote(), src.LocalAddr().(*net.UDPAddr).AddrPort(); got != want {
				t.Errorf("leg on port %d latched %v, want %v", l.tr.LocalPort(), got, want)
			}
		}
	}
	closeLegs := func(legs []*leg) {
		for _, l := range legs {
			l.s.Close()
			<-l.done
		}
	}

	legs := open(40)
	send(legs)
	check(legs)

	// Close every other leg and open new ones in their place.
	var kept, closed []*leg
	for i, l := range legs {
		if i%2 == 0 {
			kept = append(kept, l)
		} else {
			closed = append(closed, l)
		}
	}
	closeLegs(closed)
	legs = append(kept, open(20)...)
	send(legs)
	check(legs)
	closeLegs(legs)
	if n := pool.InUse(); n != 0 {
		t.Errorf("%d port pairs still in use", n)
	}
}
