package crmapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"switchboard/crmcore"
)

// QualityStore keeps quality evaluation forms (versioned) and the
// evaluations of interactions.
type QualityStore interface {
	CreateQAForm(ctx context.Context, actorID string, f crmcore.QAForm) (crmcore.QAForm, error)
	UpdateQAForm(ctx context.Context, actorID, id string, f crmcore.QAForm) (crmcore.QAForm, error)
	QAForm(ctx context.Context, id string, version int) (crmcore.QAForm, error)
	QAForms(ctx context.Context) ([]crmcore.QAForm, error)
	CreateEvaluation(ctx context.Context, evaluator, interactionID, formID string) (crmcore.Evaluation, error)
	Evaluation(ctx context.Context, id string) (crmcore.Evaluation, error)
	Evaluations(ctx context.Context, f crmcore.QAFilter) ([]crmcore.Evaluation, error)
	ScoreEvaluation(ctx context.Context, id, evaluator string, s crmcore.QAScoring) (crmcore.Evaluation, error)
	AcknowledgeEvaluation(ctx context.Context, id, agentID string) (crmcore.Evaluation, error)
	DisputeEvaluation(ctx context.Context, id, agentID, reason string) (crmcore.Evaluation, error)
	ResolveEvaluation(ctx context.Context, id, resolution string) (crmcore.Evaluation, error)
	AssignSample(ctx context.Context, weekStart time.Time, perAgent int, seed int64, formID, evaluator string) ([]crmcore.Evaluation, error)
	QualityReport(ctx context.Context, from, to time.Time, by crmcore.QAReportBy) ([]crmcore.QAReportRow, error)
	QATranscript(ctx context.Context, interactionID string) ([]crmcore.TranscriptEntry, error)
}

// WithQuality serves quality management over store: forms (admins write,
// supervisors read), evaluations (supervisors score; agents see,
// acknowledge and dispute their own once submitted), the weekly review
// sample and reports. Without it those endpoints answer 404.
func WithQuality(store QualityStore) Option { return func(h *Handler) { h.quality = store } }

func (h *Handler) routeQuality() {
	m := h.mux
	sup, own := crmcore.PermReadAllInteractions, crmcore.PermReadOwnInteractions
	m.HandleFunc("GET /api/v1/qa/forms", h.authed(sup, h.qaForms))
	m.HandleFunc("POST /api/v1/qa/forms", h.authed(crmcore.PermManageQAForms, h.createQAForm))
	m.HandleFunc("GET /api/v1/qa/forms/{id}", h.authed(sup, h.getQAForm))
	m.HandleFunc("PUT /api/v1/qa/forms/{id}", h.authed(crmcore.PermManageQAForms, h.updateQAForm))
	m.HandleFunc("GET /api/v1/qa/evaluations", h.authed(own, h.listEvaluations))
	m.HandleFunc("POST /api/v1/qa/evaluations", h.authed(sup, h.createEvaluation))
	m.HandleFunc("GET /api/v1/qa/evaluations/{id}", h.authed(own, h.getEvaluation))
	m.HandleFunc("PUT /api/v1/qa/evaluations/{id}", h.authed(sup, h.scoreEvaluation))
	m.HandleFunc("POST /api/v1/qa/evaluations/{id}/acknowledge", h.authed(own, h.acknowledgeEvaluation))
	m.HandleFunc("POST /api/v1/qa/evaluations/{id}/dispute", h.authed(own, h.disputeEvaluation))
	m.HandleFunc("POST /api/v1/qa/evaluations/{id}/resolve", h.authed(sup, h.resolveEvaluation))
	m.HandleFunc("GET /api/v1/qa/assignments", h.authed(sup, h.myAssignments))
	m.HandleFunc("POST /api/v1/qa/assignments", h.authed(sup, h.assignSample))
	m.HandleFunc("GET /api/v1/qa/reports", h.authed(sup, h.qaReport))
}

// qaFormInput is a form as an admin submits it; a form is active unless
// it says otherwise.
type qaFormInput struct {
	Name     string              `json:"name"`
	Channels []crmcore.Channel   `json:"channels"`
	Sections []crmcore.QASection `json:"sections"`
	Active   *bool               `json:"active"`
}

func (in qaFormInput) form() crmcore.QAForm {
	return crmcore.QAForm{Name: in.Name, Channels: in.Channels, Sections: in.Sections, Active: in.Active == nil || *in.Active}
}

// qaReview is what a reviewer (or the evaluated agent) sees of an
// evaluation: it, the form version it is on, the interaction with its
// timeline, and the interaction's written transcript.
type qaReview struct {
	Evaluation  crmcore.Evaluation        `json:"evaluation"`
	Form        crmcore.QAForm            `json:"form"`
	Interaction crmcore.Interaction       `json:"interaction"`
	Transcript  []crmcore.TranscriptEntry `json:"transcript"`
}

// qualityStore returns the store, or ErrNotFound when quality management is off.
func (h *Handler) qualityStore() (QualityStore, error) {
	if h.quality == nil {
		return nil, crmcore.ErrNotFound
	}
	return h.quality, nil
}

