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
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"switchboard/sip/media"
	"switchboard/sip/sdp"
	"switchboard/sip/siptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// sipgo's UA.Close does not close UDP sockets its client dialed on
		// its own (no matching listener); their read loops stay parked.
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"),
	)
}

// staticCreds maps SIP users to their passwords in DefaultRealm.
type staticCreds map[string]string

func (s staticCreds) SIPHA1(_ context.Context, u string) (HA1, bool, error) {
	p, ok := s[u]
	return ha1For(u, DefaultRealm, p), ok, nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// dedicatedPorts in Config.RTPSharedSockets makes startGateway give every
// leg its own port pair (by default tests run on two shared sockets).
const dedicatedPorts = -1

// startGateway runs a gateway on loopback; unless cfg sets a range, its RTP
// ports are the ones the system picks.
func startGateway(t *testing.T, cfg Config, opts ...Option) *Gateway {
	t.Helper()
	cfg.UDPAddr = "127.0.0.1:0"
	cfg.PublicIP = "127.0.0.1"
	switch {
	case cfg.RTPSharedSockets == 0:
		cfg.RTPSharedSockets = 2 // the layout serve runs with
	case cfg.RTPSharedSockets == dedicatedPorts:
		cfg.RTPSharedSockets = 0
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

// newPhone starts a siptest phone for user.
func newPhone(t *testing.T, user string) *siptest.Phone {
	t.Helper()
	return siptest.NewPhone(t, user)
}

// gwURI is the SIP URI of user at the gateway.
func gwURI(g *Gateway, user string) sipmsg.Uri {
	a := g.UDPAddr()
	return sipmsg.Uri{Scheme: "sip", User: user, Host: a.Addr().String(), Port: int(a.Port())}
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
// It runs on both RTP layouts: shared sockets and a port pair per leg.
func TestInboundCallPlayDTMFBye(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shared int
	}{{"shared-sockets", 2}, {"dedicated-ports", dedicatedPorts}} {
		t.Run(tc.name, func(t *testing.T) { testInboundCall(t, tc.shared) })
	}
}

func testInboundCall(t *testing.T, shared int) {
	prompt, samples := writePrompt(t, 1600)
	calls := make(chan *Call, 1)
	g := startGateway(t, Config{RTPSharedSockets: shared}, WithCallHandler(func(c *Call) { calls <- c }))
	p := newPhone(t, "caller")
	ctx := t.Context()
	pc, err := p.Invite(ctx, g.UDPAddr(), "5551000", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	c := <-calls
	if c.DNIS() != "5551000" || c.ANI() != "caller" {
		t.Errorf("ANI/DNIS = %q/%q", c.ANI(), c.DNIS())
	}
	var heard []int16
	var hmu sync.Mutex
	c.Session().AddTap(func(s []int16) { hmu.Lock(); heard = append(heard, s...); hmu.Unlock() })
	if err := c.Play(ctx, []string{prompt}, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "prompt at caller", func() bool { return len(pc.Samples()) >= len(samples) })
	got := pc.Samples()
	for i := range samples {
		if want := media.DecodeULaw(media.EncodeULaw(samples[i])); got[i] != want {
			t.Fatalf("caller sample %d = %d, want %d", i, got[i], want)
		}
	}
	// caller → gateway audio
	if err := media.Play(ctx, pc.Session(), samples[:800], false, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "caller audio at gateway", func() bool { hmu.Lock(); defer hmu.Unlock(); return len(heard) >= 800 })
	// DTMF
	for _, d := range []byte("12#") {
		if err := pc.Session().SendDigit(ctx, d); err != nil {
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
	if err := pc.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Context().Done():
	case <-time.After(3 * time.Second):
		t.Fatal("call context not cancelled by BYE")
	}
	waitFor(t, "ports released", func() bool { return g.pool.InUse() == 0 && (g.mux == nil || g.mux.Legs() == 0) })
	if _, isMux := c.Session().Transport().(*media.MuxLeg); isMux != (shared > 0) {
		t.Errorf("leg on a shared socket = %v, want %v", isMux, shared > 0)
	}
}

func TestGatewayHangsUp(t *testing.T) {
	g := startGateway(t, Config{}, WithCallHandler(func(c *Call) { _ = c.Hangup(context.Background()) }))
	p := newPhone(t, "caller")
	pc, err := p.Invite(t.Context(), g.UDPAddr(), "100", media.PCMA)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-pc.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("no BYE from gateway")
	}
}

func TestCancelBeforeAnswer(t *testing.T) {
	g := startGateway(t, Config{AnswerDelay: time.Minute}, WithCallHandler(func(c *Call) { t.Error("handler called for cancelled call") }))
	p := newPhone(t, "caller")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := p.Invite(ctx, g.UDPAddr(), "100", media.PCMU)
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
	p := newPhone(t, "caller")
	ctx := t.Context()
	pc, err := p.Invite(ctx, g.UDPAddr(), "100", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	c := <-calls
	for _, tc := range []struct {
		dir     sdp.Direction
		want    CallState
		wantDir sdp.Direction
	}{{sdp.SendOnly, StateHeld, sdp.RecvOnly}, {sdp.SendRecv, StateAnswered, sdp.SendRecv}, {sdp.Inactive, StateHeld, sdp.Inactive}, {sdp.SendRecv, StateAnswered, sdp.SendRecv}} {
		body := sdp.Build(sdp.Local{Addr: netip.MustParseAddr("127.0.0.1"), Port: pc.RTPPort(), Codecs: []media.Codec{media.PCMU}, DTMF: 101, Direction: tc.dir, SessionID: 7, Version: 2})
		req := sipmsg.NewRequest(sipmsg.INVITE, pc.ClientDialog().InviteResponse.Contact().Address)
		req.SetBody(body)
		req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
		res, err := pc.ClientDialog().Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("re-INVITE %s: %d", tc.dir, res.StatusCode)
		}
		ack := sipmsg.NewRequest(sipmsg.ACK, req.Recipient)
		ack.AppendHeader(sipmsg.HeaderClone(req.CSeq()))
		ack.CSeq().MethodName = sipmsg.ACK
		_ = pc.ClientDialog().WriteRequest(ack)
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
	_ = pc.Hangup(ctx)
}

func TestUnknownDialogBye481(t *testing.T) {
	g := startGateway(t, Config{}, WithCallHandler(func(*Call) {}))
	p := newPhone(t, "caller")
	req := sipmsg.NewRequest(sipmsg.BYE, gwURI(g, "x"))
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: "a", Host: "127.0.0.1"}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", "abc")
	to := &sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: "x", Host: "127.0.0.1"}, Params: sipmsg.NewParams()}
	to.Params.Add("tag", "def")
	req.AppendHeader(from)
	req.AppendHeader(to)
	res, err := p.Client().Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 481 {
		t.Errorf("BYE → %d, want 481", res.StatusCode)
	}
}

func TestNoCommonCodec488AndOptions(t *testing.T) {
	g := startGateway(t, Config{}, WithCallHandler(func(*Call) {}))
	p := newPhone(t, "caller")
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 111 9\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:9 G722/8000\r\n"
	d, err := p.DialogUA().Invite(t.Context(), gwURI(g, "100"), []byte(offer), sipmsg.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	err = d.WaitAnswer(t.Context(), sipgo.AnswerOptions{})
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 488 {
		t.Fatalf("err = %v, want 488", err)
	}
	res, err := p.Client().Do(t.Context(), sipmsg.NewRequest(sipmsg.OPTIONS, gwURI(g, "")))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS: %v %v", res, err)
	}
}

func TestCallLimit503(t *testing.T) {
	calls := make(chan *Call, 2)
	refusals := make(chan Refusal, 2)
	g := startGateway(t, Config{MaxCalls: 1}, WithCallHandler(func(c *Call) { calls <- c }),
		WithRefusalHandler(func(r Refusal) { refusals <- r }))
	p := newPhone(t, "caller")
	if _, err := p.Invite(t.Context(), g.UDPAddr(), "1", media.PCMU); err != nil {
		t.Fatal(err)
	}
	_, err := p.Invite(t.Context(), g.UDPAddr(), "2", media.PCMU)
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 503 || de.Res.GetHeader("Retry-After") == nil {
		t.Fatalf("second call: %v, want 503 with Retry-After", err)
	}
	select {
	case r := <-refusals:
		if r.From != "caller" || r.DNIS != "2" || r.Reason != "call limit" || r.CallID != de.Res.CallID().Value() {
			t.Errorf("refusal %+v, want caller → 2, call limit, Call-ID %s", r, de.Res.CallID().Value())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the refused call did not reach the refusal handler")
	}
	if len(refusals) != 0 {
		t.Error("more than one refusal for one refused call")
	}
}

// register registers p's user at g with pass, failing the test on a
// transport error.
func register(t *testing.T, p *siptest.Phone, g *Gateway, pass string, expires int) *sipmsg.Response {
	t.Helper()
	res, err := p.Register(t.Context(), g.UDPAddr(), pass, expires)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRegisterWrongThenRight(t *testing.T) {
	g := startGateway(t, Config{})
	p := newPhone(t, "alice")
	if res := register(t, p, g, "wrong", 600); res.StatusCode != 401 {
		t.Errorf("wrong password → %d, want 401", res.StatusCode)
	}
	if n := len(bindingsOf(t, g, "alice")); n != 0 {
		t.Fatalf("bindings after failure: %d", n)
	}
	if res := register(t, p, g, "s3cret", 600); res.StatusCode != 200 {
		t.Fatalf("right password → %d", res.StatusCode)
	}
	if n := len(bindingsOf(t, g, "alice")); n != 1 {
		t.Fatalf("bindings = %d, want 1", n)
	}
	if res := register(t, p, g, "s3cret", 0); res.StatusCode != 200 {
		t.Fatalf("unregister → %d", res.StatusCode)
	}
	if n := len(bindingsOf(t, g, "alice")); n != 0 {
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
	caller := newPhone(t, "caller")
	agent := newPhone(t, "alice")
	pcma := media.PCMA
	agent.AnswerWith(&pcma)
	if res := register(t, agent, g, "s3cret", 600); res.StatusCode != 200 {
		t.Fatalf("register: %d", res.StatusCode)
	}
	ctx := t.Context()
	cp, err := caller.Invite(ctx, g.UDPAddr(), "sales", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	in := <-calls
	out, err := g.Dial(ctx, "alice", DialOptions{Timeout: 5 * time.Second, CallerID: in.ANI(), CallerName: "Bad\r\nName: x"})
	if err != nil {
		t.Fatal(err)
	}
	ap := <-agent.Inbound
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
	go func() { defer wg.Done(); _ = media.Play(ctx, cp.Session(), tone(8000), false, nil) }()
	go func() { defer wg.Done(); _ = media.Play(ctx, ap.Session(), tone(-8000), false, nil) }()
	wg.Wait()
	waitFor(t, "caller audio at agent", func() bool { return count(ap.Samples(), func(v int16) bool { return v > 7000 }) >= 800 })
	waitFor(t, "agent audio at caller", func() bool { return count(cp.Samples(), func(v int16) bool { return v < -7000 }) >= 800 })
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
	case <-ap.Done():
	case <-time.After(3 * time.Second):
		t.Error("agent got no BYE")
	}
	_ = in.Hangup(ctx)
}

func TestDialBusyAndUnknown(t *testing.T) {
	g := startGateway(t, Config{})
	busy := newPhone(t, "busy")
	_, err := g.Dial(t.Context(), fmt.Sprintf("sip:x@%s", busy.Addr()), DialOptions{Timeout: 3 * time.Second})
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
	p := newPhone(t, "caller")
	ctx := t.Context()
	pc, err := p.Invite(ctx, g.UDPAddr(), "100", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	c := <-calls
	req := sipmsg.NewRequest(sipmsg.REFER, pc.ClientDialog().InviteResponse.Contact().Address)
	req.AppendHeader(sipmsg.NewHeader("Refer-To", "<sip:alice@127.0.0.1>"))
	res, err := pc.ClientDialog().Do(ctx, req)
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
	_ = pc.Hangup(ctx)
}

func TestTCPOptionsAndUntrustedInviteAuth(t *testing.T) {
	g, err := New(Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", RequireAuth: true, TrustedSources: []string{"10.9.9.9"}},
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
	p := newPhone(t, "caller")
	_, err = p.Invite(t.Context(), g.UDPAddr(), "100", media.PCMU)
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
	p := newPhone(t, "caller")
	ctx := t.Context()
	pc, err := p.Invite(ctx, g.UDPAddr(), "vm", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	c := <-calls

	// SIP INFO
	info := sipmsg.NewRequest(sipmsg.INFO, pc.ClientDialog().InviteResponse.Contact().Address)
	info.SetBody([]byte("Signal=7\r\nDuration=160\r\n"))
	info.AppendHeader(sipmsg.NewHeader("Content-Type", "application/dtmf-relay"))
	res, err := pc.ClientDialog().Do(ctx, info)
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
	if err := media.Play(ctx, pc.Session(), tone, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := pc.Session().SendDigit(ctx, '#'); err != nil {
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
	before := len(pc.Samples())
	if err := c.Hold(ctx, true); err != nil {
		t.Fatal(err)
	}
	if c.State() != StateHeld {
		t.Errorf("state %s after Hold", c.State())
	}
	waitFor(t, "music on hold", func() bool { return len(pc.Samples()) > before+1600 })
	if err := c.Hold(ctx, false); err != nil {
		t.Fatal(err)
	}
	if c.State() != StateAnswered {
		t.Errorf("state %s after unhold", c.State())
	}
	_ = c.Hangup(ctx)
}

func TestDialNumberThroughTrunk(t *testing.T) {
	trunk := newPhone(t, "trunk")
	pcmu := media.PCMU
	trunk.AnswerWith(&pcmu)
	g := startGateway(t, Config{Trunk: trunk.Addr().String()})
	c, err := g.Dial(t.Context(), "+15551234567", DialOptions{Timeout: 5 * time.Second, CallerID: "1000"})
	if err != nil {
		t.Fatal(err)
	}
	pc := <-trunk.Inbound
	if got := pc.ServerDialog().InviteRequest.Recipient.User; got != "+15551234567" {
		t.Errorf("trunk got R-URI user %q", got)
	}
	if got := pc.ServerDialog().InviteRequest.From().Address.User; got != "1000" {
		t.Errorf("From user %q", got)
	}
	if err := c.Hangup(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pc.Done():
	case <-time.After(3 * time.Second):
		t.Error("trunk got no BYE")
	}
}

// TestDrain503: a draining gateway refuses new calls and answers OPTIONS
// (a SIP edge's health probe) with 503, so the edge stops sending it calls.
func TestDrain503(t *testing.T) {
	g := startGateway(t, Config{}, WithCallHandler(func(*Call) {}))
	p := newPhone(t, "caller")
	options := func() int {
		req := sipmsg.NewRequest(sipmsg.OPTIONS, sipmsg.Uri{Host: g.UDPAddr().Addr().String(), Port: int(g.UDPAddr().Port())})
		res, err := p.Client().Do(t.Context(), req)
		if err != nil {
			t.Fatalf("OPTIONS: %v", err)
		}
		return res.StatusCode
	}
	if got := options(); got != 200 {
		t.Fatalf("OPTIONS before draining: %d, want 200", got)
	}
	g.Drain()
	if got := options(); got != 503 {
		t.Errorf("OPTIONS while draining: %d, want 503", got)
	}
	_, err := p.Invite(t.Context(), g.UDPAddr(), "100", media.PCMU)
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 503 {
		t.Fatalf("INVITE while draining: %v, want 503", err)
	}
}
