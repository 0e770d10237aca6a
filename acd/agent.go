package acd

import (
	"context"
	"fmt"
	"maps"
	"math"
	"time"

	"switchboard/acd/routing"
)

// occupancyTau is the time constant of the agents' sliding occupancy.
const occupancyTau = time.Hour

type agent struct {
	spec       AgentSpec
	slot       int32
	presence   Presence
	reason     string
	state      AgentState
	stateSince time.Time
	call       *call // reserved for, on, or wrapping up (voice machine)
	// tasks are the tasks of other channels offered to, held or wrapped
	// up by the agent; caps is the agent's capacity per channel id.
	tasks    []*call
	caps     []int
	missed   int
	wrapT    Timer
	wrapGen  int
	busyAcc  float64
	totalAcc float64
	occLast  time.Time
	calls    int
	day      int
	removed  bool
	// anon marks an agent known only by id, from Adopt or AdoptCall, who
	// has not logged in: no profile yet; Login gives one and keeps their
	// call and tasks.
	anon bool
}

// part is a's part of task id, the task as a holds it; nil if a holds
// none. A part in wrap-up comes first: a task transferred away and back
// again may be held twice, once in wrap-up and once live.
func (a *agent) part(id TaskID) *call {
	var found *call
	for _, c := range a.tasks {
		if c.id != id {
			continue
		}
		if c.tstate == TaskWrapUp {
			return c
		}
		found = c
	}
	return found
}

// busy reports whether the agent holds a call or any task.
func (a *agent) busy() bool { return a.state != StateIdle || len(a.tasks) > 0 }

// accrue advances the exponentially weighted occupancy to now.
func (a *agent) accrue(now time.Time) {
	if a.occLast.IsZero() {
		a.occLast = now
		return
	}
	dt := now.Sub(a.occLast).Seconds()
	if dt <= 0 {
		return
	}
	tau := occupancyTau.Seconds()
	decay := math.Exp(-dt / tau)
	inc := tau * (1 - decay)
	a.busyAcc *= decay
	a.totalAcc *= decay
	if a.presence != PresenceOffline || a.busy() {
		a.totalAcc += inc
		if a.busy() {
			a.busyAcc += inc
		}
	}
	a.occLast = now
}

func (a *agent) occupancy() float64 {
	if a.totalAcc <= 0 {
		return 0
	}
	return a.busyAcc / a.totalAcc
}

// available reports whether a may be offered a task of some channel now
// (see capacity: presence ready, no blocking task, under the total cap).
func (e *Engine) available(a *agent) bool {
	avail, _, _ := e.capacity(a)
	return avail
}

// freeFor reports whether a may be offered a task of channel id ch now.
func (e *Engine) freeFor(a *agent, ch uint8) bool {
	avail, full, _ := e.capacity(a)
	return avail && full&(1<<ch) == 0
}

// sync copies the agent's dynamic routing attributes into the index.
func (e *Engine) syncAgent(a *agent, now time.Time) {
	ra := e.idx.Agent(a.slot)
	if ra == nil {
		return
	}
	avail, full, load := e.capacity(a)
	if avail && !ra.Available {
		ra.IdleSince = now.UnixNano()
	}
	ra.Available, ra.Full, ra.Load = avail, full, load
	ra.Staffed = !a.removed && (a.presence == PresenceReady || a.busy())
	ra.Occupancy = float32(a.occupancy())
	if d := now.YearDay(); d != a.day {
		a.day, a.calls = d, 0
	}
	ra.CallsToday = int32(a.calls)
}

// setState moves a through its system-state machine (state.go). A
// refused transition changes nothing and is returned, wrapping
// ErrTransition; nothing else assigns a.state.
func (e *Engine) setState(a *agent, next AgentState, c *call) error {
	if err := a.state.To(next); err != nil {
		e.log.Error("acd: refused agent transition", "agent_id", a.spec.ID, "err", err)
		return err
	}
	now := e.clock.Now()
	a.accrue(now)
	a.state = next
	a.stateSince = now
	ev := &AgentStateChanged{Meta: Meta{At: now.UTC()}, Agent: a.spec.ID, State: next}
	if c != nil {
		ev.CallID, ev.Queue = c.id, c.info.Queue
		if next == StateWrapUp {
			ev.WrapUpEnd = e.wrapUpEnd(c, now)
		}
	}
	e.syncAgent(a, now)
	e.publish(ev)
	return nil
}

