package crmapi

import (
	"net/http"

	"switchboard/crmcore"
)

func (h *Handler) listAccounts(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	as, err := h.d.Contacts.ListAccounts(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.Account]{Items: as, Count: len(as)})
}

func (h *Handler) getAccount(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	a, err := h.d.Contacts.GetAccount(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// createAccount stores a new account; an owner_id that is no agent is
// refused with 400 on that field.
func (h *Handler) createAccount(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in crmcore.AccountInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := crmcore.NewAccount(in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if a, err = h.d.Contacts.CreateAccount(r.Context(), a); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("crmapi: account created", "account_id", a.ID, "owner_id", a.OwnerID, "by", p.Login)
	w.Header().Set("Location", "/api/v1/accounts/"+a.ID)
	writeJSON(w, http.StatusCreated, a)
}

// patchAccount merges the given fields into the stored account; an empty
// owner_id removes the owner. A change of owner is logged with who made
// it.
func (h *Handler) patchAccount(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	id := r.PathValue("id")
	cur, err := h.d.Contacts.GetAccount(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := cur.Input()
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := crmcore.NewAccount(in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if a, err = h.d.Contacts.UpdateAccount(r.Context(), id, a); err != nil {
		h.fail(w, r, err)
		return
	}
	if a.OwnerID != cur.OwnerID {
		h.log.Info("crmapi: account owner changed", "account_id", id, "old_owner_id", cur.OwnerID, "owner_id", a.OwnerID, "by", p.Login)
	}
	writeJSON(w, http.StatusOK, a)
}
