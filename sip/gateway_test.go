package sip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"switchboard/sip/media"
	"switchboard/sip/sdp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// sipgo's UA.Close does not close UDP sockets its client dialed on
		// its own (no matching listener); their read loops stay parked.
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"),
	)
}

type staticCreds map[string]string

func (s staticCreds) SIPSecret(_ context.Context, u string) (string, bool, error) {
	p, ok := s[u]
	return p, ok, nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var portBase = 40000

// startGateway runs a gateway on loopback with its own RTP range.
func startGateway(t *testing.T, cfg Config, opts ...Option) *Gateway {
	t.Helper()
	cfg.UDPAddr = "127.0.0.1:0"
	cfg.PublicIP = "127.0.0.1"
	if cfg.RTPPortMin == 0 {
		cfg.RTPPortMin, cfg.RTPPortMax = portBase, portBase+199
		portBase += 200
	}
	opts = append([]Option{WithLogger(quiet), WithMetrics(prometheus.NewRegistry()), WithCredentials(staticCreds{"alice": "s3cret"})}, opts...)
	g, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	select {
	case <-g.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return g
}

// phone is a SIP user agent built from sipgo's client, with RTP from the
// media package: it stands in for a softphone or trunk.
type phone struct {
	t      *testing.T
	ua     *sipgo.UserAgent
	client *sipgo.Client
	srv    *sipgo.Server
	dua    *sipgo.DialogUA
	addr   netip.AddrPort
	pool   *media.PortPool
	// answer: inbound INVITEs (from Dial) are answered with this codec
	// after delay; nil: 486.
	answerCodec atomic.Pointer[media.Codec]
	inbound     chan *phoneCall
	track       func(id string, c *phoneCall)
}

type phoneCall struct {
	sess *media.Session
	cli  *sipgo.DialogClientSession
	srv  *sipgo.DialogServerSession
	tr   *media.UDPTransport
	mu   sync.Mutex
	got  []int16
	dig  []byte
	ctx  context.Context
	stop context.CancelFunc
}

func (pc *phoneCall) samples() []int16 {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return append([]int16(nil), pc.got...)
}

var phonePortBase = 45000

func newPhone(t *testing.T) *phone {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("testphone"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	client, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(quiet))
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pool, _ := media.NewPortPool(netip.MustParseAddr("127.0.0.1"), phonePortBase, phonePortBase+99)
	phonePortBase += 100
	p := &phone{t: t, ua: ua, client: client, srv: srv, addr: addr, pool: pool, inbound: make(chan *phoneCall, 4),
		dua: &sipgo.DialogUA{Client: client, ContactHDR: sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "phone", Host: "127.0.0.1", Port: int(addr.Port())}}}}
	var mu sync.Mutex
	calls := map[string]*phoneCall{}
	srv.OnInvite(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		codec := p.answerCodec.Load()
		if codec == nil {
			tx.Respond(sipmsg.NewResponseFromRequest(req, 486, "Busy Here", nil))
			return
		}
		d, err := p.dua.ReadInvite(req, tx)
		if err != nil {
			return
		}
		offer, err := sdp.Parse(req.Body())
		if err != nil {
			d.Respond(488, "Not Acceptable", nil)
			return
		}
		pcall := p.newCall(offer.Codec)
		pcall.tr.SetRemote(offer.RTPAddr())
		pcall.srv = d
		mu.Lock()
		calls[d.ID] = pcall
		mu.Unlock()
		d.Respond(180, "Ringing", nil)
		ans := sdp.Answer(offer, netip.MustParseAddr("127.0.0.1"), pcall.tr.LocalPort(), 1, 1)
		if err := d.RespondSDP(ans); err != nil {
			return
		}
		p.inbound <- pcall
	})
	srv.OnAck(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		id, _ := sipmsg.DialogIDFromRequestUAS(req)
		mu.Lock()
		c := calls[id]
		mu.Unlock()
		if c != nil {
			c.srv.ReadAck(req, tx)
		}
	})
	srv.OnBye(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		id, _ := sipmsg.DialogIDFromRequestUAS(req)
		mu.Lock()
		c := calls[id]
		mu.Unlock()
		if c != nil {
			c.srv.ReadBye(req, tx)
			c.stop()
			return
		}
		id, _ = sipmsg.DialogIDFromRequestUAC(req)
		mu.Lock()
		c = calls[id]
		mu.Unlock()
		if c != nil {
			c.cli.ReadBye(req, tx)
			c.stop()
			return
		}
		tx.Respond(sipmsg.NewResponseFromRequest(req, 481, "No Dialog", nil))
	})
	p.track = func(id string, c *phoneCall) { mu.Lock(); calls[id] = c; mu.Unlock() }
	ctx, cancel := context.WithCancel(context.Background())
	go srv.ServeUDP(pc)
	t.Cleanup(func() {
		cancel()
		pc.Close()
		ua.Close()
		_ = ctx
	})
	return p
}

