package crmcore

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// QAState is an evaluation's place in its lifecycle.
type QAState string

// Evaluation states: assigned by the weekly sample (or a draft a
// supervisor started), scored and submitted, then acknowledged or
// disputed by the agent, a dispute resolved by a supervisor.
const (
	QAAssigned     QAState = "assigned"
	QADraft        QAState = "draft"
	QASubmitted    QAState = "submitted"
	QAAcknowledged QAState = "acknowledged"
	QADisputed     QAState = "disputed"
	QAResolved     QAState = "resolved"
)

// qaTransitions is the evaluation machine. Saving a draft again is the
// draft → draft edge; a submitted evaluation's answers never change.
var qaTransitions = map[QAState][]QAState{
	QAAssigned:     {QADraft, QASubmitted},
	QADraft:        {QADraft, QASubmitted},
	QASubmitted:    {QAAcknowledged, QADisputed},
	QADisputed:     {QAResolved},
	QAAcknowledged: nil,
	QAResolved:     nil,
}

// Valid reports whether s is a known state.
func (s QAState) Valid() bool { _, ok := qaTransitions[s]; return ok }

// String returns the state's name.
func (s QAState) String() string { return string(s) }

// Open reports whether the evaluation is still being scored.
func (s QAState) Open() bool { return s == QAAssigned || s == QADraft }

// To returns nil when an evaluation may go from s to next, else an error
// wrapping ErrInvalidTransition.
func (s QAState) To(next QAState) error {
	if slices.Contains(qaTransitions[s], next) {
		return nil
	}
	return fmt.Errorf("%w: evaluation cannot go from %s to %s", ErrInvalidTransition, s, truncate(string(next), 32))
}

// Evaluation is a supervisor's scoring of one interaction on one version
// of a form. AgentID is the agent who handled the interaction (the one
// evaluated), Evaluator the supervisor who scored it. Score and Failed
// are set on submit (ScoreQA). SampleWeek is the Monday (YYYY-MM-DD) of
// the weekly sample that assigned it, if any.
type Evaluation struct {
	ID             string              `json:"id"`
	FormID         string              `json:"form_id"`
	FormVersion    int                 `json:"form_version"`
	InteractionID  string              `json:"interaction_id"`
	AgentID        string              `json:"agent_id"`
	Evaluator      string              `json:"evaluator_id,omitempty"`
	Answers        map[string]QAAnswer `json:"answers"`
	Comments       string              `json:"comments,omitempty"`
	Score          *float64            `json:"score,omitempty"`
	Failed         bool                `json:"failed"`
	State          QAState             `json:"state"`
	SampleWeek     string              `json:"sample_week,omitempty"`
	DisputeReason  string              `json:"dispute_reason,omitempty"`
	Resolution     string              `json:"resolution,omitempty"`
	CreatedAt      time.Time           `json:"created_at"`
	UpdatedAt      time.Time           `json:"updated_at"`
	SubmittedAt    *time.Time          `json:"submitted_at,omitempty"`
	AcknowledgedAt *time.Time          `json:"acknowledged_at,omitempty"`
	DisputedAt     *time.Time          `json:"disputed_at,omitempty"`
	ResolvedAt     *time.Time          `json:"resolved_at,omitempty"`
}

// NewEvaluation starts a draft of evaluator's scoring of in on form f:
// the interaction must be over and have an agent, the form active and
// for the interaction's channel.
func NewEvaluation(in Interaction, f QAForm, evaluator string, now time.Time) (Evaluation, error) {
	switch {
	case in.AgentID == "":
		return Evaluation{}, invalid("interaction_id", "the interaction has no agent to evaluate")
	case in.Outcome == OutcomeInProgress:
		return Evaluation{}, invalid("interaction_id", "the interaction is still in progress")
	case !f.Active:
		return Evaluation{}, invalid("form_id", "the form is not active")
	case !f.ForChannel(in.Channel):
		return Evaluation{}, invalid("form_id", fmt.Sprintf("the form is not for %s interactions", in.Channel))
	}
	now = now.UTC()
	return Evaluation{ID: NewID(), FormID: f.ID, FormVersion: f.Version, InteractionID: in.ID, AgentID: in.AgentID,
		Evaluator: evaluator, Answers: map[string]QAAnswer{}, State: QADraft, CreatedAt: now, UpdatedAt: now}, nil
}

