package sip

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"switchboard/sip/media"
)

// malformed returns 20+ kinds of broken SIP. want400 marks messages that
// carry enough headers (Via, Call-ID) to be answered with a 400.
func malformed(target string) []struct {
	name    string
	msg     string
	want400 bool
} {
	hdr := func(callID string, extra ...string) string {
		h := []string{
			"Via: SIP/2.0/UDP 127.0.0.1:5999;rport;branch=z9hG4bK-" + callID,
			"From: <sip:a@127.0.0.1>;tag=1",
			"To: <sip:b@127.0.0.1>",
			"Call-ID: " + callID,
			"CSeq: 1 INVITE",
			"Contact: <sip:a@127.0.0.1:5999>",
			"Max-Forwards: 70",
		}
		return strings.Join(append(h, extra...), "\r\n") + "\r\n"
	}
	inv := "INVITE sip:100@" + target + " SIP/2.0\r\n"
	sdpBody := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	drop := func(h, name string) string {
		var out []string
		for _, l := range strings.Split(h, "\r\n") {
			if !strings.HasPrefix(l, name+":") {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\r\n")
	}
	return []struct {
		name    string
		msg     string
		want400 bool
	}{
		{"truncated-start-line", "INVITE sip:100@", false},
		{"truncated-headers", inv + "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-t\r\nFrom: <sip:a@1", false},
		{"content-length-too-big", inv + hdr("m3", "Content-Type: application/sdp", "Content-Length: 5000") + "\r\n" + sdpBody, true},
		{"content-length-negative", inv + hdr("m4", "Content-Length: -5") + "\r\n", true},
		{"content-length-text", inv + hdr("m5", "Content-Length: abc") + "\r\n", true},
		{"huge-header", inv + hdr("m6", "X-Big: "+strings.Repeat("A", 20000), "Content-Length: 0") + "\r\n", true},
		{"crlf-in-from-display", inv + strings.Replace(hdr("m7", "Content-Length: 0"), "From: <sip:a@127.0.0.1>;tag=1", "From: \"Evil\r\nX-Injected: 1\" <sip:a@127.0.0.1>;tag=1", 1) + "\r\n", true},
		{"missing-via", inv + drop(hdr("m8", "Content-Length: 0"), "Via") + "\r\n", false},
		{"missing-call-id", inv + drop(hdr("m9", "Content-Length: 0"), "Call-ID") + "\r\n", false},
		{"missing-cseq", inv + drop(hdr("m10", "Content-Length: 0"), "CSeq") + "\r\n", true},
		{"missing-from", inv + drop(hdr("m11", "Content-Length: 0"), "From") + "\r\n", true},
		{"cseq-method-mismatch", inv + strings.Replace(hdr("m12", "Content-Length: 0"), "CSeq: 1 INVITE", "CSeq: 1 BYE", 1) + "\r\n", true},
		{"cseq-not-number", inv + strings.Replace(hdr("m13", "Content-Length: 0"), "CSeq: 1 INVITE", "CSeq: one INVITE", 1) + "\r\n", true},
		{"bad-version", "INVITE sip:100@" + target + " SIP/3.0\r\n" + hdr("m14", "Content-Length: 0") + "\r\n", true},
		{"binary-garbage", "\x00\x01\x02\xff\xfe SIP garbage \x00\r\n\r\n", false},
		{"header-without-colon", inv + hdr("m16", "ThisIsNotAHeader", "Content-Length: 0") + "\r\n", true},
		{"bad-request-uri", "INVITE ::::: SIP/2.0\r\n" + hdr("m17", "Content-Length: 0") + "\r\n", true},
		{"bad-to-uri", inv + strings.Replace(hdr("m18", "Content-Length: 0"), "To: <sip:b@127.0.0.1>", "To: <sip:@@@>>", 1) + "\r\n", true},
		{"garbage-sdp", inv + hdr("m19", "Content-Type: application/sdp", "Content-Length: 11") + "\r\nnot sdp!!\r\n", true},
		{"missing-contact", inv + drop(hdr("m20", "Content-Type: application/sdp", fmt.Sprintf("Content-Length: %d", len(sdpBody))), "Contact") + "\r\n" + sdpBody, true},
		{"no-start-line", hdr("m21", "Content-Length: 0") + "\r\n", true},
		{"bye-missing-to", "BYE sip:100@" + target + " SIP/2.0\r\n" + strings.Replace(drop(hdr("m22", "Content-Length: 0"), "To"), "CSeq: 1 INVITE", "CSeq: 2 BYE", 1) + "\r\n", true},
	}
}

func TestMalformedSIPKeepsServing(t *testing.T) {
	calls := make(chan *Call, 1)
	g := startGateway(t, Config{}, WithCallHandler(func(c *Call) { calls <- c }))
	target := g.UDPAddr().String()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cases := malformed(target)
	if len(cases) < 20 {
		t.Fatalf("only %d kinds", len(cases))
	}
	buf := make([]byte, 65535)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := conn.WriteToUDP([]byte(tc.msg), net.UDPAddrFromAddrPort(g.UDPAddr())); err != nil {
				t.Fatal(err)
			}
			code := ""
			_ = conn.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
			for {
				n, _, err := conn.ReadFromUDP(buf)
				if err != nil {
					break
				}
				f := strings.Fields(string(buf[:n]))
				if len(f) > 1 && f[1] != "100" {
					code = f[1]
					break
				}
			}
			if strings.HasPrefix(code, "2") {
				t.Fatalf("malformed message accepted: %s", code)
			}
			if tc.want400 && code != "400" {
				t.Errorf("response %q, want 400", code)
			}
		})
	}
	// Still answering valid calls.
	p := newPhone(t, "caller")
	if _, err := p.Invite(t.Context(), g.UDPAddr(), "100", media.PCMU); err != nil {
		t.Fatalf("valid call after malformed input: %v", err)
	}
	<-calls
}
