package acd

import (
	"time"

	"switchboard/acd/stats"
)

// Event is published by the engine for every transition. Switch on the
// concrete type.
type Event interface {
	// Header returns the event's sequence number and time.
	Header() Meta
}

// Meta is carried by every event. Seq increases by one per published
// event, so a subscriber can detect gaps.
type Meta struct {
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
}

func (m *Meta) set(seq uint64, at time.Time) { m.Seq, m.At = seq, at }

type metaSetter interface {
	Event
	set(seq uint64, at time.Time)
}

// Header returns m.
func (m Meta) Header() Meta { return m }

// CallQueued: a call entered a queue's waiting list, or is back in it (its
// offer failed, it overflowed to a callback), or its priority or place
// changed.
type CallQueued struct {
	Meta
	Call     CallInfo `json:"call"`
	Position int      `json:"position"`
	EWT      EWT      `json:"ewt"`
}

// CallOffered: a call is ringing an agent. It carries everything the
// screen pop needs.
type CallOffered struct {
	Meta
	Call    CallInfo      `json:"call"`
	Agent   AgentID       `json:"agent_id"`
	Waited  time.Duration `json:"waited"`
	Reasons []Reason      `json:"reasons"`
	EWT     EWT           `json:"ewt"`
	// Attempt counts offers of this call, from 1.
	Attempt int `json:"attempt"`
}

// OfferFailed: an offer to an agent ended without answer.
type OfferFailed struct {
	Meta
	CallID CallID  `json:"call_id"`
	Agent  AgentID `json:"agent_id"`
	// Cause is "no-answer", "rejected", "failed" or "withdrawn".
	Cause string `json:"cause"`
	// Missed is the agent's consecutive missed offers after this one.
	Missed int `json:"missed"`
}

// CallAnswered: an agent answered; caller and agent are bridged.
type CallAnswered struct {
	Meta
	CallID CallID        `json:"call_id"`
	Queue  string        `json:"queue"`
	Agent  AgentID       `json:"agent_id"`
	Waited time.Duration `json:"waited"`
}

// CallHeld: the caller was put on hold (On) or taken off hold.
type CallHeld struct {
	Meta
	CallID CallID  `json:"call_id"`
	Agent  AgentID `json:"agent_id"`
	On     bool    `json:"on"`
}

// CallTransferred: an agent blind-transferred a call.
type CallTransferred struct {
	Meta
	CallID CallID         `json:"call_id"`
	From   AgentID        `json:"from"`
	To     TransferTarget `json:"to"`
}

// CallRelaxed: a relaxation step was applied to a waiting call.
type CallRelaxed struct {
	Meta
	CallID CallID `json:"call_id"`
	Queue  string `json:"queue"`
	Step   int    `json:"step"`
}

// CallOverflowed: a call left its queue by an overflow action.
type CallOverflowed struct {
	Meta
	CallID CallID `json:"call_id"`
	Queue  string `json:"queue"`
	Action string `json:"action"`
	Target string `json:"target,omitempty"`
	// Cause is "max-wait", "max-length" or "no-agents".
	Cause string `json:"cause"`
}

// CallPosition announces a waiting caller's position and expected wait
// (every queue's Announce period); the telephony side may play it.
type CallPosition struct {
	Meta
	CallID   CallID `json:"call_id"`
	Position int    `json:"position"`
	EWT      EWT    `json:"ewt"`
	Music    string `json:"music_on_hold,omitempty"`
}

// CallAbandoned: the caller hung up before being answered.
type CallAbandoned struct {
	Meta
	CallID      CallID        `json:"call_id"`
	Queue       string        `json:"queue"`
	Waited      time.Duration `json:"waited"`
	Short       bool          `json:"short"`
	DuringOffer bool          `json:"during_offer"`
}

// CallEnded: the call is over (the agent may still be in wrap-up).
type CallEnded struct {
	Meta
	CallID  CallID  `json:"call_id"`
	Agent   AgentID `json:"agent_id,omitempty"`
	Outcome Outcome `json:"outcome"`
	// Reason says why a failed call failed (the dial's error), if known.
	Reason string `json:"reason,omitempty"`
}

// VoicemailLeft: a caller left a voicemail (overflow action); the wiring
// creates a CRM ticket with the recording.
type VoicemailLeft struct {
	Meta
	Call      CallInfo `json:"call"`
	Recording string   `json:"recording"`
}

// InteractionCompleted carries the final summary of a call, after wrap-up.
type InteractionCompleted struct {
	Meta
	Interaction Interaction `json:"interaction"`
}

// AgentPresenceChanged: an agent's presence changed (by the agent, the
// engine's missed-offer rule, or a supervisor).
type AgentPresenceChanged struct {
	Meta
	Agent    AgentID  `json:"agent_id"`
	Presence Presence `json:"presence"`
	Reason   string   `json:"reason,omitempty"`
	// By is the supervisor who forced the change, "acd" for the engine.
	By string `json:"by,omitempty"`
}

// AgentStateChanged: an agent's system state changed.
type AgentStateChanged struct {
	Meta
	Agent  AgentID    `json:"agent_id"`
	State  AgentState `json:"state"`
	CallID CallID     `json:"call_id,omitempty"`
}

// QueueStatsTick carries every queue's statistics (StatsInterval).
type QueueStatsTick struct {
	Meta
	Queues []QueueStats `json:"queues"`
}

// ResyncRequired is the last event a subscriber that fell behind
// receives before its channel is closed: subscribe again and start from
// the new snapshot.
type ResyncRequired struct {
	Meta
}

// EWT is an expected wait time with an 80% confidence range.
type EWT struct {
	Expected time.Duration `json:"expected"`
	Low      time.Duration `json:"low"`
	High     time.Duration `json:"high"`
	Known    bool          `json:"known"`
}

func ewtOf(e stats.EWT) EWT {
	return EWT{Expected: e.Expected, Low: e.Low, High: e.High, Known: e.Known}
}

// subscriber is one consumer of events: a bounded channel (Subscribe) or
// a Sink called on the actor (Attach).
type subscriber struct {
	ch     chan Event
	sink   Sink
	closed bool
}

// publish stamps ev and delivers it to every subscriber without blocking;
// a channel subscriber whose buffer is full is dropped after being told to
// resync, a sink that refuses an event is detached. Called only from the
// actor.
func (e *Engine) publish(ev metaSetter) {
	e.seq++
	ev.set(e.seq, e.clock.Now().UTC())
	for s := range e.subs {
		if s.sink != nil {
			if !s.sink.Event(ev) {
				e.log.Warn("acd: slow sink detached")
				e.endSub(s)
			}
			continue
		}
		select {
		case s.ch <- ev:
		default:
			e.dropSub(s)
		}
	}
}

func (e *Engine) dropSub(s *subscriber) {
	if s.closed {
		return
	}
	// Make room for the resync notice by discarding what is buffered.
	for {
		select {
		case <-s.ch:
			continue
		default:
		}
		break
	}
	r := &ResyncRequired{}
	r.set(e.seq, e.clock.Now().UTC())
	select {
	case s.ch <- r:
	default:
	}
	e.endSub(s)
	e.log.Warn("acd: slow subscriber dropped")
}

// endSub ends a subscription once: closes its channel or tells its sink.
// Called from the actor, or after it stopped.
func (e *Engine) endSub(s *subscriber) {
	if s.closed {
		return
	}
	s.closed = true
	delete(e.subs, s)
	if s.sink != nil {
		s.sink.End()
	} else {
		close(s.ch)
	}
}
