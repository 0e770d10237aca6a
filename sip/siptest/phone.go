package siptest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"switchboard/sip/media"
	"switchboard/sip/sdp"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Phone is a SIP user agent on 127.0.0.1 for tests.
type Phone struct {
	t      testing.TB
	user   string
	ua     *sipgo.UserAgent
	client *sipgo.Client
	dua    *sipgo.DialogUA
	addr   netip.AddrPort
	pool   *media.PortPool

	// answer is the codec inbound calls are answered with; nil refuses them (486).
	answer atomic.Pointer[media.Codec]
	// Inbound receives every call the phone answered.
	Inbound chan *Call
	// Early receives a call placed with Invite when its first provisional
	// response with SDP (early media) arrives, before the final response
	// (dropped when the channel is full).
	Early chan *Call

	mu    sync.Mutex
	calls map[string]*Call
	// refuse maps a dialled user to the status its INVITEs get instead
	// of an answer (Refuse).
	refuse map[string]int
}

// Call is one call of a Phone with its media.
type Call struct {
	sess *media.Session
	cli  *sipgo.DialogClientSession
	srv  *sipgo.DialogServerSession
	tr   *media.UDPTransport
	ctx  context.Context
	stop context.CancelFunc

	// From is the caller's user part as received, To the user part of
	// the request URI: the number dialled (inbound calls).
	From, To string

	mu      sync.Mutex
	got     []int16
	dig     []byte
	prov    []*sipmsg.Response
	earlyOn bool
	early   []int16
}

// NewPhone starts a phone for user, with RTP ports the system picks (up to
// 50 calls at once). Everything it started ends with the test.
func NewPhone(t testing.TB, user string) *Phone {
	t.Helper()
	return newPhone(t, user, nil)
}

// NewPhoneBehindNAT is NewPhone for a phone behind NAT: it writes contact,
// an address nobody reaches it at (its private one), in the Contact of
// its REGISTERs and calls, so it is reached only where its requests come
// from.
func NewPhoneBehindNAT(t testing.TB, user string, contact sipmsg.Uri) *Phone {
	t.Helper()
	return newPhone(t, user, &contact)
}

func newPhone(t testing.TB, user string, contact *sipmsg.Uri) *Phone {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("siptest-"+user), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := media.NewEphemeralPortPool(netip.MustParseAddr("127.0.0.1"), 50)
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	if contact == nil {
		contact = &sipmsg.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: int(addr.Port())}
	}
	p := &Phone{t: t, user: user, ua: ua, client: client, addr: addr, pool: pool, Inbound: make(chan *Call, 8), Early: make(chan *Call, 8), calls: map[string]*Call{},
		dua: &sipgo.DialogUA{Client: client, ContactHDR: sipmsg.ContactHeader{Address: *contact}}}
	srv.OnInvite(p.onInvite)
	srv.OnAck(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		id, _ := sipmsg.DialogIDFromRequestUAS(req)
		if c := p.call(id); c != nil && c.srv != nil {
			_ = c.srv.ReadAck(req, tx)
		}
	})
	srv.OnBye(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		id, _ := sipmsg.DialogIDFromRequestUAS(req)
		if c := p.call(id); c != nil && c.srv != nil {
			_ = c.srv.ReadBye(req, tx)
			c.stop()
			return
		}
		id, _ = sipmsg.DialogIDFromRequestUAC(req)
		if c := p.call(id); c != nil && c.cli != nil {
			_ = c.cli.ReadBye(req, tx)
			c.stop()
			return
		}
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	go func() { _ = srv.ServeUDP(pc) }()
	t.Cleanup(func() {
		pc.Close()
		ua.Close()
	})
	return p
}

// Addr is the phone's SIP address (UDP on 127.0.0.1).
func (p *Phone) Addr() netip.AddrPort { return p.addr }

// Client is the phone's sipgo client, for hand-made requests (OPTIONS, a
// stray BYE) sent from the phone's address.
func (p *Phone) Client() *sipgo.Client { return p.client }

// DialogUA is the phone's sipgo dialog user agent, for INVITEs with a
// hand-made body. Dialogs started through it are not tracked by the phone:
// a BYE for them is refused with 481.
func (p *Phone) DialogUA() *sipgo.DialogUA { return p.dua }

