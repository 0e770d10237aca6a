package sip

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"switchboard/sip/media"
)

// browserPeer is a pion PeerConnection standing in for a browser.
type browserPeer struct {
	pc    *webrtc.PeerConnection
	track *rtcTrack // keeps payload types, like a browser (pion's static track rewrites them)
	mu    sync.Mutex
	got   []int16
	dig   []byte
}

func newBrowserPeer(t *testing.T) *browserPeer {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil { // like a browser: Opus first
		t.Fatal(err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, SDPFmtpLine: "0-16"}, PayloadType: 126}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	track := &rtcTrack{}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	b := &browserPeer{pc: pc, track: track}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		var det media.DTMFDetector
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			b.mu.Lock()
			switch p.PayloadType {
			case 0:
				for _, v := range p.Payload {
					b.got = append(b.got, media.DecodeULaw(v))
				}
			default:
				if d, ok := det.Feed(p.Timestamp, p.Payload); ok {
					b.dig = append(b.dig, d)
				}
			}
			b.mu.Unlock()
		}
	})
	return b
}

func (b *browserPeer) offer(t *testing.T) string {
	t.Helper()
	o, err := b.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return b.pc.LocalDescription().SDP
}

func (b *browserPeer) write(p *rtp.Packet) {
	raw, err := p.Marshal()
	if err == nil {
		_ = b.track.writePacket(raw)
	}
}

func (b *browserPeer) samples() []int16 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int16(nil), b.got...)
}

// send paces n frames of constant v as PCMU.
func (b *browserPeer) send(ctx context.Context, v int16, frames int) {
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = media.EncodeULaw(v)
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for i := range frames {
		b.write(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 1234}, Payload: payload})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// TestWebRTCBridgedToSIP: a WebRTC leg (pion as the browser) bridged to a
// SIP caller carries audio both ways, and DTMF sent to the WebRTC leg
// arrives as telephone-events.
func TestWebRTCBridgedToSIP(t *testing.T) {
	calls := make(chan *Call, 1)
	g := startGateway(t, Config{WebRTCIPs: []string{"127.0.0.1"}}, WithCallHandler(func(c *Call) { calls <- c }))
	ctx := t.Context()
	br := newBrowserPeer(t)
	leg, answer, err := g.AcceptWebRTC(ctx, br.offer(t), WebRTCInfo{ANI: "agent-7", DNIS: "desk"})
	if err != nil {
		t.Fatal(err)
	}
	if err := br.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ICE/DTLS connected", func() bool { return br.pc.ConnectionState() == webrtc.PeerConnectionStateConnected })

	p := newPhone(t, "caller")
	pc, err := p.Invite(ctx, g.UDPAddr(), "sales", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	in := <-calls
	bctx, unbridge := context.WithCancel(ctx)
	defer unbridge()
	go func() { _ = g.Bridge(bctx, in, leg) }()
	time.Sleep(50 * time.Millisecond)

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); br.send(ctx, 8000, 40) }()
	go func() {
		defer wg.Done()
		s := make([]int16, 40*160)
		for i := range s {
			s[i] = -8000
		}
		_ = media.Play(ctx, pc.Session(), s, false, nil)
	}()
	wg.Wait()
	want := media.DecodeULaw(media.EncodeULaw(8000))
	waitFor(t, "browser audio at SIP caller", func() bool { return count(pc.Samples(), func(v int16) bool { return v == want }) >= 1600 })
	wantNeg := media.DecodeULaw(media.EncodeULaw(-8000))
	waitFor(t, "SIP caller audio at browser", func() bool { return count(br.samples(), func(v int16) bool { return v == wantNeg }) >= 1600 })

	unbridge()
	time.Sleep(20 * time.Millisecond)
	if err := leg.SendDTMF(ctx, "4"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "DTMF at browser", func() bool { br.mu.Lock(); defer br.mu.Unlock(); return string(br.dig) == "4" })
	// browser → gateway DTMF on the audio track (PT 126 as negotiated)
	for i, end := range []bool{false, false, true, true, true} {
		ev := media.DTMFEvent{Event: 9, End: end, Duration: uint16(160 * (i + 1))}
		br.write(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 126, Marker: i == 0, SequenceNumber: uint16(100 + i), Timestamp: 50000, SSRC: 1234}, Payload: ev.AppendTo(nil)})
		time.Sleep(20 * time.Millisecond)
	}
	if d, ok, err := leg.ReadDigit(ctx, 3*time.Second); err != nil || !ok || d != '9' {
		t.Fatalf("ReadDigit = %q %v %v", d, ok, err)
	}
	if _, ok, _ := leg.ReadDigit(ctx, 200*time.Millisecond); ok {
		t.Error("duplicate digit from redundant end packets")
	}
	if err := leg.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	<-leg.Context().Done()
}
