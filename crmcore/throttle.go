package crmcore

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ErrThrottled reports a login refused without checking the password
// because too many recent attempts failed for the account or from the
// source address; it is wrapped by *ThrottleError.
var ErrThrottled = errors.New("crmcore: too many failed logins")

// ThrottleError is a refused login with the time after which the next
// attempt may be checked.
type ThrottleError struct {
	RetryAfter time.Duration
}

// Error implements error.
func (e *ThrottleError) Error() string {
	return fmt.Sprintf("crmcore: too many failed logins; retry in %ds", e.RetrySeconds())
}

// Unwrap returns ErrThrottled.
func (e *ThrottleError) Unwrap() error { return ErrThrottled }

// RetrySeconds is RetryAfter rounded up to whole seconds (at least 1), the
// form of an HTTP Retry-After header.
func (e *ThrottleError) RetrySeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// ThrottleConfig sets the failed-login budgets. Each budget is a token
// bucket that only failures draw from: Burst failures in a row, then one
// more per Every. Only failed attempts count, so agents who type their
// password right are never slowed, even many behind one address.
type ThrottleConfig struct {
	AccountBurst int           // failures per login name before refusal (default 10)
	AccountEvery time.Duration // one more failure allowed per this period (default 30s)
	SourceBurst  int           // failures per source address (default 30)
	SourceEvery  time.Duration // (default 10s)
	MaxKeys      int           // tracked logins and addresses, each (default 10,000)
}

func (c *ThrottleConfig) defaults() {
	if c.AccountBurst <= 0 {
		c.AccountBurst = 10
	}
	if c.AccountEvery <= 0 {
		c.AccountEvery = 30 * time.Second
	}
	if c.SourceBurst <= 0 {
		c.SourceBurst = 30
	}
	if c.SourceEvery <= 0 {
		c.SourceEvery = 10 * time.Second
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = 10_000
	}
}

// LoginThrottle limits failed logins per account and per source address
// with bounded state. It is safe for concurrent use.
type LoginThrottle struct {
	mu       sync.Mutex
	accounts budgets
	sources  budgets
}

// NewLoginThrottle returns a throttle with cfg's budgets (zero fields take
// their defaults).
func NewLoginThrottle(cfg ThrottleConfig) *LoginThrottle {
	cfg.defaults()
	return &LoginThrottle{
		accounts: budgets{m: map[string]*rate.Limiter{}, burst: cfg.AccountBurst, every: cfg.AccountEvery, max: cfg.MaxKeys},
		sources:  budgets{m: map[string]*rate.Limiter{}, burst: cfg.SourceBurst, every: cfg.SourceEvery, max: cfg.MaxKeys},
	}
}

// Check returns nil when a login attempt for login from source may be
// checked at now, or a *ThrottleError. An empty source is not limited by
// address.
func (t *LoginThrottle) Check(login, source string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	wait := max(t.accounts.wait(login, now), t.sources.wait(source, now))
	if wait > 0 {
		return &ThrottleError{RetryAfter: wait}
	}
	return nil
}

// Failed records a failed attempt.
func (t *LoginThrottle) Failed(login, source string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.accounts.draw(login, now)
	t.sources.draw(source, now)
}

// Succeeded restores the account's budget. The source's is kept, so that
// logging in to one's own account does not buy guesses at others.
func (t *LoginThrottle) Succeeded(login string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.accounts.m, login)
}

// budgets is one kind of failure budget, keyed by login or by address. A
// key whose bucket is full again carries no information and is dropped.
type budgets struct {
	m     map[string]*rate.Limiter
	burst int
	every time.Duration
	max   int
}

// wait is how long until key may fail once more (0: now).
func (b *budgets) wait(key string, now time.Time) time.Duration {
	l := b.m[key]
	if key == "" || l == nil {
		return 0
	}
	tok := l.TokensAt(now)
	if tok >= 1 {
		return 0
	}
	return time.Duration((1 - tok) * float64(b.every))
}

func (b *budgets) draw(key string, now time.Time) {
	if key == "" {
		return
	}
	l := b.m[key]
	if l == nil {
		if len(b.m) >= b.max {
			b.prune(now)
		}
		l = rate.NewLimiter(rate.Every(b.every), b.burst)
		b.m[key] = l
	}
	l.AllowN(now, 1)
}

// prune drops the keys whose budget is full again, and if none is, one
// arbitrary key, so that the map never exceeds its bound.
func (b *budgets) prune(now time.Time) {
	for k, l := range b.m {
		if l.TokensAt(now) >= float64(b.burst) {
			delete(b.m, k)
		}
	}
	for k := range b.m {
		if len(b.m) < b.max {
			return
		}
		delete(b.m, k)
	}
}
