package crmapi

import (
	"context"
	"net/http"

	"switchboard/crmcore"
)

// ChatStore reads web chats and their transcripts.
type ChatStore interface {
	Conversation(ctx context.Context, id string) (crmcore.ChatConversation, error)
	Messages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]crmcore.ChatMessage, error)
	ContactConversations(ctx context.Context, contactID string, limit int) ([]crmcore.ChatConversation, error)
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
