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
	_ = rc.Control(func(fd uintptr) { setFDBuffers(int(fd), size) })
}

// setFDBuffers asks for size-byte buffers on fd past the sysctl caps when
// privileged, and up to them otherwise.
func setFDBuffers(fd, size int) {
	if syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size) != nil {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
	}
	if syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, size) != nil {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, size)
	}
}
