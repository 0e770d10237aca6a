//go:build !linux

package media

import (
	"net"
	"net/netip"
)

// batchConn is the portable stand-in for the Linux batched socket: one
// datagram per system call through the standard library.
type batchConn struct {
	c *net.UDPConn
}

// listenBatch binds a UDP socket on ap (port 0: one the system picks).
func listenBatch(ap netip.AddrPort) (*batchConn, error) {
	network := "udp4"
	if ap.Addr().Is6() && !ap.Addr().Is4In6() {
		network = "udp6"
	}
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	return &batchConn{c: c}, nil
}

// LocalAddr returns the bound address.
func (c *batchConn) LocalAddr() netip.AddrPort { return c.c.LocalAddr().(*net.UDPAddr).AddrPort() }

// setBuffers asks for size-byte socket buffers.
func (c *batchConn) setBuffers(size int) { SetSocketBuffers(c.c, size) }

// readBatch reads one datagram into ds[0].
func (c *batchConn) readBatch(ds []datagram) (int, error) {
	n, from, err := c.c.ReadFromUDPAddrPort(ds[0].buf)
	if err != nil {
		return 0, err
	}
	ds[0].n, ds[0].addr = n, from
	return 1, nil
}

// writeBatch sends each datagram, skipping those refused, and returns the
// first error.
func (c *batchConn) writeBatch(ds []datagram) error {
	var first error
	for i := range ds {
		if _, err := c.c.WriteToUDPAddrPort(ds[i].buf[:ds[i].n], ds[i].addr); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// close closes the socket.
func (c *batchConn) close() error { return c.c.Close() }
