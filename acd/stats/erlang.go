package stats

import "math"

// ErlangB returns the blocking probability of an M/M/c/c system with c
// servers offered a Erlangs.
func ErlangB(c int, a float64) float64 {
	if c <= 0 {
		return 1
	}
	b := 1.0
	for n := 1; n <= c; n++ {
		b = a * b / (float64(n) + a*b)
	}
	return b
}

// ErlangC returns the probability that a call waits in an M/M/c queue with
// c agents and a Erlangs of traffic (arrival rate × mean handle time). It
// is 1 when c ≤ a (the queue grows without bound).
func ErlangC(c int, a float64) float64 {
	if a <= 0 {
		return 0
	}
	if float64(c) <= a {
		return 1
	}
	b := ErlangB(c, a)
	return float64(c) * b / (float64(c) - a*(1-b))
}

// ServiceLevel returns Erlang C's predicted fraction of calls answered
// within threshold seconds, for c agents, arrival rate lambda (calls per
// second) and mean handle time aht (seconds).
func ServiceLevel(c int, lambda, aht, threshold float64) float64 {
	a := lambda * aht
	if a <= 0 {
		return 1
	}
	if float64(c) <= a {
		return 0
	}
	return 1 - ErlangC(c, a)*math.Exp(-(float64(c)-a)*threshold/aht)
}

// ASA returns Erlang C's mean speed of answer in seconds (+Inf when c ≤ a).
func ASA(c int, lambda, aht float64) float64 {
	a := lambda * aht
	if a <= 0 {
		return 0
	}
	if float64(c) <= a {
		return math.Inf(1)
	}
	return ErlangC(c, a) * aht / (float64(c) - a)
}

// AgentsNeeded returns the smallest number of agents for which Erlang C
// predicts a service level of at least target (0..1) within threshold
// seconds. It returns 0 when there is no traffic and caps the search at
// 10,000 agents.
func AgentsNeeded(lambda, aht, threshold, target float64) int {
	a := lambda * aht
	if a <= 0 {
		return 0
	}
	for c := int(math.Floor(a)) + 1; c <= 10000; c++ {
		if ServiceLevel(c, lambda, aht, threshold) >= target {
			return c
		}
	}
	return 10000
}

// ErlangAResult is the steady state of an M/M/c+M (Erlang A) queue.
type ErlangAResult struct {
	// PWait is the probability an arriving call waits.
	PWait float64
	// PAbandon is the probability an arriving call abandons.
	PAbandon float64
	// QueueLen is the mean number of waiting calls.
	QueueLen float64
}

// ErlangA solves the M/M/c+M queue (exponential patience with mean
// patience seconds) as a birth-death chain truncated where the tail is
// negligible. lambda is calls per second, aht the mean handle time.
func ErlangA(c int, lambda, aht, patience float64) ErlangAResult {
	if lambda <= 0 || aht <= 0 || c < 0 {
		return ErlangAResult{}
	}
	mu := 1 / aht
	theta := 0.0
	if patience > 0 && !math.IsInf(patience, 1) {
		theta = 1 / patience
	}
	// Unnormalised probabilities p[n] with p[0] = 1 (in log space to avoid
	// overflow), truncated when they fall below 1e-15 of the max.
	var logp []float64
	lp := 0.0
	maxlp := 0.0
	logp = append(logp, 0)
	for n := 1; n < 100000; n++ {
		death := float64(min(n, c))*mu + float64(max(0, n-c))*theta
		if death <= 0 {
			break // no service and no abandonment: unstable
		}
		lp += math.Log(lambda / death)
		logp = append(logp, lp)
		if lp > maxlp {
			maxlp = lp
		}
		if n > c && lp < maxlp-35 {
			break
		}
	}
	var z, wait, q, ab float64
	for n, l := range logp {
		p := math.Exp(l - maxlp)
		z += p
		if n >= c {
			wait += p
			q += float64(n-c) * p
		}
	}
	q /= z
	wait /= z
	if theta > 0 {
		ab = theta * q / lambda
	}
	return ErlangAResult{PWait: wait, PAbandon: ab, QueueLen: q}
}
