package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// ha1For returns the HA1 hashes of password for username in realm, as
// the CRM stores them.
func ha1For(username, realm, password string) HA1 {
	a1 := []byte(username + ":" + realm + ":" + password)
	m := md5.Sum(a1)
	s := sha256.Sum256(a1)
	return HA1{MD5: hex.EncodeToString(m[:]), SHA256: hex.EncodeToString(s[:])}
}

// rawUA sends hand-made SIP requests over UDP from a loopback address of
// its choice (127.0.0.2 is another source than the phones' 127.0.0.1) and
// reads the final responses: it can replay a captured request verbatim.
type rawUA struct {
	t      *testing.T
	conn   *net.UDPConn
	parser *sipmsg.Parser
	seq    int
}

func newRawUA(t *testing.T, ip string) *rawUA {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUA{t: t, conn: c, parser: sipmsg.NewParser()}
}

func (u *rawUA) addr() netip.AddrPort { return u.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// request builds method to ruri with the headers a request needs; the
// Via names u, with a fresh branch.
func (u *rawUA) request(method sipmsg.RequestMethod, ruri sipmsg.Uri, user, callID string) *sipmsg.Request {
	u.seq++
	req := sipmsg.NewRequest(method, ruri)
	via := &sipmsg.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP",
		Host: u.addr().Addr().String(), Port: int(u.addr().Port()), Params: sipmsg.NewParams()}
	via.Params.Add("branch", fmt.Sprintf("z9hG4bK-raw-%s-%d", callID, u.seq))
	req.AppendHeader(via)
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", "raw"+callID)
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"}})
	cid := sipmsg.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: uint32(u.seq), MethodName: method})
	req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: u.addr().Addr().String(), Port: int(u.addr().Port())}})
	req.AppendHeader(sipmsg.NewHeader("Max-Forwards", "70"))
	return req
}

// send writes raw to gw and returns the final response of the
// transaction with Via branch (retransmitted responses of earlier
// transactions are skipped).
func (u *rawUA) send(gw netip.AddrPort, raw []byte, branch string) *sipmsg.Response {
	u.t.Helper()
	if _, err := u.conn.WriteToUDPAddrPort(raw, gw); err != nil {
		u.t.Fatal(err)
	}
	buf := make([]byte, 65536)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_ = u.conn.SetReadDeadline(deadline)
		n, err := u.conn.Read(buf)
		if err != nil {
			u.t.Fatalf("no response: %v", err)
		}
		msg, err := u.parser.ParseSIP(buf[:n])
		if err != nil {
			u.t.Fatalf("bad response: %v", err)
		}
		res, ok := msg.(*sipmsg.Response)
		if !ok || res.IsProvisional() || res.Via() == nil {
			continue
		}
		if b, _ := res.Via().Params.Get("branch"); b == branch {
			return res
		}
	}
}

func (u *rawUA) do(gw netip.AddrPort, req *sipmsg.Request) *sipmsg.Response {
	u.t.Helper()
	return u.send(gw, []byte(req.String()), branchOf(req))
}

func branchOf(req *sipmsg.Request) string {
	b, _ := req.Via().Params.Get("branch")
	return b
}

// retry gives req a new Via branch and CSeq, for a second transaction.
func (u *rawUA) retry(req *sipmsg.Request) {
	fresh := u.request(req.Method, req.Recipient, "x", "x")
	req.RemoveHeader("Via")
	req.PrependHeader(fresh.Via())
	req.CSeq().SeqNo = fresh.CSeq().SeqNo
}

// authorize adds to req an Authorization answering the challenge of
// res with algorithm algo ("SHA-256" or "MD5"), digest-uri uri and count nc.
func authorize(t *testing.T, req *sipmsg.Request, res *sipmsg.Response, algo, uri, user, pass string, nc int) {
	t.Helper()
	var chal *digest.Challenge
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			t.Fatal(err)
		}
		if c.Algorithm == algo {
			chal = c
		}
	}
	if chal == nil {
		t.Fatalf("no %s challenge in %d response", algo, res.StatusCode)
	}
	cr, err := digest.Digest(chal, digest.Options{Method: req.Method.String(), URI: uri, Username: user, Password: pass, Count: nc, Cnonce: "c0ffee"})
	if err != nil {
		t.Fatal(err)
	}
	req.RemoveHeader("Authorization")
	req.AppendHeader(sipmsg.NewHeader("Authorization", cr.String()))
}

