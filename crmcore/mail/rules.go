package mail

import (
	"strings"
	"sync"
	"time"

	msgmail "github.com/emersion/go-message/mail"
)

// LoopHeader is the header field Switchboard writes on every message it
// sends; a message that comes back with it is its own (Parsed.Loop).
const LoopHeader = "X-Switchboard-Loop"

// classify tells mail no person wrote (auto-replies, bounces, lists:
// RFC 3834 and the usual vendor fields) and mail Switchboard sent itself.
func classify(h msgmail.Header, from string) (auto, loop bool) {
	loop = h.Has(LoopHeader)
	if v := headerToken(h.Get("Auto-Submitted")); v != "" && v != "no" {
		auto = true
	}
	switch headerToken(h.Get("Precedence")) {
	case "bulk", "junk", "list":
		auto = true
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "List-Id", "List-Unsubscribe"} {
		if h.Has(k) {
			auto = true
		}
	}
	if h.Has("Return-Path") {
		if rp := strings.TrimSpace(h.Get("Return-Path")); rp == "" || rp == "<>" {
			auto = true
		}
	}
	if from != "" && autoSender(from) {
		auto = true
	}
	return auto, loop
}

// headerToken is the first word of a structured field, lower-cased,
// without its parameters or comment ("auto-replied; x=y" → "auto-replied").
func headerToken(v string) string {
	v, _, _ = strings.Cut(v, ";")
	v, _, _ = strings.Cut(v, "(")
	return strings.ToLower(strings.TrimSpace(v))
}

// autoSender reports the addresses that only machines write from: the
// null sender, bounce daemons and no-reply boxes.
func autoSender(addr string) bool {
	if addr == "" || addr == "<>" {
		return true
	}
	local, _, _ := strings.Cut(strings.ToLower(addr), "@")
	local, _, _ = strings.Cut(local, "+")
	switch strings.NewReplacer("-", "", "_", "", ".", "").Replace(local) {
	case "mailerdaemon", "postmaster", "noreply", "donotreply", "bounce", "bounces":
		return true
	}
	return false
}

// AckLimiterOptions configures an AckLimiter; zero fields take the
// defaults.
type AckLimiterOptions struct {
	// Limit is the number of acknowledgements one sender may receive per
	// Window (default 5, per hour): a sender whose auto-replies are not
	// recognised cannot start an endless exchange.
	Limit  int
	Window time.Duration
	// MaxSenders bounds the memory (default 100,000 addresses). When it is
	// full and no sender's window has passed, new senders get no
	// acknowledgement: the limiter errs on the side of silence.
	MaxSenders int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// AckLimiter caps the acknowledgements each sender address receives in a
// sliding window. It is safe for concurrent use and keeps its state in
// memory: a restart forgets it, which at worst lets a few more
// acknowledgements through.
type AckLimiter struct {
	opts AckLimiterOptions

	mu   sync.Mutex
	sent map[string][]time.Time // per address, the times of its acknowledgements in the window
	// sweepAt is the earliest time at which a sweep can free an entry.
	sweepAt time.Time
}

// NewAckLimiter returns a limiter with opts' limits.
func NewAckLimiter(opts AckLimiterOptions) *AckLimiter {
	if opts.Limit <= 0 {
		opts.Limit = 5
	}
	if opts.Window <= 0 {
		opts.Window = time.Hour
	}
	if opts.MaxSenders <= 0 {
		opts.MaxSenders = 100_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &AckLimiter{opts: opts, sent: make(map[string][]time.Time)}
}

// Allow reports whether addr may receive one more acknowledgement now,
// and counts it when it may.
func (l *AckLimiter) Allow(addr string) bool {
	addr = strings.ToLower(addr)
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	times, known := l.sent[addr]
	times = l.recent(times, now)
	if len(times) >= l.opts.Limit {
		l.sent[addr] = times
		return false
	}
	if !known && len(l.sent) >= l.opts.MaxSenders {
		l.sweep(now)
		if len(l.sent) >= l.opts.MaxSenders {
			return false
		}
	}
	l.sent[addr] = append(times, now)
	return true
}

// recent drops the times that left the window.
func (l *AckLimiter) recent(times []time.Time, now time.Time) []time.Time {
	cut := now.Add(-l.opts.Window)
	i := 0
	for i < len(times) && !times[i].After(cut) {
		i++
	}
	return times[i:]
}

// sweep forgets the senders whose acknowledgements all left the window.
// It runs only once something can have expired, so a full map under a
// flood of new senders costs one pass per expiry, not one per message.
func (l *AckLimiter) sweep(now time.Time) {
	if now.Before(l.sweepAt) {
		return
	}
	var next time.Time
	for addr, times := range l.sent {
		times = l.recent(times, now)
		if len(times) == 0 {
			delete(l.sent, addr)
			continue
		}
		l.sent[addr] = times
		if exp := times[0].Add(l.opts.Window); next.IsZero() || exp.Before(next) {
			next = exp
		}
	}
	l.sweepAt = next
}

// Len returns the number of sender addresses the limiter remembers.
func (l *AckLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sent)
}
