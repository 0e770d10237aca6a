// Package acdtest provides in-memory fakes of the interfaces the acd
// Engine consumes: a fake clock, call legs, and a Phone that rings,
// bridges, dials and takes voicemail. Tests script the Phone by receiving
// ring attempts from Rings and answering or failing them; the simulator
// uses its automatic modes.
package acdtest

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"switchboard/acd"
)

// Clock is a fake acd.Clock. Timers fire only from Advance/AdvanceTo, in
// time order, on the caller's goroutine.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers timerHeap
	seq    uint64
}

var _ acd.Clock = (*Clock)(nil)

// NewClock returns a fake clock set to start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

type timer struct {
	c       *Clock
	when    time.Time
	seq     uint64
	f       func()
	index   int
	stopped bool
}

// Stop cancels the timer; it reports whether the timer was pending.
func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.stopped || t.index < 0 {
		return false
	}
	t.stopped = true
	heap.Remove(&t.c.timers, t.index)
	return true
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *timerHeap) Push(x any)   { t := x.(*timer); t.index = len(*h); *h = append(*h, t) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// AfterFunc schedules f at Now()+d (d ≤ 0 fires on the next Advance).
func (c *Clock) AfterFunc(d time.Duration, f func()) acd.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{c: c, when: c.now.Add(max(d, 0)), seq: c.seq, f: f}
	heap.Push(&c.timers, t)
	return t
}

// Next returns when the earliest pending timer fires.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].when, true
}

// Advance moves the clock forward by d, firing due timers in order.
func (c *Clock) Advance(d time.Duration) { c.AdvanceTo(c.Now().Add(d)) }

// AdvanceTo moves the clock to t (never backwards), firing due timers in
// order; each fires with the clock set to its due time.
func (c *Clock) AdvanceTo(t time.Time) {
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.timers[0].when.After(t) {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return
		}
		tm := heap.Pop(&c.timers).(*timer)
		if tm.when.After(c.now) {
			c.now = tm.when
		}
		c.mu.Unlock()
		tm.f()
	}
}

// Fire fires every timer due now (after an AfterFunc with d ≤ 0).
func (c *Clock) Fire() { c.AdvanceTo(c.Now()) }

// Leg is a fake call leg; it implements acd.Leg and acd.Holder.
type Leg struct {
	id      string
	ctx     context.Context
	cancel  context.CancelFunc
	held    atomic.Bool
	hangups atomic.Int32
	// HoldErr, if set, is returned by Hold.
	HoldErr error
}

var (
	_ acd.Leg    = (*Leg)(nil)
	_ acd.Holder = (*Leg)(nil)
)

// NewLeg returns a live leg.
func NewLeg(id string) *Leg {
	ctx, cancel := context.WithCancel(context.Background())
	return &Leg{id: id, ctx: ctx, cancel: cancel}
}

// ID returns the leg's id.
func (l *Leg) ID() string { return l.id }

// Context is cancelled when the leg ends.
func (l *Leg) Context() context.Context { return l.ctx }

// Hangup ends the leg (from our side).
func (l *Leg) Hangup(context.Context) error {
	l.hangups.Add(1)
	l.cancel()
	return nil
}

// End ends the leg from the remote side (the party hangs up).
func (l *Leg) End() { l.cancel() }

// Ended reports whether the leg is over.
func (l *Leg) Ended() bool { return l.ctx.Err() != nil }

// HungUp reports how many times Hangup was called.
func (l *Leg) HungUp() int { return int(l.hangups.Load()) }

// Hold records the hold state.
func (l *Leg) Hold(_ context.Context, on bool) error {
	if l.HoldErr != nil {
		return l.HoldErr
	}
	l.held.Store(on)
	return nil
}

// Held reports whether the leg is on hold.
func (l *Leg) Held() bool { return l.held.Load() }

// Ringing is one ring attempt waiting for the test's decision.
type Ringing struct {
	Offer acd.Offer
	ctx   context.Context
	res   chan ringResult
	once  sync.Once
}

type ringResult struct {
	leg *Leg
	err error
}

// Answer makes the agent answer; it returns the agent's leg.
func (r *Ringing) Answer() *Leg {
	l := NewLeg("agent-" + string(r.Offer.Agent) + "-" + string(r.Offer.Call.ID))
	r.once.Do(func() { r.res <- ringResult{leg: l} })
	return l
}

// Fail ends the attempt with err (e.g. acd.ErrRejected).
func (r *Ringing) Fail(err error) { r.once.Do(func() { r.res <- ringResult{err: err} }) }

// Withdrawn is closed when the engine cancels the attempt.
func (r *Ringing) Withdrawn() <-chan struct{} { return r.ctx.Done() }

// Bridge is a recorded bridge.
type Bridge struct {
	Caller, Agent acd.Leg
}

// ErrDialFailed is returned by Dial when the Phone's DialFail is set.
var ErrDialFailed = errors.New("acdtest: dial failed")

