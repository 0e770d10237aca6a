//go:build linux

package media

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// UDPTransport is a dedicated RTP/RTCP socket pair. It learns the peer's
// source from its first packet and then accepts RTP from that source and
// SSRC only, and sends to it (strict, symmetric RTP: see latch), so that
// callers behind NAT are heard and nobody else can inject media.
//
// Both sockets are blocking descriptors outside Go's poller (batchConn).
// Once a Session is created on the transport, its pool's reader delivers
// the packets to it (see legReader): no goroutine per leg wakes for each
// packet, which on a two-core machine carrying a thousand such legs was
// the larger part of the cost of a packet. Writes are a sendto each.
type UDPTransport struct {
	rtp, rtcp *batchConn
	port      int
	pool      *PortPool

	latch    latch
	sess     atomic.Pointer[Session]
	closed   atomic.Bool
	done     chan struct{}
	watchErr error     // set by attach when the reader could not take the sockets
	set      *epollSet // the reader's set holding the sockets; guarded by legReader.mu
}

// bind binds RTP on port and RTCP on port+1; port 0 asks the system for
// a pair (a few tries, as the port after a free one may be taken).
func (p *PortPool) bind(port int) (*UDPTransport, error) {
	var err error
	for range ephemeralTries {
		var rtp, rtcp *batchConn
		if rtp, err = listenBatch(netip.AddrPortFrom(p.ip, uint16(port))); err != nil {
			return nil, err
		}
		bound := int(rtp.LocalAddr().Port())
		if bound == 65535 {
			_ = rtp.close()
			err = ErrPortsExhausted
			continue
		}
		if rtcp, err = listenBatch(netip.AddrPortFrom(p.ip, uint16(bound+1))); err == nil {
			return &UDPTransport{rtp: rtp, rtcp: rtcp, port: bound, pool: p, done: make(chan struct{})}, nil
		}
		_ = rtp.close()
		if port != 0 {
			break
		}
	}
	return nil, err
}

// attach hands the transport's packets to s from now on (NewSession calls
// it).
func (t *UDPTransport) attach(s *Session) {
	t.sess.Store(s)
	t.watchErr = t.pool.rx.watch(t.pool, t)
}

// LocalAddr returns the RTP socket address.
func (t *UDPTransport) LocalAddr() netip.AddrPort { return t.rtp.LocalAddr() }

// ReadPacket blocks until the transport is closed: the pool's reader
// delivers the packets to the transport's Session.
func (t *UDPTransport) ReadPacket([]byte) (int, error) {
	if t.watchErr != nil {
		return 0, t.watchErr
	}
	<-t.done
	return 0, net.ErrClosed
}

// WritePacket sends one RTP datagram; it is dropped while no remote is known.
func (t *UDPTransport) WritePacket(pkt []byte) error {
	dst, ok := t.latch.dest(false)
	if !ok {
		return nil
	}
	return t.rtp.writeTo(pkt, dst)
}

// ReadRTCP blocks until the transport is closed (RTCP is delivered with
// the RTP).
func (t *UDPTransport) ReadRTCP([]byte) (int, error) {
	<-t.done
	return 0, net.ErrClosed
}

// WriteRTCP sends one RTCP datagram.
func (t *UDPTransport) WriteRTCP(pkt []byte) error {
	dst, ok := t.latch.dest(true)
	if !ok {
		return nil
	}
	return t.rtcp.writeTo(pkt, dst)
}

// Close closes both sockets and returns the port pair to the pool. It is
// idempotent.
func (t *UDPTransport) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	t.pool.rx.unwatch(t)
	close(t.done)
	err := errors.Join(t.rtp.close(), t.rtcp.close())
	t.pool.release(t.port)
	return err
}

// deliver reads what waits on the RTP (or RTCP) socket and hands it to the
// transport's Session; packets that are not the peer's (latch) are dropped.
func (t *UDPTransport) deliver(rtcp bool, ds []datagram) {
	c := t.rtp
	if rtcp {
		c = t.rtcp
	}
	s := t.sess.Load()
	for {
		n, err := c.readReady(ds)
		if err != nil || n == 0 {
			return
		}
		for i := range ds[:n] {
			d := &ds[i]
			switch {
			case rtcp:
				if t.latch.rtcpFrom(d.addr) {
					s.handleRTCP(d.buf[:d.n])
				}
			case t.latch.rtp(d.addr, d.buf[:d.n]):
				s.handle(d.buf[:d.n])
			}
		}
		if n < len(ds) {
			return
		}
	}
}

