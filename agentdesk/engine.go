package agentdesk

import (
	"context"
	"time"

	"switchboard/crmcore"
)

// Identity is who a CTI connection belongs to: the crmcore principal
// (agent id, login, display name, role).
type Identity = crmcore.Principal

// Authenticator checks bearer tokens and passwords. crmcore.Auth is adapted
// to it by CRMAuth.
type Authenticator interface {
	// Verify returns the identity behind a session token, or an error
	// wrapping crmcore.ErrUnauthenticated.
	Verify(ctx context.Context, token string) (Identity, error)
	// Login checks credentials from source (the client's address) and
	// opens a session, returning its token. Too many failures give an error
	// wrapping crmcore.ErrThrottled (a *crmcore.ThrottleError says when to
	// retry).
	Login(ctx context.Context, login, password, source string) (token string, id Identity, err error)
}

// CRMAuth adapts *crmcore.Auth to Authenticator.
func CRMAuth(a *crmcore.Auth) Authenticator { return crmAuth{a} }

type crmAuth struct{ a *crmcore.Auth }

// Verify implements Authenticator.
func (c crmAuth) Verify(ctx context.Context, token string) (Identity, error) {
	return c.a.Verify(ctx, token)
}

// Login implements Authenticator; the token's expiry is not needed here.
func (c crmAuth) Login(ctx context.Context, login, password, source string) (string, Identity, error) {
	tok, _, ag, err := c.a.Login(ctx, login, password, source)
	if err != nil {
		return "", Identity{}, err
	}
	return tok, ag.Principal(), nil
}

// Softphones connects an agent's browser to the media gateway: one
// persistent WebRTC leg per agent login (non-trickle SDP offer/answer).
// cmd/switchboard wires it to the SIP gateway.
type Softphones interface {
	// Connect answers the browser's SDP offer, replacing any earlier leg of
	// the same agent.
	Connect(ctx context.Context, agentID, offerSDP string) (answerSDP string, err error)
	// Disconnect tears the agent's leg down; unknown agents are ignored.
	Disconnect(agentID string)
}

// Listener lets a supervisor hear a live call (listen), talk to the agent
// only (whisper) or join the conversation (barge). The media reaches the
// supervisor's own softphone leg. cmd/switchboard wires it to the gateway.
type Listener interface {
	// Listen starts or changes monitoring of callID by supervisorID.
	Listen(ctx context.Context, supervisorID, callID, mode string) error
	// StopListening ends monitoring; unknown calls are ignored.
	StopListening(ctx context.Context, supervisorID, callID string) error
}

// Recorder pauses and resumes a call's recording, so that what an agent
// takes then (a card number) is never recorded. cmd/switchboard wires it
// to the gateway. The hub calls it only for the agent's own call.
type Recorder interface {
	// PauseRecording pauses (on) or resumes callID's recording.
	PauseRecording(ctx context.Context, callID string, on bool) error
}

// Tickets creates or links the ticket a wrap-up asks for (the engine only
// records disposition and notes). cmd/switchboard wires it to crmcore; the
// returned ticket number ("T-1044") is echoed in the wrap-up's ok reply.
// The hub calls it only for the agent's own call, or chat (callID is then
// the chat task's id).
type Tickets interface {
	// WrapUpTicket links w.LinkTicket or creates w.CreateTicket (requested
	// by the caller's contact when the CRM knows them) for the agent's call
	// and returns the ticket's number.
	WrapUpTicket(ctx context.Context, agentID, callID string, w WrapUp) (number string, err error)
}

