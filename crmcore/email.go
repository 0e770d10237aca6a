package crmcore

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// EmailDirection says whether an email came from the customer or went to
// them.
type EmailDirection string

// The directions of an email.
const (
	EmailInbound  EmailDirection = "inbound"
	EmailOutbound EmailDirection = "outbound"
)

// Limits on what an email keeps of its message.
const (
	MaxEmailAddresses = 50
	MaxEmailText      = 200_000
	MaxAttachments    = 50
	MaxReferences     = 50
)

// EmailAttachment describes one attachment of an email and, when it was
// kept, carries its content on its way to the store. The description is
// what the desk lists; the content is served only as a download.
type EmailAttachment struct {
	// ID names a kept attachment ("" for one not kept, or one of a
	// message stored before attachments were kept).
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	// ContentType is the safer of the type sniffed from the content and
	// the type the sender declared: a name's extension or a sender's
	// word never makes content more active than it is.
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// SHA256 is the hex digest of the content.
	SHA256 string `json:"sha256,omitempty"`
	// NotKept says why the content was dropped ("" when it was kept):
	// AttachmentTooLarge or AttachmentTooMany.
	NotKept string `json:"not_kept,omitempty"`
	// Content is the attachment's bytes, never part of the JSON
	// description; nil once read back from a listing.
	Content []byte `json:"-"`
}

// Why an attachment's content was not kept.
const (
	AttachmentTooLarge = "too large"
	AttachmentTooMany  = "too many attachments"
)

// Kept reports whether the attachment's content is stored.
func (a EmailAttachment) Kept() bool { return a.NotKept == "" }

// inertTypes are the media types a browser shows without running
// anything: raster images, PDF (in its sandboxed viewer) and plain text.
var inertTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif",
	"image/x-icon", "application/pdf", "text/plain"}

// InertContentType reports whether content of type ct (parameters
// allowed) may be served under its own type; any other content is served
// as application/octet-stream.
func InertContentType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return slices.Contains(inertTypes, strings.ToLower(strings.TrimSpace(mt)))
}

