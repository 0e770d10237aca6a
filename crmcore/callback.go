package crmcore

import (
	"encoding/json"
	"time"
)

// A Callback is a customer owed a call back: asked for in the IVR (the
// caller left the queue and keeps their place) or scheduled by an agent or
// supervisor for a time. It is kept in the CRM until the call back is
// made, so that a restart or a takeover of the routing node does not lose
// it: it is queued again as a virtual caller. Its call completes the
// interaction InteractionID: the original call's record for an IVR
// callback, a record of its own for a scheduled one.
type Callback struct {
	ID            string `json:"id"`
	InteractionID string `json:"interaction_id"`
	// CallID is the routing engine's id of the virtual caller.
	CallID string `json:"call_id"`
	// Number is the number to call, as the dial plan accepted it.
	Number string `json:"number"`
	Queue  string `json:"queue"`
	// ContactID is the customer, when known; AgentID the agent to offer
	// the callback to first (a personal callback), if any.
	ContactID string `json:"contact_id,omitempty"`
	AgentID   string `json:"agent_id,omitempty"`
	Note      string `json:"note,omitempty"`
	Source    string `json:"source"`
	// Route is the routing request an IVR callback is queued with again
	// (the journey's own encoding; opaque to the CRM).
	Route json.RawMessage `json:"-"`
	// RequestedAt is when the customer joined the queue: a callback queued
	// again keeps its place by it. DueAt is when it may be called (a
	// scheduled callback's time; RequestedAt for an IVR one).
	RequestedAt time.Time `json:"requested_at"`
	DueAt       time.Time `json:"due_at"`
	State       string    `json:"state"`
	// Outcome is the outcome of its interaction once the call back was
	// made (State done).
	Outcome   Outcome   `json:"outcome,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Callback sources.
const (
	CallbackIVR       = "ivr"
	CallbackScheduled = "scheduled"
)

// Callback states. Done is not stored: a callback is done once its
// interaction has an outcome other than in progress or callback
// requested (the one the routing engine gives a virtual caller it ended
// without calling, as at a shutdown).
const (
	CallbackStateScheduled = "scheduled" // waits for DueAt
	CallbackStateQueued    = "queued"    // handed to the router: waits for an agent, or is being called
	CallbackStateDone      = "done"
	CallbackStateCancelled = "cancelled"
)

// Limits of a callback's fields.
const (
	MaxCallbackNote = 2000
	// MaxCallbackAhead is how far ahead a callback may be scheduled.
	MaxCallbackAhead = 90 * 24 * time.Hour
)

// CallbackInput is a callback to schedule, as the REST API takes it.
type CallbackInput struct {
	Number    string    `json:"number"`
	Queue     string    `json:"queue"`
	At        time.Time `json:"at"`
	ContactID string    `json:"contact_id,omitempty"`
	AgentID   string    `json:"agent_id,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// NewScheduledCallback checks in and returns the callback to schedule,
// by agent by at now; the number is checked by the dial plan elsewhere.
func NewScheduledCallback(in CallbackInput, by string, now time.Time) (Callback, error) {
	switch {
	case in.Number == "" || len(in.Number) > 64 || !validLine(in.Number):
		return Callback{}, invalid("number", "want a phone number of up to 64 characters")
	case in.Queue == "" || len(in.Queue) > MaxShortField || !validLine(in.Queue):
		return Callback{}, invalid("queue", "want a queue name")
	case in.At.IsZero():
		return Callback{}, invalid("at", "want the time to call back (RFC 3339)")
	case in.At.Before(now.Add(-time.Minute)) || in.At.After(now.Add(MaxCallbackAhead)):
		return Callback{}, invalid("at", "want a time from now to 90 days ahead")
	case in.ContactID != "" && !ValidID(in.ContactID):
		return Callback{}, invalid("contact_id", "not an id")
	case in.AgentID != "" && !ValidID(in.AgentID):
		return Callback{}, invalid("agent_id", "not an id")
	case len(in.Note) > MaxCallbackNote || !validText(in.Note):
		return Callback{}, invalid("note", "want text of up to 2000 bytes")
	}
	id := NewID()
	at := in.At.UTC()
	if at.Before(now) {
		at = now.UTC()
	}
	return Callback{ID: id, InteractionID: NewID(), CallID: "cb-" + id, Number: in.Number, Queue: in.Queue,
		ContactID: in.ContactID, AgentID: in.AgentID, Note: in.Note, Source: CallbackScheduled,
		RequestedAt: at, DueAt: at, State: CallbackStateScheduled, CreatedBy: by, CreatedAt: now.UTC()}, nil
}

// CallbackFilter selects callbacks: by state ("" for every state),
// contact and agent (the one offered first), due from and before (zero:
// unbounded), at most Limit (default and cap 500), soonest due first.
type CallbackFilter struct {
	State, ContactID, AgentID string
	From, To                  time.Time
	Limit                     int
}
