package sip

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Reachable tells the engine, before an agent is rung for a click-to-dial,
// whether any route leads to the number.
func TestAgentsReachable(t *testing.T) {
	ctx := context.Background()
	noTrunk := NewAgents(startGateway(t, Config{}), AgentsOptions{})
	if err := noTrunk.Reachable(ctx, "+15551234567"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no outbound trunk") {
		t.Errorf("customer number without a trunk: %v, want ErrNotFound naming the missing trunk", err)
	}
	trunk := NewAgents(startGateway(t, Config{Trunk: "trunk.invalid"}), AgentsOptions{})
	if err := trunk.Reachable(ctx, "+15551234567"); err != nil {
		t.Errorf("customer number with a trunk: %v", err)
	}
	if err := trunk.Reachable(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unregistered user: %v, want ErrNotFound", err)
	}
}
