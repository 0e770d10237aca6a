package media

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchConn is a UDP socket read and written with recvmmsg/sendmmsg on a
// plain blocking descriptor, outside Go's network poller. A shared RTP
// socket moves tens of thousands of packets a second; registered with the
// poller (epoll, edge-triggered for reading and writing), every packet
// sent would also run an epoll callback when the kernel frees it and
// every packet received one more, each taking the wait-queue lock with
// interrupts off — measured at about a tenth of the CPU of a 1,000-call
// relay on this VM. Here the reading goroutine sleeps in recvmmsg and the
// kernel wakes it once per batch; the message headers are built in place,
// without the per-call packing of golang.org/x/net. The socket also sets
// the don't-fragment bit (RTP packets are far below any MTU), which spares
// the kernel an IP identifier per packet.
//
// One goroutine reads (readBatch); writers are serialized by the caller
// (writeBatch). close wakes the reader and closes the descriptor once the
// reader has returned.
type batchConn struct {
	fd     int
	v6     bool
	local  netip.AddrPort
	mu     sync.RWMutex // held for reading by I/O on fd, for writing by close
	closed bool
	reader sync.WaitGroup
	rx, tx mmsgBuf
}

// mmsgBuf holds the kernel-facing headers of one batch direction.
type mmsgBuf struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // large enough for either family
	ctls  [][]byte                // IP_PKTINFO per datagram (writes with a src)
	dsts  []netip.AddrPort        // each header's destination (error messages)
}

func (b *mmsgBuf) grow(n int) {
	if len(b.hdrs) < n {
		b.hdrs = make([]unix.Mmsghdr, n)
		b.iovs = make([]unix.Iovec, n)
		b.names = make([]unix.RawSockaddrInet6, n)
		b.ctls = make([][]byte, n)
		b.dsts = make([]netip.AddrPort, n)
	}
}

// pktinfo returns slot i's control message setting the source address of
// a datagram (IPv4 sockets; IPv6 ones leave the choice to the kernel).
func (b *mmsgBuf) pktinfo(i int, src netip.Addr) []byte {
	if b.ctls[i] == nil {
		b.ctls[i] = make([]byte, unix.CmsgSpace(unix.SizeofInet4Pktinfo))
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b.ctls[i][0]))
		h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
	}
	info := (*unix.Inet4Pktinfo)(unsafe.Pointer(&b.ctls[i][unix.CmsgLen(0)]))
	info.Spec_dst = src.Unmap().As4()
	return b.ctls[i]
}

// listenBatch binds a UDP socket on ap (port 0: one the system picks).
func listenBatch(ap netip.AddrPort) (*batchConn, error) {
	c := &batchConn{v6: ap.Addr().Is6() && !ap.Addr().Is4In6()}
	family := unix.AF_INET
	if c.v6 {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, sysErr("socket", err)
	}
	c.fd = fd
	var sa unix.Sockaddr
	if c.v6 {
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DO)
	} else {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen udp %s: bind: %w", ap, err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, sysErr("getsockname", err)
	}
	switch s := got.(type) {
	case *unix.SockaddrInet4:
		c.local = netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(s.Port))
	case *unix.SockaddrInet6:
		c.local = netip.AddrPortFrom(netip.AddrFrom16(s.Addr), uint16(s.Port))
	}
	return c, nil
}

func sysErr(op string, err error) error { return fmt.Errorf("media: %s: %w", op, err) }

// LocalAddr returns the bound address.
func (c *batchConn) LocalAddr() netip.AddrPort { return c.local }

// setBuffers asks for size-byte socket buffers (see SetSocketBuffers).
func (c *batchConn) setBuffers(size int) { setFDBuffers(c.fd, size) }

// readBatch blocks until at least one datagram arrives and reads up to
// len(ds) of them into ds[i].buf, setting ds[i].n and ds[i].addr. It
// returns net.ErrClosed once close was called. Only one goroutine may
// call it.
func (c *batchConn) readBatch(ds []datagram) (int, error) {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return 0, net.ErrClosed
	}
	c.reader.Add(1)
	c.mu.RUnlock()
	defer c.reader.Done()
	for {
		n, errno := c.recv(ds, unix.MSG_WAITFORONE)
		c.mu.RLock()
		closed := c.closed
		c.mu.RUnlock()
		if closed {
			return 0, net.ErrClosed
		}
		switch errno {
		case 0:
			return n, nil
		case unix.EINTR, unix.EAGAIN:
			continue
		default:
			return 0, sysErr("recvmmsg", errno)
		}
	}
}

