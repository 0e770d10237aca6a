package crmapi

import (
	"context"
	"net/http"
	"strconv"

	"switchboard/crmcore"
)

// LeadStore manages sales leads.
type LeadStore interface {
	CreateLead(ctx context.Context, l crmcore.Lead) (crmcore.Lead, error)
	GetLead(ctx context.Context, id string) (crmcore.Lead, error)
	ListLeads(ctx context.Context, limit int) ([]crmcore.Lead, error)
	TransitionLead(ctx context.Context, id string, next crmcore.LeadStatus) (crmcore.Lead, error)
	LeadAssignments(ctx context.Context, id string) ([]crmcore.LeadAssignment, error)
}

func (h *Handler) createLead(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in crmcore.LeadInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	l, err := crmcore.NewLead(in, h.region(r), h.now())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if l, err = h.d.Leads.CreateLead(r.Context(), l); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("crmapi: lead created", "lead_id", l.ID, "by", p.Login)
	w.Header().Set("Location", "/api/v1/leads/"+l.ID)
	writeJSON(w, http.StatusCreated, l)
}

func (h *Handler) listLeads(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	limit, _, err := page(r.URL.Query().Get("limit"), "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ls, err := h.d.Leads.ListLeads(r.Context(), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.Lead]{Items: ls, Count: len(ls)})
}

func (h *Handler) getLead(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	l, err := h.d.Leads.GetLead(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (h *Handler) transitionLead(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var req transitionRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	next := crmcore.LeadStatus(req.To)
	if !next.Valid() {
		h.fail(w, r, bad("to", "unknown status "+strconv.Quote(truncate(req.To, 32))+" (want new, working, qualified, converted or disqualified)"))
		return
	}
	l, err := h.d.Leads.TransitionLead(r.Context(), r.PathValue("id"), next)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (h *Handler) leadAssignments(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	as, err := h.d.Leads.LeadAssignments(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.LeadAssignment]{Items: as, Count: len(as)})
}
