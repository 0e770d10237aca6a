package agentdesk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"switchboard/acd"
)

// ACD adapts *acd.Engine to Engine and EventSource: commands map to engine
// methods (by agent); the engine's events are handed over by an
// acd.Subscription and translated into the hub's vocabulary by whoever
// takes them (the hub's goroutine), never on the engine's.
type ACD struct {
	e    *acd.Engine
	opts ACDOptions

	mu    sync.Mutex
	names map[string]string // agent id → display name (from specs)
}

// ACDOptions configures the adapter.
type ACDOptions struct {
	// AgentSpec returns the routing profile of an agent who is not logged in
	// to the engine yet (skills, languages, region, endpoint); it is called
	// on the agent's first presence change. cmd/switchboard maps the CRM
	// agent to it. Nil: presence changes of unknown agents fail with not_found.
	AgentSpec func(ctx context.Context, agentID string) (acd.AgentSpec, error)
	// Buffer bounds the engine events pending for the hub (default 4096);
	// past it the hub resyncs.
	Buffer int
	// Pop maps a task's data (acd.CallInfo.Data, attached by its channel)
	// to the pop's "crm" object, e.g. the voice journey's pop to CRMPop.
	// It runs on the hub's goroutine. Nil: the data is sent as it is.
	Pop func(data any) any
}

var (
	_ Engine      = (*ACD)(nil)
	_ EventSource = (*ACD)(nil)
)

// NewACD returns the adapter over e.
func NewACD(e *acd.Engine, opts ACDOptions) *ACD {
	if opts.Buffer <= 0 {
		opts.Buffer = 4096
	}
	return &ACD{e: e, opts: opts, names: map[string]string{}}
}

// acdErr wraps an engine error in the hub's sentinels.
func acdErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, acd.ErrUnknownAgent), errors.Is(err, acd.ErrUnknownCall), errors.Is(err, acd.ErrUnknownQueue),
		errors.Is(err, acd.ErrNoCall):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, acd.ErrAgentBusy), errors.Is(err, acd.ErrTransition), errors.Is(err, acd.ErrQueueFull),
		errors.Is(err, acd.ErrDuplicate), errors.Is(err, acd.ErrInvalidArgument):
		return fmt.Errorf("%w: %w", ErrInvalidState, err)
	case errors.Is(err, acd.ErrNotPermitted):
		return &ProtocolError{ErrorData: ErrorData{Code: CodeForbidden, Message: err.Error()}}
	case errors.Is(err, acd.ErrUnreachable):
		return &ProtocolError{ErrorData: ErrorData{Code: CodeUnreachable, Field: "data.number", Message: err.Error()}}
	case errors.Is(err, acd.ErrNotSupported):
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	case errors.Is(err, acd.ErrClosed):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// SetPresence implements Engine. An agent unknown to the engine is logged
// in first with the profile from ACDOptions.AgentSpec.
func (a *ACD) SetPresence(ctx context.Context, agentID, presence, reason string) error {
	p, err := acd.ParsePresence(presence)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidState, err)
	}
	err = a.e.SetPresence(ctx, acd.AgentID(agentID), p, reason)
	if !errors.Is(err, acd.ErrUnknownAgent) || a.opts.AgentSpec == nil {
		return acdErr(err)
	}
	if p == acd.PresenceOffline {
		return nil // not logged in: already offline
	}
	spec, err := a.opts.AgentSpec(ctx, agentID)
	if err != nil {
		return fmt.Errorf("agentdesk: agent profile %s: %w", agentID, err)
	}
	spec.ID = acd.AgentID(agentID)
	spec.Ready = p == acd.PresenceReady
	a.mu.Lock()
	a.names[agentID] = spec.Name
	a.mu.Unlock()
	if err := a.e.Login(ctx, spec); err != nil && !errors.Is(err, acd.ErrDuplicate) {
		return acdErr(err)
	}
	if p == acd.PresenceNotReady {
		return acdErr(a.e.SetPresence(ctx, acd.AgentID(agentID), p, reason))
	}
	return nil
}

// ForcePresence implements Engine.
func (a *ACD) ForcePresence(ctx context.Context, supervisorID, agentID, presence, reason string) error {
	p, err := acd.ParsePresence(presence)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidState, err)
	}
	return acdErr(a.e.ForcePresence(ctx, supervisorID, acd.AgentID(agentID), p, reason))
}

