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

// line is a call of a campaign in the engine, until it ends: a person
// who answered, handed to the queue; or a preview dial, the agent's
// click-to-dial.
type line struct {
	r        *run
	dial     campaign.Dial
	call     acd.CallID
	leg      acd.Leg // the person's (not for a preview)
	answered time.Time
	preview  bool

	mu sync.Mutex
	// connected is when an agent answered; over once the campaign has
	// its result (connected, or abandoned).
	connected time.Time
	over      bool
	timer     *time.Timer
}

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
	err := m.eng.Release(ctx, l.call, releaseReason)
	switch {
	case err == nil:
		// The call's end may reach the follower, and settle the line,
		// before Release returns: the person's leg is still ours to end.
		l.settle(campaign.ResultAbandoned, m.opts.Now())
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
				if !m.answered(e.CallID) {
					m.remember(e.CallID, e)
				}
			case *acd.CallEnded:
				if !m.ended(e) {
					m.remember(e.CallID, e)
				}
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

// recentEvents bounds the events kept for calls the dialer does not know
// yet: a preview's call may answer or end before DialPreview files it.
const recentEvents = 1024

// remember keeps ev of a call no line has (yet).
func (m *Manager) remember(id acd.CallID, ev acd.Event) {
	m.rmu.Lock()
	defer m.rmu.Unlock()
	if m.recent == nil {
		m.recent = map[acd.CallID][]acd.Event{}
	}
	if len(m.recentIDs) >= recentEvents {
		delete(m.recent, m.recentIDs[0])
		m.recentIDs = m.recentIDs[1:]
	}
	if _, ok := m.recent[id]; !ok {
		m.recentIDs = append(m.recentIDs, id)
	}
	m.recent[id] = append(m.recent[id], ev)
}

// replay applies the events of call id that came before its line.
func (m *Manager) replay(id acd.CallID) {
	m.rmu.Lock()
	evs := m.recent[id]
	delete(m.recent, id)
	m.rmu.Unlock()
	for _, ev := range evs {
		switch e := ev.(type) {
		case *acd.CallAnswered:
			m.answered(e.CallID)
		case *acd.CallEnded:
			m.ended(e)
		}
	}
}

// answered connects line id; it reports whether there is one.
func (m *Manager) answered(id acd.CallID) bool {
	v, ok := m.lines.Load(id)
	if !ok {
		return false
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
		if l.preview {
			// The customer of a preview answered a call the agent was
			// already on: a person, connected at once.
			_ = l.r.c.Answered(l.dial.ID, campaign.Human, now)
		}
		l.settle(campaign.ResultConnected, now)
	}
	return true
}

// unreached maps CallEnded.Unreached to the dial's result.
var unreached = map[string]campaign.Result{"busy": campaign.ResultBusy, "no-answer": campaign.ResultNoAnswer,
	"failed": campaign.ResultFailed}

// ended settles line e.CallID at its end; it reports whether there is
// one. A person nobody took was abandoned; a preview whose customer was
// not reached has that result, and one whose agent never took their own
// call gives the contact back to the list, its attempts unchanged.
func (m *Manager) ended(e *acd.CallEnded) bool {
	v, ok := m.lines.LoadAndDelete(e.CallID)
	if !ok {
		return false
	}
	l := v.(*line)
	now := m.opts.Now()
	l.mu.Lock()
	connected := l.connected
	l.mu.Unlock()
	switch {
	case !connected.IsZero():
		l.r.c.ObserveHandle(now.Sub(connected))
	case !l.preview:
		l.settle(campaign.ResultAbandoned, now)
	case unreached[e.Unreached] != "":
		l.settle(unreached[e.Unreached], now)
	default:
		l.settle(campaign.ResultOutOfWindow, now)
	}
	return true
}

// resynced settles the lines from a snapshot after events were lost: a
// call the engine no longer has ended (how, the lost events knew: as if
// unreached), one on an agent was answered.
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
			m.ended(&acd.CallEnded{CallID: id, Unreached: "failed"})
		case c.State == acd.CallStateConnected || c.State == acd.CallStateHeld:
			m.answered(id)
		}
		return true
	})
}
