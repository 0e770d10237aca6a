package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// edgeIP is where the tests' edge proxy sends from (a rawUA on it); the
// clients behind it have documentation addresses nobody sends from.
const edgeIP = "127.0.0.1"

// stampedVia is a client's Via as an edge proxy forwards it: the client's
// sent-by with the received and rport the edge added (RFC 3581).
func stampedVia(client netip.AddrPort, branch string) string {
	return fmt.Sprintf("SIP/2.0/UDP %s;received=%s;branch=z9hG4bK-%s;rport=%d", client, client.Addr(), branch, client.Port())
}

// viaBelow puts a Via with value clientVia below req's own (the edge's):
// req as an edge proxy forwards it. Empty clientVia leaves req as is.
func viaBelow(req *sipmsg.Request, clientVia string) *sipmsg.Request {
	if clientVia == "" {
		return req
	}
	top := req.Via()
	req.RemoveHeader("Via")
	req.PrependHeader(top, sipmsg.NewHeader("Via", clientVia))
	return req
}

// registerVia sends a REGISTER for alice with password pass from ua, with
// clientVia below ua's Via (none when empty), answering the challenge, and
// returns the final status (401, 403 or 200).
func registerVia(t *testing.T, g *Gateway, ua *rawUA, clientVia, pass string) int {
	t.Helper()
	ruri := gwRegisterURI(g)
	res := ua.do(g.UDPAddr(), viaBelow(ua.request(sipmsg.REGISTER, ruri, "alice", "edge-reg"), clientVia))
	if res.StatusCode != 401 {
		return res.StatusCode
	}
	req := viaBelow(ua.request(sipmsg.REGISTER, ruri, "alice", "edge-reg"), clientVia)
	authorize(t, req, res, "MD5", ruri.String(), "alice", pass, 1)
	return ua.do(g.UDPAddr(), req).StatusCode
}

// TestEdgeLockoutPerClient: behind an edge proxy, wrong passwords from one
// phone lock out that phone only; another phone behind the same edge
// registers. Without the edge configured both share the edge's address
// and both are locked out.
func TestEdgeLockoutPerClient(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edges []string
		wantB int
	}{
		{"edge configured", []string{edgeIP}, 200},
		{"edge not configured", nil, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &testClock{t: time.Now()}
			g := startGateway(t, Config{EdgeProxies: tc.edges}, WithClock(clk.now))
			edge := newRawUA(t, edgeIP)
			phoneA := stampedVia(netip.MustParseAddrPort("192.0.2.10:5060"), "a")
			phoneB := stampedVia(netip.MustParseAddrPort("192.0.2.11:5062"), "b")
			for range maxFailures {
				if got := registerVia(t, g, edge, phoneA, "wrong"); got != 401 {
					t.Fatalf("wrong password from A → %d, want 401", got)
				}
			}
			if got := registerVia(t, g, edge, phoneA, "s3cret"); got != 403 {
				t.Errorf("A after %d failures → %d, want 403", maxFailures, got)
			}
			if got := registerVia(t, g, edge, phoneB, "s3cret"); got != tc.wantB {
				t.Errorf("B → %d, want %d", got, tc.wantB)
			}
		})
	}
}

// TestEdgeNonceBoundToClient: a nonce issued to one client behind the
// edge does not authenticate another client behind it.
func TestEdgeNonceBoundToClient(t *testing.T) {
	g := startGateway(t, Config{EdgeProxies: []string{edgeIP}})
	edge := newRawUA(t, edgeIP)
	ruri := gwRegisterURI(g)
	phoneA := stampedVia(netip.MustParseAddrPort("192.0.2.10:5060"), "a")
	phoneB := stampedVia(netip.MustParseAddrPort("192.0.2.11:5060"), "b")
	chal := edge.do(g.UDPAddr(), viaBelow(edge.request(sipmsg.REGISTER, ruri, "alice", "edge-nonce"), phoneA))
	if chal.StatusCode != 401 {
		t.Fatalf("REGISTER without credentials → %d", chal.StatusCode)
	}
	for _, tc := range []struct {
		name, via string
		want      int
	}{
		{"another client", phoneB, 401},
		{"the client challenged", phoneA, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := viaBelow(edge.request(sipmsg.REGISTER, ruri, "alice", "edge-nonce"), tc.via)
			authorize(t, req, chal, "MD5", ruri.String(), "alice", "s3cret", 1)
			if got := edge.do(g.UDPAddr(), req).StatusCode; got != tc.want {
				t.Errorf("→ %d, want %d", got, tc.want)
			}
		})
	}
}

