package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/sip/media"
	"switchboard/sip/sdp"
)

// offerSDP is a PCMU offer with connection line c (e.g. "IN IP6 ::1").
func offerSDP(c string, port int) string {
	return fmt.Sprintf("v=0\r\no=- 1 1 %s\r\ns=-\r\nc=%s\r\nt=0 0\r\nm=audio %d RTP/AVP 0 101\r\n"+
		"a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", c, c, port)
}

// inviteStatus sends an INVITE with body from p to user at g and returns
// the final status code (200 calls are acknowledged and hung up).
func inviteStatus(t *testing.T, p interface {
	DialogUA() *sipgo.DialogUA
}, g *Gateway, user, body string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d, err := p.DialogUA().Invite(ctx, gwURI(g, user), []byte(body), sipmsg.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	err = d.WaitAnswer(ctx, sipgo.AnswerOptions{})
	var de *sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &de):
		return de.Res.StatusCode
	case err != nil:
		t.Fatal(err)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	_ = d.Bye(ctx)
	return d.InviteResponse.StatusCode
}

// TestInviteMediaAddress: an offer whose connection address RTP cannot or
// must not go to — IPv6 on an IPv4 media address, multicast, broadcast,
// unspecified — is answered 488, on both RTP layouts, with a handler that
// plays audio at once (what crashed the process when an IPv6 address
// reached the IPv4 send path); the gateway then serves a normal call.
func TestInviteMediaAddress(t *testing.T) {
	prompt, _ := writePrompt(t, 800)
	for _, layout := range []struct {
		name   string
		shared int
	}{{"shared-sockets", 2}, {"dedicated-ports", dedicatedPorts}} {
		t.Run(layout.name, func(t *testing.T) {
			calls := make(chan *Call, 4)
			g := startGateway(t, Config{RTPSharedSockets: layout.shared}, WithCallHandler(func(c *Call) {
				calls <- c
				_ = c.Play(c.Context(), []string{prompt}, false)
				_ = c.Hangup(context.Background())
			}))
			p := newPhone(t, "caller")
			for _, tc := range []struct{ name, c string }{
				{"ipv6-loopback", "IN IP6 ::1"},
				{"ipv6-global", "IN IP6 2001:db8::1"},
				{"ipv6-link-local-zone", "IN IP6 fe80::1%lo"},
				{"multicast", "IN IP4 224.0.0.1"},
				{"multicast-admin", "IN IP4 239.255.255.250"},
				{"broadcast", "IN IP4 255.255.255.255"},
				{"unspecified", "IN IP4 0.0.0.0"},
				{"this-network", "IN IP4 0.1.2.3"},
				{"ipv6-multicast", "IN IP6 ff02::1"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					if got := inviteStatus(t, p, g, "100", offerSDP(tc.c, 4000)); got != 488 {
						t.Errorf("INVITE with c=%s answered %d, want 488", tc.c, got)
					}
				})
			}
			if len(calls) != 0 {
				t.Fatalf("%d refused offers reached the call handler", len(calls))
			}
			pc, err := p.Invite(t.Context(), g.UDPAddr(), "100", media.PCMU)
			if err != nil {
				t.Fatalf("a normal call after the refused ones: %v", err)
			}
			<-calls
			waitFor(t, "the prompt at the caller", func() bool { return len(pc.Samples()) >= 800 })
		})
	}
}

// TestCheckMediaAddr: IPv6 media is taken where the media and public
// addresses are IPv6, IPv4 where they are IPv4 (or the media address is
// the dual-stack wildcard with an IPv4 public address).
func TestCheckMediaAddr(t *testing.T) {
	for _, tc := range []struct {
		public, media, remote string
		ok                    bool
	}{
		{"127.0.0.1", "127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.1", "::1", false},
		{"::1", "::1", "::1", true},
		{"::1", "::1", "127.0.0.1", false},
		{"192.0.2.10", "::", "198.51.100.7", true},
		{"192.0.2.10", "::", "2001:db8::7", false},
		{"2001:db8::10", "::", "2001:db8::7", true},
		{"::1", "::1", "ff02::1", false},
	} {
		t.Run(tc.media+"→"+tc.remote, func(t *testing.T) {
			g, err := New(Config{UDPAddr: "127.0.0.1:0", PublicIP: tc.public, MediaIP: tc.media},
				WithLogger(quiet))
			if err != nil {
				t.Fatal(err)
			}
			err = g.checkMediaAddr(netip.MustParseAddr(tc.remote))
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrMediaAddr)) {
				t.Errorf("checkMediaAddr(%s) = %v, want ok %v", tc.remote, err, tc.ok)
			}
		})
	}
}

// TestInviteIPv6Media: a gateway whose SIP, public and media addresses are
// IPv6 answers an offer with c=IN IP6 ::1 in IPv6, and its RTP reaches the
// caller's IPv6 socket.
func TestInviteIPv6Media(t *testing.T) {
	rtpConn, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("[::1]:0")))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no IPv6 loopback: %v", err)
		}
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer rtpConn.Close()
	prompt, _ := writePrompt(t, 800)
	calls := make(chan *Call, 1)
	g, err := New(Config{UDPAddr: "[::1]:0", PublicIP: "::1"}, WithLogger(quiet), WithMetrics(prometheus.NewRegistry()),
		WithCallHandler(func(c *Call) {
			calls <- c
			_ = c.Play(c.Context(), []string{prompt}, false)
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	<-g.Ready()

	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("::1"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("::1"), sipgo.WithClientLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	dua := &sipgo.DialogUA{Client: client, ContactHDR: sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "v6", Host: "::1", Port: 5999}}}
	gw := g.UDPAddr()
	d, err := dua.Invite(t.Context(), sipmsg.Uri{Scheme: "sip", User: "100", Host: "[" + gw.Addr().String() + "]", Port: int(gw.Port())},
		[]byte(offerSDP("IN IP6 ::1", rtpConn.LocalAddr().(*net.UDPAddr).Port)), sipmsg.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WaitAnswer(t.Context(), sipgo.AnswerOptions{}); err != nil {
		t.Fatalf("INVITE with c=IN IP6 ::1 to an IPv6 gateway: %v", err)
	}
	if err := d.Ack(t.Context()); err != nil {
		t.Fatal(err)
	}
	ans, err := sdp.Parse(d.InviteResponse.Body())
	if err != nil || ans.Addr != netip.MustParseAddr("::1") {
		t.Fatalf("answer %+v, %v: want c=IN IP6 ::1", ans, err)
	}
	<-calls
	_ = rtpConn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, from, err := rtpConn.ReadFromUDPAddrPort(buf)
	if err != nil || n < 12 || from.Port() != uint16(ans.Port) {
		t.Fatalf("RTP at the caller: %d bytes from %v, %v; want a packet from [::1]:%d", n, from, err, ans.Port)
	}
	_ = d.Bye(t.Context())
}
