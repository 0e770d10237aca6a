package agentdesk

import (
	"maps"
	"slices"
)

// Floor returns the hub's model of the floor as a State, for tests that
// compare it with the engine's.
func (h *Hub) Floor() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.floor
	return State{
		Queues:  slices.Collect(maps.Values(f.queues)),
		Agents:  slices.Collect(maps.Values(f.agents)),
		Waiting: slices.Collect(maps.Values(f.waiting)),
		Offers:  slices.Collect(maps.Values(f.offers)),
		Calls:   slices.Collect(maps.Values(f.calls)),
	}
}
