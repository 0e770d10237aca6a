package sip_test

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/go-cmp/cmp"
	"github.com/icholy/digest"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/cmd/switchboard/edgetest"
	"switchboard/sip"
)

// aliceCreds knows alice, password s3cret, in sip.DefaultRealm.
type aliceCreds struct{}

func (aliceCreds) SIPHA1(_ context.Context, u string) (sip.HA1, bool, error) {
	if u != "alice" {
		return sip.HA1{}, false, nil
	}
	a1 := []byte(u + ":" + sip.DefaultRealm + ":s3cret")
	m, s := md5.Sum(a1), sha256.Sum256(a1)
	return sip.HA1{MD5: hex.EncodeToString(m[:]), SHA256: hex.EncodeToString(s[:])}, true, nil
}

// loopPhone registers alice over UDP from a loopback address of its own,
// so that Kamailio sees each loopPhone as another client.
type loopPhone struct {
	t    *testing.T
	conn *net.UDPConn
	seq  int
}

func newLoopPhone(t *testing.T, ip string) *loopPhone {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &loopPhone{t: t, conn: c}
}

// transact sends one REGISTER to registrar (with authorization when not
// empty) and returns its final response, or nil when none came.
func (p *loopPhone) transact(registrar netip.AddrPort, authorization string) *sipmsg.Response {
	p.t.Helper()
	p.seq++
	local := p.conn.LocalAddr().String()
	branch := fmt.Sprintf("z9hG4bK-loop-%s-%d", strings.NewReplacer(".", "", ":", "").Replace(local), p.seq)
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", registrar)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;rport;branch=%s\r\n", local, branch)
	fmt.Fprintf(&b, "From: <sip:alice@%s>;tag=loop\r\nTo: <sip:alice@%s>\r\n", registrar.Addr(), registrar.Addr())
	fmt.Fprintf(&b, "Call-ID: loop-%s\r\nCSeq: %d REGISTER\r\nMax-Forwards: 70\r\n", local, p.seq)
	fmt.Fprintf(&b, "Contact: <sip:alice@%s>\r\nExpires: 300\r\n", local)
	if authorization != "" {
		b.WriteString("Authorization: " + authorization + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	if _, err := p.conn.WriteToUDPAddrPort([]byte(b.String()), registrar); err != nil {
		p.t.Fatal(err)
	}
	parser := sipmsg.NewParser()
	buf := make([]byte, 65536)
	_ = p.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		n, err := p.conn.Read(buf)
		if err != nil {
			return nil
		}
		msg, err := parser.ParseSIP(buf[:n])
		if err != nil {
			p.t.Fatalf("bad response: %v", err)
		}
		res, ok := msg.(*sipmsg.Response)
		if !ok || res.IsProvisional() || res.Via() == nil {
			continue
		}
		if got, _ := res.Via().Params.Get("branch"); got == branch {
			return res
		}
	}
}

// register registers alice with password at registrar, answering the
// MD5 challenge, and returns the final status (0: no answer).
func (p *loopPhone) register(registrar netip.AddrPort, password string) int {
	p.t.Helper()
	res := p.transact(registrar, "")
	if res == nil || res.StatusCode != 401 {
		if res == nil {
			return 0
		}
		return res.StatusCode
	}
	var chal *digest.Challenge
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		if c, err := digest.ParseChallenge(h.Value()); err == nil && c.Algorithm == "MD5" {
			chal = c
		}
	}
	if chal == nil {
		p.t.Fatalf("no MD5 challenge in %v", res.GetHeaders("WWW-Authenticate"))
	}
	cr, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:" + registrar.String(),
		Username: "alice", Password: password, Count: 1, Cnonce: "c0ffee"})
	if err != nil {
		p.t.Fatal(err)
	}
	if res = p.transact(registrar, cr.String()); res == nil {
		return 0
	}
	return res.StatusCode
}

// TestEdgeKamailioLockoutPerPhone: two phones register through the real
// Kamailio of deploy/kamailio, from two addresses. The node gets both
// from Kamailio's address and tells them apart by the Via Kamailio
// stamped: wrong passwords lock out the phone that sent them, and the
// other phone registers.
func TestEdgeKamailioLockoutPerPhone(t *testing.T) {
	g, err := sip.New(sip.Config{UDPAddr: "127.0.0.1:0", PublicIP: "127.0.0.1", EdgeProxies: []string{"127.0.0.1"}},
		sip.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), sip.WithMetrics(prometheus.NewRegistry()),
		sip.WithCredentials(aliceCreds{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	<-g.Ready()
	k := edgetest.StartKamailio(t, edgetest.KamailioOptions{Nodes: []netip.AddrPort{g.UDPAddr()}})
	phoneA, phoneB := newLoopPhone(t, "127.0.0.2"), newLoopPhone(t, "127.0.0.3")

	// Kamailio sends nothing to the node before a probe found it up.
	for deadline := time.Now().Add(10 * time.Second); ; {
		res := phoneB.transact(k.Addr(), "")
		if res != nil && res.StatusCode == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node never challenged a REGISTER through the edge: %v", res)
		}
		time.Sleep(100 * time.Millisecond)
	}

	var got []int
	for range 5 { // the failed attempts a client is allowed
		got = append(got, phoneA.register(k.Addr(), "wrong"))
	}
	got = append(got, phoneA.register(k.Addr(), "s3cret"), phoneB.register(k.Addr(), "s3cret"))
	want := []int{401, 401, 401, 401, 401, 403, 200}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses: A wrong ×5, A right, B right (-want +got):\n%s", diff)
	}
}
