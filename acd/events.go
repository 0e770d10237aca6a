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
	Seq uint64
	At  time.Time
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
	Call     CallInfo
	Position int
	EWT      EWT
}

// CallOffered: a call is ringing an agent. It carries everything the
// screen pop needs.
type CallOffered struct {
	Meta
	Call    CallInfo
	Agent   AgentID
	Waited  time.Duration
	Reasons []Reason
	EWT     EWT
	// Attempt counts offers of this call, from 1.
	Attempt int
	// Deadline is when the offer times out unanswered (the queue's ring
	// timeout) and the call goes to the next agent.
	Deadline time.Time
}

// OfferFailed: an offer to an agent ended without answer.
type OfferFailed struct {
	Meta
	CallID CallID
	Agent  AgentID
	// Cause is "no-answer", "rejected", "failed" or "withdrawn".
	Cause string
	// Missed is the agent's consecutive missed offers after this one.
	Missed int
}

// CallAnswered: an agent answered (caller and agent are bridged) or
// accepted a task.
type CallAnswered struct {
	Meta
	CallID  CallID
	Channel Channel
	Queue   string
	Agent   AgentID
	Waited  time.Duration
}

// CallHeld: the caller was put on hold (On) or taken off hold.
type CallHeld struct {
	Meta
	CallID CallID
	Agent  AgentID
	On     bool
}

// CallTransferred: an agent blind-transferred a call.
type CallTransferred struct {
	Meta
	CallID CallID
	From   AgentID
	To     TransferTarget
}

// ConsultChanged: an agent's consultation of a third party (warm
// transfer, conference) changed phase. Target names the third party (the
// agent picked, for a queue); Call is the call, for the consulted agent's
// screen pop; Reason says why a consultation failed or was cancelled.
type ConsultChanged struct {
	Meta
	CallID CallID
	Agent  AgentID
	Target TransferTarget
	Phase  ConsultPhase
	Reason string
	Call   CallInfo
}

// CallRelaxed: a relaxation step was applied to a waiting call.
type CallRelaxed struct {
	Meta
	CallID CallID
	Queue  string
	Step   int
}

// CallOverflowed: a call left its queue by an overflow action.
type CallOverflowed struct {
	Meta
	CallID CallID
	Queue  string
	Action string
	Target string
	// Cause is "max-wait", "max-length" or "no-agents".
	Cause string
}

// CallPosition announces a waiting caller's position and expected wait
// (every queue's Announce period); the telephony side may play it.
type CallPosition struct {
	Meta
	CallID   CallID
	Position int
	EWT      EWT
	Music    string
}

// CallAbandoned: the caller hung up before being answered.
type CallAbandoned struct {
	Meta
	CallID      CallID
	Queue       string
	Waited      time.Duration
	Short       bool
	DuringOffer bool
}

// CallEnded: the call or task is over (the agent may still be in
// wrap-up).
type CallEnded struct {
	Meta
	CallID  CallID
	Channel Channel
	Agent   AgentID
	Outcome Outcome
	// Reason says why a failed call failed (the dial's error), if known.
	Reason string
	// Unreached says, for an outbound or callback call whose customer
	// was dialled and not reached, why: "busy", "no-answer" or "failed".
	Unreached string `json:",omitempty"`
}

// VoicemailLeft: a caller left a voicemail (overflow action); the wiring
// creates a CRM ticket with the recording.
type VoicemailLeft struct {
	Meta
	Call      CallInfo
	Recording string
}

// InteractionCompleted carries the final summary of a call, after wrap-up.
type InteractionCompleted struct {
	Meta
	Interaction Interaction
}

// AgentPresenceChanged: an agent's presence changed (by the agent, the
// engine's missed-offer rule, or a supervisor).
type AgentPresenceChanged struct {
	Meta
	Agent    AgentID
	Presence Presence
	Reason   string
	// By is the supervisor who forced the change, "acd" for the engine.
	By string
}

// AgentStateChanged: an agent's system state changed.
type AgentStateChanged struct {
	Meta
	Agent  AgentID
	State  AgentState
	CallID CallID
	// Queue is the queue of CallID's call, if it has one.
	Queue string
	// WrapUpEnd is when a wrap-up (State StateWrapUp) ends unless the
	// agent submits it first; zero in any other state.
	WrapUpEnd time.Time
}

// AgentCapacityChanged: an agent's effective capacity per channel, as the
// agent's snapshot carries it, after Login, SetCapacity or a Reload that
// changed it. Capacity lists only the channels with a capacity above 0;
// how many tasks the agent holds comes from their tasks' events.
type AgentCapacityChanged struct {
	Meta
	Agent    AgentID
	Capacity map[Channel]int
}

// TaskStateChanged: a task of a channel other than the voice machine's
// changed state with the agent it is offered to or held by (Agent is
// empty for a task that ends waiting). Calls report through
// AgentStateChanged.
type TaskStateChanged struct {
	Meta
	TaskID  TaskID
	Channel Channel
	Queue   string
	Agent   AgentID
	State   TaskState
	// WrapUpEnd is when a wrap-up (State TaskWrapUp) ends unless the
	// agent submits it first; zero in any other state.
	WrapUpEnd time.Time
}

// QueueStatsTick carries every queue's statistics (StatsInterval).
type QueueStatsTick struct {
	Meta
	Queues []QueueStats
}

// ResyncRequired tells a subscriber that fell behind that events were
// discarded and none follow until it calls Subscription.Resync and starts
// again from the new snapshot.
type ResyncRequired struct {
	Meta
}

// EWT is an expected wait time with an 80% confidence range.
type EWT struct {
	Expected time.Duration
	Low      time.Duration
	High     time.Duration
	Known    bool
}

func ewtOf(e stats.EWT) EWT {
	return EWT{Expected: e.Expected, Low: e.Low, High: e.High, Known: e.Known}
}