func (p *phone) newCall(c media.Codec) *phoneCall {
	tr, err := p.pool.Allocate()
	if err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pc := &phoneCall{tr: tr, sess: media.NewSession(tr, media.SessionConfig{Codec: c, DTMFPayloadType: 101}), ctx: ctx, stop: cancel}
	pc.sess.AddTap(func(s []int16) { pc.mu.Lock(); pc.got = append(pc.got, s...); pc.mu.Unlock() })
	pc.sess.OnDigit(func(d byte) { pc.mu.Lock(); pc.dig = append(pc.dig, d); pc.mu.Unlock() })
	done := make(chan struct{})
	go func() { defer close(done); _ = pc.sess.Run(ctx) }()
	p.t.Cleanup(func() { cancel(); <-done })
	return pc
}

func (p *phone) gwURI(g *Gateway, user string) sipmsg.Uri {
	a := g.UDPAddr()
	return sipmsg.Uri{Scheme: "sip", User: user, Host: a.Addr().String(), Port: int(a.Port())}
}

// invite places a call to the gateway with an SDP offer of codecs.
func (p *phone) invite(ctx context.Context, g *Gateway, user string, codecs []media.Codec) (*phoneCall, error) {
	pc := p.newCall(codecs[0])
	offer := sdp.Build(sdp.Local{Addr: netip.MustParseAddr("127.0.0.1"), Port: pc.tr.LocalPort(), Codecs: codecs, DTMF: 101, SessionID: 7, Version: 1})
	d, err := p.dua.Invite(ctx, p.gwURI(g, user), offer, sipmsg.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		return nil, err
	}
	pc.cli = d
	if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		return pc, err
	}
	ans, err := sdp.Parse(d.InviteResponse.Body())
	if err != nil {
		return nil, err
	}
	pc.tr.SetRemote(ans.RTPAddr())
	pc.sess.SetFormat(ans.Codec, ans.DTMF)
	// Track before the ACK: the gateway may send BYE right after it.
	p.track(d.ID, pc)
	if err := d.Ack(ctx); err != nil {
		return nil, err
	}
	return pc, nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func writePrompt(t *testing.T, n int) (string, []int16) {
	t.Helper()
	s := make([]int16, n)
	for i := range s {
		s[i] = int16((i%50 - 25) * 900)
	}
	p := filepath.Join(t.TempDir(), "prompt.wav")
	if err := media.WriteWAVFile(p, s); err != nil {
		t.Fatal(err)
	}
	return p, s
}

// TestInboundCallPlayDTMFBye: INVITE→200→ACK, a prompt reaches the caller
// intact, caller audio reaches the gateway, RFC 4733 digits are decoded
// exactly once, BYE from the caller ends the leg.
func TestInboundCallPlayDTMFBye(t *testing.T) {
	prompt, samples := writePrompt(t, 1600)
	calls := make(chan *Call, 1)
	g := startGateway(t, Config{}, WithCallHandler(func(c *Call) { calls <- c }))
	p := newPhone(t)
	ctx := t.Context()
	pc, err := p.invite(ctx, g, "5551000", []media.Codec{media.PCMU})
	if err != nil {
		t.Fatal(err)
	}
	c := <-calls
	if c.DNIS() != "5551000" || c.ANI() != "testphone" {
		t.Errorf("ANI/DNIS = %q/%q", c.ANI(), c.DNIS())
	}
	var heard []int16
	var hmu sync.Mutex
	c.Session().AddTap(func(s []int16) { hmu.Lock(); heard = append(heard, s...); hmu.Unlock() })
	if err := c.Play(ctx, []string{prompt}, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "prompt at caller", func() bool { return len(pc.samples()) >= len(samples) })
	got := pc.samples()
	for i := range samples {
		if want := media.DecodeULaw(media.EncodeULaw(samples[i])); got[i] != want {
			t.Fatalf("caller sample %d = %d, want %d", i, got[i], want)
		}
	}
	// caller → gateway audio
	if err := media.Play(ctx, pc.sess, samples[:800], false, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "caller audio at gateway", func() bool { hmu.Lock(); defer hmu.Unlock(); return len(heard) >= 800 })
	// DTMF
	for _, d := range []byte("12#") {
		if err := pc.sess.SendDigit(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var digits []byte
	for range 3 {
		d, ok, err := c.ReadDigit(ctx, 3*time.Second)
		if err != nil || !ok {
			t.Fatalf("ReadDigit: %v %v (so far %q)", ok, err, digits)
		}
		digits = append(digits, d)
	}
	if string(digits) != "12#" {
		t.Errorf("digits = %q", digits)
	}
	if _, ok, _ := c.ReadDigit(ctx, 300*time.Millisecond); ok {
		t.Error("duplicate digit")
	}
	if err := pc.cli.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Context().Done():
	case <-time.After(3 * time.Second):
		t.Fatal("call context not cancelled by BYE")
	}
	waitFor(t, "ports released", func() bool { return g.pool.InUse() == 0 })
}

func TestGatewayHangsUp(t *testing.T) {
	g := startGateway(t, Config{}, WithCallHandler(func(c *Call) { _ = c.Hangup(context.Background()) }))
	p := newPhone(t)
	pc, err := p.invite(t.Context(), g, "100", []media.Codec{media.PCMA})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-pc.ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("no BYE from gateway")
	}
}

