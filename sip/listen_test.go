package sip

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSupervisorListen bridges a caller to an agent through Agents and lets a
// supervisor's softphone leg listen in: it hears both parties mixed, an
// unknown mode is refused, and StopListening ends the monitoring.
func TestSupervisorListen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, caller, agent, sup, callerLeg := monitored(t, ctx)

	if err := a.Listen(ctx, "sam", callerLeg.ID(), "shout"); !errors.Is(err, ErrListenMode) {
		t.Errorf("unknown mode: err = %v, want ErrListenMode", err)
	}
	if err := a.Listen(ctx, "nobody", callerLeg.ID(), "listen"); !errors.Is(err, ErrNoEndpoint) {
		t.Errorf("listen without a softphone: err = %v, want ErrNoEndpoint", err)
	}
	if err := a.Listen(ctx, "sam", callerLeg.ID(), "listen"); err != nil {
		t.Fatal(err)
	}
	go say(agent, 3000, 60)
	say(caller, 6000, 60)
	mixed, callerOnly := 0, 0
	for _, v := range sup.Samples() {
		switch {
		case v > 8000: // caller + agent
			mixed++
		case v > 5000:
			callerOnly++
		}
	}
	if mixed < 1600 {
		t.Errorf("supervisor heard %d mixed samples (caller+agent) and %d caller-only, want ≥ 1600 mixed", mixed, callerOnly)
	}

	if err := a.StopListening(ctx, "sam", callerLeg.ID()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	before := len(sup.Samples())
	say(caller, 6000, 20)
	if after := len(sup.Samples()); after-before > 320 {
		t.Errorf("supervisor still hears the call after StopListening: %d new samples", after-before)
	}
}