func (h *Handler) qaForms(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	q, err := h.qualityStore()
	var fs []crmcore.QAForm
	if err == nil {
		fs, err = q.QAForms(r.Context())
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if fs == nil {
		fs = []crmcore.QAForm{}
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.QAForm]{Items: fs, Count: len(fs)})
}

func (h *Handler) createQAForm(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	h.saveQAForm(w, r, p, "")
}

func (h *Handler) updateQAForm(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	h.saveQAForm(w, r, p, r.PathValue("id"))
}

// saveQAForm creates a form (id "") or stores a new version of form id.
func (h *Handler) saveQAForm(w http.ResponseWriter, r *http.Request, p crmcore.Principal, id string) {
	q, err := h.qualityStore()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in qaFormInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	f := in.form()
	if err := f.Validate(); err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusCreated
	if id == "" {
		f, err = q.CreateQAForm(r.Context(), p.AgentID, f)
	} else {
		status = http.StatusOK
		f, err = q.UpdateQAForm(r.Context(), p.AgentID, id, f)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("crmapi: qa form saved", "form_id", f.ID, "version", f.Version, "by", p.Login)
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/qa/forms/"+f.ID)
	}
	writeJSON(w, status, f)
}

func (h *Handler) getQAForm(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	q, err := h.qualityStore()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		if version, err = strconv.Atoi(v); err != nil || version < 1 || version > 1_000_000 {
			h.fail(w, r, bad("version", "version must be a positive integer"))
			return
		}
	}
	f, err := q.QAForm(r.Context(), r.PathValue("id"), version)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// agentVisible are the states in which the evaluated agent sees an
// evaluation: once it is submitted.
var agentVisible = []crmcore.QAState{crmcore.QASubmitted, crmcore.QAAcknowledged, crmcore.QADisputed, crmcore.QAResolved}

func (h *Handler) listEvaluations(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	q, err := h.qualityStore()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := r.URL.Query()
	f := crmcore.QAFilter{AgentID: v.Get("agent_id"), EvaluatorID: v.Get("evaluator_id"), FormID: v.Get("form_id")}
	for name, id := range map[string]string{"agent_id": f.AgentID, "evaluator_id": f.EvaluatorID, "form_id": f.FormID} {
		if id != "" && !crmcore.ValidID(id) {
			h.fail(w, r, bad(name, name+" must be a UUID"))
			return
		}
	}
	if s := v.Get("state"); s != "" {
		st := crmcore.QAState(s)
		if !st.Valid() {
			h.fail(w, r, bad("state", "unknown state "+strconv.Quote(truncate(s, 32))))
			return
		}
		f.States = []crmcore.QAState{st}
	}
	if f.From, f.To, err = timeRange(r, false); err != nil {
		h.fail(w, r, err)
		return
	}
	if f.Limit, _, err = page(v.Get("limit"), ""); err != nil {
		h.fail(w, r, err)
		return
	}
	if !p.Role.Can(crmcore.PermReadAllInteractions) {
		// Agents see only their own evaluations, once submitted.
		f.AgentID = p.AgentID
		switch {
		case len(f.States) == 0:
			f.States = agentVisible
		case f.States[0].Open():
			writeJSON(w, http.StatusOK, listResponse[crmcore.Evaluation]{Items: []crmcore.Evaluation{}})
			return
		}
	}
	es, err := q.Evaluations(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if es == nil {
		es = []crmcore.Evaluation{}
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.Evaluation]{Items: es, Count: len(es)})
}

// visibleEvaluation returns evaluation id when p may see it: a
// supervisor, or the evaluated agent once it is submitted; to anyone else
// it does not exist.
func (h *Handler) visibleEvaluation(r *http.Request, p crmcore.Principal) (QualityStore, crmcore.Evaluation, error) {
	q, err := h.qualityStore()
	if err != nil {
		return nil, crmcore.Evaluation{}, err
	}
	e, err := q.Evaluation(r.Context(), r.PathValue("id"))
	if err == nil && !p.Role.Can(crmcore.PermReadAllInteractions) && (e.AgentID != p.AgentID || e.State.Open()) {
		err = crmcore.ErrNotFound
	}
	return q, e, err
}

