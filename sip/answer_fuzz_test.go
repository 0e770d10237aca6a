package sip

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/sip/media"
	"switchboard/sip/sdp"
)

// answerSeeds are offers with the addresses and lines hostile or odd
// callers send: IPv6 (the family of the media address or not), multicast,
// broadcast, unspecified, zones, names, TEST-NET behind NAT, bad ports
// and oversized lines.
func answerSeeds() []string {
	seeds := []string{
		offerSDP("IN IP4 127.0.0.1", 4000),
		offerSDP("IN IP4 192.0.2.2", 4000),
		offerSDP("IN IP6 ::1", 4000),
		offerSDP("IN IP6 2001:db8::1", 4000),
		offerSDP("IN IP6 ::ffff:127.0.0.1", 4000),
		offerSDP("IN IP6 fe80::1%lo", 4000),
		offerSDP("IN IP6 ff02::1", 4000),
		offerSDP("IN IP4 224.0.0.1", 4000),
		offerSDP("IN IP4 224.0.0.1/127", 4000),
		offerSDP("IN IP4 239.255.255.250", 4000),
		offerSDP("IN IP4 255.255.255.255", 4000),
		offerSDP("IN IP4 0.0.0.0", 4000),
		offerSDP("IN IP4 0.0.0.1", 4000),
		offerSDP("IN IP4 ::1", 4000),
		offerSDP("IN IP6 127.0.0.1", 4000),
		offerSDP("IN IP4 example.com", 4000),
		offerSDP("IN IP4 127.0.0.1", 65535),
		offerSDP("IN IP4 127.0.0.1", 0),
		offerSDP("IN IP4 127.0.0.1", 99999),
		offerSDP("IN IP4 127.0.0.1 extra", 4000),
		offerSDP("IN IP4 "+strings.Repeat("1", 4000), 4000),
		strings.Replace(offerSDP("IN IP4 127.0.0.1", 4000), "a=sendrecv", "a=recvonly", 1),
		strings.Replace(offerSDP("IN IP4 192.0.2.2", 4000), "a=sendrecv", "a=inactive", 1),
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP " + strings.Repeat("0 ", 3000) + "\r\n",
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=" + strings.Repeat("x", 10000) + "\r\n",
	}
	files, _ := filepath.Glob("sdp/testdata/*.sdp")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			seeds = append(seeds, string(b))
		}
	}
	return seeds
}

// FuzzAnswerSDP feeds offers through the gateway's answer path
// (acceptOffer: parse, media address check, RTP leg on a shared socket or
// a dedicated port pair bound to loopback) and then the answer and the
// first packets: nothing panics, a refusal is one of the answer path's
// errors, an accepted offer gets an answer that parses back with our
// address, and every port is released. The media address is loopback, so
// whatever address an offer names, no packet leaves the machine.
func FuzzAnswerSDP(f *testing.F) {
	for _, s := range answerSeeds() {
		f.Add([]byte(s))
	}
	g, err := New(Config{UDPAddr: "127.0.0.1:0", PublicIP: "127.0.0.1"}, WithLogger(quiet))
	if err != nil {
		f.Fatal(err)
	}
	if g.mux, err = media.NewMuxSet(g.pool.IP(), 0, 1, 0); err != nil {
		f.Fatal(err)
	}
	defer g.mux.Close()
	rtp := make([]byte, 172)
	rtp[0] = 0x80
	f.Fuzz(func(t *testing.T, body []byte) {
		offer, tr, err := g.acceptOffer(body, "127.0.0.1:5060")
		if err != nil {
			if !errors.Is(err, sdp.ErrParse) && !errors.Is(err, sdp.ErrNoAudio) && !errors.Is(err, sdp.ErrNoCommonCodec) &&
				!errors.Is(err, ErrMediaAddr) && !errors.Is(err, errNoMediaPorts) {
				t.Fatalf("refused with an unexpected error: %v", err)
			}
			if errors.Is(err, errNoMediaPorts) {
				t.Fatalf("ports exhausted: a leg was not released (%d in use)", g.pool.InUse())
			}
			return
		}
		defer func() {
			_ = tr.Close()
			if n := g.pool.InUse(); n != 0 {
				t.Fatalf("%d port pairs in use after close", n)
			}
			if n := g.mux.Legs(); n != 0 {
				t.Fatalf("%d shared-socket legs after close", n)
			}
		}()
		if err := media.CanSend(g.pool.IP(), offer.Addr); err != nil {
			t.Fatalf("accepted media address %s: %v", offer.Addr, err)
		}
		ans, err := sdp.Parse(sdp.Answer(offer, g.publicIP, tr.LocalPort(), 1, 1))
		if err != nil {
			t.Fatalf("our answer does not parse: %v", err)
		}
		if ans.Addr != g.publicIP || ans.Codec != offer.Codec {
			t.Fatalf("answer %+v to offer %+v", ans, offer)
		}
		_ = tr.WritePacket(rtp)
		if rt, ok := tr.(media.RTCPTransport); ok {
			_ = rt.WriteRTCP(rtp[:8])
		}
		// A re-INVITE repeating the offer.
		_ = setRemote(tr, offer.RTPAddr(), g.believable(offer.Addr, offer.Direction, "127.0.0.1:5060"))
		_ = tr.WritePacket(rtp)
	})
}
