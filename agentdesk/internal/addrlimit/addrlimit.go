// Package addrlimit rate-limits what unauthenticated clients of the web
// channels (chat sockets, web calls) may start, per client: an IPv4
// address, or an IPv6 /64 (one subscriber's network, where one host can
// pick addresses at will). A Limiter is safe for concurrent use; its table
// stays bounded, idle clients being forgotten once it grows.
package addrlimit

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a token bucket per client.
type Limiter struct {
	per   rate.Limit
	burst int

	mu      sync.Mutex
	clients map[netip.Prefix]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// sweepAt is the table size at which idle clients are forgotten.
const sweepAt = 10000

// New returns a limiter allowing each client perSecond on average, in
// bursts of burst.
func New(perSecond float64, burst int) *Limiter {
	return &Limiter{per: rate.Limit(perSecond), burst: burst, clients: map[netip.Prefix]*bucket{}}
}

// Key is the prefix an address counts against.
func Key(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	if err != nil { // the zero Addr: every unknown client shares one bucket
		return netip.Prefix{}
	}
	return p
}

// Allow reports whether a may start one more thing at now.
func (l *Limiter) Allow(a netip.Addr, now time.Time) bool {
	k := Key(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.clients[k]
	if b == nil {
		if len(l.clients) >= sweepAt {
			l.sweep(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.per, l.burst)}
		l.clients[k] = b
	}
	b.last = now
	return b.lim.AllowN(now, 1)
}

// sweep forgets the clients whose bucket has refilled: a fresh one is the same.
func (l *Limiter) sweep(now time.Time) {
	full := time.Duration(float64(l.burst)/float64(l.per)*float64(time.Second)) + time.Second
	for k, b := range l.clients {
		if now.Sub(b.last) > full {
			delete(l.clients, k)
		}
	}
}
