package media

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBridgedCalls runs SWITCHBOARD_BRIDGED_CALLS (default 100)
// bridged G.711 calls for 5 s per iteration: every caller and agent
// endpoint sends one 20 ms packet per tick through two gateway sessions
// relaying to each other, and the far endpoints count what arrives.
// It reports relayed packets per second and the loss percentage.
func BenchmarkBridgedCalls(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_BRIDGED_CALLS")); err == nil && v > 0 {
		n = v
	}
	pool, err := NewPortPool(netip.MustParseAddr("127.0.0.1"), 20000, 20000+8*n+16)
	if err != nil {
		b.Fatal(err)
	}
	type endpoint struct {
		conn *net.UDPConn
		dst  netip.AddrPort
		got  atomic.Int64
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var eps []*endpoint
	var sessions []*Session
	for range n {
		ta, err := pool.Allocate()
		if err != nil {
			b.Fatal(err)
		}
		tb, err := pool.Allocate()
		if err != nil {
			b.Fatal(err)
		}
		caller, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		agent, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		ta.SetRemote(caller.LocalAddr().(*net.UDPAddr).AddrPort())
		tb.SetRemote(agent.LocalAddr().(*net.UDPAddr).AddrPort())
		sa := NewSession(ta, SessionConfig{Codec: PCMU, DTMFPayloadType: 101, RTCPInterval: time.Hour})
		sb := NewSession(tb, SessionConfig{Codec: PCMU, DTMFPayloadType: 101, RTCPInterval: time.Hour})
		sa.SetPeer(sb)
		sb.SetPeer(sa)
		sessions = append(sessions, sa, sb)
		eps = append(eps, &endpoint{conn: caller, dst: ta.LocalAddr()}, &endpoint{conn: agent, dst: tb.LocalAddr()})
	}
	for _, s := range sessions {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	for _, e := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := e.conn.ReadFromUDPAddrPort(buf); err != nil {
					return
				}
				e.got.Add(1)
			}
		}()
	}
	defer func() {
		cancel()
		for _, e := range eps {
			e.conn.Close()
		}
		wg.Wait()
	}()
	pkt := make([]byte, 172)
	pkt[0] = 0x80
	var sent int64
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		t := time.NewTicker(FrameDuration)
		for tick := range 250 { // 5 s
			seq := uint16(i*250 + tick)
			binary.BigEndian.PutUint16(pkt[2:], seq)
			binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
			for k, e := range eps {
				binary.BigEndian.PutUint32(pkt[8:], uint32(k))
				if _, err := e.conn.WriteToUDPAddrPort(pkt, e.dst); err == nil {
					sent++
				}
			}
			<-t.C
		}
		t.Stop()
	}
	time.Sleep(100 * time.Millisecond)
	el := time.Since(start).Seconds()
	var got int64
	for _, e := range eps {
		got += e.got.Load()
	}
	b.ReportMetric(float64(n), "calls")
	b.ReportMetric(float64(got)/el, "relayed_pkts/s")
	b.ReportMetric(100*float64(sent-got)/float64(max(sent, 1)), "%loss")
}