func TestCancelBeforeAnswer(t *testing.T) {
	g := startGateway(t, Config{AnswerDelay: time.Minute}, WithCallHandler(func(c *Call) { t.Error("handler called for cancelled call") }))
	p := newPhone(t)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := p.invite(ctx, g, "100", []media.Codec{media.PCMU})
		errc <- err
	}()
	waitFor(t, "ringing", func() bool { return g.ActiveCalls() == 1 })
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("invite err = %v", err)
	}
	waitFor(t, "leg gone", func() bool { return g.ActiveCalls() == 0 })
}

func TestHoldUnholdReInvite(t *testing.T) {
	calls := make(chan *Call, 1)
	g := startGateway(t, Config{}, WithCallHandler(func(c *Call) { calls <- c }))
	p := newPhone(t)
	ctx := t.Context()
	pc, err := p.invite(ctx, g, "100", []media.Codec{media.PCMU})
	if err != nil {
		t.Fatal(err)
	}
	c := <-calls
	for _, tc := range []struct {
		dir     sdp.Direction
		want    CallState
		wantDir sdp.Direction
	}{{sdp.SendOnly, StateHeld, sdp.RecvOnly}, {sdp.SendRecv, StateAnswered, sdp.SendRecv}, {sdp.Inactive, StateHeld, sdp.Inactive}, {sdp.SendRecv, StateAnswered, sdp.SendRecv}} {
		body := sdp.Build(sdp.Local{Addr: netip.MustParseAddr("127.0.0.1"), Port: pc.tr.LocalPort(), Codecs: []media.Codec{media.PCMU}, DTMF: 101, Direction: tc.dir, SessionID: 7, Version: 2})
		req := sipmsg.NewRequest(sipmsg.INVITE, pc.cli.InviteResponse.Contact().Address)
		req.SetBody(body)
		req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
		res, err := pc.cli.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("re-INVITE %s: %d", tc.dir, res.StatusCode)
		}
		ack := sipmsg.NewRequest(sipmsg.ACK, req.Recipient)
		ack.AppendHeader(sipmsg.HeaderClone(req.CSeq()))
		ack.CSeq().MethodName = sipmsg.ACK
		_ = pc.cli.WriteRequest(ack)
		ans, err := sdp.Parse(res.Body())
		if err != nil {
			t.Fatal(err)
		}
		if ans.Direction != tc.wantDir {
			t.Errorf("%s: answer direction %s, want %s", tc.dir, ans.Direction, tc.wantDir)
		}
		if got := c.State(); got != tc.want {
			t.Errorf("%s: state %s, want %s", tc.dir, got, tc.want)
		}
	}
	_ = pc.cli.Bye(ctx)
}

func TestUnknownDialogBye481(t *testing.T) {
	g := startGateway(t, Config{}, WithCallHandler(func(*Call) {}))
	p := newPhone(t)
	req := sipmsg.NewRequest(sipmsg.BYE, p.gwURI(g, "x"))
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: "a", Host: "127.0.0.1"}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", "abc")
	to := &sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: "x", Host: "127.0.0.1"}, Params: sipmsg.NewParams()}
	to.Params.Add("tag", "def")
	req.AppendHeader(from)
	req.AppendHeader(to)
	res, err := p.client.Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 481 {
		t.Errorf("BYE → %d, want 481", res.StatusCode)
	}
}

