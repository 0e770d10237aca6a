package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/sip/media"
	"switchboard/sip/sdp"
	"switchboard/sip/siptest"
)

// goertzel returns the power of freq (Hz) in s (8 kHz samples), through a
// Hann window so that neighbouring tones (425/440/480 Hz) stay apart.
func goertzel(s []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2 float64
	n := float64(len(s))
	for i, x := range s {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/(n-1))
		s0 := w*float64(x) + k*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

func rms(s []int16) float64 {
	var sum float64
	for _, x := range s {
		sum += float64(x) * float64(x)
	}
	return math.Sqrt(sum / float64(max(len(s), 1)))
}

// TestEarlyMediaRingback: with EarlyMedia the caller gets 183 Session
// Progress whose SDP is byte for byte the 200's, hears the configured
// ringback over RTP before the 200 (tone frequencies by Goertzel, or the
// WAV's samples), the ringback stops at the answer and the call then works
// normally (the handler's prompt arrives intact).
func TestEarlyMediaRingback(t *testing.T) {
	wav, wavSamples := writePrompt(t, 1600)
	probe := []float64{350, 400, 425, 440, 480, 620, 1000}
	for _, tc := range []struct {
		name     string
		ringback string
		freqs    []float64 // nil: the WAV
	}{
		{"default-us", "", []float64{440, 480}},
		{"de", "de", []float64{425}},
		{"fr", "FR", []float64{440}},
		{"indications-syntax", "620/1000,0/500", []float64{620}},
		{"wav", wav, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := make(chan *Call, 1)
			g := startGateway(t, Config{AnswerDelay: 800 * time.Millisecond, EarlyMedia: true, Ringback: tc.ringback},
				WithCallHandler(func(c *Call) { calls <- c }))
			p := newPhone(t, "caller")
			ctx := t.Context()
			pc, err := p.Invite(ctx, g.UDPAddr(), "100", media.PCMU)
			if err != nil {
				t.Fatal(err)
			}
			var progress *sipmsg.Response
			for _, r := range pc.Provisional() {
				switch r.StatusCode {
				case 183:
					progress = r
				case 180:
					t.Error("180 Ringing with early media on")
				}
			}
			if progress == nil {
				t.Fatal("no 183 Session Progress")
			}
			if ct := progress.ContentType(); ct == nil || ct.Value() != "application/sdp" {
				t.Errorf("183 Content-Type = %v, want application/sdp", ct)
			}
			if got, want := progress.Body(), pc.ClientDialog().InviteResponse.Body(); !bytes.Equal(got, want) {
				t.Errorf("183 SDP differs from the 200's:\n%s\nvs\n%s", got, want)
			}

			early := pc.EarlySamples()
			if len(early) < 4800 {
				t.Fatalf("early media before the 200: %d samples, want ≥ 4800", len(early))
			}
			if tc.freqs == nil {
				for i, v := range early {
					if want := media.DecodeULaw(media.EncodeULaw(wavSamples[i%len(wavSamples)])); v != want {
						t.Fatalf("ringback sample %d = %d, want %d (WAV looped)", i, v, want)
					}
				}
			} else {
				win := early[160 : 160+4000]
				if r := rms(win); r < 2000 {
					t.Errorf("ringback RMS %.0f: silent", r)
				}
				var weakest float64 = math.Inf(1)
				for _, f := range tc.freqs {
					weakest = min(weakest, goertzel(win, f))
				}
				for _, f := range probe {
					if slices.Contains(tc.freqs, f) {
						continue
					}
					if pw := goertzel(win, f); pw*100 > weakest {
						t.Errorf("power at %v Hz is %.3g, ringback tone %v only %.3g", f, pw, tc.freqs, weakest)
					}
				}
			}

			var c *Call
			select {
			case c = <-calls:
			case <-time.After(3 * time.Second):
				t.Fatal("handler not called after the answer")
			}
			if c.State() != StateAnswered {
				t.Errorf("state %s, want answered", c.State())
			}
			// Ringback stops with the answer (a frame or two may still be
			// in flight), then the call is an ordinary answered call.
			time.Sleep(200 * time.Millisecond)
			base := len(pc.Samples())
			if after := base - len(early); after > 3*media.FrameSamples {
				t.Errorf("%d samples of ringback after the 200", after)
			}
			if err := c.Play(ctx, []string{wav}, false); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "prompt at caller", func() bool { return len(pc.Samples()) >= base+len(wavSamples) })
			got := pc.Samples()[base:]
			for i, s := range wavSamples {
				if want := media.DecodeULaw(media.EncodeULaw(s)); got[i] != want {
					t.Fatalf("prompt sample %d = %d, want %d", i, got[i], want)
				}
			}
			if err := pc.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "leg gone", func() bool { return g.ActiveCalls() == 0 })
		})
	}
}

