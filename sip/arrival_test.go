package sip

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"switchboard/sip/media"
	"switchboard/sip/sdp"
)

// recordHooks collects the arrivals and refusals of a gateway.
type recordHooks struct {
	arrivals chan Arrival
	refusals chan Refusal
}

func newRecordHooks() *recordHooks {
	return &recordHooks{arrivals: make(chan Arrival, 4), refusals: make(chan Refusal, 4)}
}

func (h *recordHooks) options() []Option {
	return []Option{WithArrivalHandler(func(a Arrival) { h.arrivals <- a }),
		WithRefusalHandler(func(r Refusal) { h.refusals <- r })}
}

// expect waits for one arrival and then one refusal with reason for the
// same call, and checks that nothing else came.
func (h *recordHooks) expect(t *testing.T, reason string, wait time.Duration) {
	t.Helper()
	var a Arrival
	select {
	case a = <-h.arrivals:
	case <-time.After(5 * time.Second):
		t.Fatal("no arrival for the call")
	}
	if a.From != "caller" || a.DNIS != "100" || a.CallID == "" || a.At.IsZero() {
		t.Errorf("arrival %+v, want caller → 100 with a Call-ID and a time", a)
	}
	select {
	case r := <-h.refusals:
		if r.Reason != reason || r.CallID != a.CallID || r.From != "caller" || r.DNIS != "100" {
			t.Errorf("refusal %+v, want %q for Call-ID %s", r, reason, a.CallID)
		}
	case <-time.After(wait):
		t.Fatalf("no refusal %q", reason)
	}
	if len(h.arrivals) != 0 || len(h.refusals) != 0 {
		t.Errorf("%d more arrivals, %d more refusals for one call", len(h.arrivals), len(h.refusals))
	}
}

// TestCancelWhileRingingIsRefused: a call the caller cancels while it
// rings arrives (its record can be opened) and ends in exactly one
// refusal, "cancelled"; the call handler never sees it.
func TestCancelWhileRingingIsRefused(t *testing.T) {
	h := newRecordHooks()
	g := startGateway(t, Config{AnswerDelay: time.Minute},
		append(h.options(), WithCallHandler(func(c *Call) { t.Error("handler called for a cancelled call") }))...)
	p := newPhone(t, "caller")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := p.Invite(ctx, g.UDPAddr(), "100", media.PCMU)
		errc <- err
	}()
	waitFor(t, "ringing", func() bool { return g.ActiveCalls() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("invite err = %v", err)
	}
	h.expect(t, "cancelled", 5*time.Second)
}

// TestUnackedAnswerIsRefused: a call whose 200 OK is never ACKed ends,
// once the gateway gives up retransmitting (64·T1), in exactly one
// refusal, "no ack"; the call handler never sees it.
func TestUnackedAnswerIsRefused(t *testing.T) {
	t.Parallel() // the gateway waits 64·T1 (32 s) for the ACK
	h := newRecordHooks()
	g := startGateway(t, Config{},
		append(h.options(), WithCallHandler(func(c *Call) { t.Error("handler called for an unconfirmed call") }))...)
	p := newPhone(t, "caller")
	offer := sdp.Build(sdp.Local{Addr: netip.MustParseAddr("127.0.0.1"), Port: 4000, Codecs: []media.Codec{media.PCMU},
		DTMF: 101, SessionID: 7, Version: 1})
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: "caller", Host: "127.0.0.1"}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	d, err := p.DialogUA().Invite(t.Context(), gwURI(g, "100"), offer, from, sipmsg.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WaitAnswer(t.Context(), sipgo.AnswerOptions{}); err != nil {
		t.Fatal(err)
	}
	// No ACK.
	h.expect(t, "no ack", 64*sipmsg.T1+15*time.Second)
}