func TestNoCommonCodec488AndOptions(t *testing.T) {
	g := startGateway(t, Config{}, WithCallHandler(func(*Call) {}))
	p := newPhone(t)
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 111 9\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:9 G722/8000\r\n"
	d, err := p.dua.Invite(t.Context(), p.gwURI(g, "100"), []byte(offer), sipmsg.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	err = d.WaitAnswer(t.Context(), sipgo.AnswerOptions{})
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 488 {
		t.Fatalf("err = %v, want 488", err)
	}
	res, err := p.client.Do(t.Context(), sipmsg.NewRequest(sipmsg.OPTIONS, p.gwURI(g, "")))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS: %v %v", res, err)
	}
}

func TestCallLimit503(t *testing.T) {
	calls := make(chan *Call, 2)
	g := startGateway(t, Config{MaxCalls: 1}, WithCallHandler(func(c *Call) { calls <- c }))
	p := newPhone(t)
	if _, err := p.invite(t.Context(), g, "1", []media.Codec{media.PCMU}); err != nil {
		t.Fatal(err)
	}
	_, err := p.invite(t.Context(), g, "2", []media.Codec{media.PCMU})
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 503 || de.Res.GetHeader("Retry-After") == nil {
		t.Fatalf("second call: %v, want 503 with Retry-After", err)
	}
}