// legReader reads the dedicated sockets of a pool: a few epoll sets (one
// per CPU the runtime uses), each socket in one of them, each set read by
// one goroutine. The set's own descriptor waits in Go's poller (an epoll
// instance is readable while it has ready sockets), so a reader parks like
// any goroutine — blocking its thread in epoll_wait instead would hold a P
// and starve the timers queued on it — and wakes once for all the sockets
// ready then, not once per packet. After a wake-up it waits muxCoalesce, so
// that the next one finds a millisecond's packets, as the shared sockets'
// readers do. A set's goroutine runs while the set holds sockets: it
// starts with the first and ends with the last.
type legReader struct {
	mu   sync.Mutex
	sets []*epollSet // nil entries: not running
}

// watch adds t's sockets to a set, starting its reader if needed.
func (r *legReader) watch(p *PortPool, t *UDPTransport) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.set != nil {
		return nil
	}
	if r.sets == nil {
		r.sets = make([]*epollSet, runtime.GOMAXPROCS(0))
	}
	i := (t.port / 2) % len(r.sets)
	e := r.sets[i]
	if e == nil {
		var err error
		if e, err = newEpollSet(); err != nil {
			return err
		}
		r.sets[i] = e
		go e.run(p)
	}
	if err := e.add(t); err != nil {
		if e.n == 0 {
			r.sets[i] = nil
			e.stop()
		}
		return err
	}
	t.set = e
	return nil
}

// unwatch removes t's sockets from their set (before they are closed),
// stopping its reader when it was the last.
func (r *legReader) unwatch(t *UDPTransport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := t.set
	if e == nil {
		return
	}
	t.set = nil
	e.remove(t)
	if e.n == 0 {
		for i := range r.sets {
			if r.sets[i] == e {
				r.sets[i] = nil
			}
		}
		e.stop()
	}
}

// epollSet is one reader's epoll instance.
type epollSet struct {
	fd   int
	file *os.File // fd in Go's poller; closing it ends run

	mu    sync.Mutex
	socks map[int32]epollSock // by descriptor
	n     int                 // transports in the set (guarded by legReader.mu)
}

type epollSock struct {
	t    *UDPTransport
	rtcp bool
}

// epollEvents is how many ready sockets one epoll_wait returns at most.
const epollEvents = 256

func newEpollSet() (*epollSet, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, sysErr("epoll_create1", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, sysErr("epoll nonblock", err)
	}
	return &epollSet{fd: fd, file: os.NewFile(uintptr(fd), "epoll"), socks: map[int32]epollSock{}}, nil
}

func (e *epollSet) add(t *UDPTransport) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range []epollSock{{t, false}, {t, true}} {
		c := s.t.rtp
		if s.rtcp {
			c = s.t.rtcp
		}
		if err := unix.EpollCtl(e.fd, unix.EPOLL_CTL_ADD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(c.fd)}); err != nil {
			if s.rtcp {
				_ = unix.EpollCtl(e.fd, unix.EPOLL_CTL_DEL, t.rtp.fd, nil)
				delete(e.socks, int32(t.rtp.fd))
			}
			return sysErr("epoll_ctl", err)
		}
		e.socks[int32(c.fd)] = s
	}
	e.n++
	return nil
}

func (e *epollSet) remove(t *UDPTransport) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range []*batchConn{t.rtp, t.rtcp} {
		_ = unix.EpollCtl(e.fd, unix.EPOLL_CTL_DEL, c.fd, nil)
		delete(e.socks, int32(c.fd))
	}
	e.n--
}

// stop ends the set's reader and closes the set.
func (e *epollSet) stop() { _ = e.file.Close() }

// run delivers the packets of the set's sockets until stop. A socket that
// was removed (and maybe closed) after epoll_wait reported it is skipped:
// its batchConn refuses reads once closed, so a reused descriptor number
// is never read on its behalf.
func (e *epollSet) run(p *PortPool) {
	rc, err := e.file.SyscallConn()
	if err != nil {
		return
	}
	events := make([]unix.EpollEvent, epollEvents)
	ds := newDatagrams(16)
	for {
		var n int
		err := rc.Read(func(fd uintptr) bool {
			var werr error
			n, werr = unix.EpollWait(int(fd), events, 0)
			return n > 0 || (werr != nil && werr != unix.EINTR)
		})
		if err != nil {
			return // stopped
		}
		set := p.batch.Load()
		if set != nil {
			set.hold()
		}
		for _, ev := range events[:max(n, 0)] {
			e.mu.Lock()
			s, ok := e.socks[ev.Fd]
			e.mu.Unlock()
			if ok {
				s.t.deliver(s.rtcp, ds)
			}
		}
		if set != nil {
			set.release()
		}
		time.Sleep(muxCoalesce)
	}
}