// TestEdgeRateLimitPerClient: over UDP through the edge, a client sending
// more unauthenticated requests than its burst is refused while another
// client behind the same edge is served. The clock stands still, so no
// token comes back during the test.
func TestEdgeRateLimitPerClient(t *testing.T) {
	const burst = 3
	clk := &testClock{t: time.Now()}
	g := startGateway(t, Config{EdgeProxies: []string{edgeIP}, UnauthRate: 1, UnauthBurst: burst}, WithClock(clk.now))
	edge := newRawUA(t, edgeIP)
	options := func(client string) int {
		req := edge.request(sipmsg.OPTIONS, gwRegisterURI(g), "x", "edge-flood")
		return edge.do(g.UDPAddr(), viaBelow(req, stampedVia(netip.MustParseAddrPort(client), "f"))).StatusCode
	}
	var got []int
	for range burst + 2 {
		got = append(got, options("192.0.2.20:5060"))
	}
	got = append(got, options("192.0.2.21:5060"))
	want := []int{200, 200, 200, 503, 503, 200}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses: flooding client ×%d, then another client (-want +got):\n%s", burst+2, diff)
	}
	if got := testutil.ToFloat64(g.Metrics().Refused.WithLabelValues("rate_limit")); got != 2 {
		t.Errorf("refused_total{rate_limit} = %v, want 2", got)
	}
}

// TestEdgeTrustedClients: under RequireAuth an INVITE is let through
// unauthenticated when its client is trusted: behind the edge the client
// the edge stamped (the edge itself being trusted does not count), from
// anyone else its transport source, whatever Vias it wrote. Let through,
// it finds no call handler (480); stopped, it is challenged (401).
func TestEdgeTrustedClients(t *testing.T) {
	const trustedClient, otherClient = "192.0.2.7:5060", "192.0.2.9:5060"
	g := startGateway(t, Config{RequireAuth: true, EdgeProxies: []string{edgeIP},
		TrustedSources: []string{edgeIP, "127.0.0.3", "192.0.2.7"}})
	for i, tc := range []struct {
		name   string
		from   string // the address sending
		client string // the Via below from's own; empty: none
		want   int
	}{
		{"untrusted client through the trusted edge", edgeIP, otherClient, 401},
		{"trusted client through the edge", edgeIP, trustedClient, 480},
		{"Via of a trusted client from an untrusted source", "127.0.0.2", trustedClient, 401},
		{"Via of an untrusted client from a trusted source", "127.0.0.3", otherClient, 480},
		{"trusted source without a second Via", "127.0.0.3", "", 480},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ua := newRawUA(t, tc.from)
			req := ua.request(sipmsg.INVITE, gwURI(g, "100"), "caller", fmt.Sprintf("edge-trust-%d", i))
			req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
			req.SetBody(inviteSDP(ua))
			if tc.client != "" {
				viaBelow(req, stampedVia(netip.MustParseAddrPort(tc.client), "t"))
			}
			if got := ua.do(g.UDPAddr(), req).StatusCode; got != tc.want {
				t.Errorf("→ %d, want %d", got, tc.want)
			}
		})
	}
}

// TestEdgeForgedViaLockout: wrong passwords from a source that is not an
// edge proxy lock out that source, whatever client its Vias name.
func TestEdgeForgedViaLockout(t *testing.T) {
	g := startGateway(t, Config{EdgeProxies: []string{edgeIP}})
	stranger := newRawUA(t, "127.0.0.2")
	for i := range maxFailures {
		via := stampedVia(netip.AddrPortFrom(netip.MustParseAddr("192.0.2.30"), uint16(5060+i)), "forged")
		if got := registerVia(t, g, stranger, via, "wrong"); got != 401 {
			t.Fatalf("wrong password → %d, want 401", got)
		}
	}
	fresh := stampedVia(netip.MustParseAddrPort("192.0.2.99:5060"), "fresh")
	if got := registerVia(t, g, stranger, fresh, "s3cret"); got != 403 {
		t.Errorf("the locked-out source naming a new client → %d, want 403", got)
	}
}