// setPresence moves a through its presence machine.
func (e *Engine) setPresence(a *agent, next Presence, reason, by string) error {
	if err := a.presence.To(next); err != nil {
		return err
	}
	if next != PresenceNotReady {
		reason = ""
	}
	now := e.clock.Now()
	a.accrue(now)
	a.presence, a.reason = next, reason
	if next == PresenceReady {
		a.missed = 0
	}
	e.syncAgent(a, now)
	e.publish(&AgentPresenceChanged{Agent: a.spec.ID, Presence: next, Reason: reason, By: by})
	if next == PresenceOffline && !a.busy() {
		e.removeAgent(a)
	}
	return nil
}

func (e *Engine) removeAgent(a *agent) {
	a.removed = true
	_ = e.idx.Remove(a.slot)
	delete(e.slots, a.slot)
	delete(e.agents, a.spec.ID)
}

// becameFree routes a waiting call to a if it is available.
func (e *Engine) becameFree(a *agent) {
	if a.presence == PresenceOffline && !a.busy() && !a.removed {
		e.removeAgent(a)
		return
	}
	if e.available(a) && !e.closing {
		e.routeAgent(a)
	}
}

// Login adds an agent (ready or not-ready "login"). An agent the engine
// knows only from Adopt or AdoptCall (a call or tasks adopted before they
// logged in) becomes this agent and keeps what was adopted, which counts
// against the capacity of the spec: an adopted call keeps them on it. An
// agent already logged in, or logged out while still holding a call or a
// task, is refused with an error wrapping ErrDuplicate: the latter comes
// back with SetPresence. Login publishes the agent's presence, then their
// capacity (AgentCapacityChanged).
func (e *Engine) Login(ctx context.Context, spec AgentSpec) error {
	if spec.ID == "" {
		return fmt.Errorf("%w: empty agent id", ErrInvalidArgument)
	}
	for _, s := range spec.Skills {
		if s.Skill == "" || s.Level < 1 || s.Level > routing.MaxLevel {
			return fmt.Errorf("%w: agent %q skill %q level %d", ErrInvalidArgument, spec.ID, s.Skill, s.Level)
		}
	}
	if err := ValidateCapacity(spec.Capacity); err != nil {
		return fmt.Errorf("agent %q: %w", spec.ID, err)
	}
	spec.Capacity = maps.Clone(spec.Capacity)
	return e.do(ctx, func() error {
		now := e.clock.Now()
		a := e.agents[spec.ID]
		switch {
		case a == nil:
			a = e.addAgent(spec.ID, now)
		case !a.anon:
			return fmt.Errorf("%w: agent %q already logged in", ErrDuplicate, spec.ID)
		}
		e.profile(a, spec, now)
		next, reason := PresenceNotReady, ReasonLogin
		if spec.Ready {
			next, reason = PresenceReady, ""
		}
		if err := e.setPresence(a, next, reason, ""); err != nil {
			return err
		}
		e.log.Info("acd: agent logged in", "agent_id", spec.ID, "presence", next, "tasks", len(a.tasks))
		e.publishCapacity(a)
		e.becameFree(a)
		return nil
	})
}

// addAgent registers agent id offline and idle, with a slot of its own
// in the routing index but no profile yet (anon until profile).
func (e *Engine) addAgent(id AgentID, now time.Time) *agent {
	a := &agent{spec: AgentSpec{ID: id}, anon: true, presence: PresenceOffline, state: StateIdle, stateSince: now, day: now.YearDay()}
	a.slot = e.idx.Add(routing.Agent{})
	a.caps = e.capsFor(a.spec, nil)
	e.agents[id] = a
	e.slots[a.slot] = a
	return a
}

// profile gives the anon agent a its spec: routing attributes in the
// slot it already has (so waiting tasks that prefer it keep doing so)
// and capacities.
func (e *Engine) profile(a *agent, spec AgentSpec, now time.Time) {
	for _, s := range spec.Skills {
		_ = e.idx.SetSkill(a.slot, e.skillID(s.Skill), routing.Level(s.Level)) // a's slot, an interned skill
	}
	ra := e.idx.Agent(a.slot)
	ra.Country, ra.Region = intern(e.countries, spec.Country), intern(e.regions, spec.Region)
	for _, l := range spec.Languages {
		if id := e.langID(l); id >= 0 {
			ra.Languages |= 1 << uint(id)
		}
	}
	ra.TZOffset, ra.HasTZ = e.zones.offset(spec.TimeZone, now)
	a.spec, a.anon = spec, false
	a.caps = e.capsFor(spec, a.caps)
}

