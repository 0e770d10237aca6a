package crmcore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Direction says who started an interaction.
type Direction string

// Directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Outcome is how an interaction ended.
type Outcome string

// Outcomes.
const (
	OutcomeAnswered          Outcome = "answered"
	OutcomeAbandoned         Outcome = "abandoned"
	OutcomeShortAbandon      Outcome = "short-abandon"
	OutcomeVoicemail         Outcome = "voicemail"
	OutcomeCallbackRequested Outcome = "callback-requested"
	OutcomeTransferred       Outcome = "transferred"
	OutcomeFailed            Outcome = "failed"
	// OutcomeIVRCompleted: the IVR ended the call by design (self-service
	// done, a closed line without voicemail, a goodbye).
	OutcomeIVRCompleted Outcome = "ivr-completed"
	// OutcomeInProgress marks the record opened when a call arrives; the
	// record of the same id written at the call's end replaces it. A
	// record still in progress when its node restarts is closed as
	// OutcomeFailed with the routing reason ReasonInterrupted, or
	// ReasonNodeLost when a cluster's leader finds its node gone.
	OutcomeInProgress Outcome = "in-progress"
)

// ReasonInterrupted is the routing reason of a record closed at start
// because the process that opened it ended before the call did.
const ReasonInterrupted = "interrupted"

// ReasonNodeLost is the routing reason of a record closed as failed by the
// leader because the node that opened it is gone.
const ReasonNodeLost = "node lost"

// AllOutcomes lists every outcome.
var AllOutcomes = []Outcome{OutcomeAnswered, OutcomeAbandoned, OutcomeShortAbandon, OutcomeVoicemail,
	OutcomeCallbackRequested, OutcomeTransferred, OutcomeFailed, OutcomeIVRCompleted, OutcomeInProgress}

// Valid reports whether o is a known outcome.
func (o Outcome) Valid() bool {
	for _, k := range AllOutcomes {
		if o == k {
			return true
		}
	}
	return false
}

// IVRStep is one node visited in an IVR flow, with the digits collected there.
type IVRStep struct {
	Node   string `json:"node"`
	Digits string `json:"digits,omitempty"`
	// Speech is what the caller was heard say at the node (speech input),
	// with the recognizer's Confidence (0 to 1).
	Speech     string  `json:"speech,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
}

// Interaction is the record of one contact attempt. It is opened (outcome
// in progress) when the contact arrives, completed under the same ID when
// it ends, and afterwards only appended to by wrap-ups (disposition, notes,
// ticket, survey).
type Interaction struct {
	ID        string    `json:"id"`      // UUID, chosen by the writer's caller (NewID)
	CallID    string    `json:"call_id"` // SIP Call-ID or channel session id
	Direction Direction `json:"direction"`
	Channel   Channel   `json:"channel"`
	ANI       string    `json:"ani,omitempty"`  // caller, E.164 when known
	DNIS      string    `json:"dnis,omitempty"` // number dialled
	ContactID string    `json:"contact_id,omitempty"`
	IVRPath   []IVRStep `json:"ivr_path"`
	Queue     string    `json:"queue,omitempty"`
	AgentID   string    `json:"agent_id,omitempty"`

	ArrivedAt  time.Time  `json:"arrived_at"`
	QueuedAt   *time.Time `json:"queued_at,omitempty"`
	OfferedAt  *time.Time `json:"offered_at,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`

	// Hold and WrapUp are accumulated by the ACD; the other durations derive
	// from the timestamps (see Durations).
	Hold   time.Duration `json:"-"`
	WrapUp time.Duration `json:"-"`

	Outcome        Outcome  `json:"outcome"`
	RoutingReasons []string `json:"routing_reasons"`
	// Campaign is the outbound campaign an outbound call was dialled for;
	// CampaignResult what became of the dial (connected, abandoned,
	// machine, busy, no-answer, failed, dnc, uncallable).
	Campaign       string `json:"campaign,omitempty"`
	CampaignResult string `json:"campaign_result,omitempty"`
	Recording      string `json:"recording,omitempty"`

	// Parties are the agents and numbers that took part besides the
	// customer (the agent who answered, a consulted or conferenced third
	// party, an agent a transfer reached), in order; Holds are the times
	// the customer was on hold and who held the call.
	Parties []InteractionParty `json:"parties,omitempty"`
	Holds   []InteractionHold  `json:"holds,omitempty"`

	// Appended by wrap-ups. SurveyScore is the headline score (CSAT, else
	// NPS, else the first question by name); Survey holds every answer by
	// question name.
	Disposition string         `json:"disposition,omitempty"`
	Notes       string         `json:"notes,omitempty"`
	TicketID    string         `json:"ticket_id,omitempty"`
	SurveyScore *int           `json:"survey_score,omitempty"`
	Survey      map[string]int `json:"survey,omitempty"`
}

