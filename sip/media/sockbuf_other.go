//go:build !linux

package media

import "net"

// SetSocketBuffers asks for size-byte receive and send buffers on c (best
// effort; the system caps them).
func SetSocketBuffers(c *net.UDPConn, size int) {
	_ = c.SetReadBuffer(size)
	_ = c.SetWriteBuffer(size)
}