// Phone is a fake telephony side: acd.Ringer, acd.Bridger, acd.Dialer
// and acd.VoicemailTaker.
type Phone struct {
	// AutoAnswer, if set, decides ring attempts immediately: true answers,
	// false fails with acd.ErrNoAnswer. Otherwise attempts go to Rings.
	AutoAnswer func(o acd.Offer) bool
	// OnBridge, if set, is called when a bridge starts.
	OnBridge func(caller, agent acd.Leg)
	// DialFail makes Dial fail.
	DialFail atomic.Bool
	// Unroutable makes Reachable report that no route leads anywhere.
	Unroutable atomic.Bool
	// Rings receives manual ring attempts.
	Rings chan *Ringing

	mu          sync.Mutex
	bridges     []Bridge
	conferences [][]acd.Leg
	dials       []string
}

var (
	_ acd.Ringer         = (*Phone)(nil)
	_ acd.Bridger        = (*Phone)(nil)
	_ acd.Conferencer    = (*Phone)(nil)
	_ acd.Dialer         = (*Phone)(nil)
	_ acd.VoicemailTaker = (*Phone)(nil)
	_ acd.Reacher        = (*Phone)(nil)
)

// ErrUnroutable is returned by Reachable when the Phone's Unroutable is set.
var ErrUnroutable = errors.New("acdtest: no route")

// Reachable implements acd.Reacher: every number is, unless Unroutable is set.
func (p *Phone) Reachable(_ context.Context, number string) error {
	if p.Unroutable.Load() {
		return fmt.Errorf("%w to %s", ErrUnroutable, number)
	}
	return nil
}

// NewPhone returns a Phone with a Rings buffer of 256.
func NewPhone() *Phone { return &Phone{Rings: make(chan *Ringing, 256)} }

// Ring implements acd.Ringer.
func (p *Phone) Ring(ctx context.Context, o acd.Offer) (acd.Leg, error) {
	if p.AutoAnswer != nil {
		if p.AutoAnswer(o) {
			return NewLeg("agent-" + string(o.Agent) + "-" + string(o.Call.ID)), nil
		}
		return nil, acd.ErrNoAnswer
	}
	r := &Ringing{Offer: o, ctx: ctx, res: make(chan ringResult, 1)}
	select {
	case p.Rings <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case res := <-r.res:
		if res.err != nil {
			return nil, res.err
		}
		return res.leg, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Bridge implements acd.Bridger: it blocks until a leg ends or ctx is done.
func (p *Phone) Bridge(ctx context.Context, caller, agent acd.Leg) error {
	p.mu.Lock()
	p.bridges = append(p.bridges, Bridge{Caller: caller, Agent: agent})
	p.mu.Unlock()
	if p.OnBridge != nil {
		p.OnBridge(caller, agent)
	}
	select {
	case <-ctx.Done():
	case <-caller.Context().Done():
	case <-agent.Context().Done():
	}
	return nil
}

// Conference implements acd.Conferencer: it blocks until a leg ends or
// ctx is done.
func (p *Phone) Conference(ctx context.Context, legs []acd.Leg) error {
	p.mu.Lock()
	p.conferences = append(p.conferences, append([]acd.Leg(nil), legs...))
	p.mu.Unlock()
	cases := make([]<-chan struct{}, 0, len(legs)+1)
	cases = append(cases, ctx.Done())
	for _, l := range legs {
		cases = append(cases, l.Context().Done())
	}
	anyDone(cases)
	return nil
}

// anyDone blocks until one of chs is closed.
func anyDone(chs []<-chan struct{}) {
	done := make(chan struct{})
	var once sync.Once
	for _, ch := range chs {
		go func() {
			select {
			case <-ch:
				once.Do(func() { close(done) })
			case <-done:
			}
		}()
	}
	<-done
}

// Conferences returns the legs of each conference made so far, in order.
func (p *Phone) Conferences() [][]acd.Leg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]acd.Leg(nil), p.conferences...)
}

// Bridges returns the bridges made so far.
func (p *Phone) Bridges() []Bridge {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Bridge(nil), p.bridges...)
}

// Dial implements acd.Dialer: it answers at once unless DialFail is set.
func (p *Phone) Dial(ctx context.Context, number string, _ acd.CallInfo) (acd.Leg, error) {
	p.mu.Lock()
	p.dials = append(p.dials, number)
	p.mu.Unlock()
	if p.DialFail.Load() {
		return nil, fmt.Errorf("%w: %s", ErrDialFailed, number)
	}
	return NewLeg("dial-" + number), ctx.Err()
}

// Dials returns the numbers dialled so far.
func (p *Phone) Dials() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.dials...)
}

// TakeVoicemail implements acd.VoicemailTaker: it "records" instantly
// and hangs up the caller.
func (p *Phone) TakeVoicemail(ctx context.Context, caller acd.Leg, call acd.CallInfo) (string, error) {
	_ = caller.Hangup(ctx)
	return "voicemail/" + string(call.ID) + ".wav", nil
}