// Roles of an InteractionParty.
const (
	PartyAgent      = "agent"
	PartyConsult    = "consult"
	PartyConference = "conference"
)

// MaxParties bounds an interaction's parties and holds.
const MaxParties = 64

// InteractionParty is one agent or number that took part in a call.
type InteractionParty struct {
	AgentID string    `json:"agent_id,omitempty"`
	Number  string    `json:"number,omitempty"`
	Role    string    `json:"role"`
	Joined  time.Time `json:"joined"`
	Left    time.Time `json:"left"`
}

// InteractionHold is one time the customer was held, by AgentID.
type InteractionHold struct {
	AgentID string    `json:"agent_id,omitempty"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
}

// interactionJSON is Interaction with durations in milliseconds.
type interactionJSON struct {
	interactionAlias
	WaitMS   int64 `json:"wait_ms"`
	RingMS   int64 `json:"ring_ms"`
	TalkMS   int64 `json:"talk_ms"`
	HoldMS   int64 `json:"hold_ms"`
	WrapUpMS int64 `json:"wrapup_ms"`
}

type interactionAlias Interaction

// MarshalJSON encodes the interaction with its hold and wrap-up times and the
// derived wait, ring and talk times as integer milliseconds.
func (in Interaction) MarshalJSON() ([]byte, error) {
	d := in.Durations()
	return json.Marshal(interactionJSON{interactionAlias: interactionAlias(in), WaitMS: d.Wait.Milliseconds(),
		RingMS: d.Ring.Milliseconds(), TalkMS: d.Talk.Milliseconds(), HoldMS: d.Hold.Milliseconds(), WrapUpMS: d.WrapUp.Milliseconds()})
}

// UnmarshalJSON decodes what MarshalJSON encodes (the derived times are ignored).
func (in *Interaction) UnmarshalJSON(b []byte) error {
	var v interactionJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*in = Interaction(v.interactionAlias)
	in.Hold = time.Duration(v.HoldMS) * time.Millisecond
	in.WrapUp = time.Duration(v.WrapUpMS) * time.Millisecond
	return nil
}

// Durations are the waits and talk times derived from an interaction.
type Durations struct {
	Wait   time.Duration // queued (or arrived) → answered, or → ended when unanswered
	Ring   time.Duration // offered → answered (or → ended)
	Talk   time.Duration // answered → ended, less hold
	Hold   time.Duration
	WrapUp time.Duration
	Total  time.Duration // arrived → ended
}

// Durations derives the waits and durations; missing timestamps give zero.
func (in Interaction) Durations() Durations {
	d := Durations{Hold: in.Hold, WrapUp: in.WrapUp}
	start := in.ArrivedAt
	if in.QueuedAt != nil {
		start = *in.QueuedAt
	}
	end := in.EndedAt
	if in.AnsweredAt != nil {
		end = in.AnsweredAt
	}
	if end != nil && !start.IsZero() {
		d.Wait = nonNeg(end.Sub(start))
	}
	if in.OfferedAt != nil && end != nil {
		d.Ring = nonNeg(end.Sub(*in.OfferedAt))
	}
	if in.AnsweredAt != nil && in.EndedAt != nil {
		d.Talk = nonNeg(in.EndedAt.Sub(*in.AnsweredAt) - in.Hold)
	}
	if in.EndedAt != nil {
		d.Total = nonNeg(in.EndedAt.Sub(in.ArrivedAt))
	}
	return d
}

func nonNeg(d time.Duration) time.Duration { return max(d, 0) }

// Limits on interaction fields.
const (
	MaxShortField  = 256
	MaxIVRSteps    = 64
	MaxReasons     = 16
	MaxNotesLen    = 10000
	MaxSurveyScore = 10
	// MaxSurveyAnswers bounds the questions of one survey.
	MaxSurveyAnswers = 16
)

// validSurvey checks a survey's answers: at most MaxSurveyAnswers, names
// of lower-case letters, digits and '_' (1–32), scores 0–MaxSurveyScore.
func validSurvey(s map[string]int) error {
	if len(s) > MaxSurveyAnswers {
		return invalid("survey", "too many answers")
	}
	for name, v := range s {
		if !ValidSurveyAnswer(name, v) {
			return invalid("survey", fmt.Sprintf("bad answer %q: %d (want a name of a–z, 0–9, _ and a score 0–10)", truncate(name, 32), v))
		}
	}
	return nil
}

// ValidSurveyAnswer reports whether a survey answer can be stored: a
// question name of 1–32 lower-case letters, digits and '_', and a score of
// 0–MaxSurveyScore.
func ValidSurveyAnswer(name string, score int) bool {
	return validSurveyName(name) && score >= 0 && score <= MaxSurveyScore
}

func validSurveyName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Validate checks an interaction before it is queued for writing.
func (in *Interaction) Validate() error {
	if !ValidID(in.ID) {
		return invalid("id", "not a UUID")
	}
	if in.Direction != Inbound && in.Direction != Outbound {
		return invalid("direction", "want inbound or outbound")
	}
	if !in.Channel.Valid() {
		return invalid("channel", "want phone, email or web")
	}
	if !in.Outcome.Valid() {
		return invalid("outcome", fmt.Sprintf("unknown outcome %q", truncate(string(in.Outcome), 32)))
	}
	if in.ArrivedAt.IsZero() {
		return invalid("arrived_at", "required")
	}
	for _, f := range [...]struct{ name, v string }{{"call_id", in.CallID}, {"ani", in.ANI}, {"dnis", in.DNIS},
		{"queue", in.Queue}, {"recording", in.Recording}, {"disposition", in.Disposition}} {
		if len(f.v) > MaxShortField || !validLine(f.v) {
			return invalid(f.name, "too long or invalid characters")
		}
	}
	for _, f := range [...]struct{ name, v string }{{"contact_id", in.ContactID}, {"agent_id", in.AgentID}, {"ticket_id", in.TicketID}} {
		if f.v != "" && !ValidID(f.v) {
			return invalid(f.name, "not a UUID")
		}
	}
	if len(in.Notes) > MaxNotesLen || !validText(in.Notes) {
		return invalid("notes", "too long or invalid characters")
	}
	if len(in.IVRPath) > MaxIVRSteps {
		return invalid("ivr_path", "too many steps")
	}
	for _, s := range in.IVRPath {
		if len(s.Node) > MaxShortField || !validLine(s.Node) || len(s.Digits) > 64 || !validLine(s.Digits) ||
			len(s.Speech) > MaxShortField || !validLine(s.Speech) || s.Confidence < 0 || s.Confidence > 1 {
			return invalid("ivr_path", "bad step")
		}
	}
	if len(in.RoutingReasons) > MaxReasons {
		return invalid("routing_reasons", "too many")
	}
	if len(in.Parties) > MaxParties || len(in.Holds) > MaxParties {
		return invalid("parties", "too many")
	}
	for _, p := range in.Parties {
		if (p.AgentID != "" && !ValidID(p.AgentID)) || len(p.Number) > MaxShortField || !validLine(p.Number) ||
			(p.Role != PartyAgent && p.Role != PartyConsult && p.Role != PartyConference) {
			return invalid("parties", "bad party")
		}
	}
	for _, h := range in.Holds {
		if h.AgentID != "" && !ValidID(h.AgentID) {
			return invalid("holds", "agent_id not a UUID")
		}
	}
	for _, r := range in.RoutingReasons {
		if len(r) > MaxShortField || !validLine(r) {
			return invalid("routing_reasons", "bad reason")
		}
	}
	if in.SurveyScore != nil && (*in.SurveyScore < 0 || *in.SurveyScore > MaxSurveyScore) {
		return invalid("survey_score", "want 0–10")
	}
	if err := validSurvey(in.Survey); err != nil {
		return err
	}
	if err := in.validCampaign(); err != nil {
		return err
	}
	if in.Hold < 0 || in.WrapUp < 0 {
		return invalid("hold_ms", "negative duration")
	}
	return nil
}

// validCampaign checks the campaign fields: an id as campaigns have, a
// result only with its campaign, and both only on an outbound call (a
// campaign places the calls it records).
func (in *Interaction) validCampaign() error {
	switch {
	case in.Campaign == "" && in.CampaignResult == "":
		return nil
	case in.Direction != Outbound:
		return invalid("campaign", "only on an outbound interaction")
	case !ValidCampaignID(in.Campaign):
		return invalid("campaign", fmt.Sprintf("want 1–%d letters, digits, '.', '_' or '-'", MaxCampaignID))
	case in.CampaignResult != "" && !ValidCampaignResult(in.CampaignResult):
		return invalid("campaign_result", fmt.Sprintf("unknown result %q", truncate(in.CampaignResult, 32)))
	}
	return nil
}

// WrapUp appends after-call work to an interaction. Empty fields leave the
// current values alone; notes accumulate. Each wrap-up is kept as its own
// record, so the original interaction is never overwritten or lost.
type WrapUp struct {
	ID            string    `json:"id"` // UUID; makes a retried append idempotent
	InteractionID string    `json:"interaction_id"`
	AgentID       string    `json:"agent_id,omitempty"`
	At            time.Time `json:"at"`
	Disposition   string    `json:"disposition,omitempty"`
	Notes         string    `json:"notes,omitempty"`
	TicketID      string    `json:"ticket_id,omitempty"`
	SurveyScore   *int      `json:"survey_score,omitempty"`
	// Survey is every answer of a post-call survey, by question name.
	Survey map[string]int `json:"survey,omitempty"`
}

// Validate checks a wrap-up before it is queued for writing.
func (w *WrapUp) Validate() error {
	switch {
	case !ValidID(w.ID):
		return invalid("id", "not a UUID")
	case !ValidID(w.InteractionID):
		return invalid("interaction_id", "not a UUID")
	case w.AgentID != "" && !ValidID(w.AgentID):
		return invalid("agent_id", "not a UUID")
	case w.TicketID != "" && !ValidID(w.TicketID):
		return invalid("ticket_id", "not a UUID")
	case w.At.IsZero():
		return invalid("at", "required")
	case len(w.Disposition) > MaxShortField || !validLine(w.Disposition):
		return invalid("disposition", "too long or invalid characters")
	case len(w.Notes) > MaxNotesLen || !validText(w.Notes):
		return invalid("notes", "too long or invalid characters")
	case w.SurveyScore != nil && (*w.SurveyScore < 0 || *w.SurveyScore > MaxSurveyScore):
		return invalid("survey_score", "want 0–10")
	}
	return validSurvey(w.Survey)
}

// InteractionFilter selects interactions for listing and export.
type InteractionFilter struct {
	From, To  time.Time // arrived_at in [From, To); zero means unbounded
	Queue     string
	AgentID   string
	ContactID string
	Outcome   Outcome
	// Campaign selects the records of one outbound campaign's dials.
	Campaign string
	Limit    int    // default 100, max 1000 (export: unlimited when 0)
	After    string // keyset cursor: the last ID of the previous page
}

// LastAgent is the agent who most recently handled a caller.
type LastAgent struct {
	ID    string    `json:"id"`
	Login string    `json:"login"`
	Name  string    `json:"name"`
	At    time.Time `json:"at"` // when that interaction arrived
}

// CallerLookup is the screen-pop result for a caller's number: the contact
// with their account, open tickets, last five interactions and last agent.
// Known is false for an unknown number ("unknown caller"), in which case only
// Phone (what the number itself tells) is set.
type CallerLookup struct {
	Known       bool          `json:"known"`
	Phone       Phone         `json:"phone"`
	Contact     *Contact      `json:"contact,omitempty"`
	Account     *Account      `json:"account,omitempty"`
	OpenTickets []Ticket      `json:"open_tickets"`
	Recent      []Interaction `json:"recent_interactions"`
	LastAgent   *LastAgent    `json:"last_agent,omitempty"`
}

// RecentInteractions is how many past interactions a lookup returns.
const RecentInteractions = 5

// CallerLookuper finds a caller by E.164 number for the screen pop.
type CallerLookuper interface {
	LookupByPhone(ctx context.Context, e164 string) (CallerLookup, error)
}

// InteractionRecorder is the durable interaction write path: Write never
// drops an interaction it accepted (a nil error means the record is on
// stable storage); AppendWrapUp records after-call work the same way. A
// record written again with the same ID replaces the one in progress, so
// a call is opened at arrival and completed at its end as one record.
type InteractionRecorder interface {
	Write(ctx context.Context, in Interaction) error
	AppendWrapUp(ctx context.Context, w WrapUp) error
}

// AgentLister lists agents with their skills, languages, region and SIP
// credentials for the ACD and the SIP registrar.
type AgentLister interface {
	ListAgents(ctx context.Context) ([]Agent, error)
}