// TestRingbackConfig: New resolves Config.Ringback (country, Asterisk
// indications syntax, WAV) into one cadence of audio and refuses what it
// cannot play with ErrBadConfig — only when EarlyMedia is on.
func TestRingbackConfig(t *testing.T) {
	wav, wavSamples := writePrompt(t, 1600)
	for _, tc := range []struct {
		name      string
		ringback  string
		early     bool
		wantLen   int // samples of one cadence
		wantOnLen int // leading samples that are tone, the rest silence
		wantErr   error
	}{
		{"default-us", "", true, 8 * 6000, 8 * 2000, nil},
		{"uk", "uk", true, 8 * 3000, 8 * 400, nil},
		{"syntax", " 425/1000,0/4000 ", true, 8 * 5000, 8 * 1000, nil},
		{"wav", wav, true, len(wavSamples), 0, nil},
		{"off-ignores-bad", "nonsense", false, 0, 0, nil},
		{"missing-wav", "/nonexistent/ring.wav", true, 0, 0, ErrBadConfig},
		{"unknown-country", "xx", true, 0, 0, ErrBadConfig},
		{"no-duration", "425", true, 0, 0, ErrBadConfig},
		{"zero-duration", "425/0", true, 0, 0, ErrBadConfig},
		{"three-frequencies", "350+440+480/1000", true, 0, 0, ErrBadConfig},
		{"above-nyquist", "4000/100", true, 0, 0, ErrBadConfig},
		{"too-long", "425/20000,0/20000", true, 0, 0, ErrBadConfig},
		{"asterisk-play-once", "!425/100", true, 0, 0, ErrBadConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(Config{UDPAddr: "127.0.0.1:0", EarlyMedia: tc.early, Ringback: tc.ringback}, WithLogger(quiet))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("New = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(g.ringback); got != tc.wantLen {
				t.Fatalf("ringback has %d samples, want %d", got, tc.wantLen)
			}
			if tc.wantOnLen == 0 {
				return
			}
			if r := rms(g.ringback[:tc.wantOnLen]); r < 3000 {
				t.Errorf("tone part RMS %.0f, want a tone", r)
			}
			if r := rms(g.ringback[tc.wantOnLen : tc.wantOnLen+8*200]); r != 0 {
				t.Errorf("pause after the tone RMS %.0f, want silence", r)
			}
		})
	}
}

