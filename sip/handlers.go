package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"switchboard/sip/media"
	"switchboard/sip/sdp"
)

func (g *Gateway) routes() {
	wrap := func(h func(*sipmsg.Request, sipmsg.ServerTransaction)) sipgo.RequestHandler {
		return func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
			defer g.recoverRequest(req, tx)
			g.m.Requests.WithLabelValues(req.Method.String()).Inc()
			if !g.checkClient(req, tx) {
				return
			}
			if !g.admitRequest(req) {
				g.m.Refused.WithLabelValues("rate_limit").Inc()
				g.respond(req, tx, sipmsg.StatusServiceUnavailable, "Rate Limited", sipmsg.NewHeader("Retry-After", "5"))
				return
			}
			h(req, tx)
		}
	}
	g.srv.OnInvite(wrap(g.onInvite))
	g.srv.OnAck(wrap(g.onAck))
	g.srv.OnBye(wrap(g.onBye))
	g.srv.OnCancel(wrap(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		g.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	}))
	g.srv.OnOptions(wrap(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if g.draining.Load() {
			// A SIP edge probing with OPTIONS takes a draining node out
			// of rotation at once, instead of learning it from each 503.
			g.respond(req, tx, sipmsg.StatusServiceUnavailable, "Service Unavailable")
			return
		}
		res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", nil)
		res.AppendHeader(sipmsg.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REGISTER, REFER"))
		res.AppendHeader(sipmsg.NewHeader("Accept", "application/sdp, application/dtmf-relay"))
		g.send(req, tx, res)
	}))
	g.srv.OnInfo(wrap(g.onInfo))
	g.srv.OnRefer(wrap(g.onRefer))
	g.srv.OnRegister(wrap(g.onRegister))
	g.srv.OnNoRoute(wrap(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if req.IsAck() {
			return
		}
		g.respond(req, tx, sipmsg.StatusNotImplemented, "Not Implemented")
	}))
}

func (g *Gateway) send(req *sipmsg.Request, tx sipmsg.ServerTransaction, res *sipmsg.Response) {
	g.m.Responses.WithLabelValues(req.Method.String(), strconv.Itoa(res.StatusCode)).Inc()
	if err := tx.Respond(res); err != nil {
		g.log.Debug("respond failed", "method", req.Method.String(), "code", res.StatusCode, "error", err)
	}
}

func (g *Gateway) respond(req *sipmsg.Request, tx sipmsg.ServerTransaction, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	g.send(req, tx, res)
}

// refused tells the refusal handler about an INVITE turned away with 503.
func (g *Gateway) refused(req *sipmsg.Request, reason string) {
	if g.onRefusal != nil {
		g.onRefusal(Refusal{CallID: req.CallID().Value(), From: req.From().Address.User, DNIS: req.Recipient.User, Reason: reason})
	}
}

// validRequest checks the headers every in- or out-of-dialog request needs.
func validRequest(req *sipmsg.Request) bool {
	return req.From() != nil && req.To() != nil && req.CallID() != nil && req.CSeq() != nil
}

