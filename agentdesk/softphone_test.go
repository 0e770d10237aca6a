package agentdesk_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"switchboard/agentdesk"
)

// pionPhones is a test-only agentdesk.Softphones: a pion answerer that
// accepts only PCMU + telephone-event, keeps ICE on 127.0.0.1, sends PCMU
// silence to the browser and counts the RTP packets the browser sends.
type pionPhones struct {
	mu      sync.Mutex
	legs    map[string]*pionLeg
	rtpIn   atomic.Int64
	dtmfIn  atomic.Int64 // telephone-event packets (RFC 4733)
	codecs  sync.Map     // agent id → negotiated mime type
	offered sync.Map     // agent id → browser offer SDP
}

type pionLeg struct {
	pc   *webrtc.PeerConnection
	stop chan struct{}
	wg   sync.WaitGroup
}

var _ agentdesk.Softphones = (*pionPhones)(nil)

func newPionPhones() *pionPhones { return &pionPhones{legs: map[string]*pionLeg{}} }

// loopbackOnly drops every ICE candidate that is not on 127.0.0.1, so no
// packet ever targets a non-loopback address.
func loopbackOnly(sdp string) string {
	var out []string
	for _, l := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(l, "a=candidate:") {
			f := strings.Fields(l)
			if len(f) < 6 || f[4] != "127.0.0.1" {
				continue
			}
		}
		out = append(out, l)
	}
	return strings.Join(out, "\r\n")
}

func (p *pionPhones) Connect(ctx context.Context, agentID, offer string) (string, error) {
	p.Disconnect(agentID)
	p.offered.Store(agentID, offer)
	if os.Getenv("AGENTDESK_DEBUG_SDP") != "" {
		fmt.Fprintf(os.Stderr, "OFFER:\n%s\n", offer)
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return "", err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, SDPFmtpLine: "0-16"},
		PayloadType:        101,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return "", err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	leg := &pionLeg{pc: pc, stop: make(chan struct{})}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "audio", "switchboard")
	if err != nil {
		pc.Close()
		return "", err
	}
	if _, err := pc.AddTrack(track); err != nil {
		pc.Close()
		return "", err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.codecs.Store(agentID, tr.Codec().MimeType)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.rtpIn.Add(1)
			if pkt.PayloadType != 0 {
				p.dtmfIn.Add(1)
			}
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: loopbackOnly(offer)}); err != nil {
		pc.Close()
		return "", fmt.Errorf("remote offer: %w", err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		pc.Close()
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		pc.Close()
		return "", err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		pc.Close()
		return "", ctx.Err()
	}
	leg.wg.Add(1)
	go func() { // 20 ms of PCMU silence per packet
		defer leg.wg.Done()
		silence := make([]byte, 160)
		for i := range silence {
			silence[i] = 0xFF
		}
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-leg.stop:
				return
			case <-t.C:
				_ = track.WriteSample(media.Sample{Data: silence, Duration: 20 * time.Millisecond})
			}
		}
	}()
	p.mu.Lock()
	p.legs[agentID] = leg
	p.mu.Unlock()
	return pc.LocalDescription().SDP, nil
}

func (p *pionPhones) Disconnect(agentID string) {
	p.mu.Lock()
	leg := p.legs[agentID]
	delete(p.legs, agentID)
	p.mu.Unlock()
	if leg != nil {
		close(leg.stop)
		leg.wg.Wait()
		leg.pc.Close()
	}
}

// Close hangs every leg up.
func (p *pionPhones) Close() {
	p.mu.Lock()
	ids := make([]string, 0, len(p.legs))
	for id := range p.legs {
		ids = append(ids, id)
	}
	p.mu.Unlock()
	for _, id := range ids {
		p.Disconnect(id)
	}
}
