package crmcore

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// LeadStatus is a sales lead's place in its lifecycle.
type LeadStatus string

// Lead statuses. A lead is worked while new or working; the others are
// final but qualified, which may still convert or be disqualified.
const (
	LeadNew          LeadStatus = "new"
	LeadWorking      LeadStatus = "working"
	LeadQualified    LeadStatus = "qualified"
	LeadConverted    LeadStatus = "converted"
	LeadDisqualified LeadStatus = "disqualified"
)

// leadTransitions is the complete lead status machine.
var leadTransitions = map[LeadStatus][]LeadStatus{
	LeadNew:          {LeadWorking, LeadDisqualified},
	LeadWorking:      {LeadQualified, LeadDisqualified},
	LeadQualified:    {LeadConverted, LeadDisqualified},
	LeadConverted:    {},
	LeadDisqualified: {},
}

// Valid reports whether s is a defined status.
func (s LeadStatus) Valid() bool { _, ok := leadTransitions[s]; return ok }

// Open reports whether a lead in status s is still worked (new or working).
func (s LeadStatus) Open() bool { return s == LeadNew || s == LeadWorking }

// To validates the transition from s to next against the transition table.
// A refused transition returns an error wrapping ErrInvalidTransition.
func (s LeadStatus) To(next LeadStatus) error {
	if slices.Contains(leadTransitions[s], next) {
		return nil
	}
	return fmt.Errorf("%w: lead cannot go from %s to %s", ErrInvalidTransition, s, truncate(string(next), 32))
}

// Lead is a prospective customer for sales: routed to an agent, who
// becomes its owner, when it arrives without one.
type Lead struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Company   string     `json:"company,omitempty"`
	Email     string     `json:"email,omitempty"`
	Phone     string     `json:"phone,omitempty"` // E.164
	Source    string     `json:"source,omitempty"`
	Status    LeadStatus `json:"status"`
	Priority  Priority   `json:"priority"`
	OwnerID   string     `json:"owner_id,omitempty"` // agent
	Language  string     `json:"language,omitempty"`
	Country   string     `json:"country,omitempty"` // ISO alpha-2
	Region    string     `json:"region,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// LeadInput is a lead as submitted.
type LeadInput struct {
	Name     string   `json:"name"`
	Company  string   `json:"company"`
	Email    string   `json:"email"`
	Phone    string   `json:"phone"`
	Source   string   `json:"source"`
	Priority Priority `json:"priority"`
	OwnerID  string   `json:"owner_id"`
	Language string   `json:"language"`
	Country  string   `json:"country"`
	Region   string   `json:"region"`
}

// NewLead validates in and builds a new lead at now; phone numbers in
// national format are read in defaultRegion.
func NewLead(in LeadInput, defaultRegion string, now time.Time) (Lead, error) {
	l := Lead{
		Name: strings.TrimSpace(in.Name), Company: strings.TrimSpace(in.Company), Source: strings.TrimSpace(in.Source),
		Status: LeadNew, Priority: in.Priority, OwnerID: strings.TrimSpace(in.OwnerID),
		Language: strings.ToLower(strings.TrimSpace(in.Language)), Country: strings.ToUpper(strings.TrimSpace(in.Country)),
		Region: strings.TrimSpace(in.Region), CreatedAt: now.UTC(), UpdatedAt: now.UTC(),
	}
	if l.Priority == 0 {
		l.Priority = PriorityNormal
	}
	switch {
	case l.Name == "" || len(l.Name) > MaxNameLen || !validLine(l.Name):
		return Lead{}, invalid("name", fmt.Sprintf("required, at most %d bytes, no control characters", MaxNameLen))
	case len(l.Company) > MaxNameLen || !validLine(l.Company):
		return Lead{}, invalid("company", "too long or invalid characters")
	case len(l.Source) > MaxTagLen || !validLine(l.Source):
		return Lead{}, invalid("source", "too long or invalid characters")
	case !l.Priority.Valid():
		return Lead{}, invalid("priority", "want low, normal, high or urgent")
	case l.OwnerID != "" && !ValidID(l.OwnerID):
		return Lead{}, invalid("owner_id", "not a UUID")
	case len(l.Language) > MaxLanguageLen || !validLine(l.Language):
		return Lead{}, invalid("language", "bad language tag")
	case l.Country != "" && !isSupportedRegion(l.Country):
		return Lead{}, invalid("country", fmt.Sprintf("unknown country %q", truncate(l.Country, 8)))
	case len(l.Region) > MaxNameLen || !validLine(l.Region):
		return Lead{}, invalid("region", "too long or invalid characters")
	}
	if e := strings.TrimSpace(in.Email); e != "" {
		n, err := NormalizeEmail(e)
		if err != nil {
			return Lead{}, &FieldError{Field: "email", Reason: err.Error()}
		}
		l.Email = n
	}
	if p := strings.TrimSpace(in.Phone); p != "" {
		ph, err := NormalizePhone(p, defaultRegion)
		if err != nil {
			return Lead{}, &FieldError{Field: "phone", Reason: err.Error(), Err: ErrInvalidPhone}
		}
		l.Phone = ph.E164
		if l.Country == "" {
			l.Country = ph.Country
		}
	}
	return l, nil
}

// PendingLead is a lead waiting to be routed to an agent.
type PendingLead struct {
	Lead Lead `json:"lead"`
	// Since is when the lead started waiting: its place in the queue.
	Since time.Time `json:"since"`
	// AccountOwnerID is the owner of the account whose domain is the
	// lead's email domain; LastAgentID is the agent of the latest
	// interaction of the contact with the lead's phone number or email.
	// The assignment rule's Prefer order picks which of them, if any, is
	// offered the lead first.
	AccountOwnerID string `json:"account_owner_id,omitempty"`
	LastAgentID    string `json:"last_agent_id,omitempty"`
}

// LeadAssignment is a routed lead's assignment to the agent who accepted
// it, with the routing decision's reasons.
type LeadAssignment struct {
	LeadID     string    `json:"lead_id"`
	AgentID    string    `json:"agent_id"`
	Queue      string    `json:"queue"`
	Reasons    []string  `json:"reasons"`
	QueuedAt   time.Time `json:"queued_at"`
	AssignedAt time.Time `json:"assigned_at"`
}

// Validate checks an assignment before it is stored.
func (a LeadAssignment) Validate() error {
	return validateAssignment("lead_id", a.LeadID, a.AgentID, a.Queue, a.Reasons)
}

// HeldLead is a lead routing gave an agent that is still theirs: new or
// working, and owned by the agent of its latest routed assignment.
type HeldLead struct {
	Lead       Lead           `json:"lead"`
	Assignment LeadAssignment `json:"assignment"`
}
