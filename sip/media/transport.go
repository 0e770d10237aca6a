package media

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
)

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
	free  []int
	inUse int
	size  int
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
			p.release(port, true)
			continue
		}
		return t, nil
	}
}

func (p *PortPool) release(port int, failed bool) {
	p.mu.Lock()
	p.inUse--
	// Failed ports go to the back; released ones too (avoid immediate reuse,
	// so late packets of the previous call do not leak into the next one).
	p.free = append(p.free, port)
	p.mu.Unlock()
	_ = failed
}

// LocalPort returns the RTP port.
func (t *UDPTransport) LocalPort() int { return t.port }

// SetRemote sets where RTP (and RTCP, on port+1) is sent. It never fails;
// the error is there to match MuxLeg.SetRemote.
func (t *UDPTransport) SetRemote(ap netip.AddrPort) error {
	t.remote.Store(&ap)
	rc := netip.AddrPortFrom(ap.Addr(), ap.Port()+1)
	t.remoteRTCP.Store(&rc)
	return nil
}

// Remote returns the current RTP destination.
func (t *UDPTransport) Remote() netip.AddrPort {
	if p := t.remote.Load(); p != nil {
		return *p
	}
	return netip.AddrPort{}
}

// dest returns where an RTP (rtcp false) or RTCP packet goes, false while
// no remote is known.
func (t *UDPTransport) dest(rtcp bool) (netip.AddrPort, bool) {
	r := t.remote.Load()
	if rtcp {
		r = t.remoteRTCP.Load()
	}
	if r == nil || r.Port() == 0 {
		return netip.AddrPort{}, false
	}
	return *r, true
}
