package sip

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"switchboard/sip/media"
)

// TestNATCallerHeard: with the default RTP layout (shared sockets), a
// caller whose SDP advertises 192.0.2.2 (TEST-NET-1, as baresip does by
// default) while its RTP comes from 127.0.0.1 is heard, hears the prompt
// and has its DTMF recognised: its leg gets a dedicated port pair that
// learns the caller's real source. Nothing is sent to 192.0.2.2: the leg
// sends nothing before the caller's first packet (its SDP address is not
// where its INVITE came from, and a loopback media address cannot reach
// it), and then only to that packet's source.
func TestNATCallerHeard(t *testing.T) {
	prompt, samples := writePrompt(t, 1600)
	calls := make(chan *Call, 1)
	g := startGateway(t, Config{}, WithCallHandler(func(c *Call) { calls <- c }))
	p := newPhone(t, "baresip")
	ctx := t.Context()
	pc, err := p.InviteAdvertising(ctx, g.UDPAddr(), "5551000", netip.MustParseAddr("192.0.2.2"), media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	c := <-calls
	var mu sync.Mutex
	var heard int
	c.Session().AddTap(func(s []int16) { mu.Lock(); heard += len(s); mu.Unlock() })

	if err := media.Play(ctx, pc.Session(), samples[:800], false, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the caller's audio at the gateway", func() bool { mu.Lock(); defer mu.Unlock(); return heard >= 640 })
	tr, ok := c.Session().Transport().(*media.UDPTransport)
	if !ok {
		t.Fatalf("leg on %T, want a dedicated port pair", c.Session().Transport())
	}
	if got := tr.Remote(); !got.Addr().IsLoopback() || got.Port() != uint16(pc.RTPPort()) {
		t.Errorf("leg sends to %v, want the caller's source 127.0.0.1:%d", got, pc.RTPPort())
	}
	if err := c.Play(ctx, []string{prompt}, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the prompt at the caller", func() bool { return len(pc.Samples()) >= len(samples) })
	if err := pc.Session().SendDigit(ctx, '4'); err != nil {
		t.Fatal(err)
	}
	if d, ok, err := c.ReadDigit(ctx, 5*time.Second); err != nil || !ok || d != '4' {
		t.Fatalf("ReadDigit = %q %v %v, want '4'", d, ok, err)
	}
}

// TestStrictRTPIgnoresInjectedDTMF: on a dedicated port pair, once the
// caller's stream is learnt, RFC 4733 digits sent to the port from another
// socket are dropped; the caller's own digits are recognised.
func TestStrictRTPIgnoresInjectedDTMF(t *testing.T) {
	calls := make(chan *Call, 1)
	g := startGateway(t, Config{RTPSharedSockets: dedicatedPorts}, WithCallHandler(func(c *Call) { calls <- c }))
	p := newPhone(t, "caller")
	ctx := t.Context()
	pc, err := p.Invite(ctx, g.UDPAddr(), "5551000", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	c := <-calls
	tr, ok := c.Session().Transport().(*media.UDPTransport)
	if !ok {
		t.Fatalf("leg on %T, want a dedicated port pair", c.Session().Transport())
	}
	var mu sync.Mutex
	var heard int
	c.Session().AddTap(func(s []int16) { mu.Lock(); heard += len(s); mu.Unlock() })
	if err := media.Play(ctx, pc.Session(), make([]int16, 480), false, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the caller's audio at the gateway", func() bool { mu.Lock(); defer mu.Unlock(); return heard >= 160 })

	// The intruder sends a whole digit before the caller's: were it taken,
	// it would be the first digit read.
	intruder, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Close()
	sendDigitFrom(t, intruder, tr.LocalAddr(), '9', pc.Session().SSRC())
	if err := pc.Session().SendDigit(ctx, '5'); err != nil {
		t.Fatal(err)
	}
	if d, ok, err := c.ReadDigit(ctx, 5*time.Second); err != nil || !ok || d != '5' {
		t.Fatalf("first digit = %q %v %v, want the caller's '5' (the intruder's '9' dropped)", d, ok, err)
	}
}

// sendDigitFrom sends one RFC 4733 event (payload type 101) for d from
// conn to dst: an update and three end packets, with SSRC ssrc.
func sendDigitFrom(t *testing.T, conn *net.UDPConn, dst netip.AddrPort, d byte, ssrc uint32) {
	t.Helper()
	ev, _ := media.EventForDigit(d)
	for i := range 4 {
		e := media.DTMFEvent{Event: ev, Volume: 10, Duration: uint16(160 * (i + 1)), End: i > 0}
		pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, Marker: i == 0, SequenceNumber: uint16(60000 + i),
			Timestamp: 123456, SSRC: ssrc}, Payload: e.AppendTo(nil)}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			t.Fatal(err)
		}
	}
}