// Engine is what the hub asks of the ACD engine (agent and call control).
// NewACDEngine adapts *acd.Engine to it. Errors are mapped to CTI error
// codes by the hub (see errorCode).
type Engine interface {
	// SetPresence sets an agent's presence (PresenceReady, PresenceNotReady
	// with a reason code, PresenceOffline).
	SetPresence(ctx context.Context, agentID, presence, reason string) error
	// ForcePresence is a supervisor's change of another agent's presence.
	ForcePresence(ctx context.Context, supervisorID, agentID, presence, reason string) error
	// CallControl performs one action on the agent's call.
	CallControl(ctx context.Context, agentID string, a CallAction) error
	// Dial places an outbound call for the agent and returns its call id.
	Dial(ctx context.Context, agentID string, d Dial) (callID string, err error)
	// Prioritize changes a waiting call's priority (or moves it to the front).
	Prioritize(ctx context.Context, callID string, priority int, front bool) error
	// TaskControl performs one action on a task of a channel other than
	// voice offered to or held by the agent.
	TaskControl(ctx context.Context, agentID string, a TaskAction) error
}

// Action names of CallAction.
const (
	ActAnswer   = "answer"
	ActReject   = "reject"
	ActHangup   = "hangup"
	ActHold     = "hold"
	ActUnhold   = "unhold"
	ActTransfer = "transfer"
	ActWrapUp   = "wrapup"
	// ActConsult puts the caller on hold and reaches Target for the agent
	// to talk to; ActConference joins Target to the call when it answers.
	ActConsult    = "consult"
	ActConference = "conference"
	// ActComplete hands the caller to the consulted party (warm
	// transfer), ActCancelConsult goes back to the caller, ActMerge makes
	// the consultation a conference.
	ActComplete      = "complete"
	ActCancelConsult = "cancel-consult"
	ActMerge         = "merge"
	// ActGone tells the engine the agent's desktop is gone: an outstanding
	// offer must be withdrawn and the call re-offered at once.
	ActGone = "gone"
)

// CallAction is one agent action on a call.
type CallAction struct {
	Action string
	CallID string
	Target TransferTarget // ActTransfer, ActConsult, ActConference
	WrapUp *WrapUp        // ActWrapUp
}

// EventSource is the engine's event stream as the hub consumes it.
type EventSource interface {
	// Subscribe returns the current state and a Feed of every change
	// after it, in order.
	Subscribe(ctx context.Context) (State, Feed, error)
}

// Feed hands the hub the engine's changes in batches: the source queues
// them without blocking and signals Ready; the hub's goroutine takes
// everything pending per wake-up.
type Feed interface {
	// Ready is signalled when changes are pending or the feed ended; one
	// signal may stand for many changes.
	Ready() <-chan struct{}
	// Take appends the pending changes to buf and returns it. open is
	// false once the feed has ended (the source stopped, or the hub fell
	// behind and changes were lost): the hub subscribes again and pushes
	// fresh snapshots to everyone (resync).
	Take(buf []Event) (events []Event, open bool)
	// Close ends the feed.
	Close()
}

// State is a consistent snapshot of the floor.
type State struct {
	Queues  []QueueStats
	Agents  []AgentStatus
	Waiting []WaitingCall
	Offers  []Offer // outstanding offers
	Calls   []CallInfo
	WrapUps []WrapUpTimer // agents in after-call work
	// Tasks are the tasks of channels other than voice on agents' desks,
	// each with its pop when known.
	Tasks []TaskView
}

// Event is one engine change, already in the hub's vocabulary: one of
// AgentStatus, QueueStats, WaitingCall, CallGone, Offer, OfferEnded,
// CallInfo, WrapUpTimer.
type Event interface{ isEvent() }

// AgentStatus is an agent's presence and system state (State describes
// their call), with their capacity and load per channel.
type AgentStatus struct {
	AgentID  string    `json:"agent_id"`
	Name     string    `json:"name"`
	Presence string    `json:"presence"`         // offline, ready, not-ready
	Reason   string    `json:"reason,omitempty"` // not-ready reason code
	State    string    `json:"state"`            // idle, reserved, on-call, on-hold, wrap-up
	Since    time.Time `json:"since"`            // entered this state
	CallID   string    `json:"call_id,omitempty"`
	Queue    string    `json:"queue,omitempty"`
	// Channel is CallID's channel (voice or callback).
	Channel string `json:"channel,omitempty"`
	// Capacity is how many tasks of each channel the agent may hold at
	// once; Load how many they hold now (offered, active or in wrap-up,
	// their call included). The hub fills Load when it sends the status.
	Capacity map[string]int `json:"capacity,omitempty"`
	Load     map[string]int `json:"load,omitempty"`
}

