package acd

import (
	"context"
	"errors"
	"time"

	"switchboard/acd/dialplan"
)

// AgentID identifies an agent (the CRM agent's id).
type AgentID string

// CallID identifies a call's journey through the ACD.
type CallID string

// Leg is one call leg owned by the telephony side (a caller, an agent's
// phone or softphone, an external number).
type Leg interface {
	// ID returns the leg's unique id.
	ID() string
	// Context is cancelled when the leg hangs up.
	Context() context.Context
	// Hangup ends the leg.
	Hangup(ctx context.Context) error
}

// Holder is implemented by legs that can be put on hold (music on hold
// for the caller). The engine finds it by type assertion on the caller leg.
type Holder interface {
	// Hold puts the leg on hold (on) or takes it off hold.
	Hold(ctx context.Context, on bool) error
}

// Offer is what the telephony side needs to ring an agent for a call,
// and what a channel adapter needs to present a task (ChannelAdapter).
type Offer struct {
	// Call describes the call or task being offered.
	Call CallInfo
	// Agent is the agent being rung, Endpoint the agent's registered
	// endpoint (SIP AOR or WebRTC session id) from AgentSpec.
	Agent    AgentID
	Endpoint string
	// Accept is closed when the agent accepts the offer from the desk
	// (Engine.Answer). A Ringer whose legs need an explicit accept, such
	// as a WebRTC softphone already connected to the browser, waits for
	// Accept before returning its leg; a SIP phone Ringer returns when the
	// phone answers and may ignore it. It is nil for a task: the desk
	// accepts with Engine.Accept.
	Accept <-chan struct{}
	// Reasons are the routing decision's top factors (as on CallOffered),
	// for a channel that keeps them with its task.
	Reasons []Reason
}

// Ringer rings an agent's endpoint.
type Ringer interface {
	// Ring blocks until the agent answers (returning the agent's leg) or
	// the attempt fails (busy, rejected, unreachable). Cancelling ctx
	// withdraws the offer (SIP CANCEL) and must make Ring return.
	Ring(ctx context.Context, o Offer) (Leg, error)
}

// Bridger connects two legs.
type Bridger interface {
	// Bridge relays media between caller and agent and blocks until one
	// leg ends or ctx is cancelled. It does not hang up either leg.
	Bridge(ctx context.Context, caller, agent Leg) error
}

// Dialer places outbound calls (click-to-dial, callbacks, transfers to a
// number).
type Dialer interface {
	// Dial blocks until number answers; ctx cancellation abandons the
	// attempt.
	Dial(ctx context.Context, number string, call CallInfo) (Leg, error)
}

// VoicemailTaker records a voicemail from a caller (overflow action
// "voicemail").
type VoicemailTaker interface {
	// TakeVoicemail plays the greeting, records until the caller hangs up
	// or the limit, and returns the recording's location.
	TakeVoicemail(ctx context.Context, caller Leg, call CallInfo) (recording string, err error)
}

// Errors returned by the engine; match with errors.Is.
var (
	ErrClosed       = errors.New("acd: engine closed")
	ErrUnknownQueue = errors.New("acd: unknown queue")
	ErrUnknownAgent = errors.New("acd: unknown agent")
	ErrUnknownCall  = errors.New("acd: unknown call")
	ErrDuplicate    = errors.New("acd: duplicate id")
	ErrAgentBusy    = errors.New("acd: agent busy")
	ErrNoCall       = errors.New("acd: agent has no call")
	// ErrQueueFull is returned by Enqueue when the queue is at max_length
	// and has no overflow action: the entry code should play busy.
	ErrQueueFull       = errors.New("acd: queue full")
	ErrNotSupported    = errors.New("acd: not supported")
	ErrInvalidArgument = errors.New("acd: invalid argument")
	// ErrRejected is what a ring attempt reports when the agent rejected it.
	ErrRejected = errors.New("acd: offer rejected")
	// ErrNoAnswer is what a ring attempt reports on the ring timeout, and
	// what a Dialer's error wraps when nobody answered.
	ErrNoAnswer = errors.New("acd: no answer")
	// ErrBusy is what a Dialer's error wraps when the number was busy.
	ErrBusy = errors.New("acd: busy")
)

