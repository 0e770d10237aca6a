package webcall_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"switchboard/agentdesk/webcall"
)

// rtcDialer is the Dialer of the browser tests: it answers the page's offer with a
// real pion peer connection on 127.0.0.1 only, measures the audio it receives,
// collects the RFC 4733 digits and sends a tone back. It stands where the SIP
// gateway and the IVR stand in production.
type rtcDialer struct {
	t   *testing.T
	api *webrtc.API

	mu    sync.Mutex
	calls []*rtcCall
	ready chan *rtcCall  // each call placed
	wg    sync.WaitGroup // the calls' reading and sending goroutines
}

// rtcCall is one answered browser leg.
type rtcCall struct {
	caller webcall.Caller
	pc     *webrtc.PeerConnection
	dtmfPT int // the telephone-event payload type negotiated (the offerer's)
	done   chan struct{}
	once   sync.Once

	mu     sync.Mutex
	audio  int    // PCMU packets received
	loud   int    // of them, packets with a sample past ±1000 (the fake microphone's beeps)
	digits string // telephone-events received, each once (at its end)
	lastTS uint32 // timestamp of the last event ended: its end is sent three times
}

func newRTCDialer(t *testing.T) *rtcDialer {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, Channels: 1, SDPFmtpLine: "0-16"},
		PayloadType:        101,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return strings.HasPrefix(name, "lo") })
	se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) })
	// A browser that hangs up stops answering ICE checks: notice it within seconds.
	se.SetICETimeouts(2*time.Second, 4*time.Second, 500*time.Millisecond)
	d := &rtcDialer{t: t, api: webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)), ready: make(chan *rtcCall, 8)}
	t.Cleanup(func() {
		d.mu.Lock()
		calls := d.calls
		d.mu.Unlock()
		for _, c := range calls {
			_ = c.pc.GracefulClose() // waits for pion's goroutines: no OnTrack after it
			c.end()
		}
		d.wg.Wait()
	})
	return d
}

// loopbackOnly keeps the offer's UDP candidates on 127.0.0.1: the browser also offers
// the machine's other addresses, which a test must never send to.
func loopbackOnly(sdp string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(sdp, "\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			f := strings.Fields(line)
			if len(f) < 6 || !strings.EqualFold(f[2], "udp") || f[4] != "127.0.0.1" {
				continue
			}
		}
		b.WriteString(line)
	}
	return b.String()
}

// Call answers the offer (gathering complete) and starts the leg.
func (d *rtcDialer) Call(ctx context.Context, offer string, caller webcall.Caller) (webcall.Answer, error) {
	pc, err := d.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return webcall.Answer{}, err
	}
	c := &rtcCall{caller: caller, pc: pc, done: make(chan struct{}), dtmfPT: -1}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "audio", "test")
	if err != nil {
		pc.Close()
		return webcall.Answer{}, err
	}
	if _, err := pc.AddTrack(track); err != nil {
		pc.Close()
		return webcall.Answer{}, err
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			c.end()
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		d.wg.Add(1)
		defer d.wg.Done()
		c.read(tr)
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: loopbackOnly(offer)}); err != nil {
		pc.Close()
		return webcall.Answer{}, fmt.Errorf("%w: %w", webcall.ErrBadOffer, err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		pc.Close()
		return webcall.Answer{}, fmt.Errorf("%w: %w", webcall.ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		pc.Close()
		return webcall.Answer{}, err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		pc.Close()
		return webcall.Answer{}, ctx.Err()
	}
	local := pc.LocalDescription().SDP
	c.dtmfPT = telephoneEventPT(local)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		c.sendTone(track)
	}()
	d.mu.Lock()
	d.calls = append(d.calls, c)
	id := fmt.Sprintf("web-%d", len(d.calls))
	d.mu.Unlock()
	d.ready <- c
	return webcall.Answer{SDP: local, CallID: id, Done: c.done}, nil
}

// next waits for the next call placed.
func (d *rtcDialer) next() *rtcCall {
	d.t.Helper()
	select {
	case c := <-d.ready:
		return c
	case <-time.After(20 * time.Second):
		d.t.Fatal("no call was placed")
		return nil
	}
}

func telephoneEventPT(sdp string) int {
	for _, line := range strings.Split(sdp, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "a=rtpmap:")
		if pt, enc, _ := strings.Cut(rest, " "); ok && strings.HasPrefix(strings.ToLower(enc), "telephone-event/8000") {
			if n, err := strconv.Atoi(pt); err == nil {
				return n
			}
		}
	}
	return -1
}

func (c *rtcCall) end() { c.once.Do(func() { close(c.done) }) }

// hangup ends the leg from this side, as the contact center hanging up does.
func (c *rtcCall) hangup() {
	_ = c.pc.Close()
	c.end()
}

// read takes the browser's packets: PCMU audio, and telephone-events on the same
// stream by their payload type.
func (c *rtcCall) read(tr *webrtc.TrackRemote) {
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		c.mu.Lock()
		switch {
		case pkt.PayloadType == 0:
			c.audio++
			for _, b := range pkt.Payload {
				if s := ulaw(b); s > 1000 || s < -1000 {
					c.loud++
					break
				}
			}
		case int(pkt.PayloadType) == c.dtmfPT && len(pkt.Payload) >= 4:
			// RFC 4733: event, E bit, volume, duration; the end is repeated.
			if end := pkt.Payload[1]&0x80 != 0; end && pkt.Timestamp != c.lastTS && pkt.Payload[0] <= 15 {
				c.lastTS = pkt.Timestamp
				c.digits += string("0123456789*#ABCD"[pkt.Payload[0]])
			}
		}
		c.mu.Unlock()
	}
}

func (c *rtcCall) stats() (audio, loud int, digits string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.audio, c.loud, c.digits
}

// sendTone sends a 500 Hz square wave (G.711 μ-law ±8316) in 20 ms packets until the
// call ends.
func (c *rtcCall) sendTone(track *webrtc.TrackLocalStaticSample) {
	payload := make([]byte, 160)
	for i := range payload {
		if i/8%2 == 0 {
			payload[i] = 0x9F // +8316
		} else {
			payload[i] = 0x1F // -8316
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
			if err := track.WriteSample(media.Sample{Data: payload, Duration: 20 * time.Millisecond}); err != nil && !errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}
}

// ulaw decodes a G.711 μ-law byte.
func ulaw(b byte) int16 {
	b = ^b
	t := (int16(b&0x0F)<<3 + 0x84) << ((b & 0x70) >> 4)
	if b&0x80 != 0 {
		return 0x84 - t
	}
	return t - 0x84
}

// wait polls cond until it holds, failing the test with what after 20 s.
func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 20 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