func (g *Gateway) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if !validRequest(req) || req.Contact() == nil {
		g.respond(req, tx, sipmsg.StatusBadRequest, "Bad Request")
		return
	}
	if tag, ok := req.To().Params.Get("tag"); ok && tag != "" {
		g.onReInvite(req, tx)
		return
	}
	// Authentication comes first: nothing is counted, refused or recorded
	// for a caller who has not proved who it is.
	if !g.authorizeInvite(req, tx) {
		return
	}
	if g.draining.Load() {
		g.m.CallResults.WithLabelValues("in", "draining").Inc()
		g.respond(req, tx, sipmsg.StatusServiceUnavailable, "Draining", sipmsg.NewHeader("Retry-After", "30"))
		g.refused(req, "draining")
		return
	}
	if int(g.active.Load()) >= g.cfg.MaxCalls {
		g.m.CallResults.WithLabelValues("in", "limit").Inc()
		g.respond(req, tx, sipmsg.StatusServiceUnavailable, "Call Limit", sipmsg.NewHeader("Retry-After", "5"))
		g.refused(req, "call limit")
		return
	}
	dnis := req.Recipient.User
	isTest := g.cfg.TestEndpoint != "" && dnis == g.cfg.TestEndpoint
	if g.handler == nil && !isTest {
		g.m.CallResults.WithLabelValues("in", "no_handler").Inc()
		g.respond(req, tx, sipmsg.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		return
	}
	if !isTest && g.numbers != nil && !g.numbers(sanitizeUser(dnis)) {
		g.m.CallResults.WithLabelValues("in", "not_found").Inc()
		g.respond(req, tx, sipmsg.StatusNotFound, "Not Found")
		g.refused(req, "not found")
		return
	}
	// From here on the call is on record: it ends in the call handler or
	// in a Refusal (refuse), never in silence.
	refuse := func(reason string) {
		if !isTest {
			g.refused(req, reason)
		}
	}
	if !isTest && g.onArrival != nil {
		g.onArrival(Arrival{CallID: req.CallID().Value(), From: req.From().Address.User, DNIS: dnis, At: time.Now()})
	}
	offer, tr, err := g.acceptOffer(req.Body(), req.Source())
	switch {
	case errors.Is(err, errNoMediaPorts):
		g.m.CallResults.WithLabelValues("in", "no_ports").Inc()
		g.respond(req, tx, sipmsg.StatusServiceUnavailable, "No Media Ports", sipmsg.NewHeader("Retry-After", "5"))
		refuse("no media ports")
		return
	case errors.Is(err, sdp.ErrParse):
		g.m.CallResults.WithLabelValues("in", "no_codec").Inc()
		g.respond(req, tx, sipmsg.StatusBadRequest, "Bad SDP")
		refuse("bad offer")
		return
	case err != nil:
		g.m.CallResults.WithLabelValues("in", "no_codec").Inc()
		g.log.Debug("sip: offer refused", "sip_call_id", sanitizeHeaderValue(req.CallID().Value()), "err", err)
		g.respond(req, tx, sipmsg.StatusNotAcceptableHere, "Not Acceptable Here")
		refuse("bad offer")
		return
	}
	dlg, err := g.dua.ReadInvite(req, tx)
	if err != nil {
		tr.Close()
		g.respond(req, tx, sipmsg.StatusBadRequest, "Bad Request")
		refuse("bad offer")
		return
	}
	if req.Transport() == "UDP" {
		g.sendFromListener(req.Contact().Address)
	}
	sess := media.NewSession(tr, media.SessionConfig{Codec: offer.Codec, DTMFPayloadType: offer.DTMF})
	sess.SetSending(offer.Direction.Receives() && !offer.Addr.IsUnspecified())
	c := g.newCall(kindSIP, true, sess, req.From().Address.User, dnis, req.CallID().Value())
	c.srv = dlg
	c.remoteDir = offer.Direction
	_ = c.setState(StateRinging)
	g.bindDialog(dlg.ID, c)
	g.goCall(c, panicMedia, func() { _ = sess.Run(c.ctx) })

	// No 100 Trying: the 200 (or the 180/183 of AnswerDelay) follows at
	// once, well inside the 200 ms after which RFC 3261 §17.2.1 wants one,
	// and a message less per call is a send less under load.
	//
	// One answer for the 183 (early media) and the 200: RFC 3264 wants the
	// same session version when nothing changed.
	answer := sdp.Answer(offer, g.publicIP, tr.LocalPort(), c.sdpSessID, c.sdpVer)
	if g.cfg.AnswerDelay > 0 {
		if ok, why := g.holdRinging(c, dlg, answer); !ok {
			refuse(why)
			return
		}
	}
	if err := c.setState(StateAnswered); err != nil {
		refuse("ended") // ended meanwhile
		return
	}
	g.m.Responses.WithLabelValues("INVITE", "200").Inc()
	if err := dlg.RespondSDP(answer); err != nil {
		// A BYE before the ACK ends the dialog: a normal hang-up.
		if c.ctx.Err() == nil {
			c.log.Debug("answer not confirmed", "error", err)
			g.m.CallResults.WithLabelValues("in", "failed").Inc()
			c.end("no_ack")
			refuse("no ack")
			return
		}
		refuse("hung up")
		return
	}
	g.m.CallResults.WithLabelValues("in", "answered").Inc()
	c.log.Debug("inbound call answered", "ani", c.ani, "dnis", c.dnis, "codec", offer.Codec.String())
	if isTest {
		g.goCall(c, panicHandler, func() { g.runTestEndpoint(c) })
		return
	}
	g.goCall(c, panicHandler, func() { g.handler(c) })
}

