package media

import (
	"errors"
	"fmt"
	"net"
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
	ip netip.Addr

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

		rtp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port))))
		if err != nil {
			p.release(port, true)
			continue
		}
		rtcp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port+1))))
		if err != nil {
			rtp.Close()
			p.release(port, true)
			continue
		}
		return &UDPTransport{rtp: rtp, rtcp: rtcp, port: port, pool: p}, nil
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

// UDPTransport is a plain RTP/RTCP socket pair. The remote address comes
// from SDP; until it is known (or when Latch is set) the source of the
// first packet received is used (symmetric RTP, for callers behind NAT).
type UDPTransport struct {
	rtp, rtcp *net.UDPConn
	port      int
	pool      *PortPool

	remote     atomic.Pointer[netip.AddrPort]
	remoteRTCP atomic.Pointer[netip.AddrPort]
	closed     atomic.Bool
}

// LocalPort returns the RTP port.
func (t *UDPTransport) LocalPort() int { return t.port }

// LocalAddr returns the RTP socket address.
func (t *UDPTransport) LocalAddr() netip.AddrPort {
	return t.rtp.LocalAddr().(*net.UDPAddr).AddrPort()
}

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

// ReadPacket reads one RTP datagram.
func (t *UDPTransport) ReadPacket(buf []byte) (int, error) {
	n, from, err := t.rtp.ReadFromUDPAddrPort(buf)
	if err != nil {
		return 0, err
	}
	if t.remote.Load() == nil {
		_ = t.SetRemote(from)
	}
	return n, nil
}

// WritePacket sends one RTP datagram; it is dropped while no remote is known.
func (t *UDPTransport) WritePacket(pkt []byte) error {
	r := t.remote.Load()
	if r == nil || r.Port() == 0 {
		return nil
	}
	_, err := t.rtp.WriteToUDPAddrPort(pkt, *r)
	return err
}

// ReadRTCP reads one RTCP datagram.
func (t *UDPTransport) ReadRTCP(buf []byte) (int, error) {
	n, _, err := t.rtcp.ReadFromUDPAddrPort(buf)
	return n, err
}

// WriteRTCP sends one RTCP datagram.
func (t *UDPTransport) WriteRTCP(pkt []byte) error {
	r := t.remoteRTCP.Load()
	if r == nil || r.Port() == 0 {
		return nil
	}
	_, err := t.rtcp.WriteToUDPAddrPort(pkt, *r)
	return err
}

// Close closes both sockets and returns the port pair to the pool. It is
// idempotent.
func (t *UDPTransport) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	err := errors.Join(t.rtp.Close(), t.rtcp.Close())
	if t.pool != nil {
		t.pool.release(t.port, false)
	}
	return err
}
