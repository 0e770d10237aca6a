package acd

import (
	"context"
	"sync"
)

// SubscribeOptions configure a subscription.
type SubscribeOptions struct {
	// Name identifies the subscriber in the engine's log ("agentdesk").
	Name string
	// Buffer bounds the events pending for the subscriber (default 4096).
	// When an event finds it full, the pending events are discarded,
	// ResyncRequired is queued, and nothing more is queued until Resync.
	Buffer int
	// Records makes InteractionCompleted undroppable: such events are
	// queued beyond Buffer, survive the discard of an overflow and are
	// queued while a resync is pending, so every interaction the engine
	// completes reaches the subscriber exactly once, in order.
	Records bool
}

// Subscription is one subscriber's ordered, bounded hand-off of the
// engine's events. The engine appends to it on its own goroutine without
// blocking (a short critical section under a lock private to the
// subscription) and signals Ready; the subscriber takes everything pending
// at once with Take, on its own goroutine. Its methods are safe for
// concurrent use.
type Subscription struct {
	e       *Engine
	name    string
	limit   int
	records bool
	ready   chan struct{} // capacity 1: something is pending, or the subscription ended

	mu     sync.Mutex
	q      []Event
	deltas int  // events in q that count toward limit
	resync bool // the pending deltas were discarded; waiting for Resync
	ended  bool
}

// Subscribe registers a subscriber and returns its subscription with a
// snapshot consistent with the first event it will take: events that
// follow apply to the snapshot in Seq order.
func (e *Engine) Subscribe(ctx context.Context, opts SubscribeOptions) (*Subscription, Snapshot, error) {
	if opts.Buffer < 1 {
		opts.Buffer = 4096
	}
	s := &Subscription{e: e, name: opts.Name, limit: opts.Buffer, records: opts.Records, ready: make(chan struct{}, 1)}
	var snap Snapshot
	err := e.do(ctx, func() error {
		e.subs[s] = struct{}{}
		snap = e.snapshot()
		return nil
	})
	if err != nil {
		return nil, Snapshot{}, err
	}
	return s, snap, nil
}

// Ready is signalled when events are pending or the subscription ended;
// one signal may stand for many events.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Take appends every pending event to buf, oldest first, and returns it.
// open is false once the subscription has ended (Close, or the engine
// stopped): no event follows those returned.
func (s *Subscription) Take(buf []Event) (events []Event, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf = append(buf, s.q...)
	clear(s.q)
	s.q = s.q[:0]
	s.deltas = 0
	return buf, !s.ended
}

// Resync discards the pending events (except InteractionCompleted with
// Records) and returns a snapshot consistent with the events that follow
// it. A subscriber calls it after taking ResyncRequired.
func (s *Subscription) Resync(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	err := s.e.do(ctx, func() error {
		s.mu.Lock()
		ended := s.ended
		s.discard()
		s.resync = false
		s.mu.Unlock()
		if ended {
			return ErrClosed
		}
		snap = s.e.snapshot()
		return nil
	})
	return snap, err
}

// Close ends the subscription: no event is queued after it returns.
// Events already pending can still be taken. It is idempotent.
func (s *Subscription) Close() {
	if !s.end() {
		return
	}
	// Forget it on the actor; an engine that stopped has forgotten it.
	_ = s.e.send(context.Background(), func() { delete(s.e.subs, s) })
}

// end marks s ended and wakes its subscriber; it reports whether s was
// still open.
func (s *Subscription) end() bool {
	s.mu.Lock()
	was := !s.ended
	s.ended = true
	s.mu.Unlock()
	s.signal()
	return was
}

func (s *Subscription) signal() {
	select {
	case s.ready <- struct{}{}:
	default: // the subscriber is already due to look
	}
}

// discard drops the pending events, keeping undroppable ones; s.mu is held.
func (s *Subscription) discard() {
	kept := s.q[:0]
	for _, ev := range s.q {
		if s.keeps(ev) {
			kept = append(kept, ev)
		}
	}
	clear(s.q[len(kept):])
	s.q = kept
	s.deltas = 0
}

func (s *Subscription) keeps(ev Event) bool {
	if !s.records {
		return false
	}
	_, ok := ev.(*InteractionCompleted)
	return ok
}

// push queues ev without blocking; it reports whether the subscription
// overflowed (and now waits for Resync). Called only from the actor.
func (s *Subscription) push(ev Event, seq uint64) (overflowed bool) {
	s.mu.Lock()
	switch {
	case s.ended:
		s.mu.Unlock()
		return false
	case s.keeps(ev):
		s.q = append(s.q, ev)
	case s.resync:
		s.mu.Unlock()
		return false
	case s.deltas >= s.limit:
		s.discard()
		r := &ResyncRequired{}
		r.set(seq, ev.Header().At)
		s.q = append(s.q, r)
		s.resync, overflowed = true, true
	default:
		s.q = append(s.q, ev)
		s.deltas++
	}
	s.mu.Unlock()
	s.signal()
	return overflowed
}

// publish stamps ev with the next sequence number and, unless the
// transition set it, the time, and hands it to every subscriber without
// blocking. A subscriber whose buffer is full gets ResyncRequired instead
// (logged). Called only from the actor.
func (e *Engine) publish(ev metaSetter) {
	e.seq++
	at := ev.Header().At
	if at.IsZero() {
		at = e.clock.Now().UTC()
	}
	ev.set(e.seq, at)
	for s := range e.subs {
		if s.push(ev, e.seq) {
			e.log.Warn("acd: subscriber fell behind; resync required", "subscriber", s.name, "buffer", s.limit)
			if e.metrics != nil {
				e.metrics.resyncs.Inc()
			}
		}
	}
}
