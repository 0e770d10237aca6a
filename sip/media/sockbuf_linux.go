package media

import (
	"net"
	"syscall"
)

// SetSocketBuffers asks for size-byte receive and send buffers on c, past
// net.core.rmem_max/wmem_max when the process is privileged
// (SO_RCVBUFFORCE/SO_SNDBUFFORCE); otherwise the kernel caps them. It is
// best effort: a socket keeps whatever it was given.
func SetSocketBuffers(c *net.UDPConn, size int) {
	_ = c.SetReadBuffer(size)
	_ = c.SetWriteBuffer(size)
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size)
		_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, size)
	})
}