// TestEarlyMediaCancel: a CANCEL while the caller hears ringback gets 487,
// the handler is never called, and the leg, its RTP port or shared-socket
// slot and the gauges go back to zero; the ringback stops. Both RTP
// layouts.
func TestEarlyMediaCancel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shared int
	}{{"shared-sockets", 2}, {"dedicated-ports", dedicatedPorts}} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, Config{AnswerDelay: time.Minute, EarlyMedia: true, RTPSharedSockets: tc.shared},
				WithCallHandler(func(*Call) { t.Error("handler called for a cancelled call") }))
			p := newPhone(t, "caller")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			type result struct {
				c   *siptest.Call
				err error
			}
			res := make(chan result, 1)
			go func() {
				c, err := p.Invite(ctx, g.UDPAddr(), "100", media.PCMU)
				res <- result{c, err}
			}()
			var pc *siptest.Call
			select {
			case pc = <-p.Early:
			case <-time.After(5 * time.Second):
				t.Fatal("no early media")
			}
			waitFor(t, "ringback at caller", func() bool { return rms(pc.Samples()) > 1000 && len(pc.Samples()) >= 800 })
			inUse := func() (legs, ports, shared float64) {
				m := g.Metrics()
				return float64(g.ActiveCalls()), testutil.ToFloat64(m.PortsInUse), testutil.ToFloat64(m.SharedLegs)
			}
			if legs, ports, shared := inUse(); legs != 1 || ports+shared != 1 {
				t.Errorf("during early media: legs %v, ports %v, shared-socket legs %v; want 1 leg on 1 RTP slot", legs, ports, shared)
			}
			cancel()
			r := <-res
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("invite err = %v, want context.Canceled", r.err)
			}
			if final := r.c.ClientDialog().InviteResponse; final == nil || final.StatusCode != 487 {
				t.Errorf("final response %v, want 487", final)
			}
			waitFor(t, "leg and RTP released", func() bool {
				legs, ports, shared := inUse()
				return legs == 0 && ports == 0 && shared == 0
			})
			if n := g.pool.InUse(); n != 0 {
				t.Errorf("port pool: %d pairs in use", n)
			}
			if g.mux != nil && g.mux.Legs() != 0 {
				t.Errorf("shared sockets: %d legs", g.mux.Legs())
			}
			time.Sleep(60 * time.Millisecond)
			n := len(pc.Samples())
			time.Sleep(200 * time.Millisecond)
			if more := len(pc.Samples()) - n; more > 0 {
				t.Errorf("%d samples of ringback after the CANCEL", more)
			}
		})
	}
}

// startUAS runs a bare sipgo UAS on loopback standing in for a carrier:
// handle gets the server dialog of each INVITE (in its own goroutine, and
// must answer it); ACK and BYE are routed to the dialog.
func startUAS(t *testing.T, handle func(*sipgo.DialogServerSession)) netip.AddrPort {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("carrier"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	dua := &sipgo.DialogUA{Client: cli, ContactHDR: sipmsg.ContactHeader{
		Address: sipmsg.Uri{Scheme: "sip", User: "carrier", Host: "127.0.0.1", Port: int(addr.Port())}}}
	var mu sync.Mutex
	dialogs := map[string]*sipgo.DialogServerSession{}
	dialog := func(req *sipmsg.Request) *sipgo.DialogServerSession {
		id, _ := sipmsg.DialogIDFromRequestUAS(req)
		mu.Lock()
		defer mu.Unlock()
		return dialogs[id]
	}
	srv.OnInvite(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		d, err := dua.ReadInvite(req, tx)
		if err != nil {
			return
		}
		mu.Lock()
		dialogs[d.ID] = d
		mu.Unlock()
		handle(d)
	})
	srv.OnAck(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if d := dialog(req); d != nil {
			_ = d.ReadAck(req, tx)
		}
	})
	srv.OnBye(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if d := dialog(req); d != nil {
			_ = d.ReadBye(req, tx)
			return
		}
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	go func() { _ = srv.ServeUDP(pc) }()
	t.Cleanup(func() {
		pc.Close()
		ua.Close()
	})
	return addr
}

// TestDialEarlyMedia: the far end of an outbound leg answers the INVITE
// with 183 + SDP pointing at an announcement server (PCMA) and plays it;
// the leg's session receives that audio while still ringing — the carrier
// sends its 200 only once the gateway has heard it — and the 200's SDP (a
// different address, PCMU) then wins: the gateway's audio goes there, in
// PCMU, and never to the announcement server. Both RTP layouts.
func TestDialEarlyMedia(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shared int
	}{{"shared-sockets", 2}, {"dedicated-ports", dedicatedPorts}} {
		t.Run(tc.name, func(t *testing.T) { testDialEarlyMedia(t, tc.shared) })
	}
}

