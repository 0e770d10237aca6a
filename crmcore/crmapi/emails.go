package crmapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"switchboard/crmcore"
)

// EmailStore keeps tickets' email threads and the outbox.
type EmailStore interface {
	TicketEmails(ctx context.Context, number int64) ([]crmcore.EmailMessage, error)
	ReplyEmail(ctx context.Context, agentID string, number int64,
		build func(t crmcore.Ticket, requester crmcore.Contact, thread []crmcore.EmailMessage) (crmcore.EmailMessage, error)) (crmcore.OutboundEmail, error)
	Outbox(ctx context.Context, limit int) ([]crmcore.OutboundEmail, error)
	// EmailAttachment returns a kept attachment of ticket number's emails,
	// with its content (crmcore.ErrNotFound when that ticket has none with
	// that id).
	EmailAttachment(ctx context.Context, number int64, id string) (crmcore.EmailAttachment, error)
}

// EmailSettings is what agents' email replies need: the support address
// they come from (and its display name), the domain of their message ids, the canned responses
// agents pick from, and Queued, told when a reply is queued (it wakes
// the outbox).
type EmailSettings struct {
	From      string
	FromName  string
	Domain    string
	Templates []crmcore.EmailTemplate
	Queued    func()
}

// WithEmail serves the email endpoints over store (without it they
// answer 404).
func WithEmail(store EmailStore, s EmailSettings) Option {
	return func(h *Handler) { h.emails, h.email = store, s }
}

func (h *Handler) routeEmails() {
	m := h.mux
	m.HandleFunc("GET /api/v1/tickets/{number}/emails", h.authed(crmcore.PermManageTickets, h.listEmails))
	m.HandleFunc("POST /api/v1/tickets/{number}/emails", h.authed(crmcore.PermManageTickets, h.replyEmail))
	m.HandleFunc("GET /api/v1/tickets/{number}/attachments/{id}", h.authed(crmcore.PermManageTickets, h.getAttachment))
	m.HandleFunc("GET /api/v1/email/outbox", h.authed(crmcore.PermManageTickets, h.outbox))
	m.HandleFunc("GET /api/v1/email/templates", h.authed(crmcore.PermManageTickets, h.emailTemplates))
}

// emailTicket is the ticket number of an email request; without the email
// channel there is none.
func (h *Handler) emailTicket(r *http.Request) (int64, error) {
	if h.emails == nil {
		return 0, crmcore.ErrNotFound
	}
	return ticketNumber(r)
}

func (h *Handler) listEmails(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	n, err := h.emailTicket(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ms, err := h.emails.TicketEmails(r.Context(), n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[emailView]{Items: emailViews(n, ms), Count: len(ms)})
}

// emailReplyRequest is an agent's reply: its text (a canned response's
// variables filled in by the server), and the addresses copied.
type emailReplyRequest struct {
	Text string   `json:"text"`
	Cc   []string `json:"cc"`
}

func (h *Handler) replyEmail(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	n, err := h.emailTicket(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req emailReplyRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	agent, err := h.d.Agents.GetAgent(r.Context(), p.AgentID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.emails.ReplyEmail(r.Context(), p.AgentID, n, func(t crmcore.Ticket, c crmcore.Contact, thread []crmcore.EmailMessage) (crmcore.EmailMessage, error) {
		text := crmcore.FillTemplate(req.Text, crmcore.TemplateVars(t, c, agent))
		m, err := crmcore.NewEmailReply(t, c, thread, h.email.From, text, req.Cc, crmcore.NewMessageID(h.email.Domain), h.now())
		m.FromName = h.email.FromName
		return m, err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.email.Queued != nil {
		h.email.Queued()
	}
	writeJSON(w, http.StatusCreated, out)
}

func (h *Handler) outbox(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 1000 {
			h.fail(w, r, &crmcore.FieldError{Field: "limit", Reason: "1 to 1000"})
			return
		}
		limit = n
	}
	if h.emails == nil {
		h.fail(w, r, crmcore.ErrNotFound)
		return
	}
	out, err := h.emails.Outbox(r.Context(), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.OutboundEmail]{Items: out, Count: len(out)})
}

func (h *Handler) emailTemplates(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	ts := h.email.Templates
	if ts == nil {
		ts = []crmcore.EmailTemplate{}
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.EmailTemplate]{Items: ts, Count: len(ts)})
}
