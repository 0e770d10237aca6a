package crmcore

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TicketStatus is a ticket's place in its lifecycle.
type TicketStatus int

// Ticket statuses, in lifecycle order.
const (
	StatusNew TicketStatus = iota + 1
	StatusOpen
	StatusPending
	StatusSolved
	StatusClosed
)

// AllTicketStatuses lists every status, in lifecycle order.
var AllTicketStatuses = []TicketStatus{StatusNew, StatusOpen, StatusPending, StatusSolved, StatusClosed}

var statusNames = map[TicketStatus]string{
	StatusNew: "new", StatusOpen: "open", StatusPending: "pending",
	StatusSolved: "solved", StatusClosed: "closed",
}

// ticketTransitions is the complete status machine: a status may move only to
// the statuses listed for it. Solved → open is "reopen"; closed is final.
var ticketTransitions = map[TicketStatus][]TicketStatus{
	StatusNew:     {StatusOpen, StatusPending, StatusSolved},
	StatusOpen:    {StatusPending, StatusSolved},
	StatusPending: {StatusOpen, StatusSolved},
	StatusSolved:  {StatusOpen, StatusClosed},
	StatusClosed:  {},
}

// String returns the lower-case name used in JSON, SQL and CSV.
func (s TicketStatus) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "TicketStatus(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the defined statuses.
func (s TicketStatus) Valid() bool { _, ok := statusNames[s]; return ok }

// Open reports whether a ticket in status s still needs work (new, open or pending).
func (s TicketStatus) Open() bool {
	return s == StatusNew || s == StatusOpen || s == StatusPending
}

// Next returns the statuses s may move to, in lifecycle order.
func (s TicketStatus) Next() []TicketStatus {
	return slices.Clone(ticketTransitions[s])
}

// To validates the transition from s to next against the transition table.
// A refused transition returns a *TransitionError wrapping ErrInvalidTransition.
func (s TicketStatus) To(next TicketStatus) error {
	if slices.Contains(ticketTransitions[s], next) {
		return nil
	}
	return &TransitionError{From: s, To: next, Allowed: s.Next()}
}

// MarshalText implements encoding.TextMarshaler.
func (s TicketStatus) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("crmcore: invalid ticket status %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *TicketStatus) UnmarshalText(b []byte) error {
	v, err := ParseTicketStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseTicketStatus parses a status name ("new", "open", …), case-insensitively.
func ParseTicketStatus(s string) (TicketStatus, error) {
	for k, n := range statusNames {
		if strings.EqualFold(n, s) {
			return k, nil
		}
	}
	return 0, invalid("status", fmt.Sprintf("unknown status %q (want one of new, open, pending, solved, closed)", truncate(s, 32)))
}

// TransitionError is a refused ticket status change. It names the statuses
// that were allowed from From.
type TransitionError struct {
	From, To TicketStatus
	Allowed  []TicketStatus
}

// Error implements error.
func (e *TransitionError) Error() string {
	names := make([]string, len(e.Allowed))
	for i, s := range e.Allowed {
		names[i] = s.String()
	}
	allowed := strings.Join(names, ", ")
	if allowed == "" {
		allowed = "none, " + e.From.String() + " is final"
	}
	return fmt.Sprintf("crmcore: ticket cannot go from %s to %s (allowed: %s)", e.From, e.To, allowed)
}

// Unwrap returns ErrInvalidTransition.
func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }

// Priority is a ticket's urgency; it selects the SLA targets.
type Priority int

// Ticket priorities, lowest first.
const (
	PriorityLow Priority = iota + 1
	PriorityNormal
	PriorityHigh
	PriorityUrgent
)

var priorityNames = map[Priority]string{
	PriorityLow: "low", PriorityNormal: "normal", PriorityHigh: "high", PriorityUrgent: "urgent",
}

// String returns the lower-case name.
func (p Priority) String() string {
	if n, ok := priorityNames[p]; ok {
		return n
	}
	return "Priority(" + strconv.Itoa(int(p)) + ")"
}

// Valid reports whether p is one of the defined priorities.
func (p Priority) Valid() bool { _, ok := priorityNames[p]; return ok }

