package sip

import (
	"context"
	"testing"
	"time"

	"switchboard/acd"
)

// TestAgentsFailedRingIsNilLeg: a failed ring or dial returns a nil
// acd.Leg, not an interface holding a nil *Call (which the engine would
// try to hang up when the offer was withdrawn meanwhile).
func TestAgentsFailedRingIsNilLeg(t *testing.T) {
	g := startGateway(t, Config{})
	a := NewAgents(g, AgentsOptions{RingTimeout: 3 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	phone := newPhone(t, "alice") // refuses every call (486)
	register(t, phone, g, "s3cret", 300)

	leg, err := a.Ring(ctx, acd.Offer{Agent: "a1", Endpoint: "alice"})
	if err == nil || leg != nil {
		t.Errorf("Ring to a refusing phone = (%#v, %v), want (nil, error)", leg, err)
	}
	leg, err = a.Ring(ctx, acd.Offer{Agent: "a2", Endpoint: "nobody"})
	if err == nil || leg != nil {
		t.Errorf("Ring to an unregistered agent = (%#v, %v), want (nil, error)", leg, err)
	}
	leg, err = a.Dial(ctx, "+15551234567", acd.CallInfo{})
	if err == nil || leg != nil {
		t.Errorf("Dial without a trunk = (%#v, %v), want (nil, error)", leg, err)
	}
}
