package stats

import (
	"math"
	"time"
)

// EWTInput describes one waiting caller and the queue serving it.
type EWTInput struct {
	// Position is the caller's 1-based position among calls competing for
	// the same agents.
	Position int
	// Agents is the number of logged-in agents serving the queue
	// (ready or busy, not offline or on a not-ready break).
	Agents int
	// AHT is the recent average handle time; 0 uses DefaultAHT.
	AHT time.Duration
	// Lambda is the recent arrival rate in calls per second (0 if unknown).
	Lambda float64
}

// DefaultAHT is assumed when no call has been handled yet.
const DefaultAHT = 180 * time.Second

// EWT is an expected wait with an 80% confidence range.
type EWT struct {
	Expected, Low, High time.Duration
	// Known is false when no agent serves the queue.
	Known bool
}

// Estimate returns the caller's expected wait. The positional estimate
// treats agent releases as a Poisson process of rate Agents/AHT, so the
// wait for position k is Erlang-k distributed (mean k·AHT/N, standard
// deviation √k·AHT/N); it is blended 70/30 with Erlang C's mean wait for
// the queue when the arrival rate is known and the queue is stable.
func Estimate(in EWTInput) EWT {
	if in.Agents <= 0 {
		return EWT{}
	}
	aht := in.AHT.Seconds()
	if aht <= 0 {
		aht = DefaultAHT.Seconds()
	}
	k := float64(max(in.Position, 1))
	n := float64(in.Agents)
	mean := k * aht / n
	sd := math.Sqrt(k) * aht / n
	if in.Lambda > 0 {
		if asa := ASA(in.Agents, in.Lambda, aht); !math.IsInf(asa, 1) {
			mean = 0.7*mean + 0.3*asa
		}
	}
	lo := math.Max(0, mean-1.2816*sd)
	hi := mean + 1.2816*sd
	return EWT{Expected: seconds(mean), Low: seconds(lo), High: seconds(hi), Known: true}
}
