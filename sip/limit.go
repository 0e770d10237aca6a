package sip

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Per-source limits on requests that are not authenticated, in the spirit
// of Kamailio's pike module, and on failed digest attempts.
const (
	// DefaultUnauthRate and DefaultUnauthBurst: requests without valid
	// credentials a source may send per second, and in a burst (a few
	// dozen phones behind one NAT registering after a power cut).
	// Trusted sources are exempt.
	DefaultUnauthRate  = 20
	DefaultUnauthBurst = 200
	// maxSources caps the addresses tracked; when full, idle entries are
	// dropped (at most once a second), and addresses that find no room
	// share one bucket.
	maxSources = 65536
	failWindow = time.Minute
	// maxFailures is the number of failed digest attempts a source may make
	// in failWindow; then it gets 403 without a challenge until the window
	// ends.
	maxFailures = 5
)

// sourceGuard tracks, per client address (limitKey of the transport
// source, or behind an edge proxy of the client address the edge stamped,
// see edgeProxies), a token bucket for requests without valid credentials
// and a count of failed digest attempts. Its size is capped (maxSources). It is safe for concurrent use.
type sourceGuard struct {
	rate  rate.Limit
	burst int
	max   int

	mu        sync.Mutex
	m         map[netip.Addr]*sourceState
	overflow  *rate.Limiter // shared by sources that find the table full
	lastSweep time.Time
}

type sourceState struct {
	lim       *rate.Limiter
	fails     int
	failSince time.Time
}

func newSourceGuard(perSecond float64, burst, max int) *sourceGuard {
	if perSecond <= 0 {
		perSecond = DefaultUnauthRate
	}
	if burst <= 0 {
		burst = DefaultUnauthBurst
	}
	return &sourceGuard{rate: rate.Limit(perSecond), burst: burst, max: max, m: map[netip.Addr]*sourceState{},
		overflow: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// state returns src's entry, creating it; nil when the table is full of
// active sources. g.mu is held.
func (g *sourceGuard) state(src netip.Addr, now time.Time) *sourceState {
	if s := g.m[src]; s != nil {
		return s
	}
	if len(g.m) >= g.max {
		if now.Sub(g.lastSweep) < time.Second {
			return nil
		}
		g.lastSweep = now
		for k, s := range g.m {
			if s.lim.TokensAt(now) >= float64(g.burst) && now.Sub(s.failSince) > failWindow {
				delete(g.m, k)
			}
		}
		if len(g.m) >= g.max {
			return nil
		}
	}
	s := &sourceState{lim: rate.NewLimiter(g.rate, g.burst)}
	g.m[src] = s
	return s
}

// allow takes a token for an unauthenticated request from src; false
// means the source (or, when the table is full, every untracked source
// together) is over its rate.
func (g *sourceGuard) allow(src netip.Addr, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.state(src, now); s != nil {
		return s.lim.AllowN(now, 1)
	}
	return g.overflow.AllowN(now, 1)
}

// blocked reports whether src has used up its failed attempts.
func (g *sourceGuard) blocked(src netip.Addr, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.m[src]
	if s == nil || s.fails == 0 {
		return false
	}
	if now.Sub(s.failSince) > failWindow {
		s.fails = 0
		return false
	}
	return s.fails >= maxFailures
}

// failed counts a failed digest attempt from src.
func (g *sourceGuard) failed(src netip.Addr, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.state(src, now)
	if s == nil {
		return
	}
	if s.fails == 0 || now.Sub(s.failSince) > failWindow {
		s.fails, s.failSince = 0, now
	}
	s.fails++
}