func (h *Handler) getEvaluation(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	q, e, err := h.visibleEvaluation(r, p)
	var rv qaReview
	if err == nil {
		rv.Evaluation = e
		rv.Form, err = q.QAForm(r.Context(), e.FormID, e.FormVersion)
	}
	if err == nil {
		rv.Interaction, err = h.d.Interactions.GetInteraction(r.Context(), e.InteractionID)
	}
	if err == nil {
		rv.Transcript, err = q.QATranscript(r.Context(), e.InteractionID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if rv.Transcript == nil {
		rv.Transcript = []crmcore.TranscriptEntry{}
	}
	writeJSON(w, http.StatusOK, rv)
}

type createEvaluationRequest struct {
	InteractionID string `json:"interaction_id"`
	FormID        string `json:"form_id"`
}

func (h *Handler) createEvaluation(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	q, err := h.qualityStore()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req createEvaluationRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if !crmcore.ValidID(req.FormID) {
		h.fail(w, r, bad("form_id", "form_id must be a UUID"))
		return
	}
	e, err := q.CreateEvaluation(r.Context(), p.AgentID, req.InteractionID, req.FormID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/qa/evaluations/"+e.ID)
	writeJSON(w, http.StatusCreated, e)
}

func (h *Handler) scoreEvaluation(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	q, err := h.qualityStore()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var s crmcore.QAScoring
	if err := h.decodeJSON(w, r, &s); err != nil {
		h.fail(w, r, err)
		return
	}
	e, err := q.ScoreEvaluation(r.Context(), r.PathValue("id"), p.AgentID, s)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if s.Submit {
		h.log.Info("crmapi: evaluation submitted", "evaluation_id", e.ID, "agent_id", e.AgentID, "by", p.Login)
	}
	writeJSON(w, http.StatusOK, e)
}

func (h *Handler) acknowledgeEvaluation(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	q, e, err := h.visibleEvaluation(r, p)
	if err == nil {
		e, err = q.AcknowledgeEvaluation(r.Context(), e.ID, p.AgentID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

type disputeRequest struct {
	Reason string `json:"reason"`
}

func (h *Handler) disputeEvaluation(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var req disputeRequest
	q, e, err := h.visibleEvaluation(r, p)
	if err == nil {
		err = h.decodeJSON(w, r, &req)
	}
	if err == nil {
		e, err = q.DisputeEvaluation(r.Context(), e.ID, p.AgentID, req.Reason)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

type resolveRequest struct {
	Resolution string `json:"resolution"`
}

func (h *Handler) resolveEvaluation(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	q, err := h.qualityStore()
	var req resolveRequest
	if err == nil {
		err = h.decodeJSON(w, r, &req)
	}
	var e crmcore.Evaluation
	if err == nil {
		e, err = q.ResolveEvaluation(r.Context(), r.PathValue("id"), req.Resolution)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("crmapi: dispute resolved", "evaluation_id", e.ID, "by", p.Login)
	writeJSON(w, http.StatusOK, e)
}

// myAssignments lists the caller's reviews still to score.
func (h *Handler) myAssignments(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	q, err := h.qualityStore()
	var es []crmcore.Evaluation
	if err == nil {
		es, err = q.Evaluations(r.Context(), crmcore.QAFilter{EvaluatorID: p.AgentID,
			States: []crmcore.QAState{crmcore.QAAssigned, crmcore.QADraft}, Limit: 1000})
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if es == nil {
		es = []crmcore.Evaluation{}
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.Evaluation]{Items: es, Count: len(es)})
}

type sampleRequest struct {
	Week     string `json:"week"` // any day of the week, YYYY-MM-DD
	PerAgent int    `json:"per_agent"`
	Seed     int64  `json:"seed"`
	FormID   string `json:"form_id"`
}

// assignSample draws the week's review sample and assigns it to the
// caller; run again for the same week it returns the same sample.
func (h *Handler) assignSample(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	q, err := h.qualityStore()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req sampleRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	day, err := time.Parse(time.DateOnly, req.Week)
	if err != nil {
		h.fail(w, r, bad("week", "week must be a date, YYYY-MM-DD"))
		return
	}
	if !crmcore.ValidID(req.FormID) {
		h.fail(w, r, bad("form_id", "form_id must be a UUID"))
		return
	}
	es, err := q.AssignSample(r.Context(), crmcore.QAWeekStart(day), req.PerAgent, req.Seed, req.FormID, p.AgentID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if es == nil {
		es = []crmcore.Evaluation{}
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.Evaluation]{Items: es, Count: len(es)})
}

func (h *Handler) qaReport(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	q, err := h.qualityStore()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	by := crmcore.QAReportBy(r.URL.Query().Get("by"))
	if by == "" {
		by = crmcore.QAByAgent
	}
	if !by.Valid() {
		h.fail(w, r, bad("by", "by must be agent, form or evaluator"))
		return
	}
	from, to, err := timeRange(r, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows, err := q.QualityReport(r.Context(), from, to, by)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if rows == nil {
		rows = []crmcore.QAReportRow{}
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.QAReportRow]{Items: rows, Count: len(rows)})
}

// timeRange reads the from and to query parameters (RFC 3339); with
// required both must be there.
func timeRange(r *http.Request, required bool) (from, to time.Time, err error) {
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		s := r.URL.Query().Get(name)
		if s == "" {
			if required {
				return from, to, bad(name, name+" is required")
			}
			continue
		}
		if *dst, err = time.Parse(time.RFC3339, s); err != nil {
			return from, to, bad(name, name+" must be an RFC 3339 time, e.g. 2026-03-02T09:00:00Z")
		}
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, bad("to", "to must be after from")
	}
	return from, to, nil
}