// holdRinging keeps an inbound call ringing for AnswerDelay: 180 Ringing,
// or with EarlyMedia 183 Session Progress carrying answer and the ringback
// looped to the caller, stopped before it returns. It reports false when
// the call ended meanwhile, and why: "cancelled" for a CANCEL (sipgo
// answers it 487; the leg and its RTP are released here), "ended" when the
// gateway ended the leg.
func (g *Gateway) holdRinging(c *Call, dlg *sipgo.DialogServerSession, answer []byte) (ok bool, why string) {
	if g.cfg.EarlyMedia {
		_ = dlg.Respond(sipmsg.StatusSessionInProgress, "Session Progress", answer,
			sipmsg.NewHeader("Content-Type", "application/sdp"))
		ctx, cancel := context.WithCancel(c.ctx)
		done := make(chan struct{})
		g.goCall(c, panicDialog, func() {
			defer close(done)
			_ = g.pacer.Play(ctx, c.sess, g.ringback, true, nil)
		})
		// Once Play has returned no ringback frame is sent: the 200 comes
		// after the last one.
		defer func() { cancel(); <-done }()
	} else {
		_ = dlg.Respond(sipmsg.StatusRinging, "Ringing", nil)
	}
	t := time.NewTimer(g.cfg.AnswerDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return true, ""
	case <-dlg.Context().Done():
		g.m.CallResults.WithLabelValues("in", "cancelled").Inc()
		c.end("cancelled")
		return false, "cancelled"
	case <-c.ctx.Done():
		return false, "ended"
	}
}

// testTone is the test endpoint's 2 s of 400 Hz sawtooth when no
// test prompt is configured; made once, played read-only by every call.
var testTone = sync.OnceValue(func() []int16 {
	samples := make([]int16, 16000)
	for i := range samples {
		samples[i] = int16((i%20 - 10) * 800)
	}
	return samples
})

// runTestEndpoint answers, plays TestPrompt (or 2 s of tone) and hangs up.
func (g *Gateway) runTestEndpoint(c *Call) {
	var samples []int16
	if g.cfg.TestPrompt != "" {
		if a, err := g.prompt(g.cfg.TestPrompt); err == nil {
			samples = a.Samples
		}
	}
	if samples == nil {
		samples = testTone()
	}
	_ = g.pacer.Play(c.ctx, c.sess, samples, false, nil)
	_ = c.Hangup(context.Background())
}

