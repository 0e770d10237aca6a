package acd

import (
	"context"
	"fmt"
	"maps"
)

// SetCapacity replaces the per-channel overrides of a logged-in agent
// (AgentSpec.Capacity, validated as at Login; channels not listed use
// the configured rule) and publishes AgentCapacityChanged. Lowering a
// channel's capacity ends nothing: tasks already held continue, and the
// agent is offered more of the channel only once they hold fewer than
// the new capacity. Raising it offers the agent waiting tasks at once.
// An agent not logged in is refused with an error wrapping
// ErrUnknownAgent.
func (e *Engine) SetCapacity(ctx context.Context, id AgentID, overrides map[Channel]int) error {
	if err := ValidateCapacity(overrides); err != nil {
		return fmt.Errorf("agent %q: %w", id, err)
	}
	overrides = maps.Clone(overrides)
	return e.do(ctx, func() error {
		a, err := e.agent(id)
		if err != nil {
			return err
		}
		a.spec.Capacity = overrides
		a.caps = e.capsFor(a.spec, a.caps)
		e.syncAgent(a, e.clock.Now())
		e.log.Info("acd: agent capacity set", "agent_id", id, "capacity", e.capMap(a.caps))
		e.publishCapacity(a)
		e.becameFree(a)
		return nil
	})
}

// capMap is a capacity per channel id as a map by channel name, listing
// only the channels with a capacity above 0.
func (e *Engine) capMap(caps []int) map[Channel]int {
	m := make(map[Channel]int, len(caps))
	for id, n := range caps {
		if n > 0 {
			m[e.chans[id].name] = n
		}
	}
	return m
}

// publishCapacity publishes a's effective capacity per channel.
func (e *Engine) publishCapacity(a *agent) {
	e.publish(&AgentCapacityChanged{Agent: a.spec.ID, Capacity: e.capMap(a.caps)})
}
