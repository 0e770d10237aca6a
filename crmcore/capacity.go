package crmcore

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Capacity is an agent's overrides of the per-channel capacity the ACD is
// configured with: channel name ("voice", "chat", "ticket", …) → how many
// tasks of that channel the agent may hold at once. A channel it does not
// name takes the configured default; 0 means the agent is never offered
// that channel. The CRM checks the shape of a name; which channels exist is
// the router's business (the REST API can be told the list).
type Capacity map[string]int

// Capacity limits.
const (
	// MaxChannelCapacity is the largest capacity of one channel.
	MaxChannelCapacity = 100
	// MaxCapacityChannels is how many channels one agent may override.
	MaxCapacityChannels = 16
)

var channelNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidChannelName reports whether s has the shape of a channel name: a
// lower-case letter, then up to 31 letters, digits, '_' or '-'.
func ValidChannelName(s string) bool { return channelNameRE.MatchString(s) }

// NewCapacity validates overrides submitted for an agent and returns them
// with names trimmed and lower-cased (never nil). It refuses bad or
// duplicate names, values outside 0–MaxChannelCapacity and more than
// MaxCapacityChannels channels, naming the field ("capacity.chat").
func NewCapacity(in map[string]int) (Capacity, error) {
	if len(in) > MaxCapacityChannels {
		return nil, invalid("capacity", fmt.Sprintf("at most %d channels", MaxCapacityChannels))
	}
	out := make(Capacity, len(in))
	for _, raw := range slices.Sorted(maps.Keys(in)) {
		name := strings.ToLower(strings.TrimSpace(raw))
		if !ValidChannelName(name) {
			return nil, invalid("capacity", fmt.Sprintf("bad channel name %q: a lower-case letter, then up to 31 letters, digits, '_' or '-'", truncate(raw, 32)))
		}
		field := "capacity." + name
		if _, dup := out[name]; dup {
			return nil, invalid(field, "duplicate channel")
		}
		n := in[raw]
		if n < 0 || n > MaxChannelCapacity {
			return nil, invalid(field, fmt.Sprintf("want 0–%d", MaxChannelCapacity))
		}
		out[name] = n
	}
	return out, nil
}