// onReInvite handles an INVITE inside an existing dialog: hold/unhold by
// direction, a new remote address or codec.
func (g *Gateway) onReInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	c := g.lookupDialog(req)
	if c == nil {
		g.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	tr, _ := c.sess.Transport().(rtpTransport)
	if tr == nil {
		g.respond(req, tx, sipmsg.StatusNotAcceptableHere, "Not Acceptable Here")
		return
	}
	var body []byte
	if len(req.Body()) == 0 {
		// Offerless re-INVITE: offer what we use now.
		body = g.localSDP(c, tr.LocalPort(), []media.Codec{c.sess.Codec()}, c.sess.DTMFPayloadType(), sdp.SendRecv)
	} else {
		offer, err := sdp.Parse(req.Body())
		if err != nil {
			g.respond(req, tx, sipmsg.StatusNotAcceptableHere, "Not Acceptable Here")
			return
		}
		// An unspecified address is hold (RFC 3264 §8.4); any other must
		// be one RTP may go to.
		hold := !offer.Direction.Receives() || offer.Addr.IsUnspecified()
		if !offer.Addr.IsUnspecified() {
			err := g.checkMediaAddr(offer.Addr)
			if err == nil {
				// On a shared socket this fails when another call there
				// has that address.
				err = setRemote(tr, offer.RTPAddr(), g.believable(offer.Addr, offer.Direction, req.Source()))
			}
			if err != nil {
				c.log.Warn("re-INVITE: remote RTP address refused", "err", err)
				g.respond(req, tx, sipmsg.StatusNotAcceptableHere, "Not Acceptable Here")
				return
			}
		}
		c.sess.SetFormat(offer.Codec, offer.DTMF)
		c.sess.SetSending(!hold)
		c.mu.Lock()
		c.remoteDir = offer.Direction
		switch {
		case hold && c.state == StateAnswered:
			_ = c.setStateLocked(StateHeld)
		case !hold && c.state == StateHeld && !c.localHold:
			_ = c.setStateLocked(StateAnswered)
		}
		c.mu.Unlock()
		dir := offer.Direction.Reverse()
		if offer.Addr.IsUnspecified() {
			dir = sdp.Inactive
		}
		body = g.localSDP(c, tr.LocalPort(), []media.Codec{offer.Codec}, offer.DTMF, dir)
		c.log.Debug("re-INVITE", "direction", offer.Direction.String(), "hold", hold)
	}
	res := sipmsg.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(sipgoContact(g))
	g.send(req, tx, res)
}

func sipgoContact(g *Gateway) *sipmsg.ContactHeader {
	h := g.dua.ContactHDR
	return h.Clone()
}

func (g *Gateway) onAck(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	c := g.lookupDialog(req)
	if c == nil || c.srv == nil {
		return
	}
	_ = c.srv.ReadAck(req, tx) // a re-INVITE's ACK has another CSeq: ignored
}

// inDialog finds the call an in-dialog request belongs to, answering 400
// for a malformed request and 481 for an unknown dialog (then it returns nil).
func (g *Gateway) inDialog(req *sipmsg.Request, tx sipmsg.ServerTransaction) *Call {
	if !validRequest(req) {
		g.respond(req, tx, sipmsg.StatusBadRequest, "Bad Request")
		return nil
	}
	c := g.lookupDialog(req)
	if c == nil {
		g.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	}
	return c
}

func (g *Gateway) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	c := g.inDialog(req, tx)
	if c == nil {
		return
	}
	var err error
	switch {
	case c.srv != nil:
		err = c.srv.ReadBye(req, tx)
	case c.cli != nil:
		err = c.cli.ReadBye(req, tx)
	}
	if err != nil {
		g.respond(req, tx, sipmsg.StatusOK, "OK")
	} else {
		g.m.Responses.WithLabelValues("BYE", "200").Inc()
	}
	c.end("remote_hangup")
}

// parseDTMFRelay reads an application/dtmf-relay body ("Signal=5\r\n
// Duration=160"). It returns the digit or false.
func parseDTMFRelay(body []byte) (byte, bool) {
	if len(body) > 1024 {
		return 0, false
	}
	for _, line := range strings.Split(string(body), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "signal") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) != 1 {
			// Some phones send the event code ("10" for '*').
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 15 {
				return 0, false
			}
			return media.DigitForEvent(uint8(n))
		}
		d := v[0]
		if d >= 'a' && d <= 'd' {
			d -= 'a' - 'A'
		}
		if _, ok := media.EventForDigit(d); ok {
			return d, true
		}
		return 0, false
	}
	return 0, false
}