// readReady reads the datagrams waiting on the socket, up to len(ds), and
// returns 0 when there are none: the read of a socket that epoll reported
// ready. It holds the descriptor against close for the system call, so a
// closed socket's number, reused by a new one, is never read.
func (c *batchConn) readReady(ds []datagram) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	for {
		n, errno := c.recv(ds, unix.MSG_DONTWAIT)
		switch errno {
		case 0:
			return n, nil
		case unix.EAGAIN:
			return 0, nil
		case unix.EINTR:
			continue
		default:
			return 0, sysErr("recvmmsg", errno)
		}
	}
}

// recv is one recvmmsg into ds with flags.
func (c *batchConn) recv(ds []datagram, flags int) (int, unix.Errno) {
	b := &c.rx
	b.grow(len(ds))
	for i := range ds {
		b.iovs[i].Base = unsafe.SliceData(ds[i].buf)
		b.iovs[i].SetLen(len(ds[i].buf))
		h := &b.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Namelen = unix.SizeofSockaddrInet6
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
	}
	n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(len(ds)), uintptr(flags), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	for i := range int(n) {
		ds[i].n = int(b.hdrs[i].Len)
		ds[i].addr = sockaddrPort(&b.names[i])
	}
	return int(n), 0
}

// writeTo sends one datagram to dst with sendto. Any number of goroutines
// may call it at once.
func (c *batchConn) writeTo(pkt []byte, dst netip.AddrPort) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return net.ErrClosed
	}
	var sa unix.RawSockaddrInet6
	salen := putSockaddr(&sa, dst, c.v6)
	if salen == 0 {
		return ErrAddrFamily
	}
	for {
		_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(c.fd), uintptr(unsafe.Pointer(unsafe.SliceData(pkt))), uintptr(len(pkt)), 0,
			uintptr(unsafe.Pointer(&sa)), uintptr(salen))
		switch errno {
		case 0:
			return nil
		case unix.EINTR, unix.EAGAIN:
			continue
		default:
			return sysErr("sendto "+dst.String(), errno)
		}
	}
}

// writeBatch sends every ds[i].buf[:ds[i].n] to ds[i].addr, skipping a
// datagram the kernel refuses (an unreachable address must not cost the
// rest of the batch), and returns the first error.
func (c *batchConn) writeBatch(ds []datagram) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return net.ErrClosed
	}
	b := &c.tx
	b.grow(len(ds))
	var first error
	n := 0 // datagrams with an address of the socket's family
	for i := range ds {
		namelen := putSockaddr(&b.names[n], ds[i].addr, c.v6)
		if namelen == 0 {
			if first == nil {
				first = ErrAddrFamily
			}
			continue
		}
		b.iovs[n].Base = unsafe.SliceData(ds[i].buf)
		b.iovs[n].SetLen(ds[i].n)
		h := &b.hdrs[n].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[n]))
		h.Namelen = namelen
		h.Iov = &b.iovs[n]
		h.SetIovlen(1)
		h.Control, h.Controllen = nil, 0
		if ds[i].src.IsValid() && !c.v6 {
			ctl := b.pktinfo(n, ds[i].src)
			h.Control = &ctl[0]
			h.SetControllen(len(ctl))
		}
		b.dsts[n] = ds[i].addr
		n++
	}
	for off := 0; off < n; {
		sent, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&b.hdrs[off])), uintptr(n-off), 0, 0, 0)
		switch {
		case errno == unix.EINTR || errno == unix.EAGAIN:
			continue
		case errno != 0:
			if first == nil {
				first = sysErr("sendmmsg to "+b.dsts[off].String(), errno)
			}
			off++ // skip the datagram that failed
		default:
			off += int(sent)
		}
	}
	return first
}

// close wakes a blocked reader, waits for it to return and closes the
// descriptor. It is idempotent.
func (c *batchConn) close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	// shutdown on an unconnected UDP socket reports ENOTCONN but still
	// marks it shut and wakes the reader sleeping in recvmmsg.
	_ = unix.Shutdown(c.fd, unix.SHUT_RDWR)
	c.reader.Wait()
	return unix.Close(c.fd)
}

// putSockaddr writes ap into sa in the socket's family and returns its
// length, or 0 when an IPv4 socket is given an IPv6 address.
func putSockaddr(sa *unix.RawSockaddrInet6, ap netip.AddrPort, v6 bool) uint32 {
	port := ap.Port()
	if v6 {
		*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ap.Addr().As16()}
		putPort(&sa.Port, port)
		return unix.SizeofSockaddrInet6
	}
	a := ap.Addr().Unmap()
	if !a.Is4() {
		return 0
	}
	s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
	*s4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
	putPort(&s4.Port, port)
	return unix.SizeofSockaddrInet4
}

// sockaddrPort reads the address the kernel wrote into sa.
func sockaddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), getPort(&s4.Port))
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), getPort(&sa.Port))
	}
	return netip.AddrPort{}
}

// putPort and getPort store and load a port in network byte order.
func putPort(p *uint16, port uint16) {
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(p))[:], port)
}

func getPort(p *uint16) uint16 { return binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(p))[:]) }
