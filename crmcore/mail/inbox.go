package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/template"
	"time"

	"switchboard/crmcore"
)

// Store is the CRM side of the email channel; the PostgreSQL store
// implements it.
type Store interface {
	// IngestEmail threads in or opens a ticket for an inbound email, stores the
	// message, and queues in.Ack's acknowledgement, in one transaction.
	IngestEmail(ctx context.Context, in crmcore.InboundEmail) (crmcore.EmailResult, error)
	// DueEmails returns up to limit queued outbound emails whose next attempt is due.
	DueEmails(ctx context.Context, now time.Time, limit int) ([]crmcore.OutboundEmail, error)
	// MarkEmailSent and MarkEmailFailed record an attempt; failed ones are retried at retryAt
	// (a zero retryAt: given up, status failed).
	MarkEmailSent(ctx context.Context, id, relay string, at time.Time) error
	MarkEmailFailed(ctx context.Context, id, reason string, retryAt time.Time) error
}

// Route is where the mail of one support address goes: the group,
// priority and SLA targets (nil: the policy's for the priority) of the
// tickets it opens.
type Route struct {
	Group    string
	Priority crmcore.Priority
	SLA      *crmcore.SLATarget
}

// AckData is what the acknowledgement template sees.
type AckData struct {
	Name    string // the requester's name ("" when unknown)
	Number  string // the ticket number, "T-1044"
	Subject string // the subject of the customer's message
}

// DefaultAckTemplate is the acknowledgement's text when InboxOptions
// gives none.
var DefaultAckTemplate = template.Must(template.New("ack").Parse(`Hello{{if .Name}} {{.Name}}{{end}},

Thank you for contacting us. We have received your message and opened ticket {{.Number}}:

    {{.Subject}}

Our team will get back to you as soon as possible. To add information, reply to this email and keep [{{.Number}}] in the subject.

This is an automatic message.
`))

// InboxOptions configure an Inbox; zero fields take the defaults.
type InboxOptions struct {
	// Domain names the message ids of the acknowledgements.
	Domain string
	// MaxMessageBytes is the largest message parsed (default 25 MiB).
	MaxMessageBytes int64
	// Attachments caps the attachments' content kept with a message.
	Attachments AttachmentLimits
	// Routes maps a support address (compared case-insensitively) to its
	// route; mail to an address without one takes DefaultRoute (priority
	// normal when unset).
	Routes       map[string]Route
	DefaultRoute Route
	// FromName is the display name of the acknowledgements' sender.
	FromName string
	// AckTemplate renders an acknowledgement's text from an AckData
	// (default DefaultAckTemplate).
	AckTemplate *template.Template
	// AckLimiter caps the acknowledgements per sender (default: 5 per hour).
	AckLimiter *AckLimiter
	// Now is the clock (default time.Now), Logger the log (default
	// slog.Default()) and Metrics the counters (default: unregistered).
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics *Metrics
}

// Inbox turns received messages into tickets: it parses each one, picks
// the route of the support address it was sent to, and has the store
// thread it or open a ticket, with an acknowledgement for a new ticket
// when the message came from a person.
type Inbox struct {
	store Store
	opts  InboxOptions
	log   *slog.Logger
}

var _ Deliverer = (*Inbox)(nil)