func gwRegisterURI(g *Gateway) sipmsg.Uri {
	a := g.UDPAddr()
	return sipmsg.Uri{Scheme: "sip", Host: a.Addr().String(), Port: int(a.Port())}
}

func bindingsOf(t *testing.T, g *Gateway, user string) []Binding {
	t.Helper()
	bs, err := g.Registrar().Lookup(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// TestDigestReplayRefused: a REGISTER captured with its credentials is
// refused when replayed from another address, or with its nonce count
// reused; the next count of the same nonce is accepted.
func TestDigestReplayRefused(t *testing.T) {
	g := startGateway(t, Config{})
	phone, attacker := newRawUA(t, "127.0.0.1"), newRawUA(t, "127.0.0.2")
	ruri := gwRegisterURI(g)
	req := phone.request(sipmsg.REGISTER, ruri, "alice", "reg-1")
	first := phone.do(g.UDPAddr(), req)
	if first.StatusCode != 401 {
		t.Fatalf("REGISTER without credentials → %d", first.StatusCode)
	}
	phone.retry(req)
	authorize(t, req, first, "SHA-256", ruri.String(), "alice", "s3cret", 1)
	captured, branch := req.String(), branchOf(req)
	if res := phone.send(g.UDPAddr(), []byte(captured), branch); res.StatusCode != 200 {
		t.Fatalf("REGISTER with credentials → %d", res.StatusCode)
	}

	// The same message from another address: its Via and Contact name the
	// attacker, everything else is the captured request.
	evil := strings.ReplaceAll(captured, phone.addr().String(), attacker.addr().String())
	evil = strings.ReplaceAll(evil, branch, "z9hG4bK-evil")
	if res := attacker.send(g.UDPAddr(), []byte(evil), "z9hG4bK-evil"); res.StatusCode == 200 {
		t.Fatal("a REGISTER replayed from another address was accepted")
	}
	// The same nonce count again, from the phone's own address.
	again := strings.ReplaceAll(captured, branch, "z9hG4bK-again")
	res := phone.send(g.UDPAddr(), []byte(again), "z9hG4bK-again")
	if res.StatusCode != 401 || !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Fatalf("reused nonce count → %d %v, want 401 stale=true", res.StatusCode, res.GetHeader("WWW-Authenticate"))
	}
	for _, b := range bindingsOf(t, g, "alice") {
		if b.Contact.Port != int(phone.addr().Port()) {
			t.Fatalf("binding %s added by a replay", b.Contact.String())
		}
	}
	// A higher count of the first nonce is a legitimate re-REGISTER.
	phone.retry(req)
	authorize(t, req, first, "SHA-256", ruri.String(), "alice", "s3cret", 2)
	if res := phone.do(g.UDPAddr(), req); res.StatusCode != 200 {
		t.Fatalf("next nonce count → %d", res.StatusCode)
	}
	if got := testutil.ToFloat64(g.Metrics().NonceReuse); got != 1 {
		t.Errorf("digest_replays_total = %v, want 1", got)
	}
}

// TestDigestBoundToRequestURI: credentials computed for one Request-URI
// are refused on an INVITE to another (a captured digest cannot place a
// call to another number), and no call starts.
func TestDigestBoundToRequestURI(t *testing.T) {
	calls := make(chan *Call, 1)
	g := startGateway(t, Config{RequireAuth: true}, WithCallHandler(func(c *Call) { calls <- c }))
	ua := newRawUA(t, "127.0.0.1")
	a := g.UDPAddr()
	to100 := sipmsg.Uri{Scheme: "sip", User: "100", Host: a.Addr().String(), Port: int(a.Port())}
	to900 := to100
	to900.User = "900"
	req := ua.request(sipmsg.INVITE, to900, "alice", "inv-1")
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(inviteSDP(ua))
	res := ua.do(a, req)
	if res.StatusCode != 401 {
		t.Fatalf("INVITE without credentials → %d", res.StatusCode)
	}
	ua.retry(req)
	authorize(t, req, res, "MD5", to100.String(), "alice", "s3cret", 1)
	if res := ua.do(a, req); res.StatusCode != 401 {
		t.Fatalf("INVITE to 900 with a digest for 100 → %d, want 401", res.StatusCode)
	}
	select {
	case <-calls:
		t.Fatal("a call started with credentials for another Request-URI")
	default:
	}
}

func inviteSDP(u *rawUA) []byte {
	return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestDigestStaleNonce: credentials answering a challenge older than the
// nonce lifetime get a new challenge with stale=true, which is answered.
func TestDigestStaleNonce(t *testing.T) {
	clk := &testClock{t: time.Now()}
	g := startGateway(t, Config{}, WithClock(clk.now))
	ua := newRawUA(t, "127.0.0.1")
	ruri := gwRegisterURI(g)
	req := ua.request(sipmsg.REGISTER, ruri, "alice", "stale-1")
	res := ua.do(g.UDPAddr(), req)
	clk.add(nonceTTL + time.Second)
	req = ua.request(sipmsg.REGISTER, ruri, "alice", "stale-1")
	authorize(t, req, res, "SHA-256", ruri.String(), "alice", "s3cret", 1)
	res = ua.do(g.UDPAddr(), req)
	if res.StatusCode != 401 || !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Fatalf("expired nonce → %d %v, want 401 stale=true", res.StatusCode, res.GetHeader("WWW-Authenticate"))
	}
	req = ua.request(sipmsg.REGISTER, ruri, "alice", "stale-1")
	authorize(t, req, res, "SHA-256", ruri.String(), "alice", "s3cret", 1)
	if res := ua.do(g.UDPAddr(), req); res.StatusCode != 200 {
		t.Fatalf("fresh nonce → %d", res.StatusCode)
	}
}

// TestDigestAlgorithms: the default challenge offers MD5 first, then
// SHA-256, and both are accepted; a wrong password with either is not.
func TestDigestAlgorithms(t *testing.T) {
	g := startGateway(t, Config{})
	ua := newRawUA(t, "127.0.0.1")
	ruri := gwRegisterURI(g)
	for _, tc := range []struct {
		algo, pass string
		want       int
	}{{"SHA-256", "s3cret", 200}, {"MD5", "s3cret", 200}, {"SHA-256", "wrong", 401}, {"MD5", "wrong", 401}} {
		t.Run(tc.algo+"-"+tc.pass, func(t *testing.T) {
			req := ua.request(sipmsg.REGISTER, ruri, "alice", "alg-"+tc.algo+tc.pass)
			res := ua.do(g.UDPAddr(), req)
			hs := res.GetHeaders("WWW-Authenticate")
			if len(hs) != 2 || !strings.Contains(hs[0].Value(), "algorithm=MD5") || !strings.Contains(hs[1].Value(), "algorithm=SHA-256") {
				t.Fatalf("challenges %v, want MD5 then SHA-256", hs)
			}
			req = ua.request(sipmsg.REGISTER, ruri, "alice", "alg-"+tc.algo+tc.pass)
			authorize(t, req, res, tc.algo, ruri.String(), "alice", tc.pass, 1)
			if res := ua.do(g.UDPAddr(), req); res.StatusCode != tc.want {
				t.Fatalf("→ %d, want %d", res.StatusCode, tc.want)
			}
		})
	}
}

// TestUnauthenticatedInviteAtCallLimit: at MaxCalls an INVITE without
// credentials is challenged (401), not refused with 503, and nothing is
// recorded for it; an authenticated one gets the 503 and its refusal.
func TestUnauthenticatedInviteAtCallLimit(t *testing.T) {
	refusals := make(chan Refusal, 4)
	calls := make(chan *Call, 1)
	g := startGateway(t, Config{MaxCalls: 1, RequireAuth: true, TrustedSources: []string{"127.0.0.1"}},
		WithCallHandler(func(c *Call) { calls <- c }), WithRefusalHandler(func(r Refusal) { refusals <- r }))
	if _, err := newPhone(t, "trunk").Invite(t.Context(), g.UDPAddr(), "100"); err != nil {
		t.Fatal(err)
	}
	<-calls // the one call the limit allows, from a trusted source

	ua := newRawUA(t, "127.0.0.2")
	a := g.UDPAddr()
	ruri := sipmsg.Uri{Scheme: "sip", User: "100", Host: a.Addr().String(), Port: int(a.Port())}
	req := ua.request(sipmsg.INVITE, ruri, "mallory", "limit-1")
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(inviteSDP(ua))
	res := ua.do(a, req)
	if res.StatusCode != 401 {
		t.Fatalf("unauthenticated INVITE at the call limit → %d, want 401", res.StatusCode)
	}
	if len(refusals) != 0 {
		t.Fatalf("a refusal was recorded for an unauthenticated INVITE: %+v", <-refusals)
	}
	ua.retry(req)
	authorize(t, req, res, "SHA-256", ruri.String(), "alice", "s3cret", 1)
	if res := ua.do(a, req); res.StatusCode != 503 {
		t.Fatalf("authenticated INVITE at the call limit → %d, want 503", res.StatusCode)
	}
	select {
	case r := <-refusals:
		if r.Reason != "call limit" {
			t.Errorf("refusal %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the authenticated INVITE refused at the limit was not recorded")
	}
}

// TestFailedAttemptsBlockSource: past maxFailures wrong passwords a source
// gets 403 without a challenge, even with the right one, until the window
// ends.
func TestFailedAttemptsBlockSource(t *testing.T) {
	clk := &testClock{t: time.Now()}
	g := startGateway(t, Config{}, WithClock(clk.now))
	ua := newRawUA(t, "127.0.0.1")
	ruri := gwRegisterURI(g)
	try := func(pass string) int {
		res := ua.do(g.UDPAddr(), ua.request(sipmsg.REGISTER, ruri, "alice", "fail"))
		if res.StatusCode != 401 {
			return res.StatusCode
		}
		req := ua.request(sipmsg.REGISTER, ruri, "alice", "fail")
		authorize(t, req, res, "MD5", ruri.String(), "alice", pass, 1)
		return ua.do(g.UDPAddr(), req).StatusCode
	}
	for range maxFailures {
		if got := try("wrong"); got != 401 {
			t.Fatalf("wrong password → %d, want 401", got)
		}
	}
	if got := try("s3cret"); got != 403 {
		t.Fatalf("blocked source → %d, want 403", got)
	}
	clk.add(failWindow + time.Second)
	if got := try("s3cret"); got != 200 {
		t.Fatalf("after the window → %d, want 200", got)
	}
}

// TestDigestOnlyConfiguredAlgorithms: with only SHA-256 configured, the
// challenge offers only it and an MD5 answer is refused.
func TestDigestOnlyConfiguredAlgorithms(t *testing.T) {
	g := startGateway(t, Config{DigestAlgorithms: []string{"SHA-256"}})
	ua := newRawUA(t, "127.0.0.1")
	ruri := gwRegisterURI(g)
	res := ua.do(g.UDPAddr(), ua.request(sipmsg.REGISTER, ruri, "alice", "only-sha"))
	hs := res.GetHeaders("WWW-Authenticate")
	if len(hs) != 1 || !strings.Contains(hs[0].Value(), "algorithm=SHA-256") {
		t.Fatalf("challenges %v, want SHA-256 alone", hs)
	}
	chal, err := digest.ParseChallenge(hs[0].Value())
	if err != nil {
		t.Fatal(err)
	}
	chal.Algorithm = "MD5"
	cr, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: ruri.String(), Username: "alice", Password: "s3cret", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	req := ua.request(sipmsg.REGISTER, ruri, "alice", "only-sha")
	req.AppendHeader(sipmsg.NewHeader("Authorization", cr.String()))
	if res := ua.do(g.UDPAddr(), req); res.StatusCode != 401 {
		t.Fatalf("MD5 answer when only SHA-256 is configured → %d, want 401", res.StatusCode)
	}
}
