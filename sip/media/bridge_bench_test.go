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
	b.Run("socket-per-leg", func(b *testing.B) { runBridged(b, n, false) })
	b.Run("mux-batched", func(b *testing.B) { runBridged(b, n, true) })
}

func runBridged(b *testing.B, n int, mux bool) {
	var ms *MuxSet
	if mux {
		var err error
		if ms, err = NewMuxSet(netip.MustParseAddr("127.0.0.1"), 0, 2, 64); err != nil {
			b.Fatal(err)
		}
		muxDone := make(chan struct{})
		go func() { _ = ms.Run(); close(muxDone) }()
		defer func() { ms.Close(); <-muxDone }()
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
		caller, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		agent, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		ca := caller.LocalAddr().(*net.UDPAddr).AddrPort()
		aa := agent.LocalAddr().(*net.UDPAddr).AddrPort()
		var tra, trb Transport
		var da, db netip.AddrPort
		if mux {
			la, err := ms.NewLeg(ca)
			if err != nil {
				b.Fatal(err)
			}
			lb, err := ms.NewLeg(aa)
			if err != nil {
				b.Fatal(err)
			}
			tra, trb, da, db = la, lb, la.LocalAddr(), lb.LocalAddr()
		} else {
			ta, err := pool.Allocate()
			if err != nil {
				b.Fatal(err)
			}
			tb, err := pool.Allocate()
			if err != nil {
				b.Fatal(err)
			}
			_ = ta.SetRemote(ca)
			_ = tb.SetRemote(aa)
			tra, trb, da, db = ta, tb, ta.LocalAddr(), tb.LocalAddr()
		}
		sa := NewSession(tra, SessionConfig{Codec: PCMU, DTMFPayloadType: 101, RTCPInterval: time.Hour})
		sb := NewSession(trb, SessionConfig{Codec: PCMU, DTMFPayloadType: 101, RTCPInterval: time.Hour})
		sa.SetPeer(sb)
		sb.SetPeer(sa)
		sessions = append(sessions, sa, sb)
		eps = append(eps, &endpoint{conn: caller, dst: da}, &endpoint{conn: agent, dst: db})
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
	b.ReportMetric(el, "s")
	if ms != nil {
		tx, rx := ms.Stats()
		b.ReportMetric(100*float64(sent-int64(rx))/float64(max(sent, 1)), "%rx_loss")
		b.ReportMetric(float64(tx), "mux_tx")
	}
	b.ReportMetric(float64(got)/el, "relayed_pkts/s")
	b.ReportMetric(100*float64(sent-got)/float64(max(sent, 1)), "%loss")
}
