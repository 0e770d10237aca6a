package routing

import "fmt"

// Strategy is a named weighting of the routing score.
type Strategy uint8

// The named strategies.
const (
	LongestIdle Strategy = iota
	LeastOccupied
	FewestCalls
	RoundRobin
	TopSkill
	Nearest
	RingAll // rings every eligible agent at once; first to answer wins
	numStrategies
)

var strategyNames = [numStrategies]string{"longest-idle", "least-occupied", "fewest-calls", "round-robin", "top-skill", "nearest", "ring-all"}

// String returns the strategy's configuration name.
func (s Strategy) String() string {
	if s < numStrategies {
		return strategyNames[s]
	}
	return fmt.Sprintf("strategy(%d)", uint8(s))
}

// Strategies returns every named strategy in a stable order.
func Strategies() []Strategy {
	out := make([]Strategy, numStrategies)
	for i := range out {
		out[i] = Strategy(i)
	}
	return out
}

// ParseStrategy returns the strategy named s.
func ParseStrategy(s string) (Strategy, error) {
	for i, n := range strategyNames {
		if n == s {
			return Strategy(i), nil
		}
	}
	return 0, fmt.Errorf("routing: unknown strategy %q", s)
}

// Dominant is the weight of a strategy's main factor; the other factors
// are tie-breakers far below it. Sticky always outranks everything: a
// caller's preferred agent wins when available and eligible.
const (
	Dominant   = 100.0
	StickyBias = 10000.0
)

// Weights returns the strategy's weights.
func (s Strategy) Weights() Weights {
	var w Weights
	// Shared tie-breakers.
	w[FactorSkill] = 2
	w[FactorIdle] = 1
	w[FactorLanguage] = 5
	w[FactorGeo] = 0.5
	w[FactorTimeZone] = 0.25
	w[FactorFairness] = 0.5
	w[FactorSticky] = StickyBias
	switch s {
	case LongestIdle, RingAll:
		w[FactorIdle] = Dominant
	case LeastOccupied:
		w[FactorOccupancy] = Dominant
	case FewestCalls:
		w[FactorCalls] = Dominant
	case RoundRobin:
		w[FactorFairness] = Dominant
	case TopSkill:
		w[FactorSkill] = Dominant
	case Nearest:
		w[FactorGeo] = Dominant
		w[FactorTimeZone] = Dominant / 4
		w[FactorLanguage] = Dominant / 2
	}
	return w
}
