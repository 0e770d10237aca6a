package crmcore

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// CampaignInfo is an outbound campaign as the API shows it: its
// configuration (the ACD's campaign config, as JSON), its state and its
// figures. The ACD's dialer runs it; the CRM keeps its definition, its
// list and the record of every dial (an Interaction with Campaign set).
type CampaignInfo struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Queue string `json:"queue"`
	// Mode is preview, progressive or predictive.
	Mode  string        `json:"mode"`
	State CampaignState `json:"state"`
	// Config is the whole configuration, defaults filled in.
	Config    json.RawMessage `json:"config"`
	CreatedBy string          `json:"created_by,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	Stats     CampaignStats   `json:"stats"`
}

// CampaignState is whether a campaign dials.
type CampaignState string

// Campaign states. A campaign is created paused; running dials, paused
// lets the dials in progress end and starts none, stopped is final.
const (
	CampaignRunning CampaignState = "running"
	CampaignPaused  CampaignState = "paused"
	CampaignStopped CampaignState = "stopped"
)

// Valid reports whether s is a known state.
func (s CampaignState) Valid() bool {
	return s == CampaignRunning || s == CampaignPaused || s == CampaignStopped
}

// CampaignStats are a campaign's figures for the API and the wallboard.
type CampaignStats struct {
	// Contacts counts the list; Pending, Retry and Done the contacts in
	// those states.
	Contacts int `json:"contacts"`
	Pending  int `json:"pending"`
	Retry    int `json:"retry"`
	Done     int `json:"done"`
	// Dialed counts dials placed, the rest their results; DNC and
	// Uncallable count contacts finished without a dial.
	Dialed     int `json:"dialed"`
	Connected  int `json:"connected"`
	Abandoned  int `json:"abandoned"`
	Machines   int `json:"machines"`
	Busy       int `json:"busy"`
	NoAnswer   int `json:"no_answer"`
	Failed     int `json:"failed"`
	DNC        int `json:"dnc"`
	Uncallable int `json:"uncallable"`
	// AbandonRate is the abandoned share of the calls a person answered
	// over the rolling window (Answered of them); AnswerRate the share of
	// dials a person answers; Ratio the pacing ratio (lines per agent
	// expected free).
	AbandonRate float64 `json:"abandon_rate"`
	Answered    int     `json:"answered"`
	AnswerRate  float64 `json:"answer_rate"`
	Ratio       float64 `json:"ratio"`
	// Lines are the dials in progress.
	Lines int `json:"lines"`
}

// CampaignContact is one entry of a campaign's list as the CRM keeps it.
// Position is its place in the list (from 0); Done is set once the
// campaign is finished with it, so that a restart does not call it again.
type CampaignContact struct {
	Position  int    `json:"position"`
	ContactID string `json:"contact_id,omitempty"`
	Number    string `json:"number"`
	Name      string `json:"name,omitempty"`
	TimeZone  string `json:"time_zone,omitempty"`
	Done      bool   `json:"done"`
}

// DNCEntry is a number on the do-not-call list.
type DNCEntry struct {
	// Number is E.164.
	Number  string    `json:"number"`
	Reason  string    `json:"reason,omitempty"`
	AddedBy string    `json:"added_by,omitempty"`
	AddedAt time.Time `json:"added_at"`
}

// MaxCampaignID bounds a campaign id; ids are ASCII letters, digits, '.',
// '_' and '-', so that they are safe in paths, metric labels and logs.
const MaxCampaignID = 64

// ValidCampaignID reports whether s can be a campaign's id.
func ValidCampaignID(s string) bool {
	if len(s) == 0 || len(s) > MaxCampaignID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// CampaignResults are what may become of a campaign's dial, as package
// acd/campaign names them: the dial's result, or why a contact was
// finished (dnc, uncallable) or put back (out-of-window-later) without one.
var CampaignResults = []string{"connected", "abandoned", "machine", "busy", "no-answer", "failed", "dnc",
	"uncallable", "out-of-window-later"}

// ValidCampaignResult reports whether s is one of CampaignResults.
func ValidCampaignResult(s string) bool {
	for _, r := range CampaignResults {
		if s == r {
			return true
		}
	}
	return false
}

// Limits on a campaign contact's fields.
const (
	MaxCampaignNumber   = 64
	MaxCampaignTimeZone = 64
)

// Validate checks a contact before it is added to a campaign's list. The
// number is kept as given (the campaign finds it uncallable if it is not
// a phone number), so that the list shows what was imported.
func (c *CampaignContact) Validate() error {
	switch {
	case c.Number == "" || len(c.Number) > MaxCampaignNumber || !validLine(c.Number):
		return invalid("number", fmt.Sprintf("required, at most %d characters on one line", MaxCampaignNumber))
	case c.ContactID != "" && !ValidID(c.ContactID):
		return invalid("contact_id", "not a UUID")
	case len(c.Name) > MaxShortField || !validLine(c.Name):
		return invalid("name", "too long or invalid characters")
	case len(c.TimeZone) > MaxCampaignTimeZone || !validLine(c.TimeZone):
		return invalid("time_zone", "too long or invalid characters")
	}
	return nil
}

// MaxDNCReason bounds a do-not-call entry's reason.
const MaxDNCReason = 500

// Normalize puts e.Number in E.164 (it must be written in international
// form, with its country code) and checks the reason. A number that is
// not one is a *FieldError for "number" wrapping ErrInvalidPhone.
func (e *DNCEntry) Normalize() error {
	p, err := NormalizePhone(e.Number, "")
	if err != nil {
		reason := "not a phone number"
		var pe *PhoneError
		if errors.As(err, &pe) {
			reason = pe.Reason
		}
		return &FieldError{Field: "number", Reason: reason + " (want E.164, e.g. +14155550123)", Err: ErrInvalidPhone}
	}
	e.Number = p.E164
	if len(e.Reason) > MaxDNCReason || !validLine(e.Reason) {
		return invalid("reason", fmt.Sprintf("at most %d characters on one line", MaxDNCReason))
	}
	if e.AddedBy != "" && !ValidID(e.AddedBy) {
		return invalid("added_by", "not a UUID")
	}
	return nil
}