func (g *Gateway) onInfo(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	c := g.inDialog(req, tx)
	if c == nil {
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(h.Value()))
	}
	if !strings.HasPrefix(ct, "application/dtmf-relay") && !strings.HasPrefix(ct, "application/dtmf") {
		g.respond(req, tx, sipmsg.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}
	d, ok := parseDTMFRelay(req.Body())
	if !ok {
		g.respond(req, tx, sipmsg.StatusBadRequest, "Bad dtmf-relay Body")
		return
	}
	g.respond(req, tx, sipmsg.StatusOK, "OK")
	c.pushDigit(d, "info")
}

func (g *Gateway) onRegister(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if !validRequest(req) {
		g.respond(req, tx, sipmsg.StatusBadRequest, "Bad Request")
		return
	}
	if g.creds == nil {
		g.respond(req, tx, sipmsg.StatusForbidden, "Registration Disabled")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := g.regr.HandleRegister(ctx, req)
	if res.StatusCode == sipmsg.StatusOK {
		g.conns.established(req)
	}
	g.send(req, tx, res)
}

// Dial rings target — a registered user (every contact in parallel, the
// first to answer wins, each through its binding's Path), a customer
// number (through the trunk) or a sip: URI — and returns the answered
// leg. ctx cancellation or opts.Timeout sends CANCEL; failures wrap
// ErrNoAnswer, ErrBusy, ErrRejected or ErrNotFound.
func (g *Gateway) Dial(ctx context.Context, target string, opts DialOptions) (*Call, error) {
	if g.dua == nil {
		return nil, fmt.Errorf("sip: dial before Serve")
	}
	if g.draining.Load() {
		return nil, ErrDraining
	}
	uris, routes, err := g.dialTargets(ctx, target)
	if err != nil {
		return nil, err
	}
	if err := g.vetTrunk(uris, opts.Role); err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if len(opts.Codecs) == 0 {
		opts.Codecs = []media.Codec{media.PCMU, media.PCMA}
	}
	rctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	type result struct {
		c   *Call
		err error
	}
	results := make(chan result, len(uris))
	for i, u := range uris {
		go func() {
			var c *Call
			err := g.dialSafely(func() (err error) { c, err = g.ring(rctx, u, routes[i], opts); return err })
			results <- result{c, err}
		}()
	}
	var winner *Call
	var errs []error
	for range uris {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		if winner == nil {
			winner = r.c
			cancel() // CANCEL the other forks
			continue
		}
		_ = r.c.Hangup(context.Background()) // answered too late
	}
	if winner != nil {
		g.m.CallResults.WithLabelValues("out", "answered").Inc()
		return winner, nil
	}
	err = classify(errs)
	switch {
	case errors.Is(err, ErrBusy):
		g.m.CallResults.WithLabelValues("out", "busy").Inc()
	case errors.Is(err, ErrNoAnswer):
		g.m.CallResults.WithLabelValues("out", "no_answer").Inc()
	default:
		g.m.CallResults.WithLabelValues("out", "rejected").Inc()
	}
	return nil, err
}

// classify picks the most telling error of the forks.
func classify(errs []error) error {
	for _, want := range []error{ErrBusy, ErrRejected, ErrNoAnswer} {
		for _, e := range errs {
			if errors.Is(e, want) {
				return e
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrRejected, errs[0])
	}
	return ErrNoAnswer
}

// ring sends one INVITE to uri with route as its Route set (RFC 3261
// §8.1.2: sipgo sends it to the first Route) and waits for the answer.
// In-dialog requests then follow the Record-Route of the 200, as sipgo
// builds them.
func (g *Gateway) ring(ctx context.Context, uri sipmsg.Uri, route []sipmsg.Uri, opts DialOptions) (*Call, error) {
	tr, err := g.allocRTP(netip.AddrPort{}, g.toTrunk(uri), true)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	sess := media.NewSession(tr, media.SessionConfig{Codec: opts.Codecs[0], DTMFPayloadType: 101})
	c := g.newCall(kindSIP, false, sess, opts.CallerID, uri.User, "")
	_ = c.setState(StateRinging)
	offer := g.localSDP(c, tr.LocalPort(), opts.Codecs, 101, sdp.SendRecv)
	req := sipmsg.NewRequest(sipmsg.INVITE, uri)
	req.SetBody(offer)
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	fromUser := sanitizeUser(opts.CallerID)
	if fromUser == "" {
		fromUser = "switchboard"
	}
	from := &sipmsg.FromHeader{DisplayName: sanitizeHeaderValue(opts.CallerName),
		Address: sipmsg.Uri{Scheme: "sip", User: fromUser, Host: g.cfg.PublicIP}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	for k, v := range opts.ExtraHeaders {
		if k = sanitizeUser(k); k != "" {
			req.AppendHeader(sipmsg.NewHeader(k, sanitizeHeaderValue(v)))
		}
	}
	next := uri
	for i := range route {
		req.AppendHeader(&sipmsg.RouteHeader{Address: *route[i].Clone()})
	}
	if len(route) > 0 {
		next = route[0]
	}
	g.sendFromListener(next)
	dlg, err := g.dua.WriteInvite(ctx, req)
	if err != nil {
		c.end("invite_failed")
		return nil, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	c.cli = dlg
	c.callID = sanitizeHeaderValue(req.CallID().Value())
	early := false // early media started: Run is already going
	err = dlg.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sipmsg.Response) error {
		if !g.applyEarlyMedia(c, tr, res) || early {
			return nil
		}
		early = true
		g.goCall(c, panicMedia, func() { _ = sess.Run(c.ctx) })
		if opts.OnEarlyMedia != nil {
			g.callSafely(c, panicHandler, func() { opts.OnEarlyMedia(c) })
		}
		return nil
	}})
	if err != nil {
		c.end("not_answered")
		var de *sipgo.ErrDialogResponse
		if errors.As(err, &de) {
			switch code := de.Res.StatusCode; {
			case code == 486 || code == 600:
				return nil, fmt.Errorf("%w: %d", ErrBusy, code)
			case code == 408 || code == 480 || code == 487:
				return nil, fmt.Errorf("%w: %d", ErrNoAnswer, code)
			default:
				return nil, fmt.Errorf("%w: %d %s", ErrRejected, code, sanitizeHeaderValue(de.Res.Reason))
			}
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoAnswer, ctx.Err())
		}
		return nil, fmt.Errorf("%w: %w", ErrNoAnswer, err)
	}
	ans, perr := sdp.Parse(dlg.InviteResponse.Body())
	if ct := dlg.InviteResponse.Contact(); ct != nil && dlg.InviteResponse.Transport() == "UDP" {
		g.sendFromListener(ct.Address)
	}
	if err := dlg.Ack(context.Background()); err != nil {
		c.end("ack_failed")
		return nil, fmt.Errorf("%w: ack: %w", ErrRejected, err)
	}
	g.bindDialog(dlg.ID, c)
	if perr == nil && !ans.Addr.IsUnspecified() {
		perr = g.checkMediaAddr(ans.Addr)
	}
	if perr == nil {
		// On a shared socket this fails when another call there has the
		// same remote address: such a leg could not tell its media apart.
		perr = setRemote(tr, ans.RTPAddr(), g.believable(ans.Addr, ans.Direction, dlg.InviteResponse.Source()))
	}
	if perr != nil {
		bctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = dlg.Bye(bctx)
		cancel()
		c.end("bad_answer_sdp")
		return nil, fmt.Errorf("%w: answer sdp: %w", ErrRejected, perr)
	}
	sess.SetFormat(ans.Codec, ans.DTMF)
	sess.SetSending(ans.Direction.Receives())
	if err := c.setState(StateAnswered); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoAnswer, err)
	}
	if !early {
		g.goCall(c, panicMedia, func() { _ = sess.Run(c.ctx) })
	}
	// End the leg if the dialog ends under us (e.g. transaction failure).
	g.goCall(c, panicDialog, func() {
		select {
		case <-dlg.Context().Done():
			c.end("dialog_ended")
		case <-c.ctx.Done():
		}
	})
	return c, nil
}