// CallControl implements Engine. The engine acts on the agent's current
// offer or call; CallID is checked by the hub against its model.
func (a *ACD) CallControl(ctx context.Context, agentID string, c CallAction) error {
	id := acd.AgentID(agentID)
	var err error
	switch c.Action {
	case ActAnswer:
		err = a.e.Answer(ctx, id)
	case ActReject, ActGone:
		err = a.e.Reject(ctx, id)
	case ActHangup:
		err = a.e.Hangup(ctx, id)
	case ActHold, ActUnhold:
		err = a.e.Hold(ctx, id, c.Action == ActHold)
	case ActTransfer:
		err = a.e.Transfer(ctx, id, acdTarget(c.Target))
	case ActConsult:
		err = a.e.Consult(ctx, id, acdTarget(c.Target))
	case ActConference:
		err = a.e.Conference(ctx, id, acdTarget(c.Target))
	case ActComplete:
		err = a.e.CompleteTransfer(ctx, id)
	case ActCancelConsult:
		err = a.e.CancelConsult(ctx, id)
	case ActMerge:
		err = a.e.Merge(ctx, id)
	case ActWrapUp:
		if c.WrapUp == nil {
			return fmt.Errorf("%w: wrap-up without data", ErrInvalidState)
		}
		err = a.e.Wrap(ctx, id, c.WrapUp.Disposition, c.WrapUp.Notes)
	default:
		return fmt.Errorf("%w: action %q", ErrUnsupported, c.Action)
	}
	return acdErr(err)
}

// acdTarget is the engine's form of a transfer or consultation target.
func acdTarget(t TransferTarget) acd.TransferTarget {
	var to acd.TransferTarget
	switch t.Kind {
	case "agent":
		to.Agent = acd.AgentID(t.Value)
	case "queue":
		to.Queue = t.Value
	default:
		to.Number = t.Value
	}
	return to
}

// wireTarget is the desk's form of an engine target.
func wireTarget(t acd.TransferTarget) TransferTarget {
	switch {
	case t.Agent != "":
		return TransferTarget{Kind: "agent", Value: string(t.Agent)}
	case t.Queue != "":
		return TransferTarget{Kind: "queue", Value: t.Queue}
	}
	return TransferTarget{Kind: "number", Value: t.Number}
}

// Dial implements Engine.
func (a *ACD) Dial(ctx context.Context, agentID string, d Dial) (string, error) {
	id, err := a.e.Dial(ctx, acd.AgentID(agentID), d.Number)
	return string(id), acdErr(err)
}

// Prioritize implements Engine.
func (a *ACD) Prioritize(ctx context.Context, callID string, priority int, front bool) error {
	if front {
		return acdErr(a.e.MoveToFront(ctx, acd.CallID(callID)))
	}
	return acdErr(a.e.SetPriority(ctx, acd.CallID(callID), priority))
}

// Subscribe implements EventSource over an acd.Subscription.
func (a *ACD) Subscribe(ctx context.Context) (State, Feed, error) {
	sub, snap, err := a.e.Subscribe(ctx, acd.SubscribeOptions{Name: "agentdesk", Buffer: a.opts.Buffer})
	if err != nil {
		return State{}, nil, acdErr(err)
	}
	f := &feed{sub: sub, t: translator{a: a, agents: map[string]AgentStatus{}, calls: map[string]acd.CallInfo{},
		caps: map[string]map[string]int{}, consults: map[string]acd.ConsultPhase{}}}
	f.stop = context.AfterFunc(ctx, sub.Close)
	return f.t.state(snap), f, nil
}

// feed is the hub's subscription: the engine's events are translated as
// they are taken, on the taker's goroutine.
type feed struct {
	sub  *acd.Subscription
	stop func() bool // forgets the context's end
	t    translator
	raw  []acd.Event // reused between takes
}

// Ready implements Feed.
func (f *feed) Ready() <-chan struct{} { return f.sub.Ready() }

// Take implements Feed. A ResyncRequired (the hub fell behind) ends the
// feed: the hub subscribes again from a fresh snapshot.
func (f *feed) Take(buf []Event) ([]Event, bool) {
	var open bool
	f.raw, open = f.sub.Take(f.raw[:0])
	for _, ev := range f.raw {
		if _, ok := ev.(*acd.ResyncRequired); ok {
			f.Close()
			open = false
			break
		}
		buf = f.t.translate(buf, ev)
	}
	clear(f.raw)
	return buf, open
}

// Close implements Feed.
func (f *feed) Close() {
	f.stop()
	f.sub.Close()
}

