package sip

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Pauses after a failed accept (EMFILE, ENFILE, ECONNABORTED …): doubled
// from acceptBackoffMin up to acceptBackoffMax, as net/http does.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// connLimiter guards the inbound SIP TCP and TLS listeners: at most max
// connections in all and perSource from one address (trusted sources
// count only toward the total); a connection that has not authenticated a
// request (see established) is closed idle after it was accepted, whatever
// it sent meanwhile (as Asterisk's tcpauthtimeout); once it has, it is
// closed after lifetime without a byte read. Excess connections are closed
// at once. It is safe for concurrent use.
type connLimiter struct {
	max, perSource int
	idle, lifetime time.Duration
	trusted        func(netip.Addr) bool
	m              *Metrics
	log            *slog.Logger

	mu     sync.Mutex
	total  int
	bySrc  map[netip.Addr]int
	byAddr map[string]*limitedConn // remote "ip:port" → connection
}

func newConnLimiter(max, perSource int, idle, lifetime time.Duration, trusted func(netip.Addr) bool, m *Metrics, log *slog.Logger) *connLimiter {
	return &connLimiter{max: max, perSource: perSource, idle: idle, lifetime: lifetime, trusted: trusted, m: m, log: log,
		bySrc: map[netip.Addr]int{}, byAddr: map[string]*limitedConn{}}
}

// listen wraps l with the limits.
func (cl *connLimiter) listen(l net.Listener) net.Listener {
	return &limitedListener{Listener: l, cl: cl, done: make(chan struct{})}
}

// admit counts c in, or closes it and returns nil when a limit is reached.
func (cl *connLimiter) admit(c net.Conn) *limitedConn {
	ip := netip.Addr{}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip = ta.AddrPort().Addr().Unmap()
	}
	trusted := cl.trusted(ip)
	key := limitKey(ip)
	cl.mu.Lock()
	reason := ""
	switch {
	case cl.total >= cl.max:
		reason = "tcp_total"
	case !trusted && cl.bySrc[key] >= cl.perSource:
		reason = "tcp_source"
	}
	if reason != "" {
		cl.mu.Unlock()
		cl.m.Refused.WithLabelValues(reason).Inc()
		_ = c.Close()
		return nil
	}
	lc := &limitedConn{Conn: c, cl: cl, key: key, addr: c.RemoteAddr().String()}
	cl.total++
	cl.bySrc[key]++
	cl.byAddr[lc.addr] = lc
	cl.mu.Unlock()
	cl.m.TCPConns.Inc()
	if trusted {
		lc.establish()
	} else {
		_ = c.SetReadDeadline(time.Now().Add(cl.idle))
	}
	return lc
}

func (cl *connLimiter) release(lc *limitedConn) {
	cl.mu.Lock()
	cl.total--
	if cl.bySrc[lc.key]--; cl.bySrc[lc.key] <= 0 {
		delete(cl.bySrc, lc.key)
	}
	if cl.byAddr[lc.addr] == lc {
		delete(cl.byAddr, lc.addr)
	}
	cl.mu.Unlock()
	cl.m.TCPConns.Dec()
}

// established lifts the idle limit of the connection req came on, after
// req was authenticated. Requests over UDP are ignored.
func (cl *connLimiter) established(req *sipmsg.Request) {
	if req.Transport() == "UDP" {
		return
	}
	cl.mu.Lock()
	lc := cl.byAddr[req.Source()]
	cl.mu.Unlock()
	if lc != nil {
		lc.establish()
	}
}

// limitedListener is a listener under a connLimiter whose Accept never
// fails for a temporary reason: it pauses and retries.
type limitedListener struct {
	net.Listener
	cl        *connLimiter
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitedListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			l.cl.m.AcceptErrors.Inc()
			if delay == 0 {
				l.cl.log.Warn("sip: accept failed; retrying", "addr", l.Addr().String(), "err", err)
			}
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		delay = 0
		if lc := l.cl.admit(c); lc != nil {
			return lc, nil
		}
	}
}

func (l *limitedListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitedConn is an accepted connection counted by a connLimiter.
type limitedConn struct {
	net.Conn
	cl          *connLimiter
	key         netip.Addr
	addr        string
	est         atomic.Bool
	releaseOnce sync.Once
}

// establish replaces the connection's idle deadline by its lifetime.
func (c *limitedConn) establish() {
	if !c.est.Swap(true) {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.cl.lifetime))
	}
}

// Read extends the lifetime deadline of an established connection. A
// connection closed for its deadline reads as EOF: it is a normal end.
func (c *limitedConn) Read(b []byte) (int, error) {
	if c.est.Load() {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.cl.lifetime))
	}
	n, err := c.Conn.Read(b)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		c.cl.m.Refused.WithLabelValues("tcp_idle").Inc()
		return n, io.EOF
	}
	return n, err
}

func (c *limitedConn) Close() error {
	c.releaseOnce.Do(func() { c.cl.release(c) })
	return c.Conn.Close()
}