// TestEdgeBadClientVia: a request from the edge whose client Via is
// missing or unusable is answered 400 and counted; the edge's own OPTIONS
// probe, with its Via alone, is answered.
func TestEdgeBadClientVia(t *testing.T) {
	g := startGateway(t, Config{EdgeProxies: []string{edgeIP}})
	for i, tc := range []struct {
		name   string
		method sipmsg.RequestMethod
		via    string // below the edge's; empty: none
		want   int
	}{
		{"REGISTER without a client Via", sipmsg.REGISTER, "", 400},
		{"INVITE without a client Via", sipmsg.INVITE, "", 400},
		{"host name without received", sipmsg.REGISTER, "SIP/2.0/UDP phone.example:5060;branch=z9hG4bK-1;rport=5060", 400},
		{"received not an address", sipmsg.REGISTER, "SIP/2.0/UDP 192.0.2.1:5060;received=nowhere;branch=z9hG4bK-2", 400},
		{"received empty", sipmsg.REGISTER, "SIP/2.0/UDP 192.0.2.1:5060;received;branch=z9hG4bK-3", 400},
		{"received in two spellings", sipmsg.REGISTER, "SIP/2.0/UDP 192.0.2.1:5060;Received=192.0.2.7;received=192.0.2.1;branch=z9hG4bK-4", 400},
		{"rport in two spellings", sipmsg.REGISTER, "SIP/2.0/UDP 192.0.2.1:5060;RPORT=1;rport=5060;branch=z9hG4bK-5", 400},
		{"rport out of range", sipmsg.REGISTER, "SIP/2.0/UDP 192.0.2.1:5060;rport=70000;branch=z9hG4bK-6", 400},
		{"rport zero", sipmsg.REGISTER, "SIP/2.0/UDP 192.0.2.1:5060;rport=0;branch=z9hG4bK-7", 400},
		{"the edge's own OPTIONS", sipmsg.OPTIONS, "", 200},
		{"a client's OPTIONS", sipmsg.OPTIONS, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-9;rport=5060", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edge := newRawUA(t, edgeIP)
			before := testutil.ToFloat64(g.Metrics().Refused.WithLabelValues("edge_via"))
			req := edge.request(tc.method, gwURI(g, "100"), "alice", fmt.Sprintf("edge-bad-%d", i))
			if tc.method == sipmsg.INVITE {
				req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
				req.SetBody(inviteSDP(edge))
			}
			res := edge.do(g.UDPAddr(), viaBelow(req, tc.via))
			if res.StatusCode != tc.want {
				t.Fatalf("→ %d %s, want %d", res.StatusCode, res.Reason, tc.want)
			}
			counted := testutil.ToFloat64(g.Metrics().Refused.WithLabelValues("edge_via")) - before
			if wantCounted := map[bool]float64{true: 1, false: 0}[tc.want == 400]; counted != wantCounted {
				t.Errorf("refused_total{edge_via} grew by %v, want %v", counted, wantCounted)
			}
		})
	}
}

