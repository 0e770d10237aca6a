package sip

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"

	"switchboard/sip/media"
)

// webrtcDTMFPT is the telephone-event payload type registered for WebRTC.
const webrtcDTMFPT = 101

// ErrWebRTC wraps failures of WebRTC negotiation.
var ErrWebRTC = errors.New("sip: webrtc")

// webrtcAPI builds the pion API: only PCMU (PT 0) and telephone-event
// (PT 101, 0-16) are registered, so browsers cannot pick Opus and WebRTC
// legs bridge to SIP legs without transcoding. Host candidates only, UDP4,
// restricted to Config.WebRTCIPs when set (tests: 127.0.0.1).
func (g *Gateway) webrtcAPI() (*webrtc.API, error) {
	g.rtcOnce.Do(func() {
		m := &webrtc.MediaEngine{}
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
			PayloadType:        0,
		}, webrtc.RTPCodecTypeAudio); err != nil {
			g.rtcErr = err
			return
		}
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, Channels: 1, SDPFmtpLine: "0-16"},
			PayloadType:        webrtcDTMFPT,
		}, webrtc.RTPCodecTypeAudio); err != nil {
			g.rtcErr = err
			return
		}
		se := webrtc.SettingEngine{}
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		if len(g.cfg.WebRTCIPs) > 0 {
			allowed := map[string]bool{}
			loop := false
			for _, ip := range g.cfg.WebRTCIPs {
				allowed[ip] = true
				if p := net.ParseIP(ip); p != nil && p.IsLoopback() {
					loop = true
				}
			}
			se.SetIPFilter(func(ip net.IP) bool { return allowed[ip.String()] })
			if loop {
				se.SetIncludeLoopbackCandidate(true)
				se.SetInterfaceFilter(func(name string) bool { return name == "lo" || strings.HasPrefix(name, "lo") })
				// ICE would answer a check from any source (peer-reflexive
				// candidates): keep every packet on loopback.
				if n, err := stdnet.NewNet(); err == nil {
					se.SetNet(loopbackNet{n})
				}
			}
		}
		se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
		g.rtcAPI = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	})
	return g.rtcAPI, g.rtcErr
}

// AcceptWebRTC negotiates a WebRTC leg from a browser's (or any peer's)
// SDP offer and returns the leg and our answer (ICE gathering complete, no
// trickle). The leg is answered as soon as the answer is returned; it ends
// when the peer connection fails or closes, or on Hangup.
func (g *Gateway) AcceptWebRTC(ctx context.Context, offerSDP string, info WebRTCInfo) (*Call, string, error) {
	if g.draining.Load() {
		return nil, "", ErrDraining
	}
	if int(g.active.Load()) >= g.cfg.MaxCalls {
		return nil, "", ErrCallLimit
	}
	if len(offerSDP) > 64<<10 {
		return nil, "", fmt.Errorf("%w: offer too large", ErrWebRTC)
	}
	api, err := g.webrtcAPI()
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrWebRTC, err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrWebRTC, err)
	}
	tr := &rtcTransport{pc: pc, remote: make(chan *webrtc.TrackRemote, 1), closed: make(chan struct{})}
	tr.local = &rtcTrack{}
	sender, err := pc.AddTrack(tr.local)
	if err != nil {
		pc.Close()
		return nil, "", fmt.Errorf("%w: %w", ErrWebRTC, err)
	}
	go func() { // drain RTCP so the interceptors do not block
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if t.Kind() == webrtc.RTPCodecTypeAudio {
			select {
			case tr.remote <- t:
			default:
			}
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offerSDP}); err != nil {
		pc.Close()
		return nil, "", fmt.Errorf("%w: offer: %w", ErrWebRTC, err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		pc.Close()
		return nil, "", fmt.Errorf("%w: answer: %w", ErrWebRTC, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		pc.Close()
		return nil, "", fmt.Errorf("%w: %w", ErrWebRTC, err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		pc.Close()
		return nil, "", fmt.Errorf("%w: %w", ErrWebRTC, ctx.Err())
	}
	sess := media.NewSession(tr, media.SessionConfig{Codec: media.PCMU, DTMFPayloadType: telephoneEventPT(pc.LocalDescription().SDP)})
	c := g.newCall(kindWebRTC, true, sess, info.ANI, info.DNIS, "")
	c.entry, c.caller = info.Entry, info.Caller
	c.closeLeg = func() { tr.Close() }
	_ = c.setState(StateAnswered)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			go c.end("webrtc_" + s.String())
		case webrtc.PeerConnectionStateDisconnected:
			// ICE may recover; "failed" follows if it does not.
		}
	})
	g.goCall(c, panicMedia, func() { _ = sess.Run(c.ctx) })
	g.m.CallResults.WithLabelValues("webrtc", "answered").Inc()
	return c, pc.LocalDescription().SDP, nil
}

