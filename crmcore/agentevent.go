package crmcore

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// AgentEventKind names what an AgentEvent records.
type AgentEventKind string

// Agent event kinds. The first four describe the agent (their presence and
// system state over time, from which login, ready, busy and not-ready
// times are computed); the others describe a task (a call, chat, email …)
// on its way through a queue to an agent.
const (
	// AgentEventLogin: the agent logged in, with the presence they start in.
	AgentEventLogin AgentEventKind = "login"
	// AgentEventLogout: the agent logged out (presence offline).
	AgentEventLogout AgentEventKind = "logout"
	// AgentEventPresence: the agent's chosen presence changed (Presence, and
	// Reason when not ready).
	AgentEventPresence AgentEventKind = "presence"
	// AgentEventState: the agent's system state changed (State).
	AgentEventState AgentEventKind = "state"
	// AgentEventQueued: a task entered a queue.
	AgentEventQueued AgentEventKind = "queued"
	// AgentEventOffered: a task was offered to the agent.
	AgentEventOffered AgentEventKind = "offered"
	// AgentEventAnswered: the agent answered or accepted the task.
	AgentEventAnswered AgentEventKind = "answered"
	// AgentEventRejected: the agent declined an offer.
	AgentEventRejected AgentEventKind = "rejected"
	// AgentEventMissed: an offer to the agent ended unanswered (timeout, failure).
	AgentEventMissed AgentEventKind = "missed"
	// AgentEventAbandoned: the customer left before an agent answered.
	AgentEventAbandoned AgentEventKind = "abandoned"
	// AgentEventTransferred: the agent transferred the task.
	AgentEventTransferred AgentEventKind = "transferred"
	// AgentEventWrapUp: the task ended and the agent wraps it up.
	AgentEventWrapUp AgentEventKind = "wrap-up"
	// AgentEventCompleted: the task is over.
	AgentEventCompleted AgentEventKind = "completed"
)

// AgentEventKinds lists every kind.
var AgentEventKinds = []AgentEventKind{AgentEventLogin, AgentEventLogout, AgentEventPresence, AgentEventState, AgentEventQueued,
	AgentEventOffered, AgentEventAnswered, AgentEventRejected, AgentEventMissed, AgentEventAbandoned, AgentEventTransferred, AgentEventWrapUp,
	AgentEventCompleted}

// Valid reports whether k is a known kind.
func (k AgentEventKind) Valid() bool { return slices.Contains(AgentEventKinds, k) }

// agentKinds are the kinds that describe an agent and must name one.
var agentKinds = []AgentEventKind{AgentEventLogin, AgentEventLogout, AgentEventPresence, AgentEventState, AgentEventOffered,
	AgentEventAnswered, AgentEventRejected, AgentEventMissed, AgentEventTransferred, AgentEventWrapUp}

// Presences of an AgentEvent (the ACD's names).
const (
	AgentPresenceOffline  = "offline"
	AgentPresenceReady    = "ready"
	AgentPresenceNotReady = "not-ready"
)

// System agentStates of an AgentEvent (the ACD's names). An agent on a call,
// on hold or in wrap-up is busy.
const (
	AgentStateIdle     = "idle"
	AgentStateReserved = "reserved"
	AgentStateOnCall   = "on-call"
	AgentStateOnHold   = "on-hold"
	AgentStateWrapUp   = "wrap-up"
)

var (
	agentPresences = []string{AgentPresenceOffline, AgentPresenceReady, AgentPresenceNotReady}
	agentStates    = []string{AgentStateIdle, AgentStateReserved, AgentStateOnCall, AgentStateOnHold, AgentStateWrapUp}
)

// MaxAgentEventWait bounds AgentEvent.Wait.
const MaxAgentEventWait = 7 * 24 * time.Hour

