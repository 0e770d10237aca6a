package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ErrRemoteInUse is returned when a leg claims a remote address that
// another leg of the same shared socket already has.
var ErrRemoteInUse = errors.New("media: remote address already has a leg on this socket")

// MuxSet is the shared-socket RTP layout for high call counts: a few UDP
// sockets (RTP on an even port, RTCP on the next), each carrying the legs
// of many calls told apart by remote address (from SDP), read and written
// with batched system calls (batchConn). One recvmmsg reads up to a
// batch of packets (waiting a millisecond after a short batch so that
// batches fill: muxCoalesce), each is handed to its leg's Session on the
// socket's goroutine, and every packet sent meanwhile — relayed by those sessions, or played by a Pacer
// tick — is queued and leaves with one sendmmsg when the batch ends. The
// per-packet syscall pair of a socket per leg becomes two syscalls per
// batch, and no port is bound or released per call.
//
// Two legs of one socket cannot share a remote address; NewLeg then tries
// the set's other sockets. Packets from unknown addresses are dropped: a
// shared socket cannot latch onto the source of the first packet, so
// endpoints whose SDP address is not where their RTP comes from (behind
// NAT) need a dedicated port (PortPool).
type MuxSet struct {
	socks []*MuxSocket
	next  atomic.Uint32
}

// NewMuxSet binds n sockets on ip: RTP on firstPort, firstPort+2, … and
// RTCP on each RTP port + 1. With firstPort 0 the ports are chosen by the
// system (tests). batch is the number of packets per system call
// (default 256).
func NewMuxSet(ip netip.Addr, firstPort, n, batch int) (*MuxSet, error) {
	if n <= 0 {
		return nil, fmt.Errorf("media: mux set needs at least one socket, got %d", n)
	}
	if batch <= 0 {
		batch = 256
	}
	set := &MuxSet{}
	for i := range n {
		port := 0
		if firstPort > 0 {
			port = firstPort + 2*i
		}
		m, err := newMuxSocket(set, ip, port, batch)
		if err != nil {
			_ = set.Close()
			return nil, err
		}
		set.socks = append(set.socks, m)
	}
	return set, nil
}

// Sockets returns the set's sockets.
func (s *MuxSet) Sockets() []*MuxSocket { return s.socks }

// NewLeg registers a leg for remote on one of the sockets (taken in turn,
// skipping those where remote already has a leg). An invalid or
// unspecified remote makes a pending leg that sends nothing until
// SetRemote (an outbound offer, or an offer on hold).
func (s *MuxSet) NewLeg(remote netip.AddrPort) (*MuxLeg, error) {
	start := int(s.next.Add(1))
	for i := range s.socks {
		if l, err := s.socks[(start+i)%len(s.socks)].newLeg(remote); err == nil {
			return l, nil
		}
	}
	return nil, ErrRemoteInUse
}

// Legs returns the number of legs on the set's sockets.
func (s *MuxSet) Legs() int {
	n := 0
	for _, m := range s.socks {
		n += int(m.nlegs.Load())
	}
	return n
}

// Stats returns packets sent and received on the set's sockets.
func (s *MuxSet) Stats() (sent, received uint64) {
	for _, m := range s.socks {
		tx, rx := m.Stats()
		sent, received = sent+tx, received+rx
	}
	return sent, received
}