// MarshalText implements encoding.TextMarshaler.
func (p Priority) MarshalText() ([]byte, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("crmcore: invalid priority %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ParsePriority parses "low", "normal", "high" or "urgent", case-insensitively.
func ParsePriority(s string) (Priority, error) {
	for k, n := range priorityNames {
		if strings.EqualFold(n, s) {
			return k, nil
		}
	}
	return 0, invalid("priority", fmt.Sprintf("unknown priority %q (want one of low, normal, high, urgent)", truncate(s, 32)))
}

// Channel is the medium a ticket or interaction came through.
type Channel string

// Channels.
const (
	ChannelPhone Channel = "phone"
	ChannelEmail Channel = "email"
	ChannelWeb   Channel = "web"
	ChannelChat  Channel = "chat"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	return c == ChannelPhone || c == ChannelEmail || c == ChannelWeb || c == ChannelChat
}

// FormatTicketNumber renders a ticket's sequence number as shown to humans: "T-1042".
func FormatTicketNumber(n int64) string { return "T-" + strconv.FormatInt(n, 10) }

// ParseTicketNumber accepts "T-1042", "t-1042" or "1042".
func ParseTicketNumber(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if len(t) >= 2 && (t[0] == 'T' || t[0] == 't') && t[1] == '-' {
		t = t[2:]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, invalid("number", fmt.Sprintf("bad ticket number %q (want T-1042)", truncate(s, 32)))
	}
	return n, nil
}

// Ticket is a help-desk ticket.
type Ticket struct {
	ID          string       `json:"id"`
	Number      string       `json:"number"` // "T-1042"
	Subject     string       `json:"subject"`
	Description string       `json:"description,omitempty"`
	Status      TicketStatus `json:"status"`
	Priority    Priority     `json:"priority"`
	Channel     Channel      `json:"channel"`
	RequesterID string       `json:"requester_id,omitempty"` // contact
	AssigneeID  string       `json:"assignee_id,omitempty"`  // agent
	Group       string       `json:"group,omitempty"`        // queue / team
	Tags        []string     `json:"tags"`

	FirstResponseDue time.Time  `json:"first_response_due"`
	ResolutionDue    time.Time  `json:"resolution_due"`
	FirstRespondedAt *time.Time `json:"first_responded_at,omitempty"`
	SolvedAt         *time.Time `json:"solved_at,omitempty"`
	ClosedAt         *time.Time `json:"closed_at,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`

	// Breach flags, computed by Evaluate at read time.
	FirstResponseBreached bool `json:"first_response_breached"`
	ResolutionBreached    bool `json:"resolution_breached"`
}

// Evaluate sets the breach flags as seen at now: the first response is
// breached when it came after its due time or has not come and now is past
// it; the resolution likewise with SolvedAt.
func (t *Ticket) Evaluate(now time.Time) {
	t.FirstResponseBreached = breached(t.FirstResponseDue, t.FirstRespondedAt, now)
	t.ResolutionBreached = breached(t.ResolutionDue, t.SolvedAt, now)
}

func breached(due time.Time, done *time.Time, now time.Time) bool {
	if due.IsZero() {
		return false
	}
	if done != nil {
		return done.After(due)
	}
	return now.After(due)
}

// ApplyTransition moves t to next at time at, validating the edge and
// stamping SolvedAt/ClosedAt (cleared again on reopen).
func (t *Ticket) ApplyTransition(next TicketStatus, at time.Time) error {
	if err := t.Status.To(next); err != nil {
		return err
	}
	switch next {
	case StatusSolved:
		t.SolvedAt = &at
	case StatusClosed:
		t.ClosedAt = &at
	case StatusOpen:
		if t.Status == StatusSolved { // reopen
			t.SolvedAt = nil
		}
	}
	if next != StatusNew && t.FirstRespondedAt == nil && next != StatusOpen {
		// Moving a ticket on counts as the first response.
		t.FirstRespondedAt = &at
	}
	t.Status = next
	t.UpdatedAt = at
	return nil
}

// TicketInput is the caller-supplied part of a new ticket.
type TicketInput struct {
	Subject     string   `json:"subject"`
	Description string   `json:"description"`
	Priority    Priority `json:"priority"`
	Channel     Channel  `json:"channel"`
	RequesterID string   `json:"requester_id"`
	AssigneeID  string   `json:"assignee_id"`
	Group       string   `json:"group"`
	Tags        []string `json:"tags"`
}

// Limits on free text.
const (
	MaxSubjectLen = 200
	MaxTextLen    = 20000
	MaxTags       = 32
	MaxTagLen     = 64
)

// NewTicket validates in and returns a ticket in status new, created at now,
// with due times from the SLA policy. ID and Number are assigned by the store.
func NewTicket(in TicketInput, sla SLAPolicy, now time.Time) (Ticket, error) {
	if in.Priority == 0 {
		in.Priority = PriorityNormal
	}
	if in.Channel == "" {
		in.Channel = ChannelPhone
	}
	t := Ticket{
		Subject: strings.TrimSpace(in.Subject), Description: in.Description,
		Status: StatusNew, Priority: in.Priority, Channel: in.Channel,
		RequesterID: in.RequesterID, AssigneeID: in.AssigneeID, Group: strings.TrimSpace(in.Group),
		CreatedAt: now.UTC(), UpdatedAt: now.UTC(),
	}
	tags, err := NormalizeTags(in.Tags)
	if err != nil {
		return Ticket{}, err
	}
	t.Tags = tags
	if err := t.Validate(); err != nil {
		return Ticket{}, err
	}
	t.FirstResponseDue, t.ResolutionDue = sla.Due(t.Priority, t.CreatedAt)
	return t, nil
}

// Validate checks the fields a caller may set.
func (t *Ticket) Validate() error {
	switch {
	case t.Subject == "":
		return invalid("subject", "required")
	case len(t.Subject) > MaxSubjectLen:
		return invalid("subject", fmt.Sprintf("longer than %d bytes", MaxSubjectLen))
	case !validText(t.Subject):
		return invalid("subject", "contains control characters or invalid UTF-8")
	case len(t.Description) > MaxTextLen:
		return invalid("description", fmt.Sprintf("longer than %d bytes", MaxTextLen))
	case !validText(t.Description):
		return invalid("description", "contains NUL or invalid UTF-8")
	case !t.Priority.Valid():
		return invalid("priority", "want one of low, normal, high, urgent")
	case !t.Channel.Valid():
		return invalid("channel", "want one of phone, email, web")
	case !t.Status.Valid():
		return invalid("status", "unknown status")
	case len(t.Group) > MaxTagLen || !validText(t.Group):
		return invalid("group", "too long or invalid characters")
	}
	if t.RequesterID != "" && !ValidID(t.RequesterID) {
		return invalid("requester_id", "not a UUID")
	}
	if t.AssigneeID != "" && !ValidID(t.AssigneeID) {
		return invalid("assignee_id", "not a UUID")
	}
	return nil
}

// Comment is a note on a ticket: public (seen by the requester) or internal.
type Comment struct {
	ID        string    `json:"id"`
	TicketID  string    `json:"ticket_id"`
	AuthorID  string    `json:"author_id"`
	Body      string    `json:"body"`
	Public    bool      `json:"public"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate checks the comment body.
func (c *Comment) Validate() error {
	switch {
	case strings.TrimSpace(c.Body) == "":
		return invalid("body", "required")
	case len(c.Body) > MaxTextLen:
		return invalid("body", fmt.Sprintf("longer than %d bytes", MaxTextLen))
	case !validText(c.Body):
		return invalid("body", "contains NUL or invalid UTF-8")
	}
	return nil
}

// AuditEntry is one append-only record of a change to a ticket.
type AuditEntry struct {
	ID       int64     `json:"id"`
	TicketID string    `json:"ticket_id"`
	ActorID  string    `json:"actor_id,omitempty"` // agent; empty for the system
	At       time.Time `json:"at"`
	Action   string    `json:"action"` // "created", "updated", "transition", "comment"
	Field    string    `json:"field,omitempty"`
	Old      string    `json:"old,omitempty"`
	New      string    `json:"new,omitempty"`
}

// TicketPatch is a partial update; nil fields are left unchanged. Status is
// changed only through transitions.
type TicketPatch struct {
	Subject     *string   `json:"subject"`
	Description *string   `json:"description"`
	Priority    *Priority `json:"priority"`
	AssigneeID  *string   `json:"assignee_id"` // "" unassigns
	Group       *string   `json:"group"`
	Tags        *[]string `json:"tags"`
}

// Apply applies p to t and returns the audit entries (without IDs, ticket,
// actor or time) describing what changed. When the priority changes, the SLA
// due times are recomputed from the ticket's creation time.
func (p TicketPatch) Apply(t *Ticket, sla SLAPolicy) ([]AuditEntry, error) {
	var changes []AuditEntry
	set := func(field, old, new string) {
		if old != new {
			changes = append(changes, AuditEntry{Action: "updated", Field: field, Old: old, New: new})
		}
	}
	if p.Subject != nil {
		set("subject", t.Subject, strings.TrimSpace(*p.Subject))
		t.Subject = strings.TrimSpace(*p.Subject)
	}
	if p.Description != nil {
		set("description", truncate(t.Description, 200), truncate(*p.Description, 200))
		t.Description = *p.Description
	}
	if p.Priority != nil {
		set("priority", t.Priority.String(), p.Priority.String())
		if t.Priority != *p.Priority {
			t.Priority = *p.Priority
			if t.Priority.Valid() {
				t.FirstResponseDue, t.ResolutionDue = sla.Due(t.Priority, t.CreatedAt)
			}
		}
	}
	if p.AssigneeID != nil {
		set("assignee_id", t.AssigneeID, *p.AssigneeID)
		t.AssigneeID = *p.AssigneeID
	}
	if p.Group != nil {
		set("group", t.Group, strings.TrimSpace(*p.Group))
		t.Group = strings.TrimSpace(*p.Group)
	}
	if p.Tags != nil {
		tags, err := NormalizeTags(*p.Tags)
		if err != nil {
			return nil, err
		}
		set("tags", strings.Join(t.Tags, ","), strings.Join(tags, ","))
		t.Tags = tags
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return changes, nil
}

// NormalizeTags lower-cases, trims, de-duplicates and sorts tags.
func NormalizeTags(in []string) ([]string, error) {
	if len(in) > MaxTags {
		return nil, invalid("tags", fmt.Sprintf("more than %d tags", MaxTags))
	}
	out := make([]string, 0, len(in))
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if len(t) > MaxTagLen || !validText(t) || strings.ContainsAny(t, ",;") {
			return nil, invalid("tags", fmt.Sprintf("bad tag %q", truncate(t, 32)))
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// TicketFilter selects tickets for listing. Zero fields do not filter.
type TicketFilter struct {
	Status      []TicketStatus
	Priority    []Priority
	AssigneeID  string
	RequesterID string
	Breached    *bool // only tickets whose first-response or resolution SLA is (not) breached now
	Limit       int   // default 50, max 500
	Offset      int
}
