package acd

import (
	"errors"
	"fmt"
)

// ErrTransition is wrapped by every refused state-machine transition.
var ErrTransition = errors.New("acd: transition not allowed")

// Presence is what the agent chooses: offline, ready, or not ready with a
// reason code.
type Presence uint8

// Agent presences.
const (
	PresenceOffline Presence = iota
	PresenceReady
	PresenceNotReady
	numPresences
)

var presenceNames = [numPresences]string{"offline", "ready", "not-ready"}

// String returns the presence's stable name.
func (p Presence) String() string {
	if p < numPresences {
		return presenceNames[p]
	}
	return fmt.Sprintf("presence(%d)", uint8(p))
}

// ParsePresence returns the presence named s.
func ParsePresence(s string) (Presence, error) {
	for i, n := range presenceNames {
		if n == s {
			return Presence(i), nil
		}
	}
	return 0, fmt.Errorf("acd: unknown presence %q", s)
}

// presenceTable lists the allowed presence transitions. NotReady → NotReady
// changes the reason code.
var presenceTable = map[Presence][]Presence{
	PresenceOffline:  {PresenceReady, PresenceNotReady},
	PresenceReady:    {PresenceNotReady, PresenceOffline},
	PresenceNotReady: {PresenceReady, PresenceNotReady, PresenceOffline},
}

// To returns nil if p may change to next, or an error wrapping ErrTransition.
func (p Presence) To(next Presence) error {
	for _, n := range presenceTable[p] {
		if n == next {
			return nil
		}
	}
	return fmt.Errorf("%w: presence %s → %s", ErrTransition, p, next)
}

// Standard not-ready reason codes; any short string is accepted.
const (
	ReasonBreak     = "break"
	ReasonLunch     = "lunch"
	ReasonTraining  = "training"
	ReasonAfterCall = "after-call"
	ReasonMissed    = "missed" // set by the engine after consecutive missed offers
	ReasonLogin     = "login"  // presence right after login when not ready
)

// AgentState is the system state of an agent, driven by calls.
type AgentState uint8

// Agent system states.
const (
	StateIdle     AgentState = iota
	StateReserved            // an offer is ringing the agent (or dialling for them)
	StateOnCall
	StateOnHold
	StateWrapUp
	numStates
)

var stateNames = [numStates]string{"idle", "reserved", "on-call", "on-hold", "wrap-up"}

// String returns the state's stable name.
func (s AgentState) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// stateTable lists the allowed system-state transitions. OnCall → Idle
// skips wrap-up for an agent's click-to-dial that never reached the
// customer: there was no conversation to wrap up. Idle → OnCall, without
// an offer, is adoption (Engine.AdoptCall) of a call the agent answered
// under an earlier leader.
var stateTable = map[AgentState][]AgentState{
	StateIdle:     {StateReserved, StateOnCall},
	StateReserved: {StateIdle, StateOnCall},
	StateOnCall:   {StateOnHold, StateWrapUp, StateIdle},
	StateOnHold:   {StateOnCall, StateWrapUp},
	StateWrapUp:   {StateIdle},
}

// To returns nil if s may change to next, or an error wrapping ErrTransition.
func (s AgentState) To(next AgentState) error {
	for _, n := range stateTable[s] {
		if n == next {
			return nil
		}
	}
	return fmt.Errorf("%w: agent state %s → %s", ErrTransition, s, next)
}

// CallState is a call's place in its journey after the IVR.
type CallState uint8

// Call states.
const (
	CallStateQueued       CallState = iota // waiting for an agent
	CallStateOffering                      // ringing one agent (or several for ring-all)
	CallStateConnected                     // bridged to an agent or an external number
	CallStateHeld                          // the agent put the caller on hold
	CallStateTransferring                  // a blind transfer to a number is dialling
	CallStateCallback                      // a virtual caller waiting for a callback
	CallStateDialing                       // outbound: the agent answered, the customer is dialled
	CallStateEnded
	numCallStates
)

var callStateNames = [numCallStates]string{"queued", "offering", "connected", "held", "transferring", "callback", "dialing", "ended"}

// String returns the call state's stable name.
func (s CallState) String() string {
	if s < numCallStates {
		return callStateNames[s]
	}
	return fmt.Sprintf("callstate(%d)", uint8(s))
}

// callTable lists the allowed call-state transitions. Connected or held
// back to queued is a transfer to a queue or an agent; offering to
// callback is a failed offer of a virtual caller; offering to dialing is
// the agent answering a callback or click-to-dial, whose customer is
// dialled next.
var callTable = map[CallState][]CallState{
	CallStateQueued:       {CallStateOffering, CallStateCallback, CallStateEnded},
	CallStateOffering:     {CallStateQueued, CallStateCallback, CallStateConnected, CallStateDialing, CallStateEnded},
	CallStateConnected:    {CallStateHeld, CallStateQueued, CallStateTransferring, CallStateEnded},
	CallStateHeld:         {CallStateConnected, CallStateQueued, CallStateTransferring, CallStateEnded},
	CallStateTransferring: {CallStateConnected, CallStateEnded},
	CallStateCallback:     {CallStateOffering, CallStateEnded},
	CallStateDialing:      {CallStateConnected, CallStateEnded},
	CallStateEnded:        nil,
}

// To returns nil if s may change to next, or an error wrapping ErrTransition.
func (s CallState) To(next CallState) error {
	for _, n := range callTable[s] {
		if n == next {
			return nil
		}
	}
	return fmt.Errorf("%w: call state %s → %s", ErrTransition, s, next)
}

// TaskState is the system state of a task of a channel other than the
// voice machine's, with the agent it is offered to or held by.
type TaskState uint8

// Task states.
const (
	TaskWaiting TaskState = iota // in a queue, no agent
	TaskOffered                  // offered to one agent
	TaskActive                   // accepted: the agent works on it
	TaskWrapUp                   // ended, the agent wraps it up
	TaskDone                     // completed
	numTaskStates
)

var taskStateNames = [numTaskStates]string{"waiting", "offered", "active", "wrap-up", "done"}

// String returns the task state's stable name.
func (s TaskState) String() string {
	if s < numTaskStates {
		return taskStateNames[s]
	}
	return fmt.Sprintf("taskstate(%d)", uint8(s))
}

// taskTable lists the allowed task-state transitions. Offered back to
// waiting is a missed or rejected offer; active back to waiting is a
// transfer to a queue or an agent; waiting to active, without an offer,
// is adoption (Engine.Adopt) of a task its agent accepted before.
var taskTable = map[TaskState][]TaskState{
	TaskWaiting: {TaskOffered, TaskActive, TaskDone},
	TaskOffered: {TaskWaiting, TaskActive, TaskDone},
	TaskActive:  {TaskWaiting, TaskWrapUp, TaskDone},
	TaskWrapUp:  {TaskDone},
	TaskDone:    nil,
}

// To returns nil if s may change to next, or an error wrapping ErrTransition.
func (s TaskState) To(next TaskState) error {
	for _, n := range taskTable[s] {
		if n == next {
			return nil
		}
	}
	return fmt.Errorf("%w: task state %s → %s", ErrTransition, s, next)
}
