package outbound

import (
	"context"
	"errors"
	"sync"
	"time"

	"switchboard/acd"
	"switchboard/acd/campaign"
)

// recheck is how soon a call that was being offered when its grace
// ended is looked at again: an offer that fails puts it back in the
// queue, where it must not wait.
const recheck = 250 * time.Millisecond

// releaseReason is the reason of a call released at the end of its grace.
const releaseReason = "campaign: no agent within the grace"

// line is a call a person answered, handed to the queue, until it ends.
type line struct {
	r        *run
	dial     campaign.Dial
	leg      acd.Leg
	answered time.Time

	mu sync.Mutex
	// connected is when an agent answered; over once the campaign has
	// its result (connected, or abandoned).
	connected time.Time
	over      bool
	timer     *time.Timer
}

func (l *line) id() acd.CallID { return acd.CallID(l.leg.ID()) }

// graceAt arms the end of the grace after d.
func (l *line) graceAt(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.over {
		l.timer = time.AfterFunc(d, l.graceOver)
	}
}

// graceOver releases the call if it still waits: the person hears the
// abandon message and the line is released. A call being offered is
// looked at again shortly; an agent who answers it now makes a late
// connection, which the campaign counts as abandoned.
func (l *line) graceOver() {
	l.mu.Lock()
	if l.over || !l.connected.IsZero() {
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	m := l.r.m
	ctx := context.Background()
	err := m.eng.Release(ctx, l.id(), releaseReason)
	switch {
	case err == nil:
		if !l.settle(campaign.ResultAbandoned, m.opts.Now()) {
			return
		}
		m.wg.Go(func() {
			if err := m.phone.Play(ctx, l.leg, l.r.cfg.Prompts.Abandon); err != nil {
				m.log.Warn("outbound: abandon message", "campaign", l.r.cfg.ID, "err", err)
			}
			_ = l.leg.Hangup(ctx)
		})
	case errors.Is(err, acd.ErrTransition):
		l.graceAt(recheck)
	}
	// Unknown: the call ended meanwhile, and its end settles it.
}

// settle reports the line's result to the campaign once; it reports
// whether this call did.
func (l *line) settle(res campaign.Result, at time.Time) bool {
	l.mu.Lock()
	if l.over {
		l.mu.Unlock()
		return false
	}
	l.over = true
	if l.timer != nil {
		l.timer.Stop()
	}
	l.mu.Unlock()
	if err := l.r.c.Finish(l.dial.ID, res, at); err != nil {
		l.r.m.log.Error("outbound: call result", "campaign", l.r.cfg.ID, "dial", l.dial.ID, "err", err)
	}
	l.r.flush(context.Background())
	l.r.poke()
	return true
}

// follow reads the engine's events until ctx ends: an agent answering
// one of the lines connects it; a line's end settles it (abandoned when
// nobody answered) and measures its handle time.
func (m *Manager) follow(ctx context.Context, sub *acd.Subscription) {
	defer sub.Close()
	var evs []acd.Event
	for {
		select {
		case <-sub.Ready():
		case <-ctx.Done():
			return
		}
		var open bool
		evs, open = sub.Take(evs[:0])
		for _, ev := range evs {
			switch e := ev.(type) {
			case *acd.CallAnswered:
				m.answered(e.CallID)
			case *acd.CallEnded:
				m.ended(e.CallID)
			case *acd.ResyncRequired:
				snap, err := sub.Resync(ctx)
				if err == nil {
					m.resynced(snap)
				}
			}
		}
		if !open {
			return
		}
	}
}

func (m *Manager) answered(id acd.CallID) {
	v, ok := m.lines.Load(id)
	if !ok {
		return
	}
	l := v.(*line)
	now := m.opts.Now()
	l.mu.Lock()
	first := l.connected.IsZero()
	if first {
		l.connected = now
	}
	l.mu.Unlock()
	if first {
		l.settle(campaign.ResultConnected, now)
	}
}

func (m *Manager) ended(id acd.CallID) {
	v, ok := m.lines.LoadAndDelete(id)
	if !ok {
		return
	}
	l := v.(*line)
	now := m.opts.Now()
	l.mu.Lock()
	connected := l.connected
	l.mu.Unlock()
	if connected.IsZero() {
		// The person hung up waiting (or was released): nobody took them.
		l.settle(campaign.ResultAbandoned, now)
		return
	}
	l.r.c.ObserveHandle(now.Sub(connected))
}

// resynced settles the lines from a snapshot after events were lost: a
// call the engine no longer has ended, one on an agent was answered.
func (m *Manager) resynced(snap acd.Snapshot) {
	live := make(map[acd.CallID]acd.CallSnapshot, len(snap.Calls))
	for _, c := range snap.Calls {
		live[c.Call.ID] = c
	}
	m.lines.Range(func(k, _ any) bool {
		id := k.(acd.CallID)
		c, ok := live[id]
		switch {
		case !ok:
			m.ended(id)
		case c.State == acd.CallStateConnected || c.State == acd.CallStateHeld:
			m.answered(id)
		}
		return true
	})
}
