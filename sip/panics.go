package sip

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// A panic in the code of one call — the call handler, its media, a dialog
// goroutine or the SIP handler serving its request — is recovered where it
// happens: logged with the call's ids and the stack, counted
// (switchboard_sip_panics_total by where), and that call alone is ended
// (500 while it rings, BYE once answered). Every other call, and the
// process, go on.

// Where a recovered panic happened (the label of Metrics.Panics).
const (
	panicHandler = "handler" // the call handler (WithCallHandler) or the test endpoint
	panicMedia   = "media"   // a packet of the call's media session
	panicDialog  = "dialog"  // a goroutine of the call's dialog (ringing, hold, transfer, recording)
	panicSIP     = "sip"     // the gateway's handler of a SIP request
)

// goCall runs f on a goroutine of its own for c: a panic in f ends c only.
func (g *Gateway) goCall(c *Call, where string, f func()) {
	go g.callSafely(c, where, f)
}

// callSafely runs f, code of c's run on a goroutine the gateway shares
// with other work: a panic in f (counted as where) ends c only.
func (g *Gateway) callSafely(c *Call, where string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			g.callPanicked(c, where, v, debug.Stack())
		}
	}()
	f()
}

// callPanicked reports a panic recovered in c's code and ends c.
func (g *Gateway) callPanicked(c *Call, where string, v any, stack []byte) {
	g.m.Panics.WithLabelValues(where).Inc()
	c.log.Error("sip: panic in a call; ending it", "where", where, "panic", fmt.Sprint(v), "stack", string(stack))
	go c.fail()
}

// dialSafely runs one fork of a Dial: a panic in it is counted and
// logged and fails that fork only.
func (g *Gateway) dialSafely(ring func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			g.m.Panics.WithLabelValues(panicDialog).Inc()
			g.log.Error("sip: panic while dialling", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: internal error", ErrRejected)
		}
	}()
	return ring()
}

// recoverRequest is deferred by every SIP request handler: after a panic
// it answers 500 (if the request had no final response yet) and ends the
// calls of the request's Call-ID.
func (g *Gateway) recoverRequest(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	v := recover()
	if v == nil {
		return
	}
	stack := debug.Stack()
	g.m.Panics.WithLabelValues(panicSIP).Inc()
	callID := ""
	if h := req.CallID(); h != nil {
		callID = sanitizeHeaderValue(h.Value())
	}
	g.log.Error("sip: panic in a request handler; ending its call", "method", req.Method.String(), "sip_call_id", callID,
		"panic", fmt.Sprint(v), "stack", string(stack))
	if !req.IsAck() {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusInternalServerError, "Server Internal Error", nil))
	}
	if callID == "" {
		return
	}
	g.mu.Lock()
	var ended []*Call
	for _, c := range g.calls {
		if c.callID == callID {
			ended = append(ended, c)
		}
	}
	g.mu.Unlock()
	for _, c := range ended {
		go c.fail()
	}
}

// fail ends the leg after an internal error: 500 to an inbound call still
// ringing, BYE to an answered one, CANCEL to an outbound one ringing.
func (c *Call) fail() {
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	if st == StateRinging && c.srv != nil {
		_ = c.srv.Respond(sipmsg.StatusInternalServerError, "Server Internal Error", nil)
		c.end("panic")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.hangup(ctx, "panic")
}
