package media

import (
	"net"
	"syscall"
)

// forceSockBuf raises the socket buffers past net.core.rmem_max/wmem_max
// when the process is privileged (SO_RCVBUFFORCE/SO_SNDBUFFORCE).
func forceSockBuf(c *net.UDPConn, size int) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size)
		_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, size)
	})
}
