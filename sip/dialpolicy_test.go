package sip

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/acd"
	"switchboard/acd/dialplan"
	"switchboard/sip/media"
)

// TestDialPolicyAtTrunk: with a dial plan, the gateway sends no INVITE to
// the trunk for a number the role may not dial — premium rate for a
// callback, the same number as a URI naming the trunk, any number without
// a role — and dials an allowed number in E.164.
func TestDialPolicyAtTrunk(t *testing.T) {
	trunk := newPhone(t, "trunk")
	pcmu := media.PCMU
	trunk.AnswerWith(&pcmu)
	plan, err := dialplan.New(dialplan.Config{HomeCountry: "US"})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	g := startGateway(t, Config{Trunk: trunk.Addr().String()}, WithDialPolicy(plan), WithMetrics(reg))
	agents := NewAgents(g, AgentsOptions{RingTimeout: 5 * time.Second, CallerID: "+15550100"})

	const premium = "+19005551234"
	refused := []struct {
		name   string
		dial   func() error
		reason error
	}{
		{"callback to a premium number", func() error {
			_, err := agents.Dial(t.Context(), premium, acd.CallInfo{Direction: acd.Callback})
			return err
		}, dialplan.ErrDenied},
		{"premium number written nationally", func() error {
			_, err := g.Dial(t.Context(), "9005551234", DialOptions{Timeout: 5 * time.Second, Role: dialplan.RoleSupervisor})
			return err
		}, dialplan.ErrDenied},
		{"URI naming the trunk", func() error {
			_, err := g.Dial(t.Context(), "sip:"+premium+"@"+trunk.Addr().String(), DialOptions{Timeout: 5 * time.Second, Role: dialplan.RoleAgent})
			return err
		}, dialplan.ErrDenied},
		{"international for a callback", func() error {
			_, err := agents.Dial(t.Context(), "+442079460000", acd.CallInfo{Direction: acd.Callback})
			return err
		}, dialplan.ErrDenied},
		{"no role", func() error {
			_, err := g.Dial(t.Context(), "+14155550101", DialOptions{Timeout: 5 * time.Second})
			return err
		}, dialplan.ErrUnknownRole},
	}
	for _, tt := range refused {
		err := tt.dial()
		if !errors.Is(err, ErrDialDenied) || !errors.Is(err, tt.reason) {
			t.Errorf("%s: %v, want ErrDialDenied wrapping %v", tt.name, err, tt.reason)
		}
	}
	if got := testutil.ToFloat64(g.m.CallResults.WithLabelValues("out", "denied")); got != float64(len(refused)) {
		t.Errorf("calls_total{out,denied} = %v, want %d", got, len(refused))
	}

	// Click-to-dial of a national number written nationally reaches the
	// trunk in E.164; it is the first INVITE the trunk sees.
	leg, err := agents.Dial(t.Context(), "4155550101", acd.CallInfo{Direction: acd.Outbound})
	if err != nil {
		t.Fatal(err)
	}
	pc := <-trunk.Inbound
	if got := pc.ServerDialog().InviteRequest.Recipient.User; got != "+14155550101" {
		t.Errorf("trunk's first INVITE is for %q, want +14155550101 (nothing refused may reach it)", got)
	}
	if err := leg.Hangup(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pc.Done():
	case <-time.After(5 * time.Second):
		t.Error("trunk got no BYE")
	}
}