// Run reads every socket until Close; it returns the first error.
func (s *MuxSet) Run() error {
	errc := make(chan error, 2*len(s.socks))
	for _, m := range s.socks {
		go func() { errc <- m.run() }()
		go func() { errc <- m.runRTCP() }()
	}
	var first error
	for range 2 * len(s.socks) {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close closes every socket; Run returns.
func (s *MuxSet) Close() error {
	var errs []error
	for _, m := range s.socks {
		errs = append(errs, m.rtp.close(), m.rtcp.Close())
	}
	return errors.Join(errs...)
}

// hold marks the start of a batch on every socket of the set: packets
// queued until release are sent together.
func (s *MuxSet) hold() {
	for _, m := range s.socks {
		m.batching.Add(1)
	}
}

// release ends a batch started by hold and sends what was queued.
func (s *MuxSet) release() {
	for _, m := range s.socks {
		m.batching.Add(-1)
		m.flush()
	}
}

// MuxSocket is one RTP/RTCP socket pair of a MuxSet.
type MuxSocket struct {
	set   *MuxSet
	rtp   *batchConn
	rtcp  *net.UDPConn
	batch int

	mu    sync.RWMutex
	legs  map[netip.AddrPort]*MuxLeg
	nlegs atomic.Int32

	wmu      sync.Mutex
	out      []datagram
	pending  int
	batching atomic.Int32

	sent, recv atomic.Uint64
}

// muxSockBuf is the socket buffer size requested for a MuxSocket.
const muxSockBuf = 8 << 20

func newMuxSocket(set *MuxSet, ip netip.Addr, port, batch int) (*MuxSocket, error) {
	rtp, rtcpConn, err := bindPair(ip, port)
	if err != nil {
		return nil, err
	}
	// One socket takes the burst of every leg: size its buffers for it
	// (SO_RCVBUFFORCE when privileged, else capped by net.core.rmem_max).
	rtp.setBuffers(muxSockBuf)
	return &MuxSocket{set: set, rtp: rtp, rtcp: rtcpConn, batch: batch,
		legs: map[netip.AddrPort]*MuxLeg{}, out: newDatagrams(batch)}, nil
}

// datagram is one packet of a batch and its peer's address.
type datagram struct {
	buf  []byte // maxPacket bytes
	n    int
	addr netip.AddrPort
	// src, when valid, is the local address a datagram is sent from on a
	// socket bound to the wildcard address (IP_PKTINFO); otherwise the
	// kernel picks it.
	src netip.Addr
}

func newDatagrams(n int) []datagram {
	ds := make([]datagram, n)
	for i := range ds {
		ds[i].buf = make([]byte, maxPacket)
	}
	return ds
}

// bindPair binds RTP on port and RTCP on port+1 (port 0: a free pair).
func bindPair(ip netip.Addr, port int) (rtp *batchConn, rtcpConn *net.UDPConn, err error) {
	network := "udp4"
	if ip.Is6() && !ip.Is4In6() {
		network = "udp6"
	}
	for range ephemeralTries {
		rtp, err = listenBatch(netip.AddrPortFrom(ip, uint16(port)))
		if err != nil {
			return nil, nil, fmt.Errorf("media: mux: %w", err)
		}
		p := rtp.LocalAddr().Port()
		rtcpConn, err = net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, p+1)))
		if err == nil {
			return rtp, rtcpConn, nil
		}
		_ = rtp.close()
		if port != 0 {
			break
		}
	}
	return nil, nil, fmt.Errorf("media: mux rtcp: %w", err)
}

// LocalAddr returns the shared RTP address (what every leg's SDP carries).
func (m *MuxSocket) LocalAddr() netip.AddrPort { return m.rtp.LocalAddr() }

// Stats returns packets sent and received on the socket.
func (m *MuxSocket) Stats() (sent, received uint64) { return m.sent.Load(), m.recv.Load() }

func unmap(ap netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) }

// usable reports whether packets can be sent to ap.
func usable(ap netip.AddrPort) bool {
	return ap.IsValid() && ap.Port() != 0 && !ap.Addr().IsUnspecified()
}

func (m *MuxSocket) newLeg(remote netip.AddrPort) (*MuxLeg, error) {
	l := &MuxLeg{m: m, closed: make(chan struct{})}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := l.setRemoteLocked(remote); err != nil {
		return nil, err
	}
	m.nlegs.Add(1)
	return l, nil
}

// run reads RTP in batches and dispatches until the socket is closed.
func (m *MuxSocket) run() error {
	ds := newDatagrams(m.batch)
	for {
		n, err := m.rtp.readBatch(ds)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("media: mux read: %w", err)
		}
		m.recv.Add(uint64(n))
		m.set.hold()
		m.mu.RLock()
		for _, d := range ds[:n] {
			if l := m.legs[unmap(d.addr)]; l != nil {
				if s := l.sess.Load(); s != nil {
					s.handle(d.buf[:d.n])
				}
			}
		}
		m.mu.RUnlock()
		m.set.release()
		if n < len(ds) {
			time.Sleep(muxCoalesce)
		}
	}
}

// muxCoalesce is how long a shared socket's reader waits after a batch
// that did not fill its buffer, so that the packets of the next
// millisecond arrive together: interrupt mitigation, as NICs do. Phones
// send at independent moments; read as they come, a busy socket wakes its
// reader for a handful of packets at a time and a loaded machine drops
// packets (BenchmarkBridgedCalls shows it); with the wait, batches are
// large and none are lost. It delays a packet by at most this much, well
// inside any phone's jitter buffer.
const muxCoalesce = time.Millisecond

// runRTCP reads RTCP (a few packets per leg and minute) one at a time and
// hands each to the leg whose remote RTP port is one below the source.
func (m *MuxSocket) runRTCP() error {
	buf := make([]byte, maxPacket)
	for {
		n, from, err := m.rtcp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("media: mux rtcp read: %w", err)
		}
		from = unmap(from)
		m.mu.RLock()
		l := m.legs[netip.AddrPortFrom(from.Addr(), from.Port()-1)]
		m.mu.RUnlock()
		if l != nil {
			if s := l.sess.Load(); s != nil {
				s.handleRTCP(buf[:n])
			}
		}
	}
}