// QueueStats are a queue's live figures.
type QueueStats struct {
	Queue          string  `json:"queue"`
	Waiting        int     `json:"waiting"`
	LongestWaitSec float64 `json:"longest_wait_s"`
	SLPercent      float64 `json:"sl_percent"` // service level achieved, 0–100
	SLTarget       float64 `json:"sl_target"`  // target, 0–100
	SLThresholdSec float64 `json:"sl_threshold_s"`
	ASASec         float64 `json:"asa_s"`
	AbandonPercent float64 `json:"abandon_percent"`
	Ready          int     `json:"ready"`
	Busy           int     `json:"busy"`
	WrapUp         int     `json:"wrap_up"`
	Staffed        int     `json:"staffed"`
	Recommended    int     `json:"recommended"` // Erlang C agents needed
	// Erlang is what Recommended assumes.
	Erlang ErlangBasis `json:"erlang"`
	EWTSec float64     `json:"ewt_s"`
}

// ErlangBasis is what a queue's Erlang C recommendation assumes: Calls
// arrived over PeriodSec (the recent window, or the time since the queue
// started when shorter, at least stats.MinRatePeriod), an average handle time of AHTSec (a default when
// no call was handled in the period: AHTDefault), and the queue's SL
// target within its threshold.
type ErlangBasis struct {
	Calls      int     `json:"calls"`
	PeriodSec  float64 `json:"period_s"`
	AHTSec     float64 `json:"aht_s"`
	AHTDefault bool    `json:"aht_default,omitempty"`
}

// WaitingCall is a call or task waiting in a queue; CallID is the task's
// id for a task.
type WaitingCall struct {
	CallID   string    `json:"call_id"`
	Channel  string    `json:"channel"`
	Queue    string    `json:"queue"`
	ANI      string    `json:"ani"`
	Since    time.Time `json:"since"`
	Priority int       `json:"priority"`
	Position int       `json:"position"`
}

// CallGone says a call left its queue's waiting list (answered, offered,
// abandoned, overflowed).
type CallGone struct {
	CallID string
	Queue  string
}

// Geo is the caller's geography derived from the ANI.
type Geo struct {
	Country  string `json:"country,omitempty"`
	Region   string `json:"region,omitempty"`
	TimeZone string `json:"time_zone,omitempty"`
}

// Offer is a call offered to one agent: everything the screen pop shows.
// Data is the CRM caller lookup filled by the voice journey; it is marshalled
// verbatim as the pop's "crm" member.
type Offer struct {
	CallID  string            `json:"call_id"`
	Channel string            `json:"channel"` // voice or callback
	AgentID string            `json:"agent_id"`
	Queue   string            `json:"queue"`
	ANI     string            `json:"ani"`
	DNIS    string            `json:"dnis,omitempty"`
	Geo     Geo               `json:"geo"`
	IVRPath []string          `json:"ivr_path"`
	IVRVars map[string]string `json:"ivr_vars"`
	// IVRSummary says in words what the caller chose in the IVR and what
	// it looked up, for the agent to read.
	IVRSummary []string  `json:"ivr_summary"`
	WaitedSec  float64   `json:"waited_s"`
	Reasons    []string  `json:"routing_reasons"`
	EWTSec     float64   `json:"ewt_s"`
	Priority   int       `json:"priority"`
	TimeoutSec float64   `json:"timeout_s"`         // ring time before re-offer
	Deadline   time.Time `json:"deadline,omitzero"` // when the offer stops ringing
	Data       any       `json:"crm"`
	DecidedAt  time.Time `json:"decided_at"` // when the engine chose the agent
	// ConsultFrom is set when another agent, holding the call, consults
	// this agent (or adds them to a conference).
	ConsultFrom string `json:"consult_from,omitempty"`
}

