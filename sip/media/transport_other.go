//go:build !linux

package media

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
)

// UDPTransport is a dedicated RTP/RTCP socket pair. It learns the peer's
// source from its first packet and then accepts RTP from that source and
// SSRC only, and sends to it (strict, symmetric RTP: see latch). Here its
// Session reads it, a packet per system call.
type UDPTransport struct {
	rtp, rtcp *net.UDPConn
	port      int
	pool      *PortPool

	latch  latch
	closed atomic.Bool
}

// legReader is the Linux pool's shared reader; elsewhere each Session
// reads its own transport.
type legReader struct{}

// bind binds RTP on port and RTCP on port+1; port 0 asks the system for
// a pair (a few tries, as the port after a free one may be taken).
func (p *PortPool) bind(port int) (*UDPTransport, error) {
	var err error
	for range ephemeralTries {
		var rtp, rtcp *net.UDPConn
		if rtp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port)))); err != nil {
			return nil, err
		}
		bound := rtp.LocalAddr().(*net.UDPAddr).Port
		if bound == 65535 {
			rtp.Close()
			err = ErrPortsExhausted
			continue
		}
		if rtcp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(bound+1)))); err == nil {
			return &UDPTransport{rtp: rtp, rtcp: rtcp, port: bound, pool: p}, nil
		}
		rtp.Close()
		if port != 0 {
			break
		}
	}
	return nil, err
}

// LocalAddr returns the RTP socket address.
func (t *UDPTransport) LocalAddr() netip.AddrPort {
	return t.rtp.LocalAddr().(*net.UDPAddr).AddrPort()
}

// ReadPacket reads the next RTP datagram from the peer (see latch).
func (t *UDPTransport) ReadPacket(buf []byte) (int, error) {
	for {
		n, from, err := t.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return 0, err
		}
		if t.latch.rtp(from, buf[:n]) {
			return n, nil
		}
	}
}

// WritePacket sends one RTP datagram; it is dropped while no remote is known.
func (t *UDPTransport) WritePacket(pkt []byte) error {
	dst, ok := t.latch.dest(false)
	if !ok {
		return nil
	}
	_, err := t.rtp.WriteToUDPAddrPort(pkt, dst)
	return err
}

// ReadRTCP reads the next RTCP datagram from the peer (see latch).
func (t *UDPTransport) ReadRTCP(buf []byte) (int, error) {
	for {
		n, from, err := t.rtcp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return 0, err
		}
		if t.latch.rtcpFrom(from) {
			return n, nil
		}
	}
}

// WriteRTCP sends one RTCP datagram.
func (t *UDPTransport) WriteRTCP(pkt []byte) error {
	dst, ok := t.latch.dest(true)
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
		t.pool.release(t.port)
	}
	return err
}