// AnswerWith makes the phone answer inbound calls with codec (nil: refuse with 486).
func (p *Phone) AnswerWith(c *media.Codec) { p.answer.Store(c) }

func (p *Phone) call(id string) *Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[id]
}

// Refuse makes the phone answer INVITEs whose request URI user is user
// with status instead of answering them (486: busy); 180 rings without
// ever answering, as a phone nobody picks up.
func (p *Phone) Refuse(user string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refuse == nil {
		p.refuse = map[string]int{}
	}
	p.refuse[user] = status
}

func (p *Phone) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	p.mu.Lock()
	status, refused := p.refuse[req.Recipient.User]
	p.mu.Unlock()
	if refused {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, status, "Refused", nil))
		return
	}
	codec := p.answer.Load()
	if codec == nil {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 486, "Busy Here", nil))
		return
	}
	d, err := p.dua.ReadInvite(req, tx)
	if err != nil {
		return
	}
	offer, err := sdp.Parse(req.Body())
	if err != nil {
		_ = d.Respond(488, "Not Acceptable Here", nil)
		return
	}
	c := p.newCall(offer.Codec)
	if c == nil {
		_ = d.Respond(503, "Service Unavailable", nil)
		return
	}
	c.tr.SetRemote(offer.RTPAddr())
	c.srv = d
	if from := req.From(); from != nil {
		c.From = from.Address.User
	}
	c.To = req.Recipient.User
	p.mu.Lock()
	p.calls[d.ID] = c
	p.mu.Unlock()
	_ = d.Respond(180, "Ringing", nil)
	ans := sdp.Answer(offer, netip.MustParseAddr("127.0.0.1"), c.tr.LocalPort(), 1, 1)
	if err := d.RespondSDP(ans); err != nil {
		c.stop()
		return
	}
	p.Inbound <- c
}

func (p *Phone) newCall(codec media.Codec) *Call {
	tr, err := p.pool.Allocate()
	if err != nil {
		p.t.Errorf("siptest: RTP port: %v", err)
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Call{tr: tr, ctx: ctx, stop: cancel}
	c.sess = media.NewSession(tr, media.SessionConfig{Codec: codec, DTMFPayloadType: 101})
	c.sess.AddTap(func(s []int16) { c.mu.Lock(); c.got = append(c.got, s...); c.mu.Unlock() })
	c.sess.OnDigit(func(d byte) { c.mu.Lock(); c.dig = append(c.dig, d); c.mu.Unlock() })
	done := make(chan struct{})
	go func() { defer close(done); _ = c.sess.Run(ctx) }()
	p.t.Cleanup(func() { cancel(); <-done })
	return c
}

// Register registers the phone's contact as user with password at the
// registrar, answering a digest challenge; it returns the final response.
func (p *Phone) Register(ctx context.Context, registrar netip.AddrPort, password string, expires int) (*sipmsg.Response, error) {
	req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: registrar.Addr().String(), Port: int(registrar.Port())})
	to := &sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: p.user, Host: "127.0.0.1"}}
	from := &sipmsg.FromHeader{Address: to.Address, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(to)
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ContactHeader{Address: *p.dua.ContactHDR.Address.Clone()})
	req.AppendHeader(sipmsg.NewHeader("Expires", fmt.Sprint(expires)))
	res, err := p.client.Do(ctx, req)
	if err != nil || res.StatusCode != 401 {
		return res, err
	}
	return p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.user, Password: password})
}

// Invite calls user at the gateway gw offering codecs (PCMU if none), waits
// for the answer and acknowledges it. The INVITE's From user is the phone's
// user (the caller's number the gateway sees as ANI). A provisional
// response with SDP starts early media: its address and codec are applied
// (the 200's win) and the call is sent on Early. If the call is refused or
// ctx ends first, the error is the one sipgo's WaitAnswer returned (a
// *sipgo.ErrDialogResponse for a final non-2xx response; after a CANCEL,
// ClientDialog().InviteResponse is the final response, normally 487).
func (p *Phone) Invite(ctx context.Context, gw netip.AddrPort, user string, codecs ...media.Codec) (*Call, error) {
	return p.InviteAdvertising(ctx, gw, user, netip.MustParseAddr("127.0.0.1"), codecs...)
}

