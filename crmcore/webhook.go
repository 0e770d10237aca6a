package crmcore

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhook event types: what an outside system may subscribe to. Each is
// recorded in the same transaction as the data it reports.
const (
	// EventInteractionCompleted: an interaction record was completed (any
	// outcome but in progress); the payload is the Interaction.
	EventInteractionCompleted = "interaction.completed"
	// EventTicketCreated: a ticket was created; the payload is the Ticket.
	EventTicketCreated = "ticket.created"
	// EventTicketUpdated: a ticket's fields or status changed; the payload
	// is the Ticket after the change with the changes (audit entries).
	EventTicketUpdated = "ticket.updated"
	// EventTaskQueued: a work item started waiting for an agent; the
	// payload is a TaskEvent.
	EventTaskQueued = "task.queued"
	// EventTaskAbandoned: the customer gave up waiting (outcome abandoned
	// or short-abandon); the payload is the Interaction.
	EventTaskAbandoned = "task.abandoned"
	// EventSurveyAnswered: a post-contact survey was answered (a wrap-up
	// with a survey score or answers); the payload is the WrapUp.
	EventSurveyAnswered = "survey.answered"
)

// WebhookEventTypes lists every event type, sorted.
var WebhookEventTypes = []string{EventInteractionCompleted, EventSurveyAnswered, EventTaskAbandoned,
	EventTaskQueued, EventTicketCreated, EventTicketUpdated}

// WebhookNotifyChannel is the PostgreSQL NOTIFY channel signalled when
// events are added to the outbox, so that the dispatcher wakes at once
// rather than at its next poll.
const WebhookNotifyChannel = "switchboard_webhook_events"

// TaskChannelTicket is the routing channel of tickets waiting for an agent.
const TaskChannelTicket = "ticket"

// TaskEvent is the payload of EventTaskQueued.
type TaskEvent struct {
	Channel  string    `json:"channel"` // the routing channel (TaskChannelTicket, phone, chat …)
	TicketID string    `json:"ticket_id,omitempty"`
	Number   string    `json:"number,omitempty"` // the ticket's number (T-1001)
	Cause    string    `json:"cause,omitempty"`  // why it waits (new, reopened)
	Since    time.Time `json:"since"`
	// For a call or another task the ACD queued: its queue, task id (the
	// call's id) and interaction.
	Queue         string `json:"queue,omitempty"`
	TaskID        string `json:"task_id,omitempty"`
	InteractionID string `json:"interaction_id,omitempty"`
}

// TicketUpdate is the payload of EventTicketUpdated.
type TicketUpdate struct {
	Ticket  Ticket       `json:"ticket"`
	Changes []AuditEntry `json:"changes"`
}

// MaxWebhookURL is the longest subscription URL accepted, in bytes.
const MaxWebhookURL = 2048

// WebhookSubscription sends the events of the listed types to URL, signed
// with Secret.
type WebhookSubscription struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	// Secret is the HMAC key of the signatures. It is shown only in the
	// answer to the subscription's creation.
	Secret    string    `json:"secret,omitempty"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// Wants reports whether the subscription is active and takes events of typ.
func (s WebhookSubscription) Wants(typ string) bool {
	return s.Active && slices.Contains(s.EventTypes, typ)
}

// Validate checks the URL and the event types, and sorts and deduplicates
// the types.
func (s *WebhookSubscription) Validate() error {
	if err := ValidateWebhookURL(s.URL); err != nil {
		return err
	}
	if len(s.EventTypes) == 0 {
		return invalid("event_types", "at least one event type is required")
	}
	for i, t := range s.EventTypes {
		if !slices.Contains(WebhookEventTypes, t) {
			return invalid("event_types", "unknown event type at index "+strconv.Itoa(i)+" (known: "+strings.Join(WebhookEventTypes, ", ")+")")
		}
	}
	slices.Sort(s.EventTypes)
	s.EventTypes = slices.Compact(s.EventTypes)
	return nil
}

// ValidateWebhookURL accepts an absolute http or https URL with a host and
// without credentials or a fragment.
func ValidateWebhookURL(raw string) error {
	if raw == "" {
		return invalid("url", "required")
	}
	if len(raw) > MaxWebhookURL || !validLine(raw) || strings.ContainsAny(raw, " \t") {
		return invalid("url", "too long or invalid characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("url", "not a URL")
	}
	switch {
	case (u.Scheme != "http" && u.Scheme != "https") || !strings.HasPrefix(raw, u.Scheme+"://"):
		return invalid("url", "scheme must be http:// or https://")
	case u.Host == "" || u.Hostname() == "":
		return invalid("url", "host required")
	case u.User != nil:
		return invalid("url", "credentials in the URL are not allowed")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return invalid("url", "fragment not allowed")
	}
	return nil
}

// WebhookAttempt is one attempt at delivering an event to a subscription.
// Every attempt of one delivery, retries included, shares its DeliveryID,
// which the receiver sees in X-Switchboard-Delivery.
type WebhookAttempt struct {
	ID             int64     `json:"id"`
	DeliveryID     string    `json:"delivery_id"`
	SubscriptionID string    `json:"subscription_id"`
	EventID        int64     `json:"event_id"`
	EventType      string    `json:"event_type"`
	Attempt        int       `json:"attempt"`
	StatusCode     int       `json:"status_code,omitempty"` // 0 when no response came
	Error          string    `json:"error,omitempty"`
	DurationMS     int64     `json:"duration_ms"`
	At             time.Time `json:"at"`
}

// OK reports whether the attempt delivered the event (a 2xx answer).
func (a WebhookAttempt) OK() bool { return a.StatusCode >= 200 && a.StatusCode < 300 && a.Error == "" }

// WebhookPatch changes a subscription; nil fields are kept.
type WebhookPatch struct {
	URL        *string   `json:"url,omitempty"`
	EventTypes *[]string `json:"event_types,omitempty"`
	Active     *bool     `json:"active,omitempty"`
}

// Apply changes s as p says and validates the result.
func (p WebhookPatch) Apply(s *WebhookSubscription) error {
	if p.URL != nil {
		s.URL = *p.URL
	}
	if p.EventTypes != nil {
		s.EventTypes = slices.Clone(*p.EventTypes)
	}
	if p.Active != nil {
		s.Active = *p.Active
	}
	return s.Validate()
}