// AgentEvent is one entry of the event log: an agent's state change or a
// task's step, kept as it happened so that reports can be recomputed
// from it at any time (the queryable counterpart of a queue log).
type AgentEvent struct {
	ID   string         `json:"id"` // UUIDv7 (NewID): ordered by time
	At   time.Time      `json:"at"`
	Kind AgentEventKind `json:"kind"`
	// AgentID is the CRM agent; empty for a task event without an agent
	// (queued, abandoned).
	AgentID string `json:"agent_id,omitempty"`
	Queue   string `json:"queue,omitempty"`
	// Channel is the task's channel, as interactions name it (phone,
	// chat, email, …).
	Channel string `json:"channel,omitempty"`
	// TaskID is the ACD's id of the task (a call's journey id).
	TaskID        string `json:"task_id,omitempty"`
	InteractionID string `json:"interaction_id,omitempty"`
	// Presence is set by login, logout and presence events; Reason is the
	// not-ready reason code, or what ended an offer or a task.
	Presence string `json:"presence,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// State is the agent's system state after a state event.
	State string `json:"state,omitempty"`
	// Node is the process that recorded the event.
	Node string `json:"node,omitempty"`
	// Wait is how long the task had waited at this event (queued,
	// offered, answered, abandoned).
	Wait time.Duration `json:"-"`
}

// agentEventJSON is AgentEvent with its wait in milliseconds.
type agentEventJSON struct {
	agentEventAlias
	WaitMS int64 `json:"wait_ms"`
}

type agentEventAlias AgentEvent

// MarshalJSON encodes the event with its wait as integer milliseconds.
func (e AgentEvent) MarshalJSON() ([]byte, error) {
	return json.Marshal(agentEventJSON{agentEventAlias(e), e.Wait.Milliseconds()})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (e *AgentEvent) UnmarshalJSON(b []byte) error {
	var v agentEventJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = AgentEvent(v.agentEventAlias)
	e.Wait = time.Duration(v.WaitMS) * time.Millisecond
	return nil
}

// Validate checks an event before it is written: a UUID id, a time, a
// known kind, an agent where the kind needs one, known presence and state
// names, short single-line text fields and a wait between 0 and
// MaxAgentEventWait.
func (e *AgentEvent) Validate() error {
	switch {
	case !ValidID(e.ID):
		return invalid("id", "not a UUID")
	case e.At.IsZero():
		return invalid("at", "required")
	case !e.Kind.Valid():
		return invalid("kind", fmt.Sprintf("unknown kind %q", truncate(string(e.Kind), 32)))
	case e.AgentID != "" && !ValidID(e.AgentID):
		return invalid("agent_id", "not a UUID")
	case e.AgentID == "" && slices.Contains(agentKinds, e.Kind):
		return invalid("agent_id", "required for a "+string(e.Kind)+" event")
	case e.InteractionID != "" && !ValidID(e.InteractionID):
		return invalid("interaction_id", "not a UUID")
	case e.Channel != "" && !ValidChannelName(e.Channel):
		return invalid("channel", "not a channel name")
	case e.Presence != "" && !slices.Contains(agentPresences, e.Presence):
		return invalid("presence", "want offline, ready or not-ready")
	case (e.Kind == AgentEventLogin || e.Kind == AgentEventPresence) && e.Presence == "":
		return invalid("presence", "required for a "+string(e.Kind)+" event")
	case e.State != "" && !slices.Contains(agentStates, e.State):
		return invalid("state", "unknown state")
	case e.Kind == AgentEventState && e.State == "":
		return invalid("state", "required for a state event")
	case e.Wait < 0 || e.Wait > MaxAgentEventWait:
		return invalid("wait_ms", "out of range")
	}
	for _, f := range [...]struct{ name, v string }{{"queue", e.Queue}, {"task_id", e.TaskID},
		{"reason", e.Reason}, {"node", e.Node}} {
		if len(f.v) > MaxShortField || !validLine(f.v) {
			return invalid(f.name, "too long or invalid characters")
		}
	}
	return nil
}