// CRMPop is the screen pop's "crm" object for a voice call: the CRM
// lookup by the caller's number, the caller's path through the IVR and the
// id the call's interaction record will have. cmd/switchboard maps the
// voice journey's pop to it (ACDOptions.Pop).
type CRMPop struct {
	// Known is false for a caller the CRM does not know.
	Known            bool                  `json:"known"`
	Contact          *crmcore.Contact      `json:"contact,omitempty"`
	Account          *crmcore.Account      `json:"account,omitempty"`
	Segment          string                `json:"segment,omitempty"`
	OpenTickets      []crmcore.Ticket      `json:"open_tickets"`
	LastInteractions []crmcore.Interaction `json:"last_interactions"`
	LastAgent        *crmcore.LastAgent    `json:"last_agent,omitempty"`
	IVR              []crmcore.IVRStep     `json:"ivr"`
	InteractionID    string                `json:"interaction_id"`
	DNIS             string                `json:"dnis"`
	// Web is who a web caller said they are (the call page's form, or
	// verified by the host site's token); absent for a phone call.
	Web *WebCaller `json:"web,omitempty"`
	// Campaign is the outbound campaign that dialled the customer; absent
	// for an inbound call.
	Campaign *CampaignCall `json:"campaign,omitempty"`
}

// CampaignCall is, in the pop, the outbound campaign that dialled the
// customer: its id, the list's name for the customer, and
// answering-machine detection's verdict.
type CampaignCall struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Detection string `json:"detection,omitempty"`
}

// WebCaller is a web caller's identity in the pop.
type WebCaller struct {
	Name     string `json:"name,omitempty"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Verified bool   `json:"verified"`
}

// OfferEnded says an offer is over without an answer (rejected, timed out,
// caller abandoned, withdrawn).
type OfferEnded struct {
	CallID  string
	AgentID string
	Reason  string
}

// Call states of CallInfo.
const (
	CallTalking     = "talking"
	CallHeld        = "held"
	CallTransferred = "transferred"
	CallEnded       = "ended"
)

// CallInfo is a connected call's state change (answered, held, unheld,
// transferred, ended) as the agent sees it.
type CallInfo struct {
	CallID   string    `json:"call_id"`
	AgentID  string    `json:"agent_id"`
	Queue    string    `json:"queue,omitempty"`
	ANI      string    `json:"ani,omitempty"`
	State    string    `json:"state"` // talking, held, transferred, ended
	Since    time.Time `json:"since"`
	Target   string    `json:"target,omitempty"` // transferred to
	Cause    string    `json:"cause,omitempty"`  // ended: who hung up / why
	Reason   string    `json:"reason,omitempty"` // ended with cause "failed": what failed
	Outbound bool      `json:"outbound,omitempty"`
}

// Consult tells an agent's desk how a consultation on their call stands
// ("call.consult"): Role is "consulting" for the agent who holds the call,
// "consulted" for the agent brought in; Phase is one of acd.ConsultPhase
// (ringing, talking, conference, completed, cancelled, failed, left).
type Consult struct {
	CallID  string         `json:"call_id"`
	AgentID string         `json:"agent_id"`
	Role    string         `json:"role"`
	From    string         `json:"from"`
	Target  TransferTarget `json:"target"`
	Phase   string         `json:"phase"`
	Reason  string         `json:"reason,omitempty"`
	Since   time.Time      `json:"since"`
}

// WrapUpTimer says an agent entered (or left, when Done) after-call work.
type WrapUpTimer struct {
	AgentID  string    `json:"agent_id"`
	CallID   string    `json:"call_id"`
	Deadline time.Time `json:"deadline"`
	Done     bool      `json:"-"`
}

func (AgentStatus) isEvent() {}
func (QueueStats) isEvent()  {}
func (WaitingCall) isEvent() {}
func (CallGone) isEvent()    {}
func (Offer) isEvent()       {}
func (OfferEnded) isEvent()  {}
func (CallInfo) isEvent()    {}
func (WrapUpTimer) isEvent() {}
func (Consult) isEvent()     {}
