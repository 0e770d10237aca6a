package crmapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"switchboard/crmcore"
)

// newAgent validates a submitted agent (crmcore.NewAgent) and, when the
// handler knows the router's channels (WithChannels), refuses capacity
// overrides of any other channel.
func (h *Handler) newAgent(in crmcore.AgentInput, create bool) (crmcore.Agent, error) {
	a, err := crmcore.NewAgent(in, create)
	if err != nil || h.channels == nil {
		return a, err
	}
	for ch := range a.Capacity {
		if !slices.Contains(h.channels, ch) {
			return crmcore.Agent{}, bad("capacity."+ch, fmt.Sprintf("unknown channel %q (known: %s)", ch, strings.Join(h.channels, ", ")))
		}
	}
	return a, nil
}

func (h *Handler) listAgents(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	as, err := h.d.Agents.ListAgents(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.Agent]{Items: as, Count: len(as)})
}

func (h *Handler) getAgent(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	a, err := h.d.Agents.GetAgent(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (h *Handler) createAgent(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in crmcore.AgentInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.newAgent(in, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if a, err = h.d.Agents.CreateAgent(r.Context(), a); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("crmapi: agent created", "agent_id", a.ID, "login", a.Login, "by", p.Login)
	w.Header().Set("Location", "/api/v1/agents/"+a.ID)
	writeJSON(w, http.StatusCreated, a)
}

func (h *Handler) updateAgent(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in crmcore.AgentInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.newAgent(in, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if id == p.AgentID && (a.Role != crmcore.RoleAdmin || !a.Active) {
		h.fail(w, r, bad("role", "admins cannot demote or disable themselves"))
		return
	}
	old, err := h.d.Agents.GetAgent(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if a, err = h.d.Agents.UpdateAgent(r.Context(), id, a); err != nil {
		h.fail(w, r, err)
		return
	}
	if reason, ok := revokeReason(old, a, in.Password != ""); ok {
		h.log.Info("crmapi: agent sessions revoked", "agent_id", id, "reason", string(reason), "by", p.Login)
		if err := h.d.Auth.Revoke(r.Context(), id, reason); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, a)
}

// revokeReason says whether an agent's update ends its sessions (disabled,
// new password) or changes what its connections may do (role).
func revokeReason(old, cur crmcore.Agent, newPassword bool) (crmcore.RevokeReason, bool) {
	switch {
	case old.Active && !cur.Active:
		return crmcore.RevokeDisabled, true
	case newPassword:
		return crmcore.RevokePasswordChanged, true
	case old.Role != cur.Role:
		return crmcore.RevokeRoleChanged, true
	}
	return "", false
}

func (h *Handler) deleteAgent(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	id := r.PathValue("id")
	if id == p.AgentID {
		h.fail(w, r, bad("id", "admins cannot delete themselves"))
		return
	}
	if err := h.d.Agents.DeleteAgent(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.d.Auth.Revoke(r.Context(), id, crmcore.RevokeDeleted); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