func (p *phone) register(t *testing.T, g *Gateway, user, pass string, expires int) *sipmsg.Response {
	t.Helper()
	req := sipmsg.NewRequest(sipmsg.REGISTER, p.gwURI(g, ""))
	req.Recipient.User = ""
	to := &sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"}}
	from := &sipmsg.FromHeader{Address: to.Address, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(to)
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: int(p.addr.Port())}})
	req.AppendHeader(sipmsg.NewHeader("Expires", fmt.Sprint(expires)))
	res, err := p.client.Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 {
		return res
	}
	res, err = p.client.DoDigestAuth(t.Context(), req, res, sipgo.DigestAuth{Username: user, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRegisterWrongThenRight(t *testing.T) {
	g := startGateway(t, Config{})
	p := newPhone(t)
	if res := p.register(t, g, "alice", "wrong", 600); res.StatusCode != 401 {
		t.Errorf("wrong password → %d, want 401", res.StatusCode)
	}
	if n := len(g.Registrar().Lookup("alice")); n != 0 {
		t.Fatalf("bindings after failure: %d", n)
	}
	if res := p.register(t, g, "alice", "s3cret", 600); res.StatusCode != 200 {
		t.Fatalf("right password → %d", res.StatusCode)
	}
	if n := len(g.Registrar().Lookup("alice")); n != 1 {
		t.Fatalf("bindings = %d, want 1", n)
	}
	if res := p.register(t, g, "alice", "s3cret", 0); res.StatusCode != 200 {
		t.Fatalf("unregister → %d", res.StatusCode)
	}
	if n := len(g.Registrar().Lookup("alice")); n != 0 {
		t.Fatalf("bindings after unregister = %d", n)
	}
}

// TestDialBridgeRecord: a caller calls in, the gateway dials the agent
// (a registered phone), bridges them (PCMU caller ↔ PCMA agent), audio
// flows both ways and a stereo recording has both sides.
func TestDialBridgeRecord(t *testing.T) {
	calls := make(chan *Call, 1)
	dir := t.TempDir()
	g := startGateway(t, Config{RecordingDir: dir}, WithCallHandler(func(c *Call) { calls <- c }))
	caller := newPhone(t)
	agent := newPhone(t)
	pcma := media.PCMA
	agent.answerCodec.Store(&pcma)
	if res := agent.register(t, g, "alice", "s3cret", 600); res.StatusCode != 200 {
		t.Fatalf("register: %d", res.StatusCode)
	}
	ctx := t.Context()
	cp, err := caller.invite(ctx, g, "sales", []media.Codec{media.PCMU})
	if err != nil {
		t.Fatal(err)
	}
	in := <-calls
	out, err := g.Dial(ctx, "alice", DialOptions{Timeout: 5 * time.Second, CallerID: in.ANI(), CallerName: "Bad\r\nName: x"})
	if err != nil {
		t.Fatal(err)
	}
	ap := <-agent.inbound
	stop, err := g.StartRecording(in, out, "rec.wav")
	if err != nil {
		t.Fatal(err)
	}
	bctx, unbridge := context.WithCancel(ctx)
	bridged := make(chan error, 1)
	go func() { bridged <- g.Bridge(bctx, in, out) }()
	time.Sleep(50 * time.Millisecond)
	tone := func(v int16) []int16 {
		s := make([]int16, 1600)
		for i := range s {
			s[i] = v
		}
		return s
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = media.Play(ctx, cp.sess, tone(8000), false, nil) }()
	go func() { defer wg.Done(); _ = media.Play(ctx, ap.sess, tone(-8000), false, nil) }()
	wg.Wait()
	waitFor(t, "caller audio at agent", func() bool { return count(ap.samples(), func(v int16) bool { return v > 7000 }) >= 800 })
	waitFor(t, "agent audio at caller", func() bool { return count(cp.samples(), func(v int16) bool { return v < -7000 }) >= 800 })
	time.Sleep(60 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	l, r, err := media.ReadWAVStereo(filepath.Join(dir, "rec.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if nl, nr := count(l, func(v int16) bool { return v > 7000 }), count(r, func(v int16) bool { return v < -7000 }); nl < 800 || nr < 800 {
		t.Errorf("recording: caller samples on left %d, agent on right %d", nl, nr)
	}
	unbridge()
	if err := <-bridged; err != nil {
		t.Errorf("Bridge: %v", err)
	}
	if in.State() == StateEnded || out.State() == StateEnded {
		t.Error("legs ended by unbridge")
	}
	if err := out.Hangup(ctx); err != nil {
		t.Errorf("hangup agent: %v", err)
	}
	if err := out.Hangup(ctx); err != nil {
		t.Errorf("second hangup: %v", err)
	}
	select {
	case <-ap.ctx.Done():
	case <-time.After(3 * time.Second):
		t.Error("agent got no BYE")
	}
	_ = in.Hangup(ctx)
}

func TestDialBusyAndUnknown(t *testing.T) {
	g := startGateway(t, Config{})
	busy := newPhone(t)
	_, err := g.Dial(t.Context(), fmt.Sprintf("sip:x@%s", busy.addr), DialOptions{Timeout: 3 * time.Second})
	if !errors.Is(err, ErrBusy) {
		t.Errorf("busy: %v", err)
	}
	if _, err := g.Dial(t.Context(), "nobody", DialOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
}

func count(s []int16, f func(int16) bool) int {
	n := 0
	for _, v := range s {
		if f(v) {
			n++
		}
	}
	return n
}

func TestReferBlindTransferEvent(t *testing.T) {
	calls := make(chan *Call, 1)
	events := make(chan Event, 8)
	g := startGateway(t, Config{}, WithCallHandler(func(c *Call) { calls <- c }),
		WithEventHandler(func(e Event) {
			if e.Type == EventTransfer {
				events <- e
			}
		}))
	p := newPhone(t)
	ctx := t.Context()
	pc, err := p.invite(ctx, g, "100", []media.Codec{media.PCMU})
	if err != nil {
		t.Fatal(err)
	}
	c := <-calls
	req := sipmsg.NewRequest(sipmsg.REFER, pc.cli.InviteResponse.Contact().Address)
	req.AppendHeader(sipmsg.NewHeader("Refer-To", "<sip:alice@127.0.0.1>"))
	res, err := pc.cli.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 202 {
		t.Fatalf("REFER → %d", res.StatusCode)
	}
	select {
	case e := <-events:
		if e.Call != c || e.Target != "alice" {
			t.Errorf("event %+v", e)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no transfer event")
	}
	_ = pc.cli.Bye(ctx)
}

func TestTCPOptionsAndUntrustedInviteAuth(t *testing.T) {
	g, err := New(Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", RTPPortMin: 46800, RTPPortMax: 46899, RequireAuth: true, TrustedSources: []string{"10.9.9.9"}},
		WithLogger(quiet), WithCredentials(staticCreds{"alice": "s3cret"}), WithCallHandler(func(*Call) {}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	<-g.Ready()

	conn, err := net.Dial("tcp", g.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	la := conn.LocalAddr().String()
	msg := "OPTIONS sip:" + g.TCPAddr().String() + " SIP/2.0\r\nVia: SIP/2.0/TCP " + la + ";branch=z9hG4bK-tcp1\r\n" +
		"From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:gw@127.0.0.1>\r\nCall-ID: tcp-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TCP: %q %v", buf[:n], err)
	}

	// An INVITE from an untrusted source must authenticate.
	p := newPhone(t)
	_, err = p.invite(t.Context(), g, "100", []media.Codec{media.PCMU})
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 401 {
		t.Fatalf("untrusted INVITE: %v, want 401", err)
	}
}

// TestRecordHoldInfo: Record stops at '#', SIP INFO dtmf-relay digits are
// queued, local Hold plays music on hold and stops the bridge relay.
func TestRecordHoldInfo(t *testing.T) {
	moh, _ := writePrompt(t, 800)
	dir := t.TempDir()
	calls := make(chan *Call, 2)
	g := startGateway(t, Config{RecordingDir: dir, MusicOnHold: moh}, WithCallHandler(func(c *Call) { calls <- c }))
	p := newPhone(t)
	ctx := t.Context()
	pc, err := p.invite(ctx, g, "vm", []media.Codec{media.PCMU})
	if err != nil {
		t.Fatal(err)
	}
	c := <-calls

	// SIP INFO
	info := sipmsg.NewRequest(sipmsg.INFO, pc.cli.InviteResponse.Contact().Address)
	info.SetBody([]byte("Signal=7\r\nDuration=160\r\n"))
	info.AppendHeader(sipmsg.NewHeader("Content-Type", "application/dtmf-relay"))
	res, err := pc.cli.Do(ctx, info)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("INFO: %v %v", res, err)
	}
	if d, ok, err := c.ReadDigit(ctx, 2*time.Second); err != nil || !ok || d != '7' {
		t.Fatalf("INFO digit = %q %v %v", d, ok, err)
	}

	// Record until '#'
	type recResult struct {
		d   time.Duration
		err error
	}
	rec := make(chan recResult, 1)
	go func() {
		d, err := c.Record(ctx, "vm/msg.wav", 10*time.Second)
		rec <- recResult{d, err}
	}()
	tone := make([]int16, 8000)
	for i := range tone {
		tone[i] = 5000
	}
	if err := media.Play(ctx, pc.sess, tone, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := pc.sess.SendDigit(ctx, '#'); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-rec:
		if r.err != nil || r.d < 500*time.Millisecond || r.d > 5*time.Second {
			t.Fatalf("Record = %v, %v", r.d, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Record did not stop at #")
	}
	a, err := media.ReadWAVFile(filepath.Join(dir, "vm", "msg.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if n := count(a.Samples, func(v int16) bool { return v > 4000 }); n < 4000 {
		t.Errorf("recording has %d loud samples", n)
	}

	// Local hold: music on hold reaches the caller.
	before := len(pc.samples())
	if err := c.Hold(ctx, true); err != nil {
		t.Fatal(err)
	}
	if c.State() != StateHeld {
		t.Errorf("state %s after Hold", c.State())
	}
	waitFor(t, "music on hold", func() bool { return len(pc.samples()) > before+1600 })
	if err := c.Hold(ctx, false); err != nil {
		t.Fatal(err)
	}
	if c.State() != StateAnswered {
		t.Errorf("state %s after unhold", c.State())
	}
	_ = c.Hangup(ctx)
}

func TestDialNumberThroughTrunk(t *testing.T) {
	trunk := newPhone(t)
	pcmu := media.PCMU
	trunk.answerCodec.Store(&pcmu)
	g := startGateway(t, Config{Trunk: trunk.addr.String()})
	c, err := g.Dial(t.Context(), "+15551234567", DialOptions{Timeout: 5 * time.Second, CallerID: "1000"})
	if err != nil {
		t.Fatal(err)
	}
	pc := <-trunk.inbound
	if got := pc.srv.InviteRequest.Recipient.User; got != "+15551234567" {
		t.Errorf("trunk got R-URI user %q", got)
	}
	if got := pc.srv.InviteRequest.From().Address.User; got != "1000" {
		t.Errorf("From user %q", got)
	}
	if err := c.Hangup(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pc.ctx.Done():
	case <-time.After(3 * time.Second):
		t.Error("trunk got no BYE")
	}
}

func TestDrain503(t *testing.T) {
	g := startGateway(t, Config{}, WithCallHandler(func(*Call) {}))
	g.Drain()
	p := newPhone(t)
	_, err := p.invite(t.Context(), g, "100", []media.Codec{media.PCMU})
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 503 {
		t.Fatalf("INVITE while draining: %v, want 503", err)
	}
}