// applyEarlyMedia points a ringing outbound leg at the SDP of a
// provisional response (18x with SDP: early media from the far end), so
// the far end's audio reaches the leg's session before the 200, whose SDP
// is applied again and wins. It reports whether it applied one; a response
// without usable SDP changes nothing.
func (g *Gateway) applyEarlyMedia(c *Call, tr rtpTransport, res *sipmsg.Response) bool {
	if res.StatusCode <= sipmsg.StatusTrying || res.StatusCode >= 200 || len(res.Body()) == 0 {
		return false
	}
	m, err := sdp.Parse(res.Body())
	if err != nil {
		c.log.Debug("early media: unusable sdp", "code", res.StatusCode, "error", err)
		return false
	}
	if !m.Addr.IsUnspecified() {
		err := g.checkMediaAddr(m.Addr)
		if err == nil {
			// On a shared socket this fails when another call there has
			// that address.
			err = setRemote(tr, m.RTPAddr(), g.believable(m.Addr, m.Direction, res.Source()))
		}
		if err != nil {
			c.log.Debug("early media: remote RTP address refused", "error", err)
			return false
		}
	}
	c.sess.SetFormat(m.Codec, m.DTMF)
	c.sess.SetSending(m.Direction.Receives() && !m.Addr.IsUnspecified())
	c.log.Debug("early media", "code", res.StatusCode, "codec", m.Codec.String())
	return true
}

