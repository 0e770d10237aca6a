package media

import (
	"encoding/binary"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// discard is a Transport that drops writes (counting them).
type discard struct{ n atomic.Int64 }

func (d *discard) ReadPacket([]byte) (int, error) { select {} }
func (d *discard) WritePacket([]byte) error       { d.n.Add(1); return nil }
func (d *discard) Close() error                   { return nil }

func rtpPacket(seq uint16, ts uint32, pt byte) []byte {
	b := make([]byte, 12+160)
	b[0] = 0x80
	b[1] = pt
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], 0xCAFE)
	return b
}

// TestRelayZeroAlloc: the receive → rewrite → send path allocates nothing
// per packet, with and without transcoding.
func TestRelayZeroAlloc(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  Codec
	}{{"passthrough", PCMU}, {"transcode", PCMA}} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewSession(&discard{}, SessionConfig{Codec: PCMU, DTMFPayloadType: 101})
			d := &discard{}
			b := NewSession(d, SessionConfig{Codec: tc.out, DTMFPayloadType: 101})
			a.SetPeer(b)
			pkt := rtpPacket(1, 160, 0)
			seq := uint16(1)
			allocs := testing.AllocsPerRun(1000, func() {
				seq++
				binary.BigEndian.PutUint16(pkt[2:], seq)
				binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
				a.HandlePacket(pkt)
			})
			if allocs != 0 {
				t.Errorf("%.1f allocations per relayed packet", allocs)
			}
			if d.n.Load() < 1000 {
				t.Errorf("relayed %d packets", d.n.Load())
			}
		})
	}
}

// BenchmarkRelayLoop measures the per-packet relay work (parse, stats,
// SSRC/seq/ts rewrite, optional transcode, send) without socket I/O.
func BenchmarkRelayLoop(b *testing.B) {
	for _, tc := range []struct {
		name string
		out  Codec
	}{{"passthrough", PCMU}, {"transcode", PCMA}} {
		b.Run(tc.name, func(b *testing.B) {
			a := NewSession(&discard{}, SessionConfig{Codec: PCMU, DTMFPayloadType: 101})
			d := &discard{}
			s := NewSession(d, SessionConfig{Codec: tc.out, DTMFPayloadType: 101})
			a.SetPeer(s)
			pkt := rtpPacket(1, 160, 0)
			b.ReportAllocs()
			start := time.Now()
			n := 0
			for b.Loop() {
				n++
				binary.BigEndian.PutUint16(pkt[2:], uint16(n))
				binary.BigEndian.PutUint32(pkt[4:], uint32(n)*160)
				a.HandlePacket(pkt)
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "pkts/s")
		})
	}
}

// BenchmarkRelayUDP relays real datagrams over loopback: sender → leg A
// (receive goroutine) → leg B's socket → sink. Packets go in windows of
// 32 so the socket buffers never overflow; pkts/s counts relayed packets.
func BenchmarkRelayUDP(b *testing.B) {
	pool := newPool(b)
	ta, _ := pool.Allocate()
	tb, _ := pool.Allocate()
	src, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	sink, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer src.Close()
	defer sink.Close()
	ta.SetRemote(src.LocalAddr().(*net.UDPAddr).AddrPort())
	tb.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	a := NewSession(ta, SessionConfig{Codec: PCMU, DTMFPayloadType: 101})
	bs := NewSession(tb, SessionConfig{Codec: PCMU, DTMFPayloadType: 101})
	a.SetPeer(bs)
	done := make(chan struct{})
	go func() { _ = a.Run(b.Context()); close(done) }()
	defer func() { a.Close(); bs.Close(); <-done }()
	dst := ta.LocalAddr()
	pkt := rtpPacket(1, 160, 0)
	buf := make([]byte, 1500)
	const window = 32
	b.ReportAllocs()
	start := time.Now()
	relayed, seq := 0, 0
	for b.Loop() {
		for range window {
			seq++
			binary.BigEndian.PutUint16(pkt[2:], uint16(seq))
			binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
			_, _ = src.WriteToUDPAddrPort(pkt, dst)
		}
		_ = sink.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		for range window {
			if _, _, err := sink.ReadFromUDPAddrPort(buf); err != nil {
				break
			}
			relayed++
		}
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(relayed)/el, "pkts/s")
	b.ReportMetric(float64(seq-relayed)/float64(max(seq, 1))*100, "%lost")
}