// translator keeps what it needs to turn engine events into hub events;
// owned by the goroutine that takes the feed.
type translator struct {
	a      *ACD
	agents map[string]AgentStatus
	calls  map[string]acd.CallInfo
	caps   map[string]map[string]int // agent id → capacity per channel
	// consults are the consultations in progress by call id, with their
	// last phase.
	consults map[string]acd.ConsultPhase
}

// pop is data as the pop's "crm" object (ACDOptions.Pop).
func (t *translator) pop(data any) any {
	if t.a.opts.Pop == nil || data == nil {
		return data
	}
	return t.a.opts.Pop(data)
}

func (t *translator) name(id string) string {
	t.a.mu.Lock()
	defer t.a.mu.Unlock()
	return t.a.names[id]
}

func (t *translator) queueStats(q acd.QueueStats) QueueStats {
	busy := q.States[acd.StateOnCall.String()] + q.States[acd.StateOnHold.String()] + q.States[acd.StateReserved.String()]
	wrap := q.States[acd.StateWrapUp.String()]
	s := QueueStats{
		Queue: q.Queue, Waiting: q.Waiting, LongestWaitSec: q.LongestWait.Seconds(),
		SLTarget: q.SLTarget, SLThresholdSec: q.SLThreshold.Seconds(), ASASec: q.Interval.ASA.Seconds(),
		AbandonPercent: q.Interval.AbandonRate * 100,
		Busy:           busy, WrapUp: wrap, Ready: max(0, q.AgentsStaffed-busy-wrap),
		Staffed: q.AgentsStaffed, Recommended: q.AgentsNeeded,
		Erlang: ErlangBasis{Calls: q.Staffing.Calls, PeriodSec: q.Staffing.Period.Seconds(),
			AHTSec: q.Staffing.AHT.Seconds(), AHTDefault: q.Staffing.AHTDefault},
	}
	if q.Interval.HasSL {
		s.SLPercent = q.Interval.ServiceLevel * 100
	} else {
		s.SLPercent = 100
	}
	return s
}

func reasons(rs []acd.Reason) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s %.2f (+%.2f)", r.Factor, r.Value, r.Contribution))
	}
	return out
}

// decidedAt is the engine's event time when it is the wall clock, else now
// (an engine under a fake clock).
func decidedAt(at time.Time) time.Time {
	now := time.Now()
	if d := now.Sub(at); d < -time.Minute || d > time.Minute {
		return now
	}
	return at
}

func (t *translator) offer(c acd.CallInfo, agent string, waited time.Duration, rs []acd.Reason, ewt acd.EWT, at, deadline time.Time) Offer {
	vars := c.Vars
	if vars == nil {
		vars = map[string]string{}
	}
	path := c.IVRPath
	if path == nil {
		path = []string{}
	}
	ani := c.ANI
	if c.E164 != "" {
		ani = c.E164
	}
	return Offer{
		CallID: string(c.ID), Channel: string(c.Channel), AgentID: agent, Deadline: deadline, Queue: c.Queue, ANI: ani, DNIS: c.DNIS,
		Geo:     Geo{Country: c.Country, Region: c.Region, TimeZone: c.TimeZone},
		IVRPath: path, IVRVars: vars, IVRSummary: ivrSummary(path, vars), WaitedSec: waited.Seconds(), Reasons: reasons(rs),
		EWTSec: ewt.Expected.Seconds(), Priority: c.Priority, Data: t.pop(c.Data), DecidedAt: decidedAt(at),
		TimeoutSec: max(0, deadline.Sub(at).Seconds()),
	}
}

