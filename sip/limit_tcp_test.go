package sip

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// startTCPGateway runs a gateway with a TCP listener on loopback.
func startTCPGateway(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	cfg.TCPAddr = "127.0.0.1:0"
	return startGateway(t, cfg)
}

// dialFrom opens a TCP connection to g from local address ip.
func dialFrom(t *testing.T, g *Gateway, ip string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", g.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// optionsOver sends an OPTIONS on c and returns the status line of the
// response, or the read error.
func optionsOver(c net.Conn, target string, n int) (string, error) {
	la := c.LocalAddr().String()
	msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-opt%d\r\n"+
		"From: <sip:t@127.0.0.1>;tag=%d\r\nTo: <sip:gw@127.0.0.1>\r\nCall-ID: opt-%d\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		target, la, n, n, n)
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// closedByPeer reports whether the server closed c (a read ends with EOF
// or a reset) within the test's patience.
func closedByPeer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 64))
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// TestTCPPerSourceCap: idle connections from one address beyond the
// per-source cap are closed at once, and another address is still served.
func TestTCPPerSourceCap(t *testing.T) {
	const perSource = 20
	g := startTCPGateway(t, Config{TCPMaxPerSource: perSource, TCPMaxConns: 1000, TCPIdleTimeout: time.Minute})
	var idle []net.Conn
	for range perSource {
		idle = append(idle, dialFrom(t, g, "127.0.0.1"))
	}
	waitFor(t, "the idle connections to be accepted", func() bool {
		return testutil.ToFloat64(g.Metrics().TCPConns) == perSource
	})
	for i := range 30 {
		if c := dialFrom(t, g, "127.0.0.1"); !closedByPeer(c) {
			t.Fatalf("connection %d beyond the per-source cap was kept open", perSource+i+1)
		}
	}
	if got := testutil.ToFloat64(g.Metrics().Refused.WithLabelValues("tcp_source")); got != 30 {
		t.Errorf("refused tcp_source = %v, want 30", got)
	}
	line, err := optionsOver(dialFrom(t, g, "127.0.0.2"), g.TCPAddr().String(), 1)
	if err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS from another address: %q %v", line, err)
	}
	// A connection of the capped address that closes makes room for one.
	idle[0].Close()
	waitFor(t, "the closed connection to be released", func() bool {
		return testutil.ToFloat64(g.Metrics().TCPConns) == perSource
	})
	line, err = optionsOver(dialFrom(t, g, "127.0.0.1"), g.TCPAddr().String(), 2)
	if err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS after a slot was freed: %q %v", line, err)
	}
}

// TestTCPTotalCap: connections beyond the total cap are closed at once.
func TestTCPTotalCap(t *testing.T) {
	g := startTCPGateway(t, Config{TCPMaxPerSource: 100, TCPMaxConns: 3, TCPIdleTimeout: time.Minute})
	for range 3 {
		dialFrom(t, g, "127.0.0.1")
	}
	waitFor(t, "the connections to be accepted", func() bool { return testutil.ToFloat64(g.Metrics().TCPConns) == 3 })
	if !closedByPeer(dialFrom(t, g, "127.0.0.2")) {
		t.Fatal("a connection beyond the total cap was kept open")
	}
}

// TestTCPIdleTimeout: a connection that never completes a message, or
// completes one without authenticating, is closed after the idle timeout.
func TestTCPIdleTimeout(t *testing.T) {
	g := startTCPGateway(t, Config{TCPIdleTimeout: 200 * time.Millisecond})
	half := dialFrom(t, g, "127.0.0.1")
	if _, err := half.Write([]byte("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-half\r\n")); err != nil {
		t.Fatal(err)
	}
	if !closedByPeer(half) {
		t.Fatal("a connection with a half-sent message was kept open")
	}
	opts := dialFrom(t, g, "127.0.0.1")
	if line, err := optionsOver(opts, g.TCPAddr().String(), 3); err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS: %q %v", line, err)
	}
	if !closedByPeer(opts) {
		t.Fatal("an unauthenticated connection outlived the idle timeout")
	}
	waitFor(t, "the closed connections to be released", func() bool { return testutil.ToFloat64(g.Metrics().TCPConns) == 0 })
}

// fakeListener returns errs from Accept, then conns, then ErrClosed.
type fakeListener struct {
	errs  []error
	conns []net.Conn
}

func (l *fakeListener) Accept() (net.Conn, error) {
	switch {
	case len(l.errs) > 0:
		err := l.errs[0]
		l.errs = l.errs[1:]
		return nil, err
	case len(l.conns) > 0:
		c := l.conns[0]
		l.conns = l.conns[1:]
		return c, nil
	}
	return nil, net.ErrClosed
}
func (l *fakeListener) Close() error   { return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060} }

// TestAcceptBackoff: failed accepts (EMFILE: out of descriptors) are
// counted and retried after a pause, never returned; a closed listener
// ends Accept.
func TestAcceptBackoff(t *testing.T) {
	m := NewMetrics(nil)
	cl := newConnLimiter(10, 10, time.Minute, time.Hour, func(netip.Addr) bool { return false }, m, quiet)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: &os.SyscallError{Syscall: "accept4", Err: syscall.EMFILE}}
	l := cl.listen(&fakeListener{errs: []error{emfile, emfile, emfile}, conns: []net.Conn{a}})
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept after EMFILE: %v", err)
	}
	if lc, ok := c.(*limitedConn); !ok || lc.Conn != a {
		t.Fatalf("Accept returned %T, want the listener's connection", c)
	}
	if got := testutil.ToFloat64(m.AcceptErrors); got != 3 {
		t.Errorf("accept errors = %v, want 3", got)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on a closed listener: %v, want net.ErrClosed", err)
	}
}

// TestTCPMessageSizeLimit: a message whose head grows past the size limit
// without ending closes the connection (the idle timeout is far away).
func TestTCPMessageSizeLimit(t *testing.T) {
	g := startTCPGateway(t, Config{TCPIdleTimeout: time.Hour})
	c := dialFrom(t, g, "127.0.0.1")
	head := "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-big\r\n"
	pad := "X-Pad: " + strings.Repeat("a", 1000) + "\r\n"
	if _, err := c.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	for range 2 * maxSIPDatagram / len(pad) { // twice the limit, half sipgo's default
		if _, err := c.Write([]byte(pad)); err != nil {
			break // closed under us: what is expected
		}
	}
	if !closedByPeer(c) {
		t.Fatal("a connection sending an endless message head was kept open")
	}
}