func (m *MuxSocket) enqueue(pkt []byte, dst netip.AddrPort) error {
	if len(pkt) > maxPacket {
		return nil
	}
	m.wmu.Lock()
	defer m.wmu.Unlock()
	d := &m.out[m.pending]
	d.n = copy(d.buf, pkt)
	d.addr = dst
	m.pending++
	// Outside a batch (a lone DTMF digit, a relay from a dedicated port)
	// a packet leaves at once; inside one it waits for the batch's end or
	// a full queue.
	if m.pending == len(m.out) || m.batching.Load() == 0 {
		return m.flushLocked()
	}
	return nil
}

func (m *MuxSocket) flush() {
	m.wmu.Lock()
	if m.pending > 0 {
		_ = m.flushLocked()
	}
	m.wmu.Unlock()
}

func (m *MuxSocket) flushLocked() error {
	err := m.rtp.writeBatch(m.out[:m.pending])
	m.sent.Add(uint64(m.pending))
	m.pending = 0
	return err
}

// MuxLeg is one leg of a MuxSet; it implements Transport and
// RTCPTransport. Reading is done by its socket's goroutines, which hand
// packets to the Session created on the leg, so ReadPacket and ReadRTCP
// only block until Close (Session.Run then simply waits for the call to
// end).
type MuxLeg struct {
	m      *MuxSocket
	remote netip.AddrPort // guarded by m.mu
	dst    atomic.Pointer[netip.AddrPort]
	dstRC  atomic.Pointer[net.UDPAddr]
	sess   atomic.Pointer[Session]
	closed chan struct{}
	once   sync.Once
}

// attach routes the leg's incoming packets to s (NewSession calls it).
func (l *MuxLeg) attach(s *Session) { l.sess.Store(s) }

// LocalAddr returns the shared RTP address of the leg's socket.
func (l *MuxLeg) LocalAddr() netip.AddrPort { return l.m.LocalAddr() }

// LocalPort returns the RTP port of the leg's socket.
func (l *MuxLeg) LocalPort() int { return int(l.m.LocalAddr().Port()) }

// Remote returns the remote RTP address (invalid while pending).
func (l *MuxLeg) Remote() netip.AddrPort {
	l.m.mu.RLock()
	defer l.m.mu.RUnlock()
	return l.remote
}

// SetRemote moves the leg to a new remote RTP address (an answer, a
// re-INVITE). It fails with ErrRemoteInUse when another leg of the socket
// has that address, and as CanSend for an address the socket must not or
// cannot send to; an unspecified address (hold) keeps the leg pending.
func (l *MuxLeg) SetRemote(ap netip.AddrPort) error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	return l.setRemoteLocked(ap)
}

func (l *MuxLeg) setRemoteLocked(ap netip.AddrPort) error {
	ap = unmap(ap)
	if !usable(ap) {
		ap = netip.AddrPort{}
	}
	if ap == l.remote {
		return nil
	}
	if ap.IsValid() {
		if err := CanSend(l.m.LocalAddr().Addr(), ap.Addr()); err != nil {
			return err
		}
		if other := l.m.legs[ap]; other != nil && other != l {
			return ErrRemoteInUse
		}
	}
	if l.remote.IsValid() && l.m.legs[l.remote] == l {
		delete(l.m.legs, l.remote)
	}
	l.remote = ap
	if !ap.IsValid() {
		l.dst.Store(nil)
		l.dstRC.Store(nil)
		return nil
	}
	l.m.legs[ap] = l
	l.dst.Store(&ap)
	l.dstRC.Store(net.UDPAddrFromAddrPort(netip.AddrPortFrom(ap.Addr(), ap.Port()+1)))
	return nil
}

// ReadPacket blocks until the leg is closed.
func (l *MuxLeg) ReadPacket([]byte) (int, error) {
	<-l.closed
	return 0, net.ErrClosed
}

// WritePacket queues pkt for the leg's remote address (dropped while the
// leg is pending).
func (l *MuxLeg) WritePacket(pkt []byte) error {
	dst := l.dst.Load()
	if dst == nil {
		return nil
	}
	return l.m.enqueue(pkt, *dst)
}

// ReadRTCP blocks until the leg is closed (the socket delivers RTCP).
func (l *MuxLeg) ReadRTCP([]byte) (int, error) {
	<-l.closed
	return 0, net.ErrClosed
}

// WriteRTCP sends one RTCP packet to the remote RTP port + 1.
func (l *MuxLeg) WriteRTCP(pkt []byte) error {
	dst := l.dstRC.Load()
	if dst == nil {
		return nil
	}
	_, err := l.m.rtcp.WriteToUDP(pkt, dst)
	return err
}

// Close removes the leg from its socket. It is idempotent.
func (l *MuxLeg) Close() error {
	l.once.Do(func() {
		l.m.mu.Lock()
		if l.remote.IsValid() && l.m.legs[l.remote] == l {
			delete(l.m.legs, l.remote)
		}
		l.remote = netip.AddrPort{}
		l.m.mu.Unlock()
		l.dst.Store(nil)
		l.dstRC.Store(nil)
		l.m.nlegs.Add(-1)
		close(l.closed)
	})
	return nil
}
