//go:build linux

package media

import (
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkLoopbackUDPFloor measures what the kernel charges for one RTP
// packet over loopback on this machine, the floor under every relay and
// load figure: 172-byte packets sent with sendmmsg (64 to a call) from one
// socket to 16 sockets standing for the far ends, each read with recvmmsg
// by its own goroutine, all through batchConn and with the reader's
// coalescing wait, as the gateway's shared sockets are. It reports the process CPU time (user + system, both ends)
// per packet (a relayed packet costs two: in and out) and the packets
// the readers did not get (the figure only holds when that is 0).
func BenchmarkLoopbackUDPFloor(b *testing.B) {
	const ends = 16
	lo := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0)
	var conns []*batchConn
	for range ends {
		c, err := listenBatch(lo)
		if err != nil {
			b.Fatal(err)
		}
		c.setBuffers(1 << 20)
		conns = append(conns, c)
	}
	var got atomic.Int64
	done := make(chan struct{})
	for _, c := range conns {
		go func() {
			defer func() { done <- struct{}{} }()
			ds := newDatagrams(64)
			for {
				n, err := c.readBatch(ds)
				if err != nil {
					return
				}
				got.Add(int64(n))
				if n < len(ds) {
					time.Sleep(muxCoalesce)
				}
			}
		}()
	}
	src, err := listenBatch(lo)
	if err != nil {
		b.Fatal(err)
	}
	defer src.close()
	out := newDatagrams(64)
	for i := range out {
		out[i].buf[0] = 0x80
		out[i].n = 172
	}
	var r0, r1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		n := min(len(out), b.N-sent)
		for i := range n {
			out[i].addr = conns[(sent+i)%ends].LocalAddr()
		}
		if err := src.writeBatch(out[:n]); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	b.StopTimer()
	time.Sleep(50 * time.Millisecond) // let the readers drain
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := time.Duration(r1.Utime.Nano()-r0.Utime.Nano()) + time.Duration(r1.Stime.Nano()-r0.Stime.Nano())
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu_µs/pkt")
	b.ReportMetric(100*float64(int64(b.N)-got.Load())/float64(b.N), "%lost")
	for _, c := range conns {
		_ = c.close()
	}
	for range conns {
		<-done
	}
}