// telephoneEventPT finds the telephone-event payload type in a negotiated
// description (the offerer's number), or media.NoDTMF.
func telephoneEventPT(desc string) int {
	for _, line := range strings.Split(desc, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "a=rtpmap:")
		if !ok {
			continue
		}
		pt, enc, ok := strings.Cut(rest, " ")
		if !ok || !strings.HasPrefix(strings.ToLower(enc), "telephone-event/8000") {
			continue
		}
		if n, err := strconv.Atoi(pt); err == nil && n >= 0 && n < 128 {
			return n
		}
	}
	return media.NoDTMF
}

// rtcTransport adapts a pion peer connection to media.Transport: packets
// are read from the remote audio track (already SRTP-decrypted) and written
// through rtcTrack, which keeps our payload types (pion's static track
// would rewrite telephone-events to PCMU).
type rtcTransport struct {
	pc     *webrtc.PeerConnection
	local  *rtcTrack
	remote chan *webrtc.TrackRemote
	track  *webrtc.TrackRemote
	closed chan struct{}
	once   sync.Once
}

func (t *rtcTransport) ReadPacket(buf []byte) (int, error) {
	if t.track == nil {
		select {
		case t.track = <-t.remote:
		case <-t.closed:
			return 0, net.ErrClosed
		}
	}
	n, _, err := t.track.Read(buf)
	return n, err
}

func (t *rtcTransport) WritePacket(pkt []byte) error { return t.local.writePacket(pkt) }

func (t *rtcTransport) Close() error {
	var err error
	t.once.Do(func() {
		close(t.closed)
		err = t.pc.Close()
	})
	return err
}

// rtcTrack is a TrackLocal that forwards our already-built RTP packets,
// mapping PCMU and telephone-event to the negotiated payload types and
// the SSRC to the one pion negotiated.
type rtcTrack struct {
	b atomic.Pointer[rtcBinding]
}

type rtcBinding struct {
	w    webrtc.TrackLocalWriter
	ssrc uint32
	pcmu uint8
	dtmf int
	mu   sync.Mutex
	hdr  rtp.Header
}

func (r *rtcTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	b := &rtcBinding{w: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), dtmf: -1}
	var chosen *webrtc.RTPCodecParameters
	for _, c := range ctx.CodecParameters() {
		switch strings.ToLower(c.MimeType) {
		case strings.ToLower(webrtc.MimeTypePCMU):
			if chosen == nil {
				cc := c
				chosen = &cc
				b.pcmu = uint8(c.PayloadType)
			}
		case "audio/telephone-event":
			b.dtmf = int(c.PayloadType)
		}
	}
	if chosen == nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	r.b.Store(b)
	return *chosen, nil
}

func (r *rtcTrack) Unbind(webrtc.TrackLocalContext) error { r.b.Store(nil); return nil }

func (r *rtcTrack) ID() string                { return "audio" }
func (r *rtcTrack) RID() string               { return "" }
func (r *rtcTrack) StreamID() string          { return "switchboard" }
func (r *rtcTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

func (r *rtcTrack) writePacket(pkt []byte) error {
	b := r.b.Load()
	if b == nil || len(pkt) < 12 {
		return nil // not connected yet
	}
	pt := pkt[1] & 0x7F
	switch {
	case pt == uint8(media.PCMU):
		pt = b.pcmu
	case b.dtmf >= 0: // the only other thing a session sends
		pt = uint8(b.dtmf)
	default:
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hdr = rtp.Header{Version: 2, Marker: pkt[1]&0x80 != 0, PayloadType: pt,
		SequenceNumber: binary.BigEndian.Uint16(pkt[2:]), Timestamp: binary.BigEndian.Uint32(pkt[4:]), SSRC: b.ssrc}
	_, err := b.w.WriteRTP(&b.hdr, pkt[12:])
	return err
}

// loopbackNet confines WebRTC sockets to loopback peers: packets from or to
// any other address are dropped (tests must never target the machine's
// real interfaces).
type loopbackNet struct{ *stdnet.Net }

// ListenPacket wraps the socket in a loopback-only filter.
func (n loopbackNet) ListenPacket(network, address string) (net.PacketConn, error) {
	pc, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	return loopbackConn{pc}, nil
}

type loopbackConn struct{ net.PacketConn }

func isLoopback(a net.Addr) bool {
	ua, ok := a.(*net.UDPAddr)
	return ok && ua.IP.IsLoopback()
}

func (c loopbackConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.PacketConn.ReadFrom(b)
		if err != nil || isLoopback(a) {
			return n, a, err
		}
	}
}

func (c loopbackConn) WriteTo(b []byte, a net.Addr) (int, error) {
	if !isLoopback(a) {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, a)
}
