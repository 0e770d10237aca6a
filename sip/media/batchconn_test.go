package media

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestBatchConn sends a batch through a batchConn to two plain sockets
// with an unsendable datagram in the middle, reads a batch back, and
// closes the socket while its reader is blocked.
func TestBatchConn(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "::1"} {
		t.Run(ip, func(t *testing.T) {
			addr := netip.MustParseAddr(ip)
			c, err := listenBatch(netip.AddrPortFrom(addr, 0))
			if err != nil {
				t.Fatal(err)
			}
			if c.LocalAddr().Addr() != addr || c.LocalAddr().Port() == 0 {
				t.Fatalf("local address %v", c.LocalAddr())
			}
			var peers []*net.UDPConn
			for range 2 {
				p, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				peers = append(peers, p)
			}
			out := newDatagrams(3)
			for i, dst := range []netip.AddrPort{
				peers[0].LocalAddr().(*net.UDPAddr).AddrPort(),
				netip.AddrPortFrom(addr, 0), // port 0: the kernel refuses it
				peers[1].LocalAddr().(*net.UDPAddr).AddrPort(),
			} {
				out[i].n = copy(out[i].buf, []byte{byte('a' + i)})
				out[i].addr = dst
			}
			if err := c.writeBatch(out); err == nil {
				t.Error("writeBatch to port 0 reported no error")
			}
			buf := make([]byte, 16)
			for i, want := range []string{"a", "c"} {
				_ = peers[i].SetReadDeadline(time.Now().Add(5 * time.Second))
				n, from, err := peers[i].ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatalf("peer %d: %v (the datagram after the refused one was lost?)", i, err)
				}
				if string(buf[:n]) != want || unmap(from) != c.LocalAddr() {
					t.Errorf("peer %d got %q from %v, want %q from %v", i, buf[:n], from, want, c.LocalAddr())
				}
			}

			for i, p := range peers {
				if _, err := p.WriteToUDPAddrPort([]byte{byte('x' + i)}, c.LocalAddr()); err != nil {
					t.Fatal(err)
				}
			}
			in := newDatagrams(8)
			got := map[string]netip.AddrPort{}
			for len(got) < 2 {
				n, err := c.readBatch(in)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range in[:n] {
					got[string(d.buf[:d.n])] = unmap(d.addr)
				}
			}
			for i, p := range peers {
				if got[string(rune('x'+i))] != p.LocalAddr().(*net.UDPAddr).AddrPort() {
					t.Errorf("read %v, want %q from %v", got, string(rune('x'+i)), p.LocalAddr())
				}
			}

			done := make(chan error, 1)
			go func() { _, err := c.readBatch(in); done <- err }()
			time.Sleep(50 * time.Millisecond) // let it block in recvmmsg
			if err := c.close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("blocked reader returned %v, want net.ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("close did not wake the blocked reader")
			}
			if _, err := c.readBatch(in); !errors.Is(err, net.ErrClosed) {
				t.Errorf("read after close: %v", err)
			}
			if err := c.writeBatch(out[:1]); !errors.Is(err, net.ErrClosed) {
				t.Errorf("write after close: %v", err)
			}
			if err := c.close(); err != nil {
				t.Errorf("second close: %v", err)
			}
		})
	}
}
