package crmapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"switchboard/crmcore"
)

// CallbackStore keeps the callbacks owed to customers
// (crmcore/callbacks.Service).
type CallbackStore interface {
	Schedule(ctx context.Context, in crmcore.CallbackInput, by string) (crmcore.Callback, error)
	Get(ctx context.Context, id string) (crmcore.Callback, error)
	List(ctx context.Context, f crmcore.CallbackFilter) ([]crmcore.Callback, error)
	Cancel(ctx context.Context, id string) (crmcore.Callback, error)
}

// WithCallbacks serves scheduled callbacks from store (without it, or
// with a nil store, those endpoints answer 404).
func WithCallbacks(store CallbackStore) Option {
	return func(h *Handler) {
		if store != nil {
			h.callbacks = store
		}
	}
}

func (h *Handler) routeCallbacks() {
	h.mux.HandleFunc("GET /api/v1/callbacks", h.authed(crmcore.PermManageTickets, h.withCallbacks(h.listCallbacks)))
	h.mux.HandleFunc("POST /api/v1/callbacks", h.authed(crmcore.PermManageTickets, h.withCallbacks(h.scheduleCallback)))
	h.mux.HandleFunc("GET /api/v1/callbacks/{id}", h.authed(crmcore.PermManageTickets, h.withCallbacks(h.getCallback)))
	h.mux.HandleFunc("POST /api/v1/callbacks/{id}/cancel", h.authed(crmcore.PermManageTickets, h.withCallbacks(h.cancelCallback)))
}

// withCallbacks answers 404 when the handler has no callback store.
func (h *Handler) withCallbacks(fn func(http.ResponseWriter, *http.Request, crmcore.Principal)) func(http.ResponseWriter, *http.Request, crmcore.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
		if h.callbacks == nil {
			h.fail(w, r, crmcore.ErrNotFound)
			return
		}
		fn(w, r, p)
	}
}

// seesCallback reports whether p may see cb: supervisors and admins see
// every callback, an agent those offered to them first or that they
// scheduled.
func seesCallback(p crmcore.Principal, cb crmcore.Callback) bool {
	return p.Role.Can(crmcore.PermReadAllInteractions) || cb.AgentID == p.AgentID || cb.CreatedBy == p.AgentID
}

func (h *Handler) scheduleCallback(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in crmcore.CallbackInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.AgentID == "me" {
		in.AgentID = p.AgentID
	}
	cb, err := h.callbacks.Schedule(r.Context(), in, p.AgentID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/callbacks/"+cb.ID)
	writeJSON(w, http.StatusCreated, cb)
}

func (h *Handler) getCallback(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	cb, err := h.callbacks.Get(r.Context(), r.PathValue("id"))
	if err == nil && !seesCallback(p, cb) {
		err = crmcore.ErrNotFound
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cb)
}

// listCallbacks lists callbacks by state, contact, agent and due time; an
// agent without the right to read every interaction sees only the
// callbacks offered to them first.
func (h *Handler) listCallbacks(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	q := r.URL.Query()
	f := crmcore.CallbackFilter{State: q.Get("state")}
	var err error
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if s := q.Get(name); s != "" {
			if *dst, err = time.Parse(time.RFC3339, s); err != nil {
				h.fail(w, r, bad(name, name+" must be an RFC 3339 time, e.g. 2026-03-02T09:00:00Z"))
				return
			}
		}
	}
	if f.ContactID, err = idParam(q.Get("contact"), "contact", p); err != nil {
		h.fail(w, r, err)
		return
	}
	if f.AgentID, err = idParam(q.Get("agent"), "agent", p); err != nil {
		h.fail(w, r, err)
		return
	}
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil || f.Limit < 1 || f.Limit > 500 {
			h.fail(w, r, bad("limit", "limit must be 1–500"))
			return
		}
	}
	if !p.Role.Can(crmcore.PermReadAllInteractions) {
		if f.AgentID != "" && f.AgentID != p.AgentID {
			h.fail(w, r, crmcore.ErrForbidden)
			return
		}
		f.AgentID = p.AgentID
	}
	list, err := h.callbacks.List(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.Callback]{Items: list, Count: len(list)})
}

// cancelCallback cancels a callback not yet done: supervisors and admins
// any, an agent one they scheduled or that is offered to them first.
func (h *Handler) cancelCallback(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	cb, err := h.callbacks.Get(r.Context(), r.PathValue("id"))
	if err == nil && !seesCallback(p, cb) {
		err = crmcore.ErrNotFound
	}
	if err == nil {
		cb, err = h.callbacks.Cancel(r.Context(), cb.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cb)
}