// SkillLevel is a skill with a level 1..5 (or a minimum level in requirements).
type SkillLevel struct {
	Skill string `yaml:"skill"`
	Level int    `yaml:"level"`
}

// AgentSpec is an agent's identity and routing attributes, mapped by the
// wiring from the CRM agent.
type AgentSpec struct {
	ID   AgentID
	Name string
	// Endpoint is where the agent's phone or softphone is rung.
	Endpoint string
	// Skills with levels 1..5.
	Skills []SkillLevel
	// Languages the agent speaks (e.g. "en", "es").
	Languages []string
	// Country is an ISO 3166 alpha-2 code, Region a finer free-form area
	// (state, province), TimeZone an IANA name.
	Country, Region, TimeZone string
	// Ready logs the agent in as ready; otherwise not-ready ("login").
	Ready bool
	// Capacity overrides Config.Capacity per channel for this agent: how
	// many tasks of the channel they hold at once (0: none). Channels not
	// listed use the configured default. See ValidateCapacity;
	// Engine.SetCapacity replaces them while the agent is logged in.
	Capacity map[Channel]int
	// Supervisor marks a supervisor: their click-to-dial and transfers to
	// a number are checked against the dial plan's supervisor role
	// (dialplan.RoleSupervisor) instead of the agent role.
	Supervisor bool
}

// CallRequest is what the entry code (after the IVR and the CRM lookup)
// hands to Engine.Enqueue.
type CallRequest struct {
	// ID is the call id; empty uses the caller leg's ID.
	ID CallID
	// Queue is the target queue's name.
	Queue string
	// ANI is the caller's number (E.164 preferred), DNIS the dialled one.
	ANI, DNIS string
	// Skills adds requirements to the queue's (e.g. chosen in the IVR).
	Skills []SkillLevel
	// Priority adds to the queue's priority (IVR, aging already applied).
	Priority int
	// Segment is the CRM segment ("vip", …); Config.Segments maps it to a
	// priority bonus.
	Segment string
	// Language is the caller's language ("en").
	Language string
	// Caller is the geography of the caller's number, resolved where the
	// call entered the system (ResolveNumber); the engine does not parse
	// numbers. Its zero value routes without geography.
	Caller Geography
	// Region is a finer area than the country (state, province), when the
	// entry knows it.
	Region string
	// PreferredAgent is the caller's last agent (sticky routing).
	PreferredAgent AgentID
	// IVRPath and Vars are what the caller did and entered in the IVR.
	IVRPath []string
	Vars    map[string]string
	// Arrived is when the call reached the system (before the IVR); zero
	// means when it queued.
	Arrived time.Time
	// Queued is the time the call joined its queue under an earlier
	// leader, for a call re-announced to a new one; zero means now, and a
	// time after now counts as now. The call keeps its place among the
	// waiting calls and its aging, relaxation and max wait run from then.
	Queued time.Time
	// WholePriority makes Priority the call's whole priority, without the
	// segment bonus: a call re-announced to a new leader carries the
	// priority its earlier leader gave it (CallInfo.Priority, the bonus
	// included or as a supervisor set it with Engine.SetPriority), which
	// the new leader applies as it is.
	WholePriority bool `json:",omitempty"`
	// Fronted is when a supervisor moved the call to the front under an
	// earlier leader (CallInfo.Fronted), for a call re-announced to a new
	// one; zero: never. The call goes ahead of every waiting call that
	// was not moved to the front at or after that time, as
	// Engine.MoveToFront left it.
	Fronted time.Time `json:",omitzero"`
	// Data is opaque data attached by the entry code (e.g. the CRM
	// lookup); it rides on CallOffered for the screen pop.
	Data any
	// Callback, when set, is the number to call back: the caller leaves
	// the line and keeps their place as a virtual caller (IVR callback).
	Callback string
}

