package crmapi

import (
	"context"
	"net/http"

	"switchboard/crmcore"
)

// ChatStore reads web chats and their transcripts, and emails a
// transcript to the customer.
type ChatStore interface {
	Conversation(ctx context.Context, id string) (crmcore.ChatConversation, error)
	Messages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]crmcore.ChatMessage, error)
	ContactConversations(ctx context.Context, contactID string, limit int) ([]crmcore.ChatConversation, error)
	EmailChatTranscript(ctx context.Context, agentID, id string,
		build func(t crmcore.Ticket, c crmcore.Contact, conv crmcore.ChatConversation, msgs []crmcore.ChatMessage) (crmcore.EmailMessage, error)) (crmcore.OutboundEmail, error)
}

// WithChats serves the chat transcripts over store (without it those
// endpoints answer 404).
func WithChats(store ChatStore) Option { return func(h *Handler) { h.chats = store } }

// chatTranscript is a conversation with its messages.
type chatTranscript struct {
	crmcore.ChatConversation
	Messages []crmcore.ChatMessage `json:"messages"`
}

func (h *Handler) routeChats() {
	h.mux.HandleFunc("GET /api/v1/chats/{id}", h.authed(crmcore.PermReadContacts, h.getChat))
	h.mux.HandleFunc("GET /api/v1/contacts/{id}/chats", h.authed(crmcore.PermReadContacts, h.contactChats))
	h.mux.HandleFunc("POST /api/v1/chats/{id}/transcript", h.authed(crmcore.PermManageTickets, h.emailTranscript))
}

// emailTranscript emails a chat's transcript to its customer (the email
// channel must be on): the chat is kept under a ticket, whose thread the
// email joins.
func (h *Handler) emailTranscript(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	id := r.PathValue("id")
	if h.chats == nil || h.emails == nil || !crmcore.ValidID(id) {
		h.fail(w, r, crmcore.ErrNotFound)
		return
	}
	names := map[string]string{}
	name := func(agentID string) string {
		if n, ok := names[agentID]; ok {
			return n
		}
		n := "Agent"
		if a, err := h.d.Agents.GetAgent(r.Context(), agentID); err == nil {
			n = a.Name
		}
		names[agentID] = n
		return n
	}
	out, err := h.chats.EmailChatTranscript(r.Context(), p.AgentID, id, func(t crmcore.Ticket, c crmcore.Contact, conv crmcore.ChatConversation,
		msgs []crmcore.ChatMessage) (crmcore.EmailMessage, error) {
		to := conv.Email
		if to == "" && len(c.Emails) > 0 {
			to = c.Emails[0]
		}
		if to == "" {
			return crmcore.EmailMessage{}, &crmcore.FieldError{Field: "email", Reason: "the chat's customer gave no email address"}
		}
		m := crmcore.EmailMessage{Direction: crmcore.EmailOutbound, MessageID: crmcore.NewMessageID(h.email.Domain),
			From: h.email.From, FromName: h.email.FromName, To: []string{to}, Subject: "Your chat with us [" + t.Number + "]",
			Text: crmcore.CutText(crmcore.ChatTranscript(conv, msgs, name), crmcore.MaxEmailText), CreatedAt: h.now()}
		return m, m.Validate()
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

func (h *Handler) getChat(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	if h.chats == nil {
		h.fail(w, r, crmcore.ErrNotFound)
		return
	}
	id := r.PathValue("id")
	if !crmcore.ValidID(id) {
		h.fail(w, r, crmcore.ErrNotFound)
		return
	}
	c, err := h.chats.Conversation(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ms, err := h.chats.Messages(r.Context(), id, 0, 1000)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if ms == nil {
		ms = []crmcore.ChatMessage{}
	}
	writeJSON(w, http.StatusOK, chatTranscript{ChatConversation: c, Messages: ms})
}

func (h *Handler) contactChats(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	if h.chats == nil {
		h.fail(w, r, crmcore.ErrNotFound)
		return
	}
	id := r.PathValue("id")
	if !crmcore.ValidID(id) {
		h.fail(w, r, crmcore.ErrNotFound)
		return
	}
	cs, err := h.chats.ContactConversations(r.Context(), id, 100)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if cs == nil {
		cs = []crmcore.ChatConversation{}
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.ChatConversation]{Items: cs, Count: len(cs)})
}
