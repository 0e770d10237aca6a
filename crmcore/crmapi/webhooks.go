package crmapi

import (
	"context"
	"net/http"
	"strconv"

	"switchboard/crmcore"
)

// WebhookStore manages webhook subscriptions, their delivery log and
// replays (crmcore/webhook.Service).
type WebhookStore interface {
	CreateWebhook(ctx context.Context, sub crmcore.WebhookSubscription) (crmcore.WebhookSubscription, error)
	GetWebhook(ctx context.Context, id string) (crmcore.WebhookSubscription, error)
	ListWebhooks(ctx context.Context) ([]crmcore.WebhookSubscription, error)
	UpdateWebhook(ctx context.Context, id string, p crmcore.WebhookPatch) (crmcore.WebhookSubscription, error)
	DeleteWebhook(ctx context.Context, id string) error
	WebhookAttempts(ctx context.Context, subscriptionID string, limit int) ([]crmcore.WebhookAttempt, error)
	ReplayDelivery(ctx context.Context, deliveryID string) (string, error)
}

// WithWebhooks serves the management of webhook subscriptions from store
// (without it those endpoints answer 404). Only admins may use them: a
// subscription sends the CRM's data to any URL it names.
func WithWebhooks(store WebhookStore) Option { return func(h *Handler) { h.webhooks = store } }

// webhookPerm is the permission of every webhook endpoint; only admins
// hold it.
const webhookPerm = crmcore.PermManageAgents

// Bounds of the delivery log listing.
const (
	defaultAttempts = 100
	maxAttempts     = 1000
)

func (h *Handler) routeWebhooks() {
	m := h.mux
	m.HandleFunc("GET /api/v1/webhooks", h.authed(webhookPerm, h.withWebhooks(h.listWebhooks)))
	m.HandleFunc("POST /api/v1/webhooks", h.authed(webhookPerm, h.withWebhooks(h.createWebhook)))
	m.HandleFunc("GET /api/v1/webhooks/{id}", h.authed(webhookPerm, h.withWebhooks(h.getWebhook)))
	m.HandleFunc("PATCH /api/v1/webhooks/{id}", h.authed(webhookPerm, h.withWebhooks(h.patchWebhook)))
	m.HandleFunc("DELETE /api/v1/webhooks/{id}", h.authed(webhookPerm, h.withWebhooks(h.deleteWebhook)))
	m.HandleFunc("GET /api/v1/webhooks/{id}/deliveries", h.authed(webhookPerm, h.withWebhooks(h.webhookDeliveries)))
	m.HandleFunc("POST /api/v1/webhooks/deliveries/{id}/replay", h.authed(webhookPerm, h.withWebhooks(h.replayDelivery)))
}

// withWebhooks answers 404 when the handler has no webhook store.
func (h *Handler) withWebhooks(fn func(http.ResponseWriter, *http.Request, crmcore.Principal)) func(http.ResponseWriter, *http.Request, crmcore.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
		if h.webhooks == nil {
			h.fail(w, r, crmcore.ErrNotFound)
			return
		}
		fn(w, r, p)
	}
}

// webhookInput is the body of a subscription's creation.
type webhookInput struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	Active     *bool    `json:"active"` // default true
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	var in webhookInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	sub := crmcore.WebhookSubscription{URL: in.URL, EventTypes: in.EventTypes, Active: in.Active == nil || *in.Active}
	sub, err := h.webhooks.CreateWebhook(r.Context(), sub)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/webhooks/"+sub.ID)
	writeJSON(w, http.StatusCreated, sub)
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	subs, err := h.webhooks.ListWebhooks(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if subs == nil {
		subs = []crmcore.WebhookSubscription{}
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.WebhookSubscription]{Items: subs, Count: len(subs)})
}

func (h *Handler) getWebhook(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	sub, err := h.webhooks.GetWebhook(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sub)
}

func (h *Handler) patchWebhook(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	var p crmcore.WebhookPatch
	if err := h.decodeJSON(w, r, &p); err != nil {
		h.fail(w, r, err)
		return
	}
	sub, err := h.webhooks.UpdateWebhook(r.Context(), r.PathValue("id"), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sub)
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	if err := h.webhooks.DeleteWebhook(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// webhookDeliveries lists a subscription's latest delivery attempts,
// newest first (?limit=, default 100, at most 1000).
func (h *Handler) webhookDeliveries(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	limit := defaultAttempts
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAttempts {
			h.fail(w, r, bad("limit", "limit must be an integer from 1 to "+strconv.Itoa(maxAttempts)))
			return
		}
		limit = n
	}
	as, err := h.webhooks.WebhookAttempts(r.Context(), r.PathValue("id"), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if as == nil {
		as = []crmcore.WebhookAttempt{}
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.WebhookAttempt]{Items: as, Count: len(as)})
}

// replayResult is the answer to a replay.
type replayResult struct {
	DeliveryID string `json:"delivery_id"`
}

// replayDelivery queues the event of a delivery again, as a new delivery.
func (h *Handler) replayDelivery(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	id, err := h.webhooks.ReplayDelivery(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, replayResult{DeliveryID: id})
}
