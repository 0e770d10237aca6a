package crmcore

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// AddrLimiter rate-limits what unauthenticated clients (chat sockets, web
// calls, the public knowledge search) may start, per client: an IPv4
// address, or an IPv6 /64 (one subscriber's network, where one host can
// pick addresses at will). It is safe for concurrent use; its table stays
// bounded, idle clients being forgotten once it grows.
type AddrLimiter struct {
	per   rate.Limit
	burst int

	mu      sync.Mutex
	clients map[netip.Prefix]*addrBucket
}

type addrBucket struct {
	lim  *rate.Limiter
	last time.Time
}

// addrSweepAt is the table size at which idle clients are forgotten.
const addrSweepAt = 10000

// NewAddrLimiter returns a limiter allowing each client perSecond on
// average, in bursts of burst.
func NewAddrLimiter(perSecond float64, burst int) *AddrLimiter {
	return &AddrLimiter{per: rate.Limit(perSecond), burst: burst, clients: map[netip.Prefix]*addrBucket{}}
}

// AddrKey is the prefix an address counts against; every unknown (zero)
// address shares one.
func AddrKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// Allow reports whether a may start one more thing at now.
func (l *AddrLimiter) Allow(a netip.Addr, now time.Time) bool {
	k := AddrKey(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.clients[k]
	if b == nil {
		if len(l.clients) >= addrSweepAt {
			l.sweep(now)
		}
		b = &addrBucket{lim: rate.NewLimiter(l.per, l.burst)}
		l.clients[k] = b
	}
	b.last = now
	return b.lim.AllowN(now, 1)
}

// sweep forgets the clients whose bucket has refilled (a fresh one is the
// same), then arbitrary ones down to half the bound if still too many, so
// that the table never grows past it.
func (l *AddrLimiter) sweep(now time.Time) {
	full := time.Duration(float64(l.burst)/float64(l.per)*float64(time.Second)) + time.Second
	for k, b := range l.clients {
		if now.Sub(b.last) > full {
			delete(l.clients, k)
		}
	}
	for k := range l.clients {
		if len(l.clients) < addrSweepAt/2 {
			return
		}
		delete(l.clients, k)
	}
}
