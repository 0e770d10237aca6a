package sip

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"switchboard/acd"
	"switchboard/sip/media"
)

// Monitoring modes of Agents.Listen.
const (
	// ModeListen: the supervisor hears the call; nobody hears them.
	ModeListen = "listen"
	// ModeWhisper: the supervisor hears the call and only the agent hears
	// them (coaching).
	ModeWhisper = "whisper"
	// ModeBarge: the supervisor joins the conversation; everyone hears
	// everyone.
	ModeBarge = "barge"
)

// ErrListenMode is returned for a monitoring mode other than listen,
// whisper and barge.
var ErrListenMode = errors.New("sip: monitoring mode must be listen, whisper or barge")

// room is a call's audio while it is mixed rather than relayed: a
// conference of three or more, or a caller and agent bridge that a
// supervisor monitors. Each member's talk mask follows from its mode:
// parties talk to all, a listening supervisor to nobody, a whispering one
// to the agent only. A member on hold (Call.Hold) is out of the mix until
// resumed, and hears the music instead.
type room struct {
	conf *media.Conference

	mu      sync.Mutex
	members []*member
	agent   *Call // whom a whisper reaches
	closed  bool
	// bridge is the caller and agent of the bridge a supervisor's
	// monitoring turned into a room (zero for a conference).
	bridge [2]*Call
}

type member struct {
	c     *Call
	mode  string // "" for a party of the call, else a supervisor's mode
	p     *media.Party
	held  bool
	sup   string
	owner bool // a party of the call itself (not a supervisor)
}

func (g *Gateway) newRoom(agent *Call) *room {
	return &room{conf: g.mixer.NewConference(), agent: agent}
}

// join adds c to the room: a party of the call (mode "") or supervisor
// sup in mode.
func (r *room) join(c *Call, mode, sup string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("sip: %w", media.ErrConferenceClosed)
	}
	m := &member{c: c, mode: mode, sup: sup, owner: mode == ""}
	c.mu.Lock()
	m.held = c.localHold
	c.room = r
	c.mu.Unlock()
	if !m.held {
		p, err := r.conf.Join(c.sess)
		if err != nil {
			c.mu.Lock()
			c.room = nil
			c.mu.Unlock()
			return err
		}
		m.p = p
	}
	r.members = append(r.members, m)
	r.applyLocked()
	return nil
}

// applyLocked sets every member's talk mask from the modes.
func (r *room) applyLocked() {
	var agent *media.Party
	for _, m := range r.members {
		if m.c == r.agent {
			agent = m.p
		}
	}
	for _, m := range r.members {
		if m.p == nil {
			continue
		}
		switch m.mode {
		case ModeListen:
			m.p.TalkTo()
		case ModeWhisper:
			m.p.TalkTo(agent)
		default:
			m.p.TalkToAll()
		}
	}
}

// setMode changes supervisor sup's mode; it reports false when sup is not
// in the room.
func (r *room) setMode(sup, mode string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		if !m.owner && m.sup == sup {
			m.mode = mode
			r.applyLocked()
			return true
		}
	}
	return false
}

// leaveSup removes supervisor sup; it returns how many supervisors are
// left.
func (r *room) leaveSup(sup string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	left := 0
	for i := 0; i < len(r.members); i++ {
		m := r.members[i]
		if m.owner {
			continue
		}
		if m.sup == sup {
			r.dropLocked(m)
			r.members = append(r.members[:i], r.members[i+1:]...)
			i--
			continue
		}
		left++
	}
	r.applyLocked()
	return left
}

func (r *room) dropLocked(m *member) {
	if m.p != nil {
		m.p.Leave()
		m.p = nil
	}
	m.c.mu.Lock()
	if m.c.room == r {
		m.c.room = nil
	}
	m.c.mu.Unlock()
}

// hold takes c out of the mix (on) or back into it.
func (r *room) hold(c *Call, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		if m.c != c || m.held == on {
			continue
		}
		m.held = on
		if on {
			if m.p != nil {
				m.p.Leave()
				m.p = nil
			}
		} else if p, err := r.conf.Join(c.sess); err == nil {
			m.p = p
		}
	}
	r.applyLocked()
}

// close ends the room: every member leaves the mix.
func (r *room) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	for _, m := range r.members {
		r.dropLocked(m)
	}
	r.members = nil
	r.conf.Close()
}

// supervisors returns the supervisors in the room.
func (r *room) supervisors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, m := range r.members {
		if !m.owner {
			s = append(s, m.sup)
		}
	}
	return s
}

var _ acd.Conferencer = (*Agents)(nil)

// Conference implements acd.Conferencer: two legs are relayed as a bridge
// (an agent consulting a third party), three or more are mixed, each
// hearing the others. A conference whose first leg is the caller's can
// be monitored by supervisors (Listen) like a bridge.
func (a *Agents) Conference(ctx context.Context, legs []acd.Leg) error {
	if len(legs) < 2 {
		return fmt.Errorf("sip: conference of %d legs", len(legs))
	}
	calls := make([]*Call, len(legs))
	for i, l := range legs {
		c, err := legCall(l)
		if err != nil {
			return err
		}
		calls[i] = c
	}
	ctx, stop := softLegContext(ctx, legs)
	defer stop()
	if len(calls) == 2 {
		return a.g.Bridge(ctx, calls[0], calls[1])
	}
	if err := a.record(legs[0].ID(), calls[0]); err != nil {
		return err
	}
	r := a.g.newRoom(calls[1])
	defer r.close()
	for _, c := range calls {
		if err := r.join(c, "", ""); err != nil {
			return err
		}
	}
	key := legs[0].ID()
	a.mu.Lock()
	a.rooms[key] = r
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if a.rooms[key] == r {
			delete(a.rooms, key)
		}
		a.mu.Unlock()
	}()
	done := make(chan struct{})
	var once sync.Once
	for _, c := range calls {
		stop := context.AfterFunc(c.ctx, func() { once.Do(func() { close(done) }) })
		defer stop()
	}
	select {
	case <-ctx.Done():
	case <-done:
	}
	return nil
}

// softLegContext derives from ctx a context that also ends when one of
// legs that is a softphone's per-call view ends: such a view's call ends
// before the browser's leg does.
func softLegContext(ctx context.Context, legs []acd.Leg) (context.Context, func()) {
	var stops []func()
	for _, l := range legs {
		if s, ok := l.(*softLeg); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			stop := context.AfterFunc(s.ctx, cancel)
			stops = append(stops, func() { stop(); cancel() })
		}
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
	}
}