// Direction tells inbound from outbound calls.
type Direction string

// Call directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
	Callback Direction = "callback"
)

// CallInfo is the public description of a call or of any channel's task:
// everything a screen pop needs.
type CallInfo struct {
	ID CallID
	// Channel is the task's channel (voice or callback for calls).
	Channel   Channel
	Direction Direction
	Queue     string
	ANI       string
	DNIS      string
	E164      string
	Country   string
	Region    string
	TimeZone  string
	Language  string
	Segment   string
	Priority  int
	Skills    []SkillLevel
	IVRPath   []string
	Vars      map[string]string
	Arrived   time.Time
	Queued    time.Time
	// Fronted is when a supervisor last moved the waiting call to the
	// front (Engine.MoveToFront); zero: never. A node re-announces it to
	// a new leader (CallRequest.Fronted).
	Fronted time.Time `json:",omitzero"`
	// Number is the number dialled for outbound and callback calls.
	Number string
	// Role is the dial plan role of the agent on whose behalf the engine
	// dials for this call (click-to-dial, a transfer to a number): the
	// agent or the supervisor role; empty when nobody asked (see DialRole).
	Role dialplan.Role
	// Data is the entry code's opaque attachment (not serialised here).
	Data any
	// Customer is the customer's CRM identity, when the channel knows it.
	Customer string
	// Handle is the owning channel adapter's opaque reference to the task
	// (Task.Handle); the engine never looks inside.
	Handle any
}

// Reason is one factor of a routing decision, kept on the interaction.
type Reason struct {
	Factor       string
	Value        float64
	Contribution float64
}

// Outcome is how an interaction ended.
type Outcome string

// Interaction outcomes.
const (
	OutcomeAnswered       Outcome = "answered"
	OutcomeAbandoned      Outcome = "abandoned"
	OutcomeShortAbandoned Outcome = "short-abandoned"
	OutcomeVoicemail      Outcome = "voicemail"
	OutcomeCallback       Outcome = "callback-requested"
	OutcomeTransferred    Outcome = "transferred"
	OutcomeFailed         Outcome = "failed"
	OutcomeOverflow       Outcome = "overflow"
)

// Interaction is the summary of one call, published in InteractionCompleted
// when nothing more can change (after wrap-up) so it can be written to the CRM.
type Interaction struct {
	CallID      CallID
	Channel     Channel
	Direction   Direction
	Queue       string
	Agent       AgentID
	ANI         string
	E164        string
	Arrived     time.Time
	Queued      time.Time
	Offered     time.Time
	Answered    time.Time
	Ended       time.Time
	Completed   time.Time
	Wait        time.Duration
	Talk        time.Duration
	Hold        time.Duration
	WrapUp      time.Duration
	Offers      int
	Outcome     Outcome
	Reasons     []Reason
	Disposition string
	Notes       string
	TransferTo  string
	Recording   string
	Data        any
	// Unreached says why the customer of an outbound or callback call
	// was not reached (CallEnded.Unreached).
	Unreached string
	// Parties are the agents and numbers that took part besides the
	// customer, in order; Holds each time the customer was held.
	Parties []Party
	Holds   []HoldSpan
	// Continued marks the part of a call an agent handled before a
	// transfer: the call went on under the same id, and the summary of its
	// last part is the call's record; this one carries the agent's wrap-up.
	Continued bool
}

// TransferTarget names where a blind transfer goes: exactly one field set.
type TransferTarget struct {
	Agent  AgentID
	Queue  string
	Number string
}

// Clock is the engine's time source; tests and the simulator inject a fake.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine (or, for a fake clock, from
	// Advance) after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not happened; it reports whether it did.
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// RealClock returns the wall clock.
func RealClock() Clock { return realClock{} }
