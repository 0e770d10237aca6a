package acd

import "context"

// Capacities returns, for each of specs, the capacity per channel an agent
// with that spec has under the engine's current configuration: the spec's
// override, else the channel's rule, at most 1 for voice and callback.
// Only channels the engine routes with a capacity above 0 are listed.
// Adapters show it beside what the agent holds (the CTI desk).
func (e *Engine) Capacities(ctx context.Context, specs []AgentSpec) ([]map[Channel]int, error) {
	out := make([]map[Channel]int, len(specs))
	err := e.do(ctx, func() error {
		var buf []int
		for i, s := range specs {
			buf = e.capsFor(s, buf)
			m := make(map[Channel]int, len(buf))
			for id, n := range buf {
				if n > 0 {
					m[e.chans[id].name] = n
				}
			}
			out[i] = m
		}
		return nil
	})
	return out, err
}