// consult translates a consultation's phase for both agents' desks: the
// consulted agent is offered the call (with ConsultFrom), then holds it
// until the consultation ends without them.
func (t *translator) consult(out []Event, e *acd.ConsultChanged) []Event {
	id, from, target := string(e.CallID), string(e.Agent), string(e.Target.Agent)
	prev := t.consults[id]
	if e.Phase == acd.ConsultRinging || e.Phase == acd.ConsultTalking || e.Phase == acd.ConsultConference {
		t.consults[id] = e.Phase
	} else {
		delete(t.consults, id)
	}
	ev := Consult{CallID: id, AgentID: from, Role: "consulting", From: from, Target: wireTarget(e.Target), Phase: string(e.Phase),
		Reason: e.Reason, Since: e.At}
	out = append(out, ev)
	if target == "" {
		return out
	}
	ev.AgentID, ev.Role = target, "consulted"
	ani := e.Call.ANI
	if e.Call.E164 != "" {
		ani = e.Call.E164
	}
	switch e.Phase {
	case acd.ConsultRinging:
		o := t.offer(e.Call, target, 0, nil, acd.EWT{}, e.At, time.Time{})
		o.ConsultFrom = from
		out = append(out, o)
	case acd.ConsultTalking, acd.ConsultConference:
		out = append(out, CallInfo{CallID: id, AgentID: target, Queue: e.Call.Queue, ANI: ani, State: CallTalking, Since: e.At})
	case acd.ConsultCancelled, acd.ConsultFailed, acd.ConsultLeft:
		if prev == acd.ConsultRinging {
			out = append(out, OfferEnded{CallID: id, AgentID: target, Reason: string(e.Phase)})
		} else {
			out = append(out, CallInfo{CallID: id, AgentID: target, Queue: e.Call.Queue, ANI: ani, State: CallEnded, Since: e.At,
				Cause: string(e.Phase)})
		}
	}
	return append(out, ev)
}

func (t *translator) state(s acd.Snapshot) State {
	var st State
	for _, q := range s.Queues {
		st.Queues = append(st.Queues, t.queueStats(q))
	}
	for _, a := range s.Agents {
		id := string(a.ID)
		if a.Name != "" {
			t.a.mu.Lock()
			t.a.names[id] = a.Name
			t.a.mu.Unlock()
		}
		t.caps[id] = wireCaps(a.Capacity)
		as := AgentStatus{AgentID: id, Name: a.Name, Presence: a.Presence.String(), Reason: a.Reason,
			State: a.State.String(), Since: a.Since, CallID: string(a.CallID), Capacity: t.caps[id]}
		t.agents[id] = as
		st.Agents = append(st.Agents, as)
		if a.State == acd.StateWrapUp {
			st.WrapUps = append(st.WrapUps, WrapUpTimer{AgentID: id, CallID: string(a.CallID), Deadline: a.WrapUpEnd})
		}
	}
	for _, c := range s.Calls {
		id := string(c.Call.ID)
		t.calls[id] = c.Call
		switch {
		case c.State == acd.CallStateQueued || c.State == acd.CallStateCallback:
			st.Waiting = append(st.Waiting, WaitingCall{CallID: id, Channel: string(c.Call.Channel), Queue: c.Call.Queue,
				ANI: c.Call.ANI, Since: c.Call.Queued, Priority: c.Priority, Position: c.Position})
		case !IsVoice(string(c.Call.Channel)):
			// Tasks are on their agents' desks (stateTasks).
		case c.State == acd.CallStateOffering:
			if c.Call.Direction == acd.Outbound {
				break // the agent's own click-to-dial rings them without a pop
			}
			for _, a := range c.Ringing {
				st.Offers = append(st.Offers, t.offer(c.Call, string(a), c.Waited, c.Reasons, c.EWT, s.At, c.RingDeadline))
			}
		case c.State == acd.CallStateConnected || c.State == acd.CallStateHeld:
			// A dialling call (the agent's leg up, the customer's ringing)
			// shows once the customer answers, as its events do.
			if c.Agent != "" {
				cs := CallTalking
				if c.State == acd.CallStateHeld {
					cs = CallHeld
				}
				st.Calls = append(st.Calls, CallInfo{CallID: id, AgentID: string(c.Agent), Queue: c.Call.Queue,
					ANI: c.Call.ANI, State: cs, Since: s.At, Outbound: c.Call.Direction != acd.Inbound})
			}
		}
	}
	for i, as := range st.Agents {
		if c, ok := t.calls[as.CallID]; ok && as.CallID != "" {
			st.Agents[i].Channel = string(c.Channel)
			t.agents[as.AgentID] = st.Agents[i]
		}
	}
	t.stateTasks(&st, s)
	return st
}

// agentEvent updates one agent's combined status.
func (t *translator) agentEvent(id string, at time.Time, f func(*AgentStatus)) AgentStatus {
	s, ok := t.agents[id]
	if !ok {
		s = AgentStatus{AgentID: id, Presence: PresenceOffline, State: acd.StateIdle.String()}
	}
	if s.Name == "" {
		s.Name = t.name(id)
	}
	s.Capacity = t.caps[id]
	f(&s)
	s.Since = at
	t.agents[id] = s
	return s
}

