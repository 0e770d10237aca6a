package sip

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/sip/media"
)

// TestPanicEndsOnlyThatCall: a panic in the call handler, in an event
// handler run by the call's media (a digit), or in the SIP handler of its
// INVITE ends that call alone — BYE once answered, 500 before — and is
// counted by where it happened; the gateway goes on serving other calls.
func TestPanicEndsOnlyThatCall(t *testing.T) {
	calls := make(chan *Call, 4)
	reg := prometheus.NewRegistry()
	g := startGateway(t, Config{},
		WithMetrics(reg),
		WithCallHandler(func(c *Call) {
			if c.DNIS() == "handler-panic" {
				panic("handler")
			}
			calls <- c
		}),
		WithEventHandler(func(e Event) {
			if e.Type == EventDigit && e.Call.DNIS() == "digit-panic" {
				panic("digit")
			}
		}),
		WithNumberFilter(func(dnis string) bool {
			if dnis == "sip-panic" {
				panic("sip")
			}
			return true
		}))
	p := newPhone(t, "caller")
	ctx := t.Context()
	panics := func(where string) float64 { return testutil.ToFloat64(g.m.Panics.WithLabelValues(where)) }

	// The call handler.
	pc, err := p.Invite(ctx, g.UDPAddr(), "handler-panic", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-pc.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call whose handler panicked was not hung up")
	}
	waitFor(t, "the handler panic counted", func() bool { return panics(panicHandler) == 1 })

	// A digit's event handler, on the shared socket's reader.
	other, err := p.Invite(ctx, g.UDPAddr(), "1000", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	otherCall := <-calls
	pd, err := p.Invite(ctx, g.UDPAddr(), "digit-panic", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	<-calls
	// The gateway hangs up at the digit's first packet: the phone's
	// session may be closed before the digit's last.
	if err := pd.Session().SendDigit(ctx, '1'); err != nil && !errors.Is(err, media.ErrSessionClosed) {
		t.Fatal(err)
	}
	select {
	case <-pd.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call whose digit handler panicked was not hung up")
	}
	waitFor(t, "the media panic counted", func() bool { return panics(panicMedia) == 1 })

	// The INVITE's SIP handler: 500.
	if got := inviteStatus(t, p, g, "sip-panic", offerSDP("IN IP4 127.0.0.1", 4000)); got != 500 {
		t.Errorf("INVITE whose handler panicked answered %d, want 500", got)
	}
	if got := panics(panicSIP); got != 1 {
		t.Errorf("sip panics = %v, want 1", got)
	}

	// The call up before is untouched and still carries digits.
	if err := other.Session().SendDigit(ctx, '7'); err != nil {
		t.Fatal(err)
	}
	if d, ok, err := otherCall.ReadDigit(ctx, 5*time.Second); err != nil || !ok || d != '7' {
		t.Fatalf("other call's digit = %q %v %v, want '7'", d, ok, err)
	}
	if err := other.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
}
