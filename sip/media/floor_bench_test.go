//go:build linux

package media

import (
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// BenchmarkLoopbackUDPFloor measures what the kernel charges for one RTP
// packet over loopback on this machine, the floor under every relay and
// load figure: 172-byte packets sent with sendmmsg (64 to a call) from one
// socket to 16 sockets standing for the far ends, each read with recvmmsg
// by its own goroutine. It reports the process CPU time (user + system,
// both ends) per packet; a relayed packet costs two of these (in and out).
func BenchmarkLoopbackUDPFloor(b *testing.B) {
	const ends = 16
	var dsts []*net.UDPAddr
	var conns []*net.UDPConn
	for range ends {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		SetSocketBuffers(c, 1<<20)
		conns = append(conns, c)
		dsts = append(dsts, c.LocalAddr().(*net.UDPAddr))
	}
	done := make(chan struct{})
	for _, c := range conns {
		go func() {
			defer func() { done <- struct{}{} }()
			rc := ipv4.NewPacketConn(c)
			ms := make([]ipv4.Message, 64)
			for k := range ms {
				ms[k].Buffers = [][]byte{make([]byte, maxPacket)}
			}
			for {
				if _, err := rc.ReadBatch(ms, 0); err != nil {
					return
				}
			}
		}()
	}
	src, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	pc := ipv4.NewPacketConn(src)
	ms := make([]ipv4.Message, 64)
	pkt := make([]byte, 172)
	pkt[0] = 0x80
	for i := range ms {
		ms[i].Buffers = [][]byte{pkt}
	}
	var r0, r1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		n := min(len(ms), b.N-sent)
		for i := range n {
			ms[i].Addr = dsts[(sent+i)%ends]
		}
		k, err := pc.WriteBatch(ms[:n], 0)
		if err != nil {
			b.Fatal(err)
		}
		sent += k
	}
	b.StopTimer()
	time.Sleep(50 * time.Millisecond) // let the readers drain
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := time.Duration(r1.Utime.Nano()-r0.Utime.Nano()) + time.Duration(r1.Stime.Nano()-r0.Stime.Nano())
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu_µs/pkt")
	for _, c := range conns {
		c.Close()
	}
	for range conns {
		<-done
	}
}