// QAScoring is what a supervisor sends to score an evaluation: the
// answers, comments, and whether to submit (else it stays a draft).
type QAScoring struct {
	Answers  map[string]QAAnswer `json:"answers"`
	Comments string              `json:"comments"`
	Submit   bool                `json:"submit"`
}

// Grade saves evaluator's answers on form f (the version the evaluation
// is on) as a draft, or scores and submits them.
func (e *Evaluation) Grade(f QAForm, evaluator string, s QAScoring, now time.Time) error {
	if f.ID != e.FormID || f.Version != e.FormVersion {
		return invalid("form_id", "not the form version this evaluation is on")
	}
	if len(s.Comments) > MaxQAComments || !validText(s.Comments) {
		return invalid("comments", fmt.Sprintf("at most %d characters", MaxQAComments))
	}
	next := QADraft
	var res QAResult
	var err error
	if s.Submit {
		next = QASubmitted
		res, err = ScoreQA(f, s.Answers)
	} else {
		err = f.CheckAnswers(s.Answers, false)
	}
	if err != nil {
		return err
	}
	if err := e.State.To(next); err != nil {
		return err
	}
	now = now.UTC()
	e.State, e.Evaluator, e.Comments, e.UpdatedAt = next, evaluator, s.Comments, now
	e.Answers = s.Answers
	if e.Answers == nil {
		e.Answers = map[string]QAAnswer{}
	}
	if s.Submit {
		e.Score, e.Failed, e.SubmittedAt = &res.Score, res.Failed, &now
	}
	return nil
}

// Acknowledge records that the evaluated agent read the submitted
// evaluation; nobody else may.
func (e *Evaluation) Acknowledge(agentID string, now time.Time) error {
	if err := e.byAgent(agentID); err != nil {
		return err
	}
	if err := e.State.To(QAAcknowledged); err != nil {
		return err
	}
	now = now.UTC()
	e.State, e.AcknowledgedAt, e.UpdatedAt = QAAcknowledged, &now, now
	return nil
}

// Dispute records the evaluated agent's objection to a submitted
// evaluation, with its reason.
func (e *Evaluation) Dispute(agentID, reason string, now time.Time) error {
	if err := e.byAgent(agentID); err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > MaxQADisputeReason || !validText(reason) {
		return invalid("reason", fmt.Sprintf("required, at most %d characters", MaxQADisputeReason))
	}
	if err := e.State.To(QADisputed); err != nil {
		return err
	}
	now = now.UTC()
	e.State, e.DisputeReason, e.DisputedAt, e.UpdatedAt = QADisputed, reason, &now, now
	return nil
}

// Resolve closes a dispute with a supervisor's resolution.
func (e *Evaluation) Resolve(resolution string, now time.Time) error {
	resolution = strings.TrimSpace(resolution)
	if resolution == "" || len(resolution) > MaxQADisputeReason || !validText(resolution) {
		return invalid("resolution", fmt.Sprintf("required, at most %d characters", MaxQADisputeReason))
	}
	if err := e.State.To(QAResolved); err != nil {
		return err
	}
	now = now.UTC()
	e.State, e.Resolution, e.ResolvedAt, e.UpdatedAt = QAResolved, resolution, &now, now
	return nil
}

func (e *Evaluation) byAgent(agentID string) error {
	if agentID == "" || agentID != e.AgentID {
		return fmt.Errorf("%w: only the evaluated agent may answer an evaluation", ErrForbidden)
	}
	return nil
}

// QAFilter selects evaluations for listing: by agent, evaluator, form and
// states, submitted (or, when not yet submitted, created) in [From, To).
type QAFilter struct {
	AgentID     string
	EvaluatorID string
	FormID      string
	States      []QAState
	From, To    time.Time
	Limit       int // default 100, max 1000
}

// TranscriptEntry is one line of an interaction's written record shown to
// a reviewer: a chat message, an email of the interaction's ticket, or a
// comment on it. From is the customer, bot, agent or sender's address.
type TranscriptEntry struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // chat, email, comment
	From string    `json:"from"`
	Text string    `json:"text"`
}
