//go:build !linux

package media

import "net"

// forceSockBuf is a no-op where SO_RCVBUFFORCE does not exist.
func forceSockBuf(*net.UDPConn, int) {}
