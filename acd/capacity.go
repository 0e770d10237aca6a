package acd

import (
	"fmt"
	"maps"
	"slices"
)

// Channel names a kind of task. The engine knows a channel only by its
// name and its capacity rule (ChannelRule); the constants are the
// channels Switchboard ships, and any other valid name (ValidChannel) is
// routed with the rule configured for it or the default rule.
type Channel string

// Channels Switchboard ships.
const (
	ChannelVoice    Channel = "voice"
	ChannelCallback Channel = "callback"
	ChannelChat     Channel = "chat"
	ChannelEmail    Channel = "email"
	ChannelTicket   Channel = "ticket"
	ChannelLead     Channel = "lead"
)

// MaxCapacity bounds a channel's capacity and the total cap: an agent
// holds at most this many tasks of one channel.
const MaxCapacity = 100

// maxChannelName bounds a channel's name.
const maxChannelName = 32

// ValidChannel reports whether ch is a usable channel name: 1 to 32
// characters among a-z, 0-9, '-' and '_', starting with a letter.
func ValidChannel(ch Channel) bool {
	if len(ch) == 0 || len(ch) > maxChannelName || ch[0] < 'a' || ch[0] > 'z' {
		return false
	}
	for i := 0; i < len(ch); i++ {
		c := ch[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ChannelRule is a channel's capacity rule, the default for every agent.
// A field left unset keeps the built-in default (DefaultChannelRule).
type ChannelRule struct {
	// Capacity is how many tasks of the channel an agent holds at once
	// (0..MaxCapacity; 0 means agents take none unless their
	// AgentSpec.Capacity says otherwise). The voice machine holds one
	// call at a time: for voice and callback, more than 1 acts as 1.
	Capacity *int `yaml:"capacity"`
	// Blocking makes a task of the channel exclusive: while an agent
	// holds one (offered, active or in wrap-up), they are offered nothing
	// else of any channel; tasks already open continue.
	Blocking *bool `yaml:"blocking"`
}

// CapacityConfig is the capacity rules of Config.Capacity.
type CapacityConfig struct {
	// Channels maps a channel to its rule; channels not listed use
	// DefaultChannelRule.
	Channels map[Channel]ChannelRule `yaml:"channels"`
	// Total caps the tasks an agent holds across all channels (0: no
	// cap beyond each channel's capacity).
	Total int `yaml:"total"`
}

// builtinCapacity is each shipped channel's default capacity; a channel
// not listed defaults to 1.
var builtinCapacity = map[Channel]int{
	ChannelVoice: 1, ChannelCallback: 1, ChannelChat: 3,
	ChannelEmail: 5, ChannelTicket: 10, ChannelLead: 5,
}

// DefaultChannelRule returns the built-in rule of ch: voice 1, callback 1,
// chat 3, email 5, ticket 10, lead 5 and 1 for any other channel; voice
// and callback are blocking.
func DefaultChannelRule(ch Channel) (capacity int, blocking bool) {
	capacity, ok := builtinCapacity[ch]
	if !ok {
		capacity = 1
	}
	return capacity, ch == ChannelVoice || ch == ChannelCallback
}

// Rule returns the effective default capacity and blocking flag of ch:
// the configured fields over the built-in ones.
func (c CapacityConfig) Rule(ch Channel) (capacity int, blocking bool) {
	capacity, blocking = DefaultChannelRule(ch)
	if r, ok := c.Channels[ch]; ok {
		if r.Capacity != nil {
			capacity = *r.Capacity
		}
		if r.Blocking != nil {
			blocking = *r.Blocking
		}
	}
	return capacity, blocking
}

// Validate checks the rules and names the offending field.
func (c CapacityConfig) Validate() error {
	if c.Total < 0 || c.Total > MaxCapacity {
		return cfgErr("capacity.total", "%d not in 0..%d", c.Total, MaxCapacity)
	}
	for _, ch := range slices.Sorted(maps.Keys(c.Channels)) {
		if !ValidChannel(ch) {
			return cfgErr("capacity.channels", "bad channel name %q", ch)
		}
		if p := c.Channels[ch].Capacity; p != nil && (*p < 0 || *p > MaxCapacity) {
			return cfgErr(fmt.Sprintf("capacity.channels.%s.capacity", ch), "%d not in 0..%d", *p, MaxCapacity)
		}
	}
	return nil
}

// ValidateCapacity checks an agent's per-channel overrides
// (AgentSpec.Capacity): valid channel names and capacities in
// 0..MaxCapacity. The error wraps ErrInvalidArgument.
func ValidateCapacity(m map[Channel]int) error {
	for ch, n := range m {
		if !ValidChannel(ch) {
			return fmt.Errorf("%w: bad channel name %q", ErrInvalidArgument, ch)
		}
		if n < 0 || n > MaxCapacity {
			return fmt.Errorf("%w: channel %q capacity %d not in 0..%d", ErrInvalidArgument, ch, n, MaxCapacity)
		}
	}
	return nil
}

// Channel ids of the voice machine's channels; other channels follow in
// the order of their names.
const (
	chVoice    uint8 = 0
	chCallback uint8 = 1
	// maxChannels is the number of channel ids routing.Agent.Full holds.
	maxChannels = 64
)

// channel is one channel known to the engine: its rule and the adapter
// that owns its tasks (nil for the voice machine's channels).
type channel struct {
	name     Channel
	adapter  ChannelAdapter
	capacity int
	blocking bool
}

// WithChannel routes the tasks of channel ch (Submit) and tells a about
// their offers, acceptance and end. Voice and callback are the voice
// machine's (Enqueue, Ringer, Bridger) and take no adapter.
func WithChannel(ch Channel, a ChannelAdapter) Option {
	return func(e *Engine) {
		if e.adapters == nil {
			e.adapters = map[Channel]ChannelAdapter{}
		}
		e.adapters[ch] = a
	}
}

// initChannels assigns the channel ids.
func (e *Engine) initChannels() error {
	e.chans = []channel{{name: ChannelVoice}, {name: ChannelCallback}}
	for _, ch := range slices.Sorted(maps.Keys(e.adapters)) {
		a := e.adapters[ch]
		switch {
		case ch == ChannelVoice || ch == ChannelCallback:
			return fmt.Errorf("%w: channel %q belongs to the voice machine", ErrInvalidArgument, ch)
		case !ValidChannel(ch):
			return fmt.Errorf("%w: bad channel name %q", ErrInvalidArgument, ch)
		case a == nil:
			return fmt.Errorf("%w: nil adapter for channel %q", ErrInvalidArgument, ch)
		case len(e.chans) == maxChannels:
			return fmt.Errorf("%w: more than %d channels", ErrInvalidArgument, maxChannels)
		}
		e.chans = append(e.chans, channel{name: ch, adapter: a})
	}
	e.chanIDs = make(map[Channel]uint8, len(e.chans))
	for i, c := range e.chans {
		e.chanIDs[c.name] = uint8(i)
	}
	return nil
}

// applyCapacity installs the configured rules and recomputes every
// agent's capacities (configuration load and reload); an agent whose
// capacities changed is published (AgentCapacityChanged).
func (e *Engine) applyCapacity(cfg CapacityConfig) {
	for i := range e.chans {
		e.chans[i].capacity, e.chans[i].blocking = cfg.Rule(e.chans[i].name)
	}
	for _, a := range e.agentsBySlot() {
		caps := e.capsFor(a.spec, nil)
		if !slices.Equal(caps, a.caps) {
			a.caps = caps
			e.publishCapacity(a)
		}
	}
}

// capsFor fills buf with the capacity per channel id of an agent with
// spec: the agent's override, else the channel's default; at most 1 for
// the voice machine's channels, which hold one call.
func (e *Engine) capsFor(spec AgentSpec, buf []int) []int {
	buf = buf[:0]
	for id, c := range e.chans {
		n, ok := spec.Capacity[c.name]
		if !ok {
			n = c.capacity
		}
		if uint8(id) == chVoice || uint8(id) == chCallback {
			n = min(n, 1)
		}
		buf = append(buf, n)
	}
	return buf
}

// chanOf is the channel id of a task or call.
func (e *Engine) chanOf(c *call) uint8 { return c.rc.Channel }

// capacity computes what a may be offered now: avail is false while
// they are not ready, hold a task of a blocking channel (offered, active
// or in wrap-up) or reach the total cap; full has a bit per channel id
// with no free capacity; load is the share of capacity in use (the sum
// over channels of tasks held / capacity, and at least the total in use
// / the total cap), 0..1. The voice machine holds one call: while it
// does, voice and callback are full.
func (e *Engine) capacity(a *agent) (avail bool, full uint64, load float32) {
	var used [maxChannels]int32
	total := 0
	blocked := false
	if a.state != StateIdle {
		ch := chVoice
		if a.call != nil {
			ch = e.chanOf(a.call)
		}
		used[ch]++
		total++
		blocked = e.chans[ch].blocking
		full |= 1<<chVoice | 1<<chCallback
	}
	for _, c := range a.tasks {
		ch := e.chanOf(c)
		used[ch]++
		total++
		blocked = blocked || e.chans[ch].blocking
	}
	l := 0.0
	for id, n := range a.caps {
		if int(used[id]) >= n {
			full |= 1 << uint(id)
		}
		if n > 0 {
			l += float64(used[id]) / float64(n)
		}
	}
	capped := false
	if t := e.cfg.Capacity.Total; t > 0 {
		capped = total >= t
		l = max(l, float64(total)/float64(t))
	}
	avail = !a.removed && a.presence == PresenceReady && !blocked && !capped
	return avail, full, float32(min(l, 1))
}