// InviteAdvertising is Invite with sdpAddr in the offer's c= line, as a
// phone behind NAT (or baresip by default) puts an address there that its
// RTP does not come from: the call's RTP is still sent from, and
// received on, the phone's port on 127.0.0.1.
func (p *Phone) InviteAdvertising(ctx context.Context, gw netip.AddrPort, user string, sdpAddr netip.Addr, codecs ...media.Codec) (*Call, error) {
	if len(codecs) == 0 {
		codecs = []media.Codec{media.PCMU}
	}
	c := p.newCall(codecs[0])
	if c == nil {
		return nil, fmt.Errorf("siptest: no RTP port")
	}
	offer := sdp.Build(sdp.Local{Addr: sdpAddr, Port: c.tr.LocalPort(), Codecs: codecs, DTMF: 101, SessionID: 7, Version: 1})
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: p.user, Host: "127.0.0.1"}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	d, err := p.dua.Invite(ctx, sipmsg.Uri{Scheme: "sip", User: user, Host: gw.Addr().String(), Port: int(gw.Port())}, offer,
		from, sipmsg.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		return nil, err
	}
	c.cli = d
	if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sipmsg.Response) error {
		p.onResponse(c, res)
		return nil
	}}); err != nil {
		return c, err
	}
	ans, err := sdp.Parse(d.InviteResponse.Body())
	if err != nil {
		return nil, err
	}
	c.tr.SetRemote(ans.RTPAddr())
	c.sess.SetFormat(ans.Codec, ans.DTMF)
	// Track the dialog before the ACK: the far end may send BYE right after it.
	p.mu.Lock()
	p.calls[d.ID] = c
	p.mu.Unlock()
	if err := d.Ack(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// onResponse records a response to the phone's INVITE: provisional ones,
// the early media they start, and the audio received up to the 2xx.
func (p *Phone) onResponse(c *Call, res *sipmsg.Response) {
	switch {
	case res.IsProvisional():
		c.mu.Lock()
		c.prov = append(c.prov, res)
		c.mu.Unlock()
		if len(res.Body()) == 0 {
			return
		}
		m, err := sdp.Parse(res.Body())
		if err != nil {
			return
		}
		c.tr.SetRemote(m.RTPAddr())
		c.sess.SetFormat(m.Codec, m.DTMF)
		c.mu.Lock()
		first := !c.earlyOn
		c.earlyOn = true
		c.mu.Unlock()
		if first {
			select {
			case p.Early <- c:
			default:
			}
		}
	case res.IsSuccess():
		c.mu.Lock()
		c.early = append([]int16{}, c.got...)
		c.mu.Unlock()
	}
}

// Provisional returns the provisional responses (100 to 199) a call placed
// with Invite has received, in order.
func (c *Call) Provisional() []*sipmsg.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*sipmsg.Response(nil), c.prov...)
}

// EarlySamples returns the audio a call placed with Invite had received
// when its 200 arrived: the early media (nil before the answer).
func (c *Call) EarlySamples() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.early...)
}

// Samples returns every audio sample the call has received so far.
func (c *Call) Samples() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.got...)
}

// Digits returns the DTMF digits the call has received so far.
func (c *Call) Digits() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.dig)
}

// Session is the call's RTP session (to send audio or DTMF).
func (c *Call) Session() *media.Session { return c.sess }

// RTPPort is the local UDP port of the call's RTP session.
func (c *Call) RTPPort() int { return c.tr.LocalPort() }

// ClientDialog is the dialog of a call the phone placed with Invite, for
// in-dialog requests (re-INVITE, REFER, INFO); nil for an inbound call.
func (c *Call) ClientDialog() *sipgo.DialogClientSession { return c.cli }

// ServerDialog is the dialog of a call the phone answered, whose
// InviteRequest is the INVITE as received; nil for a call it placed.
func (c *Call) ServerDialog() *sipgo.DialogServerSession { return c.srv }

// Done is closed when the call has been hung up.
func (c *Call) Done() <-chan struct{} { return c.ctx.Done() }

// Hangup sends BYE.
func (c *Call) Hangup(ctx context.Context) error {
	defer c.stop()
	switch {
	case c.cli != nil:
		return c.cli.Bye(ctx)
	case c.srv != nil:
		return c.srv.Bye(ctx)
	}
	return nil
}
