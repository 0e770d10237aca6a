//go:build !linux

package media

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
)

// UDPTransport is a dedicated RTP/RTCP socket pair. The remote address
// comes from SDP; until it is known the source of the first packet
// received is used (symmetric RTP, for callers behind NAT). Here its
// Session reads it, a packet per system call.
type UDPTransport struct {
	rtp, rtcp *net.UDPConn
	port      int
	pool      *PortPool

	remote     atomic.Pointer[netip.AddrPort]
	remoteRTCP atomic.Pointer[netip.AddrPort]
	closed     atomic.Bool
}

// legReader is the Linux pool's shared reader; elsewhere each Session
// reads its own transport.
type legReader struct{}

func (p *PortPool) bind(port int) (*UDPTransport, error) {
	rtp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port))))
	if err != nil {
		return nil, err
	}
	rtcp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port+1))))
	if err != nil {
		rtp.Close()
		return nil, err
	}
	return &UDPTransport{rtp: rtp, rtcp: rtcp, port: port, pool: p}, nil
}

// LocalAddr returns the RTP socket address.
func (t *UDPTransport) LocalAddr() netip.AddrPort {
	return t.rtp.LocalAddr().(*net.UDPAddr).AddrPort()
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
	dst, ok := t.dest(false)
	if !ok {
		return nil
	}
	_, err := t.rtp.WriteToUDPAddrPort(pkt, dst)
	return err
}

// ReadRTCP reads one RTCP datagram.
func (t *UDPTransport) ReadRTCP(buf []byte) (int, error) {
	n, _, err := t.rtcp.ReadFromUDPAddrPort(buf)
	return n, err
}

// WriteRTCP sends one RTCP datagram.
func (t *UDPTransport) WriteRTCP(pkt []byte) error {
	dst, ok := t.dest(true)
	if !ok {
		return nil
	}
	_, err := t.rtcp.WriteToUDPAddrPort(pkt, dst)
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
