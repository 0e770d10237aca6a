package chat

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// addrLimiter limits the chat sockets each remote address opens. Idle addresses are
// forgotten once the table grows, so it stays bounded.
type addrLimiter struct {
	per   rate.Limit
	burst int

	mu    sync.Mutex
	addrs map[string]*addrEntry
}

type addrEntry struct {
	lim  *rate.Limiter
	last time.Time
}

// sweepAt is the table size at which idle addresses are forgotten.
const sweepAt = 10000

func newAddrLimiter(perSecond float64, burst int) *addrLimiter {
	return &addrLimiter{per: rate.Limit(perSecond), burst: burst, addrs: map[string]*addrEntry{}}
}

// allow reports whether addr may open one more socket at now.
func (l *addrLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.addrs[addr]
	if e == nil {
		if len(l.addrs) >= sweepAt {
			l.sweep(now)
		}
		e = &addrEntry{lim: rate.NewLimiter(l.per, l.burst)}
		l.addrs[addr] = e
	}
	e.last = now
	return e.lim.AllowN(now, 1)
}

// sweep forgets the addresses whose limiter has refilled: a fresh one is the same.
func (l *addrLimiter) sweep(now time.Time) {
	full := time.Duration(float64(l.burst)/float64(l.per)*float64(time.Second)) + time.Second
	for a, e := range l.addrs {
		if now.Sub(e.last) > full {
			delete(l.addrs, a)
		}
	}
}