// NewInbox returns an inbox that stores into store.
func NewInbox(store Store, opts InboxOptions) *Inbox {
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opts.AckTemplate == nil {
		opts.AckTemplate = DefaultAckTemplate
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AckLimiter == nil {
		opts.AckLimiter = NewAckLimiter(AckLimiterOptions{Now: opts.Now})
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.DefaultRoute.Priority == 0 {
		opts.DefaultRoute.Priority = crmcore.PriorityNormal
	}
	routes := make(map[string]Route, len(opts.Routes))
	for a, r := range opts.Routes {
		if r.Priority == 0 {
			r.Priority = crmcore.PriorityNormal
		}
		routes[strings.ToLower(a)] = r
	}
	opts.Routes = routes
	return &Inbox{store: store, opts: opts, log: opts.Logger}
}

// Deliver parses the message read from data and stores it. from is the
// SMTP envelope sender ("" for the null sender of bounces) and rcpt the
// support addresses it was accepted for. A message that cannot be parsed,
// or that the store refuses as invalid, gives an error wrapping
// ErrMalformed; a store failure is returned as it is (the sender retries).
func (ib *Inbox) Deliver(ctx context.Context, from string, rcpt []string, data io.Reader) error {
	m := ib.opts.Metrics
	p, err := ParseWith(data, ParseOptions{MaxMessageBytes: ib.opts.MaxMessageBytes, Attachments: ib.opts.Attachments})
	if err != nil {
		m.Received.WithLabelValues("refused").Inc()
		if errors.Is(err, ErrMalformed) || errors.Is(err, ErrTooLarge) {
			m.ParseErrors.Inc()
		}
		return err
	}
	msg := p.Message
	if from == "" || autoSender(from) {
		p.AutoGenerated = true // a bounce or other machine mail, whatever its header says
	}
	if msg.From == "" {
		addr, err := crmcore.NormalizeEmail(from)
		if err != nil {
			m.Received.WithLabelValues("refused").Inc()
			m.ParseErrors.Inc()
			return fmt.Errorf("%w: no sender address", ErrMalformed)
		}
		msg.From = addr
	}
	msg.CreatedAt = ib.opts.Now().UTC()

	support, route := ib.route(rcpt)
	in := crmcore.InboundEmail{
		Message:      msg,
		ThreadIDs:    p.ThreadIDs,
		TicketNumber: p.TicketNumber,
		Group:        route.Group,
		Priority:     route.Priority,
		SLA:          route.SLA,
	}
	suppressed := ""
	switch {
	case p.Loop:
		suppressed = "loop"
	case p.AutoGenerated:
		suppressed = "auto"
	case support == "":
		suppressed = "auto" // no support address to answer from
	default:
		in.Ack = func(t crmcore.Ticket, requester crmcore.Contact) *crmcore.OutboundEmail {
			if !ib.opts.AckLimiter.Allow(msg.From) {
				suppressed = "limit"
				return nil
			}
			return ib.ack(support, msg, t, requester)
		}
	}

	res, err := ib.store.IngestEmail(ctx, in)
	if err != nil {
		m.Received.WithLabelValues("refused").Inc()
		if errors.Is(err, crmcore.ErrInvalid) {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return fmt.Errorf("mail: storing the message: %w", err)
	}
	switch {
	case res.Duplicate:
		m.Received.WithLabelValues("duplicate").Inc()
	case res.Created:
		m.Received.WithLabelValues("ticket_created").Inc()
		if res.Ack == nil && suppressed != "" {
			m.AcksSuppressed.WithLabelValues(suppressed).Inc()
		}
	default:
		m.Received.WithLabelValues("threaded").Inc()
	}
	ib.log.Info("mail: message stored", "ticket", res.Ticket.Number, "message_id", msg.MessageID,
		"created", res.Created, "duplicate", res.Duplicate, "ack", res.Ack != nil)
	return nil
}

// route picks the first recipient with a route, or the first recipient
// with the default route.
func (ib *Inbox) route(rcpt []string) (string, Route) {
	for _, a := range rcpt {
		if r, ok := ib.opts.Routes[strings.ToLower(a)]; ok {
			return strings.ToLower(a), r
		}
	}
	for _, a := range rcpt {
		if addr, err := crmcore.NormalizeEmail(a); err == nil {
			return addr, ib.opts.DefaultRoute
		}
	}
	return "", ib.opts.DefaultRoute
}

// ack builds the acknowledgement of ticket t opened by msg: an answer in
// the customer's thread, from the support address they wrote to.
func (ib *Inbox) ack(support string, msg crmcore.EmailMessage, t crmcore.Ticket, requester crmcore.Contact) *crmcore.OutboundEmail {
	name := requester.Name
	if name == "" {
		name = msg.FromName
	}
	var text strings.Builder
	data := AckData{Name: name, Number: t.Number, Subject: msg.Subject}
	if err := ib.opts.AckTemplate.Execute(&text, data); err != nil {
		ib.log.Error("mail: acknowledgement template failed", "ticket", t.Number, "err", err)
		return nil
	}
	refs := append(slices.Clone(msg.References), msg.MessageID)
	if len(refs) > crmcore.MaxReferences {
		refs = refs[len(refs)-crmcore.MaxReferences:]
	}
	now := ib.opts.Now().UTC()
	out := crmcore.EmailMessage{
		ID:         crmcore.NewID(),
		TicketID:   t.ID,
		Direction:  crmcore.EmailOutbound,
		MessageID:  crmcore.NewMessageID(ib.opts.Domain),
		InReplyTo:  msg.MessageID,
		References: refs,
		From:       support,
		FromName:   ib.opts.FromName,
		To:         []string{msg.From},
		Subject:    crmcore.ReplySubject(msg.Subject, t.Number),
		Text:       cleanText(text.String(), crmcore.MaxEmailText),
		CreatedAt:  now,
	}
	return &crmcore.OutboundEmail{
		ID:       crmcore.NewID(),
		TicketID: t.ID,
		Message:  out,
		Kind:     "ack",
		Status:   crmcore.OutboxQueued,
	}
}
