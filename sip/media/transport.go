package media

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
)

// ephemeralTries is how many system-picked RTP ports are tried before
// giving up on finding one whose next port (RTCP) is free.
const ephemeralTries = 20

// ErrPortsExhausted is returned when every RTP port of the pool is in use.
var ErrPortsExhausted = errors.New("media: rtp port range exhausted")

// Transport carries the RTP packets of one leg. ReadPacket blocks until a
// packet arrives or the transport is closed. Implementations: UDPTransport
// (plain RTP) and the WebRTC track adapter of package sip.
type Transport interface {
	ReadPacket(buf []byte) (int, error)
	WritePacket(pkt []byte) error
	Close() error
}

// RTCPTransport is implemented by transports that carry RTCP next to RTP.
type RTCPTransport interface {
	ReadRTCP(buf []byte) (int, error)
	WriteRTCP(pkt []byte) error
}

// PortPool hands out even RTP ports (RTCP on port+1) from a range on one
// local IP. It is safe for concurrent use.
type PortPool struct {
	ip    netip.Addr
	rx    legReader              // reads the pool's sockets (Linux)
	batch atomic.Pointer[MuxSet] // held while rx delivers a batch

	mu    sync.Mutex
	free  []int // ports to bind; 0 asks the system for one (NewEphemeralPortPool)
	inUse int
	size  int
	// ephemeral pools return 0, not the bound port, to the free list.
	ephemeral bool
}

// NewPortPool creates a pool over [minPort, maxPort] on ip.
func NewPortPool(ip netip.Addr, minPort, maxPort int) (*PortPool, error) {
	if minPort <= 0 || maxPort > 65535 || maxPort < minPort+1 {
		return nil, fmt.Errorf("media: bad rtp port range %d-%d", minPort, maxPort)
	}
	p := &PortPool{ip: ip}
	for port := minPort + minPort&1; port+1 <= maxPort; port += 2 {
		p.free = append(p.free, port)
	}
	p.size = len(p.free)
	return p, nil
}

// NewEphemeralPortPool creates a pool of at most pairs port pairs on ip
// whose ports the system picks: RTP on a free port, RTCP on the one after
// it. No fixed range can then collide with another program's sockets,
// which is what tests and clients need.
func NewEphemeralPortPool(ip netip.Addr, pairs int) (*PortPool, error) {
	if pairs <= 0 {
		return nil, fmt.Errorf("media: bad rtp port pair count %d", pairs)
	}
	return &PortPool{ip: ip, free: make([]int, pairs), size: pairs, ephemeral: true}, nil
}

// Size returns the number of port pairs in the pool.
func (p *PortPool) Size() int { return p.size }

// InUse returns the number of port pairs allocated.
func (p *PortPool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}

// IP returns the local address the pool binds.
func (p *PortPool) IP() netip.Addr { return p.ip }

// BatchWith makes the pool's reader hold set while it delivers a batch of
// packets, so that what its legs relay to legs of set's sockets leaves in
// one sendmmsg per socket.
func (p *PortPool) BatchWith(set *MuxSet) { p.batch.Store(set) }

// Allocate binds an RTP/RTCP socket pair from the pool. Ports that fail to
// bind (taken by another process) are skipped and kept out for a while.
func (p *PortPool) Allocate() (*UDPTransport, error) {
	for {
		p.mu.Lock()
		if len(p.free) == 0 {
			p.mu.Unlock()
			return nil, ErrPortsExhausted
		}
		port := p.free[0]
		p.free = p.free[1:]
		p.inUse++
		p.mu.Unlock()

		t, err := p.bind(port)
		if err != nil {
			p.release(port)
			if port == 0 {
				return nil, fmt.Errorf("media: bind rtp: %w", err)
			}
			continue
		}
		return t, nil
	}
}

// release returns a port pair to the pool. Failed ports go to the back;
// released ones too (avoid immediate reuse, so late packets of the
// previous call do not leak into the next one).
func (p *PortPool) release(port int) {
	if p.ephemeral {
		port = 0
	}
	p.mu.Lock()
	p.inUse--
	p.free = append(p.free, port)
	p.mu.Unlock()
}

// LocalPort returns the RTP port.
func (t *UDPTransport) LocalPort() int { return t.port }

// SetRemote sets where the peer's SDP says its RTP is. Packets are sent
// there until the peer's first packet teaches the transport its real
// source, and to that source from then on (strict, symmetric RTP: see
// latch). An unspecified address or port 0 leaves the destination unknown
// until then. It fails for an address this socket must not or cannot send
// to.
func (t *UDPTransport) SetRemote(ap netip.AddrPort) error { return t.setRemote(ap, true) }

// ExpectRemote is SetRemote for a peer whose SDP address is not to be
// trusted — its signalling came from another address (NAT), or the local
// address cannot reach it: nothing is sent until the peer's first packet
// arrives, and then to that packet's source.
func (t *UDPTransport) ExpectRemote(ap netip.AddrPort) error { return t.setRemote(ap, false) }

func (t *UDPTransport) setRemote(ap netip.AddrPort, send bool) error {
	ap = unmap(ap)
	if !usable(ap) {
		t.latch.set(netip.AddrPort{}, false)
		return nil
	}
	if err := CanSend(t.LocalAddr().Addr(), ap.Addr()); err != nil {
		return err
	}
	t.latch.set(ap, send)
	return nil
}

// Remote returns the peer's learnt RTP source, or the SDP address before
// it is learnt.
func (t *UDPTransport) Remote() netip.AddrPort { return t.latch.remote() }
