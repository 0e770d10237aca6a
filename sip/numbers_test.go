package sip

import (
	"errors"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"switchboard/sip/media"
)

// TestUnknownNumber404: with a number filter, an INVITE to a number nobody
// configured is answered 404 — not 200 and silence — and handed to the
// refusal handler (reason "not found") to be recorded; configured numbers
// and the test endpoint are answered.
func TestUnknownNumber404(t *testing.T) {
	calls := make(chan *Call, 2)
	refusals := make(chan Refusal, 2)
	g := startGateway(t, Config{TestEndpoint: "playtest"},
		WithCallHandler(func(c *Call) { calls <- c }),
		WithRefusalHandler(func(r Refusal) { refusals <- r }),
		WithNumberFilter(func(dnis string) bool { return dnis == "+15550100" }))
	p := newPhone(t, "caller")

	_, err := p.Invite(t.Context(), g.UDPAddr(), "+15550199", media.PCMU)
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 404 {
		t.Fatalf("INVITE to an unconfigured number: %v, want 404", err)
	}
	select {
	case r := <-refusals:
		if r.Reason != "not found" || r.DNIS != "+15550199" || r.From != "caller" || r.CallID != de.Res.CallID().Value() {
			t.Errorf("refusal %+v, want caller → +15550199, not found, Call-ID %s", r, de.Res.CallID().Value())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the refused call did not reach the refusal handler")
	}
	if len(calls) != 0 {
		t.Fatal("the unconfigured number reached the call handler")
	}

	if _, err := p.Invite(t.Context(), g.UDPAddr(), "+15550100", media.PCMU); err != nil {
		t.Fatalf("INVITE to a configured number: %v", err)
	}
	if c := <-calls; c.DNIS() != "+15550100" {
		t.Errorf("call to %q", c.DNIS())
	}
	if _, err := p.Invite(t.Context(), g.UDPAddr(), "playtest", media.PCMU); err != nil {
		t.Fatalf("INVITE to the test endpoint: %v", err)
	}
	if len(refusals) != 0 {
		t.Errorf("%d refusals for answered calls", len(refusals))
	}
}
