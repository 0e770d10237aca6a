package edgetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// silentConn is a node's UDP socket that can play dead: while silent it
// reads and drops every datagram, counting the INVITEs, and sends nothing.
// Over UDP that is what Kamailio sees of a node that died, hangs, or (a
// standby) does not listen yet.
type silentConn struct {
	net.PacketConn
	silent  atomic.Bool
	dropped atomic.Int32 // INVITEs dropped while silent
}

func (c *silentConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.silent.Load() {
			return n, addr, err
		}
		if bytes.HasPrefix(b[:n], []byte("INVITE ")) {
			c.dropped.Add(1)
		}
	}
}

func (c *silentConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.silent.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

// agent is a sipgo user agent on 127.0.0.1 (UDP) in the role of a
// Switchboard node, an agent's phone or a caller. It answers OPTIONS with
// 200; INVITEs with 200 carrying an X-Node header with its name (or 503
// while refusing), then takes the ACK and BYE; REGISTERs with a digest
// challenge whose nonce only it accepts, then 200. It places calls through
// its DialogClientCache and takes BYEs for them.
type agent struct {
	name    string
	addr    netip.AddrPort
	conn    *silentConn
	client  *sipgo.Client
	callees *sipgo.DialogServerCache
	callers *sipgo.DialogClientCache
	nonce   string

	refusing   atomic.Bool  // INVITEs get 503
	refused    atomic.Int32 // INVITEs answered 503
	registered atomic.Int32 // REGISTERs answered 200
	// answered receives inbound calls once answered and acknowledged, or
	// hung up (the first 100 not taken; later ones are dropped).
	answered chan *sipgo.DialogServerSession

	mu     sync.Mutex
	ended  map[string]chan struct{} // by Call-ID: closed on the call's BYE
	invite map[string]*sipmsg.Request
}

// newAgent starts an agent named name; it stops when the test ends.
func newAgent(t *testing.T, name string) *agent {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("edgetest-"+name), sipgo.WithUserAgentHostname("127.0.0.1"))
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
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	contact := sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: name, Host: "127.0.0.1", Port: int(addr.Port())}}
	a := &agent{
		name: name, addr: addr, conn: &silentConn{PacketConn: pc}, client: client,
		callees: sipgo.NewDialogServerCache(client, contact), callers: sipgo.NewDialogClientCache(client, contact),
		nonce:    name + "-" + sipmsg.GenerateTagN(12),
		answered: make(chan *sipgo.DialogServerSession, 100),
		ended:    map[string]chan struct{}{}, invite: map[string]*sipmsg.Request{},
	}
	srv.OnOptions(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnInvite(a.onInvite)
	srv.OnAck(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) { _ = a.callees.ReadAck(req, tx) })
	srv.OnBye(a.onBye)
	srv.OnRegister(a.onRegister)
	go func() { _ = srv.ServeUDP(a.conn) }()
	t.Cleanup(func() {
		pc.Close()
		ua.Close()
	})
	return a
}

// endedChan is the channel closed when the call callID gets its BYE.
func (a *agent) endedChan(callID string) chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch, ok := a.ended[callID]
	if !ok {
		ch = make(chan struct{})
		a.ended[callID] = ch
	}
	return ch
}

// inviteOf is the INVITE of call callID as this agent received it.
func (a *agent) inviteOf(callID string) *sipmsg.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.invite[callID]
}

func (a *agent) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if a.refusing.Load() {
		a.refused.Add(1)
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
		return
	}
	d, err := a.callees.ReadInvite(req, tx)
	if err != nil {
		return
	}
	a.mu.Lock()
	a.invite[req.CallID().Value()] = req
	a.mu.Unlock()
	a.endedChan(req.CallID().Value())
	// Respond returns after the ACK, or with an error when the caller's
	// BYE overtook it: the call was answered either way.
	_ = d.Respond(200, "OK", nil, sipmsg.NewHeader("X-Node", a.name))
	select {
	case a.answered <- d:
	default:
	}
}

func (a *agent) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	err := a.callees.ReadBye(req, tx)
	if errors.Is(err, sipgo.ErrDialogDoesNotExists) {
		err = a.callers.ReadBye(req, tx)
	}
	if err != nil {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	a.markEnded(req.CallID().Value())
}

// markEnded closes the ended channel of call callID, once.
func (a *agent) markEnded(callID string) {
	ch := a.endedChan(callID)
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

func (a *agent) onRegister(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	h := req.GetHeader("Authorization")
	switch {
	case h == nil:
		res := sipmsg.NewResponseFromRequest(req, 401, "Unauthorized", nil)
		res.AppendHeader(sipmsg.NewHeader("WWW-Authenticate", `Digest realm="edgetest", nonce="`+a.nonce+`", algorithm=MD5`))
		_ = tx.Respond(res)
	case !strings.Contains(h.Value(), `nonce="`+a.nonce+`"`):
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 403, "Nonce Not Issued Here", nil))
	default:
		a.registered.Add(1)
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
	}
}

// call places a call to uri (through the route, when set, as a preloaded
// Route header), waits for the answer and acknowledges it. It returns the
// dialog and the answering agent's name.
func (a *agent) call(ctx context.Context, uri sipmsg.Uri, route *sipmsg.Uri) (*sipgo.DialogClientSession, string, error) {
	req := sipmsg.NewRequest(sipmsg.INVITE, uri)
	if route != nil {
		r := route.Clone()
		r.UriParams = sipmsg.NewParams()
		r.UriParams.Add("lr", "")
		req.AppendHeader(&sipmsg.RouteHeader{Address: *r})
	}
	d, err := a.callers.WriteInvite(ctx, req)
	if err != nil {
		return nil, "", err
	}
	if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		d.Close()
		return nil, "", err
	}
	a.endedChan(d.InviteRequest.CallID().Value())
	if err := d.Ack(ctx); err != nil {
		return nil, "", err
	}
	node := ""
	if h := d.InviteResponse.GetHeader("X-Node"); h != nil {
		node = h.Value()
	}
	return d, node, nil
}

// register registers user's contact (this agent) at registrar, answering
// one digest challenge, and returns the final response.
func (a *agent) register(ctx context.Context, registrar netip.AddrPort, user string) (*sipmsg.Response, error) {
	req := sipmsg.NewRequest(sipmsg.REGISTER, sipURI("", registrar))
	to := &sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"}}
	from := &sipmsg.FromHeader{Address: to.Address, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(to)
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ContactHeader{Address: sipURI(user, a.addr)})
	req.AppendHeader(sipmsg.NewHeader("Expires", "300"))
	res, err := a.client.Do(ctx, req)
	if err != nil || res.StatusCode != 401 {
		return res, err
	}
	return a.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: "secret"})
}

// sipURI is sip:user@addr.
func sipURI(user string, addr netip.AddrPort) sipmsg.Uri {
	return sipmsg.Uri{Scheme: "sip", User: user, Host: addr.Addr().String(), Port: int(addr.Port())}
}

// hangupAndWait sends BYE on d and waits until callee has received it.
func hangupAndWait(ctx context.Context, d *sipgo.DialogClientSession, callee *agent) error {
	if err := d.Bye(ctx); err != nil {
		return fmt.Errorf("bye: %w", err)
	}
	select {
	case <-callee.endedChan(d.InviteRequest.CallID().Value()):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s did not get the BYE: %w", callee.name, ctx.Err())
	}
}