// Logout sets the agent offline; a busy agent leaves after the current
// call's wrap-up.
func (e *Engine) Logout(ctx context.Context, id AgentID) error {
	return e.SetPresence(ctx, id, PresenceOffline, "")
}

// SetPresence changes the agent's own presence. reason is the not-ready
// reason code (ignored otherwise).
func (e *Engine) SetPresence(ctx context.Context, id AgentID, p Presence, reason string) error {
	return e.presence(ctx, id, p, reason, "")
}

// ForcePresence is a supervisor's change of an agent's presence.
func (e *Engine) ForcePresence(ctx context.Context, supervisor string, id AgentID, p Presence, reason string) error {
	if supervisor == "" {
		return fmt.Errorf("%w: empty supervisor", ErrInvalidArgument)
	}
	return e.presence(ctx, id, p, reason, supervisor)
}

func (e *Engine) presence(ctx context.Context, id AgentID, p Presence, reason, by string) error {
	if len(reason) > 64 {
		return fmt.Errorf("%w: reason too long", ErrInvalidArgument)
	}
	if p == PresenceNotReady && reason == "" {
		reason = ReasonBreak
	}
	return e.do(ctx, func() error {
		a, err := e.agent(id)
		if err != nil {
			return err
		}
		if err := e.setPresence(a, p, reason, by); err != nil {
			return err
		}
		e.becameFree(a)
		return nil
	})
}

// agent finds a logged-in agent (or one logged out who still holds a
// call or a task); an agent known only from Adopt or AdoptCall is not
// logged in.
func (e *Engine) agent(id AgentID) (*agent, error) {
	a := e.agents[id]
	if a == nil || a.anon {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAgent, id)
	}
	return a, nil
}

// startWrapUp moves a to wrap-up for c and schedules its end.
func (e *Engine) startWrapUp(a *agent, c *call) {
	_ = e.setState(a, StateWrapUp, c) // allowed: callers pass an agent on the call
	a.wrapGen++
	gen := a.wrapGen
	d := e.wrapUpFor(c)
	if d <= 0 {
		e.endWrapUp(a)
		return
	}
	a.wrapT = e.after(d, func() {
		if a.wrapGen == gen && a.state == StateWrapUp {
			e.endWrapUp(a)
		}
	})
}

// wrapUpFor is how long the agent of c wraps it up (0: no wrap-up).
func (e *Engine) wrapUpFor(c *call) time.Duration {
	if c.q != nil {
		return c.q.wrapUp(e.cfg)
	}
	return e.cfg.WrapUp.D()
}

// wrapUpEnd is when a wrap-up of c begun at since ends by itself (zero:
// no wrap-up time).
func (e *Engine) wrapUpEnd(c *call, since time.Time) time.Time {
	d := e.wrapUpFor(c)
	if d <= 0 {
		return time.Time{}
	}
	return since.Add(d).UTC()
}

// endWrapUp finishes the wrap-up and completes the interaction.
func (e *Engine) endWrapUp(a *agent) {
	if a.wrapT != nil {
		a.wrapT.Stop()
		a.wrapT = nil
	}
	a.wrapGen++
	c := a.call
	a.call = nil
	a.calls++
	_ = e.setState(a, StateIdle, nil) // allowed: callers pass an agent in wrap-up
	if c != nil {
		c.wrapEnd = e.clock.Now()
		e.complete(c)
	}
	e.becameFree(a)
}

// Wrap records the disposition and notes of the agent's current or last
// call and ends the wrap-up early.
func (e *Engine) Wrap(ctx context.Context, id AgentID, disposition, notes string) error {
	if len(disposition) > 128 || len(notes) > 8192 {
		return fmt.Errorf("%w: disposition or notes too long", ErrInvalidArgument)
	}
	return e.do(ctx, func() error {
		a, err := e.agent(id)
		if err != nil {
			return err
		}
		if a.call == nil {
			return fmt.Errorf("%w: %q", ErrNoCall, id)
		}
		a.call.disposition, a.call.notes = disposition, notes
		if a.state == StateWrapUp {
			e.endWrapUp(a)
		}
		return nil
	})
}