// onRefer handles a blind transfer requested by a phone (REFER with
// Refer-To inside an existing dialog): 202 Accepted, an EventTransfer for
// the application (the ACD dials the target and re-bridges the other
// party), and a NOTIFY closing the implicit subscription. Without an event
// handler transfers are declined (603).
func (g *Gateway) onRefer(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	c := g.inDialog(req, tx)
	if c == nil {
		return
	}
	h := req.GetHeader("Refer-To")
	if h == nil {
		g.respond(req, tx, sipmsg.StatusBadRequest, "Missing Refer-To")
		return
	}
	v := strings.TrimSpace(h.Value())
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			v = v[i+1 : i+j]
		}
	}
	var target sipmsg.Uri
	if err := sipmsg.ParseUri(v, &target); err != nil || sanitizeUser(target.User) == "" {
		g.respond(req, tx, sipmsg.StatusBadRequest, "Bad Refer-To")
		return
	}
	if g.onEvent == nil {
		g.respond(req, tx, 603, "Decline")
		return
	}
	g.respond(req, tx, sipmsg.StatusAccepted, "Accepted")
	g.onEvent(Event{Type: EventTransfer, Call: c, Target: sanitizeUser(target.User)})
	g.goCall(c, panicDialog, func() {
		notify := sipmsg.NewRequest(sipmsg.NOTIFY, c.remoteTarget())
		notify.AppendHeader(sipmsg.NewHeader("Event", "refer"))
		notify.AppendHeader(sipmsg.NewHeader("Subscription-State", "terminated;reason=noresource"))
		notify.AppendHeader(sipmsg.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
		notify.SetBody([]byte("SIP/2.0 200 OK\r\n"))
		ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
		defer cancel()
		switch {
		case c.srv != nil:
			_, _ = c.srv.Do(ctx, notify)
		case c.cli != nil:
			_, _ = c.cli.Do(ctx, notify)
		}
	})
}
