package crmapi

import (
	"context"
	"net/http"

	"switchboard/crmcore"
)

// ScriptStore keeps call scripts and the answers given along them
// (pgstore.Store).
type ScriptStore interface {
	CreateScript(ctx context.Context, s crmcore.Script, by string) (crmcore.Script, error)
	UpdateScript(ctx context.Context, s crmcore.Script, by string) (crmcore.Script, error)
	Script(ctx context.Context, id string) (crmcore.Script, error)
	Scripts(ctx context.Context) ([]crmcore.Script, error)
	ScriptFor(ctx context.Context, queue, campaign string) (crmcore.Script, error)
	SaveScriptAnswers(ctx context.Context, a crmcore.ScriptAnswers) (crmcore.ScriptAnswers, error)
	ScriptAnswersOf(ctx context.Context, interactionID string) ([]crmcore.ScriptAnswers, error)
}

// WithScripts serves call scripts and their answers from store (without
// it those endpoints answer 404).
func WithScripts(store ScriptStore) Option { return func(h *Handler) { h.scripts = store } }

func (h *Handler) routeScripts() {
	h.mux.HandleFunc("GET /api/v1/scripts", h.authed(crmcore.PermReadContacts, h.withScripts(h.listScripts)))
	h.mux.HandleFunc("POST /api/v1/scripts", h.authed(crmcore.PermManageKnowledge, h.withScripts(h.createScript)))
	h.mux.HandleFunc("GET /api/v1/scripts/for", h.authed(crmcore.PermReadContacts, h.withScripts(h.scriptFor)))
	h.mux.HandleFunc("GET /api/v1/scripts/{id}", h.authed(crmcore.PermReadContacts, h.withScripts(h.getScript)))
	h.mux.HandleFunc("PUT /api/v1/scripts/{id}", h.authed(crmcore.PermManageKnowledge, h.withScripts(h.updateScript)))
	h.mux.HandleFunc("PUT /api/v1/interactions/{id}/script-answers", h.authed(crmcore.PermReadOwnInteractions, h.withScripts(h.saveScriptAnswers)))
	h.mux.HandleFunc("GET /api/v1/interactions/{id}/script-answers", h.authed(crmcore.PermReadOwnInteractions, h.withScripts(h.scriptAnswers)))
}

// withScripts answers 404 when the handler has no script store.
func (h *Handler) withScripts(fn func(http.ResponseWriter, *http.Request, crmcore.Principal)) func(http.ResponseWriter, *http.Request, crmcore.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
		if h.scripts == nil {
			h.fail(w, r, crmcore.ErrNotFound)
			return
		}
		fn(w, r, p)
	}
}

// scriptInput is a script as written by a client; the server sets its id,
// version and time.
type scriptInput struct {
	Name      string               `json:"name"`
	Queues    []string             `json:"queues"`
	Campaigns []string             `json:"campaigns"`
	Steps     []crmcore.ScriptStep `json:"steps"`
	Active    *bool                `json:"active"`
}

func (in scriptInput) script(id string) crmcore.Script {
	return crmcore.Script{ID: id, Name: in.Name, Queues: in.Queues, Campaigns: in.Campaigns, Steps: in.Steps,
		Active: in.Active == nil || *in.Active}
}

func (h *Handler) listScripts(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	list, err := h.scripts.Scripts(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.Script]{Items: list, Count: len(list)})
}

func (h *Handler) createScript(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in scriptInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	s, err := h.scripts.CreateScript(r.Context(), in.script(""), p.AgentID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/scripts/"+s.ID)
	writeJSON(w, http.StatusCreated, s)
}

func (h *Handler) getScript(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	s, err := h.scripts.Script(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (h *Handler) updateScript(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in scriptInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	s, err := h.scripts.UpdateScript(r.Context(), in.script(r.PathValue("id")), p.AgentID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// scriptFor returns the script the desk shows for a task of a queue or
// campaign.
func (h *Handler) scriptFor(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	q := r.URL.Query()
	queue, campaign := q.Get("queue"), q.Get("campaign")
	if queue == "" && campaign == "" {
		h.fail(w, r, bad("queue", "name a queue or a campaign"))
		return
	}
	if len(queue) > 64 || len(campaign) > 64 {
		h.fail(w, r, bad("queue", "names are at most 64 bytes"))
		return
	}
	s, err := h.scripts.ScriptFor(r.Context(), queue, campaign)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// scriptAnswersInput is what the desk saves along a script.
type scriptAnswersInput struct {
	ScriptID      string                 `json:"script_id"`
	ScriptVersion int                    `json:"script_version"`
	Answers       []crmcore.ScriptAnswer `json:"answers"`
}

// saveScriptAnswers stores the answers on the interaction in progress (its
// record may not be written yet) under the agent saving them; another
// agent's answers on the same interaction are not replaced (409).
func (h *Handler) saveScriptAnswers(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in scriptAnswersInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.scripts.SaveScriptAnswers(r.Context(), crmcore.ScriptAnswers{InteractionID: r.PathValue("id"),
		ScriptID: in.ScriptID, ScriptVersion: in.ScriptVersion, AgentID: p.AgentID, Answers: in.Answers})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// scriptAnswers lists the answers on an interaction: all of them for a
// supervisor, an agent's own for an agent.
func (h *Handler) scriptAnswers(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	list, err := h.scripts.ScriptAnswersOf(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !p.Role.Can(crmcore.PermReadAllInteractions) {
		mine := list[:0]
		for _, a := range list {
			if a.AgentID == p.AgentID {
				mine = append(mine, a)
			}
		}
		list = mine
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.ScriptAnswers]{Items: list, Count: len(list)})
}