// TestClientAddr: the client address of requests from an edge proxy and
// from elsewhere, as the edge's Vias and forged ones name it.
func TestClientAddr(t *testing.T) {
	edges, err := parseEdgeProxies([]string{"10.0.0.0/24", "2001:db8::53"})
	if err != nil {
		t.Fatal(err)
	}
	const edgeVia = "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-edge"
	for _, tc := range []struct {
		name    string
		source  string
		method  string
		vias    []string
		want    string
		wantErr bool
	}{
		{"not an edge: the source", "192.0.2.1:5070", "INVITE", []string{"SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK-a", stampedVia(netip.MustParseAddrPort("198.51.100.7:5060"), "b")}, "192.0.2.1:5070", false},
		{"not an edge, one Via", "192.0.2.1:5070", "INVITE", []string{"SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK-a"}, "192.0.2.1:5070", false},
		{"received and rport", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP 192.168.1.2:5060;received=198.51.100.7;branch=z9hG4bK-c;rport=40000"}, "198.51.100.7:40000", false},
		{"host and rport", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP 198.51.100.7:5062;rport=5062;branch=z9hG4bK-c"}, "198.51.100.7:5062", false},
		{"host and port", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/TCP 198.51.100.7:5070;branch=z9hG4bK-c"}, "198.51.100.7:5070", false},
		{"host alone, default port", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/TLS 198.51.100.7;branch=z9hG4bK-c"}, "198.51.100.7:5061", false},
		{"rport without value", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP 198.51.100.7:5064;rport;branch=z9hG4bK-c"}, "198.51.100.7:5064", false},
		{"upper-case parameter names", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP x.example;RECEIVED=198.51.100.7;RPort=7;branch=z9hG4bK-c"}, "198.51.100.7:7", false},
		{"IPv6 received in brackets", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP [2001:db8::9]:5060;received=[2001:db8::7];rport=5060;branch=z9hG4bK-c"}, "[2001:db8::7]:5060", false},
		{"IPv6 edge", "[2001:db8::53]:5060", "INVITE", []string{"SIP/2.0/UDP [2001:db8::53]:5060;branch=z9hG4bK-e", "SIP/2.0/UDP [2001:db8::9]:5060;rport=5060;branch=z9hG4bK-c"}, "[2001:db8::9]:5060", false},
		{"IPv4-mapped source of an edge", "[::ffff:10.0.0.5]:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP 198.51.100.7:5060;rport=5060;branch=z9hG4bK-c"}, "198.51.100.7:5060", false},
		{"third Via ignored", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP 198.51.100.7:5060;rport=5060;branch=z9hG4bK-c", "SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bK-d"}, "198.51.100.7:5060", false},
		{"comma-separated Vias", "10.0.0.5:5060", "INVITE", []string{edgeVia + ",SIP/2.0/UDP 198.51.100.7:5060;rport=5060;branch=z9hG4bK-c"}, "198.51.100.7:5060", false},
		{"edge's own OPTIONS", "10.0.0.5:5060", "OPTIONS", []string{edgeVia}, "10.0.0.5:5060", false},
		{"edge's own CANCEL", "10.0.0.5:5060", "CANCEL", []string{edgeVia}, "10.0.0.5:5060", false},
		{"INVITE with the edge's Via alone", "10.0.0.5:5060", "INVITE", []string{edgeVia}, "10.0.0.5:5060", true},
		{"REGISTER with the edge's Via alone", "10.0.0.5:5060", "REGISTER", []string{edgeVia}, "10.0.0.5:5060", true},
		{"host name", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP phone.example:5060;rport=5060;branch=z9hG4bK-c"}, "10.0.0.5:5060", true},
		{"received repeated: the last, the edge's", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP 198.51.100.7;received=203.0.113.1;received=198.51.100.7;branch=z9hG4bK-c"}, "198.51.100.7:5060", false},
		{"rport repeated: the last, the edge's", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP 198.51.100.7;rport=1;rport=5062;branch=z9hG4bK-c"}, "198.51.100.7:5062", false},
		{"received in two spellings", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP 198.51.100.7;Received=203.0.113.1;received=198.51.100.7;branch=z9hG4bK-c"}, "10.0.0.5:5060", true},
		{"rport in two spellings", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP 198.51.100.7;rport=1;RPORT=5062;branch=z9hG4bK-c"}, "10.0.0.5:5060", true},
		{"unparsable port", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP 198.51.100.7:50x;branch=z9hG4bK-c"}, "10.0.0.5:5060", true},
		{"rport out of range", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP 198.51.100.7;rport=65536;branch=z9hG4bK-c"}, "10.0.0.5:5060", true},
		{"zone", "10.0.0.5:5060", "INVITE", []string{edgeVia, "SIP/2.0/UDP 198.51.100.7;received=fe80::1%eth0;branch=z9hG4bK-c"}, "10.0.0.5:5060", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			fmt.Fprintf(&b, "%s sip:100@10.0.0.1 SIP/2.0\r\n", tc.method)
			for _, v := range tc.vias {
				b.WriteString("Via: " + v + "\r\n")
			}
			fmt.Fprintf(&b, "From: <sip:a@x>;tag=1\r\nTo: <sip:100@x>\r\nCall-ID: c\r\nCSeq: 1 %s\r\nContent-Length: 0\r\n\r\n", tc.method)
			msg, err := sipmsg.NewParser().ParseSIP([]byte(b.String()))
			if err != nil {
				t.Fatal(err)
			}
			req := msg.(*sipmsg.Request)
			req.SetSource(tc.source)
			got, err := edges.clientAddr(req)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, errClientVia)) {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if got.String() != tc.want {
				t.Errorf("client %v, want %s", got, tc.want)
			}
		})
	}
}

// TestParseEdgeProxies: addresses and prefixes are accepted, anything
// else refused as a bad config.
func TestParseEdgeProxies(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // the prefix; empty: refused
	}{
		{"192.0.2.1", "192.0.2.1/32"},
		{"192.0.2.0/24", "192.0.2.0/24"},
		{"192.0.2.9/24", "192.0.2.0/24"},
		{"::ffff:192.0.2.1", "192.0.2.1/32"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"::ffff:192.0.2.0/120", ""},
		{"fe80::1%eth0", ""},
		{"kamailio.example", ""},
		{"192.0.2.1:5060", ""},
		{"192.0.2.0/33", ""},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			e, err := parseEdgeProxies([]string{tc.in})
			if tc.want == "" {
				if !errors.Is(err, ErrBadConfig) {
					t.Fatalf("%q → %v, %v; want ErrBadConfig", tc.in, e, err)
				}
				return
			}
			if err != nil || len(e) != 1 || e[0].String() != tc.want {
				t.Fatalf("%q → %v, %v; want %s", tc.in, e, err, tc.want)
			}
		})
	}
}

// FuzzClientAddr feeds the Via below an edge proxy's through clientAddr:
// no panic; a client address it accepts is a usable one; from a source
// that is no edge the Vias never matter.
func FuzzClientAddr(f *testing.F) {
	edges := edgeProxies{netip.MustParsePrefix("10.0.0.5/32")}
	for _, v := range []string{
		"SIP/2.0/UDP 192.168.1.2:5060;received=198.51.100.7;branch=z9hG4bK-c;rport=40000",
		"SIP/2.0/UDP 198.51.100.7:5062;rport=5062;branch=z9hG4bK-c",
		"SIP/2.0/UDP [2001:db8::9]:5060;received=[2001:db8::7];rport=5060",
		"SIP/2.0/UDP phone.example:5060;rport=5060",
		"SIP/2.0/UDP 1.2.3.4;received=1.2.3.4;received=5.6.7.8;rport=1;rport",
		`SIP/2.0/UDP 10.0.0.9;x="a,SIP/2.0/UDP 1.2.3.4";branch=z9hG4bK1;rport=5;received=127.0.0.3`,
		"SIP/2.0/UDP 10.0.0.9:5060 ; branch = z9hG4bK6 ; rport = 5",
		"SIP/2.0/UDP [::1]x;branch=z9hG4bK1",
		"SIP/2.0/UDP 10.0.0.9:abc",
		"",
	} {
		f.Add("INVITE", v)
		f.Add("OPTIONS", v)
	}
	parser := sipmsg.NewParser()
	f.Fuzz(func(t *testing.T, method, via string) {
		raw := method + " sip:100@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-edge\r\n"
		if via != "" {
			raw += "Via: " + via + "\r\n"
		}
		raw += "From: <sip:a@x>;tag=1\r\nTo: <sip:100@x>\r\nCall-ID: c\r\nCSeq: 1 " + method + "\r\nContent-Length: 0\r\n\r\n"
		msg, err := parser.ParseSIP([]byte(raw))
		if err != nil {
			return
		}
		req, ok := msg.(*sipmsg.Request)
		if !ok {
			return
		}
		req.SetSource("10.0.0.5:5060")
		got, err := edges.clientAddr(req)
		switch {
		case err != nil && (!errors.Is(err, errClientVia) || got.String() != "10.0.0.5:5060"):
			t.Fatalf("failed with %v and client %v, want errClientVia and the source", err, got)
		case err == nil && (!got.IsValid() || got.Port() == 0 || got.Addr().Zone() != "" || got.Addr().Is4In6()):
			t.Fatalf("client %v accepted", got)
		}
		req.SetSource("192.0.2.1:5070")
		if got, err := edges.clientAddr(req); err != nil || got.String() != "192.0.2.1:5070" {
			t.Fatalf("from a source that is no edge: %v, %v", got, err)
		}
	})
}
