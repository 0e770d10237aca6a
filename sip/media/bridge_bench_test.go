//go:build linux

package media

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// crowdLegs gives each of n far ends of a new loopbackCrowd a gateway
// session, PCMU, on the shared sockets of a new MuxSet ms (mux) or on a
// port pair of its own (ms nil); closeLegs releases the MuxSet once the
// sessions are done.
func crowdLegs(b *testing.B, n int, mux bool) (crowd *loopbackCrowd, ms *MuxSet, sessions []*Session, closeLegs func()) {
	closeLegs = func() {}
	if mux {
		var err error
		if ms, err = NewMuxSet(netip.MustParseAddr("127.0.0.1"), 0, 2, 0); err != nil {
			b.Fatal(err)
		}
		muxDone := make(chan struct{})
		go func() { _ = ms.Run(); close(muxDone) }()
		closeLegs = func() { ms.Close(); <-muxDone }
	}
	pool, err := NewEphemeralPortPool(netip.MustParseAddr("127.0.0.1"), 2*n+8)
	if err != nil {
		b.Fatal(err)
	}
	if crowd, err = newLoopbackCrowd(n, 2); err != nil {
		b.Fatal(err)
	}
	for k := range n {
		var tr Transport
		var dst netip.AddrPort
		if mux {
			l, err := ms.NewLeg(crowd.addr(k))
			if err != nil {
				b.Fatal(err)
			}
			tr, dst = l, l.LocalAddr()
		} else {
			t, err := pool.Allocate()
			if err != nil {
				b.Fatal(err)
			}
			_ = t.SetRemote(crowd.addr(k))
			tr, dst = t, t.LocalAddr()
		}
		sessions = append(sessions, NewSession(tr, SessionConfig{Codec: PCMU, DTMFPayloadType: 101, RTCPInterval: time.Hour}))
		crowd.setDst(k, dst)
	}
	return crowd, ms, sessions, closeLegs
}

// BenchmarkBridgedCalls runs SWITCHBOARD_BRIDGED_CALLS (default 100)
// bridged G.711 calls for 5 s per iteration: every caller and agent
// endpoint sends one 20 ms packet per tick through two gateway sessions
// relaying to each other, and the far endpoints count what arrives.
// It reports relayed packets per second and the loss percentage.
//
// The endpoints are a loopbackCrowd: each has its own loopback address
// (127.1.x.y, like phones on distinct hosts), and the crowd sends and
// receives with batched system calls, so the generator costs about what
// the gateway does rather than a goroutine wake-up and a system call per
// packet (which capped the earlier generator below the gateway).
func BenchmarkBridgedCalls(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_BRIDGED_CALLS")); err == nil && v > 0 {
		n = v
	}
	b.Run("socket-per-leg", func(b *testing.B) { runBridged(b, n, false) })
	b.Run("mux-batched", func(b *testing.B) { runBridged(b, n, true) })
}

func runBridged(b *testing.B, n int, mux bool) {
	crowd, ms, sessions, closeLegs := crowdLegs(b, 2*n, mux)
	defer closeLegs()
	for i := range n {
		sessions[2*i].SetPeer(sessions[2*i+1])
		sessions[2*i+1].SetPeer(sessions[2*i])
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	crowd.start(&wg)
	defer func() {
		cancel()
		crowd.close()
		wg.Wait()
	}()
	var sent int64
	b.ResetTimer()
	start := time.Now()
	// Every endpoint sends on a fixed 20 ms schedule, the endpoints 1 ms
	// apart in 20 phases; a slot that comes late is caught up at once
	// rather than dropped, so a generator or gateway that cannot keep up
	// shows as loss or a longer run, never as fewer packets offered.
	slot := FrameDuration / crowdPhases
	for i := range 250 * crowdPhases * b.N { // 5 s each
		time.Sleep(time.Until(start.Add(time.Duration(i) * slot)))
		sent += int64(crowd.send(i%crowdPhases, uint16(i/crowdPhases)))
	}
	time.Sleep(100 * time.Millisecond)
	el := time.Since(start).Seconds()
	got := crowd.received()
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

// loopbackCrowd is many RTP endpoints on a few sockets: endpoint k has
// address 127.1.x.y (k = 250·x + y − 1) and its socket's port. A socket is
// bound to the wildcard address but to the loopback device only, picks
// each packet's source address with IP_PKTINFO, and is read and written in
// batches like the gateway's shared sockets (batchConn).
type loopbackCrowd struct {
	socks []*batchConn
	out   [crowdPhases][][]datagram // per phase and socket: a packet from each endpoint
	got   atomic.Int64
}

// crowdPhases spreads the endpoints' sending over the 20 ms frame, 1 ms
// apart, as independent phones are: endpoint k sends in phase k mod 20.
const crowdPhases = 20

func newLoopbackCrowd(n, nsock int) (*loopbackCrowd, error) {
	if n > 250*250 {
		return nil, fmt.Errorf("at most %d endpoints", 250*250)
	}
	c := &loopbackCrowd{}
	for p := range c.out {
		c.out[p] = make([][]datagram, nsock)
	}
	for range nsock {
		s, err := listenBatch(netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
		if err != nil {
			c.close()
			return nil, err
		}
		c.socks = append(c.socks, s)
		if err := syscall.BindToDevice(s.fd, "lo"); err != nil {
			c.close()
			return nil, os.NewSyscallError("SO_BINDTODEVICE lo", err)
		}
		s.setBuffers(8 << 20)
	}
	return c, nil
}

func (c *loopbackCrowd) ip(k int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 1, byte(k / 250), byte(k%250 + 1)})
}

// addr returns endpoint k's RTP address.
func (c *loopbackCrowd) addr(k int) netip.AddrPort {
	return netip.AddrPortFrom(c.ip(k), c.socks[k%len(c.socks)].LocalAddr().Port())
}

// setDst sets where endpoint k sends.
func (c *loopbackCrowd) setDst(k int, ap netip.AddrPort) {
	si, p := k%len(c.socks), k%crowdPhases
	d := datagram{buf: make([]byte, 172), n: 172, addr: ap, src: c.ip(k)}
	d.buf[0] = 0x80
	binary.BigEndian.PutUint32(d.buf[8:], uint32(k))
	c.out[p][si] = append(c.out[p][si], d)
}

// send sends one packet from every endpoint of a phase, 64 to a system
// call, and returns how many were sent.
func (c *loopbackCrowd) send(phase int, seq uint16) int {
	sent := 0
	for si, s := range c.socks {
		out := c.out[phase][si]
		for i := range out {
			binary.BigEndian.PutUint16(out[i].buf[2:], seq)
			binary.BigEndian.PutUint32(out[i].buf[4:], uint32(seq)*160)
		}
		for off := 0; off < len(out); off += 64 {
			batch := out[off:min(off+64, len(out))]
			if s.writeBatch(batch) == nil {
				sent += len(batch)
			}
		}
	}
	return sent
}

// start reads every socket until close, counting the packets.
func (c *loopbackCrowd) start(wg *sync.WaitGroup) {
	for _, s := range c.socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ds := newDatagrams(64)
			for {
				n, err := s.readBatch(ds)
				if err != nil {
					return
				}
				c.got.Add(int64(n))
				if n < len(ds) {
					time.Sleep(muxCoalesce) // as the gateway does: fewer, fuller reads
				}
			}
		}()
	}
}

// received returns the packets all endpoints received.
func (c *loopbackCrowd) received() int64 { return c.got.Load() }

func (c *loopbackCrowd) close() {
	for _, s := range c.socks {
		_ = s.close()
	}
}
