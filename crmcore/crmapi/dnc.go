package crmapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"switchboard/crmcore"
)

// DNCStore keeps the do-not-call list (pgstore.Store): numbers in E.164,
// listed in number order.
type DNCStore interface {
	AddDNC(ctx context.Context, e crmcore.DNCEntry) (crmcore.DNCEntry, error)
	RemoveDNC(ctx context.Context, number string) error
	ListDNC(ctx context.Context, after string, limit int) ([]crmcore.DNCEntry, error)
}

// WithDNC serves the do-not-call list from store (without it, or with a
// nil store, those endpoints answer 404).
func WithDNC(store DNCStore) Option {
	return func(h *Handler) {
		if store != nil {
			h.dnc = store
		}
	}
}

func (h *Handler) routeDNC() {
	h.mux.HandleFunc("GET /api/v1/dnc", h.authed(crmcore.PermManageCampaigns, h.withDNC(h.listDNC)))
	h.mux.HandleFunc("POST /api/v1/dnc", h.authed(crmcore.PermManageCampaigns, h.withDNC(h.addDNC)))
	h.mux.HandleFunc("DELETE /api/v1/dnc/{number}", h.authed(crmcore.PermManageCampaigns, h.withDNC(h.removeDNC)))
}

// withDNC answers 404 when the handler has no do-not-call store.
func (h *Handler) withDNC(fn func(http.ResponseWriter, *http.Request, crmcore.Principal)) func(http.ResponseWriter, *http.Request, crmcore.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
		if h.dnc == nil {
			h.fail(w, r, crmcore.ErrNotFound)
			return
		}
		fn(w, r, p)
	}
}

// listDNC pages through the list: after is the last number of the
// previous page.
func (h *Handler) listDNC(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	q := r.URL.Query()
	after := q.Get("after")
	if strings.HasPrefix(after, " ") {
		// An E.164 number's '+' left unescaped in the query reads as a space.
		after = "+" + after[1:]
	}
	if len(after) > crmcore.MaxPhoneInputLen {
		h.fail(w, r, bad("after", "after must be a number of the list"))
		return
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		var err error
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 1000 {
			h.fail(w, r, bad("limit", "limit must be 1–1000"))
			return
		}
	}
	list, err := h.dnc.ListDNC(r.Context(), after, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.DNCEntry]{Items: list, Count: len(list)})
}

// addDNC puts a number on the list, read in the request's region when it
// is written in national form, and stored in E.164.
func (h *Handler) addDNC(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in struct {
		Number string `json:"number"`
		Reason string `json:"reason"`
	}
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	ph, err := crmcore.NormalizePhone(in.Number, h.region(r))
	if err != nil {
		reason := "not a phone number"
		var pe *crmcore.PhoneError
		if errors.As(err, &pe) {
			reason = pe.Reason
		}
		h.fail(w, r, &crmcore.FieldError{Field: "number", Reason: reason, Err: crmcore.ErrInvalidPhone})
		return
	}
	e, err := h.dnc.AddDNC(r.Context(), crmcore.DNCEntry{Number: ph.E164, Reason: in.Reason, AddedBy: p.AgentID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/dnc/"+e.Number)
	writeJSON(w, http.StatusCreated, e)
}

func (h *Handler) removeDNC(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	if err := h.dnc.RemoveDNC(r.Context(), r.PathValue("number")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