// EmailMessage is one email of a ticket's thread, from the customer or
// to them. MessageID, InReplyTo and References hold message ids without
// their angle brackets.
type EmailMessage struct {
	ID          string            `json:"id"`
	TicketID    string            `json:"ticket_id"`
	Direction   EmailDirection    `json:"direction"`
	MessageID   string            `json:"message_id"`
	InReplyTo   string            `json:"in_reply_to,omitempty"`
	References  []string          `json:"references,omitempty"`
	From        string            `json:"from"` // address only
	FromName    string            `json:"from_name,omitempty"`
	To          []string          `json:"to"`
	Cc          []string          `json:"cc,omitempty"`
	Subject     string            `json:"subject"`
	Text        string            `json:"text"` // plain text; HTML is reduced to text
	Attachments []EmailAttachment `json:"attachments,omitempty"`
	// AuthorID is the agent who wrote an outbound reply ("" for the
	// system's own mail, such as an acknowledgement).
	AuthorID  string    `json:"author_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// ErrHeaderInjection is returned for a value that would carry a line break
// into an email header.
var ErrHeaderInjection = errors.New("crmcore: line break in an email header value")

// HeaderSafe reports an error wrapping ErrHeaderInjection when s holds a
// CR, LF or NUL, which would end a header line early.
func HeaderSafe(s string) error {
	if strings.ContainsAny(s, "\r\n\x00") {
		return fmt.Errorf("%w: %q", ErrHeaderInjection, s)
	}
	return nil
}

// Validate checks the message's direction, addresses and sizes.
func (m *EmailMessage) Validate() error {
	switch m.Direction {
	case EmailInbound, EmailOutbound:
	default:
		return fmt.Errorf("%w: email direction %q", ErrInvalid, m.Direction)
	}
	if m.MessageID == "" {
		return fmt.Errorf("%w: email without a message id", ErrInvalid)
	}
	if len(m.To)+len(m.Cc) > MaxEmailAddresses {
		return fmt.Errorf("%w: email to %d addresses (at most %d)", ErrInvalid, len(m.To)+len(m.Cc), MaxEmailAddresses)
	}
	if len(m.References) > MaxReferences || len(m.Attachments) > MaxAttachments {
		return fmt.Errorf("%w: email with too many references or attachments", ErrInvalid)
	}
	for _, a := range m.Attachments {
		if a.Name == "" || HeaderSafe(a.Name) != nil || HeaderSafe(a.ContentType) != nil || a.Size < 0 ||
			(a.Kept() && a.Content != nil && int64(len(a.Content)) != a.Size) {
			return fmt.Errorf("%w: email attachment %q", ErrInvalid, a.Name)
		}
	}
	if len(m.Text) > MaxEmailText {
		return fmt.Errorf("%w: email text of %d bytes (at most %d)", ErrInvalid, len(m.Text), MaxEmailText)
	}
	for _, v := range append([]string{m.MessageID, m.InReplyTo, m.From, m.FromName, m.Subject}, append(m.To, m.Cc...)...) {
		if err := HeaderSafe(v); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return nil
}

// OutboundEmail is an email waiting to go out, or gone: an
// acknowledgement or an agent's reply. It is kept in the CRM's outbox,
// written with the ticket's change it belongs to, and sent from there.
type OutboundEmail struct {
	ID string `json:"id"`
	// TicketID and Message are the ticket and the thread message (an
	// outbound EmailMessage, whose ids and text this email carries).
	TicketID string       `json:"ticket_id"`
	Message  EmailMessage `json:"message"`
	// Kind is "ack" (the acknowledgement of a new ticket) or "reply".
	Kind     string     `json:"kind"`
	Status   string     `json:"status"` // queued, sent, failed
	Attempts int        `json:"attempts"`
	LastErr  string     `json:"last_error,omitempty"`
	SentAt   *time.Time `json:"sent_at,omitempty"`
	// Relay is where it went ("" while queued; "sink" when no relay is
	// configured and the mail stays in the outbox for people to read).
	Relay string `json:"relay,omitempty"`
}

// The statuses of an outbound email.
const (
	OutboxQueued = "queued"
	OutboxSent   = "sent"
	OutboxFailed = "failed"
)

// InboundEmail is a parsed email that reached a support address: the
// store threads it into a ticket or opens one, in one transaction.
type InboundEmail struct {
	Message EmailMessage
	// ThreadIDs are the message ids it answers (In-Reply-To, then
	// References newest first); TicketNumber is the "[T-1044]" of its
	// subject (0: none). A message id known on a ticket threads first,
	// then the number, when the ticket's requester is the sender.
	ThreadIDs    []string
	TicketNumber int64
	// Group and Priority are those of a new ticket (the support address's
	// queue); SLA, when set, is its first-response and resolution target
	// (the queue's), else the policy's for its priority.
	Group    string
	Priority Priority
	SLA      *SLATarget
	// Ack, when not nil, builds the acknowledgement of a new ticket, queued
	// in the same transaction (nil from Ack: none).
	Ack func(t Ticket, requester Contact) *OutboundEmail
}

// EmailResult is what the store did with an inbound email.
type EmailResult struct {
	Ticket    Ticket
	Requester Contact
	// Created is true for a new ticket; Reopened for a solved one the
	// customer answered; Duplicate for a message id already stored (the
	// sender retried): nothing changed.
	Created, Reopened, Duplicate bool
	// ContactCreated is true when the sender was not a contact yet.
	ContactCreated bool
	// Ack is the acknowledgement queued, if any.
	Ack *OutboundEmail
}

var (
	replyPrefix = regexp.MustCompile(`(?i)^\s*(re|aw|sv|antw|odp|vs)\s*(\[[0-9]+\])?\s*:\s*`)
	anyTag      = regexp.MustCompile(`(?i)\s*\[T-[0-9]+\]`)
)

// ReplySubject returns the subject of a reply on ticket number ("T-1044"):
// "Re: <subject> [T-1044]", with one "Re:" however many the subject
// already had (in the common languages) and the ticket's tag once.
func ReplySubject(subject, number string) string {
	s := strings.TrimSpace(subject)
	for {
		t := replyPrefix.ReplaceAllString(s, "")
		if t == s {
			break
		}
		s = t
	}
	s = strings.TrimSpace(anyTag.ReplaceAllString(s, ""))
	out := "Re:"
	if s != "" {
		out += " " + s
	}
	if number != "" {
		out += " [" + number + "]"
	}
	return out
}

// ThreadReferences returns the References of a reply to last: last's
// references, then last's own id, at most MaxReferences (the oldest
// dropped, the first kept as the thread's root).
func ThreadReferences(last EmailMessage) []string {
	refs := append(slices.Clone(last.References), last.MessageID)
	if len(refs) > MaxReferences {
		refs = append(refs[:1], refs[len(refs)-MaxReferences+1:]...)
	}
	return refs
}

// NewEmailReply builds an agent's reply on ticket t to the latest email
// of thread from the customer: to the customer (requester's first
// address, else the last inbound sender), copying cc, from the support
// address from, with messageID and the threading headers. It refuses an
// empty text, a thread with no customer address, and addresses that are
// not addresses.
func NewEmailReply(t Ticket, requester Contact, thread []EmailMessage, from, text string, cc []string, messageID string, now time.Time) (EmailMessage, error) {
	text = strings.TrimSpace(text)
	if text == "" || len(text) > MaxEmailText {
		return EmailMessage{}, &FieldError{Field: "text", Reason: "required, at most 200000 bytes"}
	}
	m := EmailMessage{Direction: EmailOutbound, MessageID: messageID, From: from, Text: text, CreatedAt: now.UTC(),
		TicketID: t.ID, Subject: ReplySubject(t.Subject, t.Number)}
	var last *EmailMessage
	for i := len(thread) - 1; i >= 0; i-- {
		if thread[i].Direction == EmailInbound {
			last = &thread[i]
			break
		}
	}
	to := ""
	if len(requester.Emails) > 0 {
		to = requester.Emails[0]
	}
	if last != nil {
		m.InReplyTo, m.References = last.MessageID, ThreadReferences(*last)
		m.Subject = ReplySubject(last.Subject, t.Number)
		if to == "" {
			to = last.From
		}
	}
	if to == "" {
		return EmailMessage{}, &FieldError{Field: "to", Reason: "the ticket has no customer email address"}
	}
	m.To = []string{to}
	for _, a := range cc {
		addr, err := NormalizeEmail(a)
		if err != nil {
			return EmailMessage{}, &FieldError{Field: "cc", Reason: err.Error()}
		}
		m.Cc = append(m.Cc, addr)
	}
	if err := m.Validate(); err != nil {
		return EmailMessage{}, err
	}
	return m, nil
}

// NewMessageID returns a new Message-ID (without brackets) in domain.
func NewMessageID(domain string) string {
	if domain == "" {
		domain = "switchboard.invalid"
	}
	return NewID() + "@" + domain
}

// EmailTemplate is a canned response agents pick when they answer:
// its text may name variables ({{contact.name}}, see TemplateVars).
type EmailTemplate struct {
	Name string `json:"name" yaml:"name"`
	Text string `json:"text" yaml:"text"`
}

// TemplateVars are the variables a canned response may use: the
// customer's name and first address, the ticket's number and subject,
// the agent's name.
func TemplateVars(t Ticket, c Contact, agent Agent) map[string]string {
	email := ""
	if len(c.Emails) > 0 {
		email = c.Emails[0]
	}
	return map[string]string{
		"contact.name": c.Name, "contact.email": email,
		"ticket.number": t.Number, "ticket.subject": t.Subject,
		"agent.name": agent.Name,
	}
}

// FillTemplate replaces each {{name}} of vars in text (spaces inside the
// braces allowed); other braces stay as they are. Values are inserted as
// text: a value's own braces are not read again.
func FillTemplate(text string, vars map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(text, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(text[i+2:], "}}")
		if j < 0 {
			break
		}
		name := strings.TrimSpace(text[i+2 : i+2+j])
		v, ok := vars[name]
		if !ok {
			v = text[i : i+2+j+2]
		}
		b.WriteString(text[:i])
		b.WriteString(v)
		text = text[i+2+j+2:]
	}
	b.WriteString(text)
	return b.String()
}
