package sip

import (
	"fmt"
	"net"
	"testing"
	"time"

	"switchboard/sip/media"
)

// TestRTPPortsFromTheSystem: a gateway configured without an RTP range
// binds only ports the system picks, so another program holding ports in
// any fixed range (here the bottom of the serve default, where the shared
// sockets would go) cannot stop it, and a call still gets its media.
func TestRTPPortsFromTheSystem(t *testing.T) {
	for port := 20000; port < 20004; port++ {
		// Held as another program would; if something already holds it,
		// the situation is the same.
		if c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	g := startGateway(t, Config{TestEndpoint: "playtest"})
	p := newPhone(t, "caller")
	c, err := p.Invite(t.Context(), g.UDPAddr(), "playtest", media.PCMU)
	if err != nil {
		t.Fatalf("call with system-picked RTP ports: %v", err)
	}
	select {
	case <-c.Done(): // the endpoint plays its prompt and hangs up
	case <-time.After(10 * time.Second):
		t.Fatal("the test endpoint did not hang up")
	}
	if n := len(c.Samples()); n == 0 {
		t.Fatal("no audio reached the caller")
	}
}