// translate appends the hub events ev stands for to out.
func (t *translator) translate(out []Event, ev acd.Event) []Event {
	if out, ok := t.translateTask(out, ev); ok {
		return out
	}
	switch e := ev.(type) {
	case *acd.AgentCapacityChanged:
		id := string(e.Agent)
		t.caps[id] = wireCaps(e.Capacity)
		s, ok := t.agents[id]
		if !ok {
			return out // not on the floor: the presence that brings them carries it
		}
		s.Capacity = t.caps[id]
		t.agents[id] = s
		return append(out, s)
	case *acd.AgentPresenceChanged:
		return append(out, t.agentEvent(string(e.Agent), e.At, func(s *AgentStatus) {
			s.Presence, s.Reason = e.Presence.String(), e.Reason
		}))
	case *acd.AgentStateChanged:
		prev := t.agents[string(e.Agent)].State
		st := t.agentEvent(string(e.Agent), e.At, func(s *AgentStatus) {
			s.State, s.CallID, s.Queue, s.Channel = e.State.String(), string(e.CallID), e.Queue, ""
			if e.CallID != "" {
				s.Channel = string(t.calls[string(e.CallID)].Channel)
			}
		})
		out = append(out, st)
		wrap := acd.StateWrapUp.String()
		if st.State == wrap && prev != wrap {
			out = append(out, WrapUpTimer{AgentID: st.AgentID, CallID: st.CallID, Deadline: e.WrapUpEnd})
		} else if prev == wrap && st.State != wrap {
			out = append(out, WrapUpTimer{AgentID: st.AgentID, Done: true})
		}
		return out
	case *acd.CallQueued:
		t.calls[string(e.Call.ID)] = e.Call
		return append(out, WaitingCall{CallID: string(e.Call.ID), Channel: string(e.Call.Channel), Queue: e.Call.Queue, ANI: e.Call.ANI,
			Since: e.Call.Queued, Priority: e.Call.Priority, Position: e.Position})
	case *acd.CallOffered:
		t.calls[string(e.Call.ID)] = e.Call
		return append(out, CallGone{CallID: string(e.Call.ID), Queue: e.Call.Queue},
			t.offer(e.Call, string(e.Agent), e.Waited, e.Reasons, e.EWT, e.At, e.Deadline))
	case *acd.OfferFailed:
		return append(out, OfferEnded{CallID: string(e.CallID), AgentID: string(e.Agent), Reason: e.Cause})
	case *acd.CallAnswered:
		c := t.calls[string(e.CallID)]
		return append(out, CallGone{CallID: string(e.CallID), Queue: e.Queue}, CallInfo{CallID: string(e.CallID),
			AgentID: string(e.Agent), Queue: e.Queue, ANI: c.ANI, State: CallTalking, Since: e.At,
			Outbound: c.Direction != "" && c.Direction != acd.Inbound})
	case *acd.CallHeld:
		c := t.calls[string(e.CallID)]
		s := CallTalking
		if e.On {
			s = CallHeld
		}
		return append(out, CallInfo{CallID: string(e.CallID), AgentID: string(e.Agent), Queue: c.Queue, ANI: c.ANI, State: s, Since: e.At})
	case *acd.CallTransferred:
		c := t.calls[string(e.CallID)]
		target := string(e.To.Agent) + e.To.Queue + e.To.Number
		return append(out, CallInfo{CallID: string(e.CallID), AgentID: string(e.From), Queue: c.Queue, ANI: c.ANI,
			State: CallTransferred, Since: e.At, Target: target})
	case *acd.CallEnded:
		c := t.calls[string(e.CallID)]
		delete(t.calls, string(e.CallID))
		out = append(out, CallGone{CallID: string(e.CallID), Queue: c.Queue})
		if e.Agent != "" {
			out = append(out, CallInfo{CallID: string(e.CallID), AgentID: string(e.Agent), Queue: c.Queue, ANI: c.ANI,
				State: CallEnded, Since: e.At, Cause: string(e.Outcome), Reason: e.Reason})
		}
		return out
	case *acd.ConsultChanged:
		return t.consult(out, e)
	case *acd.CallAbandoned:
		return append(out, CallGone{CallID: string(e.CallID), Queue: e.Queue})
	case *acd.CallOverflowed:
		return append(out, CallGone{CallID: string(e.CallID), Queue: e.Queue})
	case *acd.QueueStatsTick:
		for _, q := range e.Queues {
			out = append(out, t.queueStats(q))
		}
		return out
	}
	return out
}
