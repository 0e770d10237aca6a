package stats

import "time"

// StaffingWindow is the recent period whose arrivals and handle times feed
// the staffing recommendation.
const StaffingWindow = 30 * time.Minute

// MinRatePeriod is the shortest period an arrival rate is measured over:
// the first calls after a start are not read as a flood.
const MinRatePeriod = 5 * time.Minute

// Staffing is an Erlang C staffing recommendation with what it assumed,
// so that a supervisor can judge it.
type Staffing struct {
	// Agents is the smallest number of agents meeting Target within
	// Threshold at the assumed load (0 without traffic).
	Agents int
	// Calls arrived during Period; their rate is the assumed arrival rate.
	Calls  int
	Period time.Duration
	// AHT is the average handle time (talk + hold + wrap-up) of the calls
	// handled during Period, or DefaultAHT when none was (AHTDefault).
	AHT        time.Duration
	AHTDefault bool
	// Target (0..1) and Threshold are the queue's service-level goal.
	Target    float64
	Threshold time.Duration
}

// Recommend computes the staffing for a queue whose recent counts c cover
// period, for a service level of target (0..1) within threshold. The
// arrival rate is c.Offered over period (at least MinRatePeriod): a queue
// observed for less than its window is measured over the time it was
// observed, not the whole window. Erlang C assumes a steady state; it does
// not include clearing a backlog of calls already waiting.
func Recommend(c Counts, period time.Duration, target float64, threshold time.Duration) Staffing {
	period = max(period, MinRatePeriod)
	s := Staffing{Calls: c.Offered, Period: period, AHT: c.AHT(), Target: target, Threshold: threshold}
	if s.AHT <= 0 {
		s.AHT, s.AHTDefault = DefaultAHT, true
	}
	if c.Offered == 0 || target <= 0 {
		return s
	}
	lambda := float64(c.Offered) / period.Seconds()
	s.Agents = AgentsNeeded(lambda, s.AHT.Seconds(), threshold.Seconds(), target)
	return s
}