func testDialEarlyMedia(t *testing.T, shared int) {
	ctx := t.Context()
	prompt, promptSamples := writePrompt(t, 1600)
	// The carrier's two media endpoints: announcement and the answered call.
	pool, err := media.NewEphemeralPortPool(netip.MustParseAddr("127.0.0.1"), 50)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var annHeard, phoneHeard []int16
	endpoint := func(codec media.Codec, heard *[]int16) (*media.Session, *media.UDPTransport) {
		tr, err := pool.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		s := media.NewSession(tr, media.SessionConfig{Codec: codec, DTMFPayloadType: media.NoDTMF})
		s.AddTap(func(p []int16) { mu.Lock(); *heard = append(*heard, p...); mu.Unlock() })
		rctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Run(rctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return s, tr
	}
	ann, annTr := endpoint(media.PCMA, &annHeard)
	_, phoneTr := endpoint(media.PCMU, &phoneHeard)

	heard := make(chan struct{}) // the gateway heard the announcement
	announcement := make([]int16, 1600)
	for i := range announcement {
		announcement[i] = 5000
	}
	uas := startUAS(t, func(d *sipgo.DialogServerSession) {
		offer, err := sdp.Parse(d.InviteRequest.Body())
		if err != nil {
			_ = d.Respond(488, "Not Acceptable Here", nil)
			return
		}
		annTr.SetRemote(offer.RTPAddr())
		phoneTr.SetRemote(offer.RTPAddr())
		earlyOffer := offer
		earlyOffer.Codec = media.PCMA
		body := sdp.Answer(earlyOffer, netip.MustParseAddr("127.0.0.1"), annTr.LocalPort(), 9, 1)
		_ = d.Respond(sipmsg.StatusSessionInProgress, "Session Progress", body, sipmsg.NewHeader("Content-Type", "application/sdp"))
		pctx, stop := context.WithCancel(ctx)
		played := make(chan struct{})
		go func() { defer close(played); _ = media.Play(pctx, ann, announcement, true, nil) }()
		select {
		case <-heard:
		case <-time.After(5 * time.Second):
			t.Error("the gateway's ringing leg never heard the early media")
		}
		stop()
		<-played
		answerOffer := offer
		answerOffer.Codec = media.PCMU
		_ = d.RespondSDP(sdp.Answer(answerOffer, netip.MustParseAddr("127.0.0.1"), phoneTr.LocalPort(), 9, 2))
	})

	g := startGateway(t, Config{RTPSharedSockets: shared})
	var (
		emu        sync.Mutex
		earlyLeg   *Call
		earlyState CallState
		earlyCodec media.Codec
		earlyTone  int
		answered   bool
		once       sync.Once
	)
	c, err := g.Dial(ctx, fmt.Sprintf("sip:announce@%s", uas), DialOptions{Timeout: 10 * time.Second,
		OnEarlyMedia: func(c *Call) {
			emu.Lock()
			earlyLeg, earlyState, earlyCodec = c, c.State(), c.Session().Codec()
			emu.Unlock()
			c.Session().AddTap(func(p []int16) {
				emu.Lock()
				if !answered {
					earlyTone += count(p, func(v int16) bool { return v > 4000 })
				}
				n := earlyTone
				emu.Unlock()
				if n >= 800 {
					once.Do(func() { close(heard) })
				}
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	emu.Lock()
	answered = true
	if earlyLeg != c {
		t.Errorf("OnEarlyMedia got leg %p, Dial returned %p", earlyLeg, c)
	}
	if earlyState != StateRinging || earlyCodec != media.PCMA {
		t.Errorf("during early media: state %s, codec %s; want ringing, PCMA", earlyState, earlyCodec)
	}
	if earlyTone < 800 {
		t.Errorf("early media samples before the 200: %d, want ≥ 800", earlyTone)
	}
	emu.Unlock()
	if got := c.Session().Codec(); got != media.PCMU {
		t.Errorf("codec after the 200: %s, want PCMU (the 200's SDP wins)", got)
	}
	if err := c.Play(ctx, []string{prompt}, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "prompt at the 200's address", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(phoneHeard) >= len(promptSamples)
	})
	mu.Lock()
	for i, s := range promptSamples {
		if want := media.DecodeULaw(media.EncodeULaw(s)); phoneHeard[i] != want {
			t.Fatalf("sample %d at the answering endpoint = %d, want %d (PCMU)", i, phoneHeard[i], want)
		}
	}
	if len(annHeard) != 0 {
		t.Errorf("announcement server got %d samples from the gateway", len(annHeard))
	}
	mu.Unlock()
	if err := c.Hangup(ctx); err != nil {
		t.Errorf("hangup: %v", err)
	}
	waitFor(t, "leg gone", func() bool { return g.ActiveCalls() == 0 })
}
