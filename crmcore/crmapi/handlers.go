package crmapi

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"switchboard/crmcore"
)

// --- sessions ---

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string            `json:"token"`
	ExpiresAt time.Time         `json:"expires_at"`
	Agent     crmcore.Principal `json:"agent"`
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if req.Login == "" || req.Password == "" {
		h.fail(w, r, bad("login", "login and password are required"))
		return
	}
	if len(req.Login) > 64 || len(req.Password) > crmcore.MaxPasswordLen {
		h.fail(w, r, crmcore.ErrUnauthenticated)
		return
	}
	tok, exp, ag, err := h.d.Auth.Login(r.Context(), req.Login, req.Password, sourceAddr(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("crmapi: login", "agent_id", ag.ID, "login", ag.Login)
	writeJSON(w, http.StatusCreated, loginResponse{Token: tok, ExpiresAt: exp, Agent: ag.Principal()})
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	tok, _ := bearer(r)
	if err := h.d.Auth.Logout(r.Context(), tok); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) whoami(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	writeJSON(w, http.StatusOK, p)
}

type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword sets the caller's own password after checking the current
// one; every session of the caller, this one included, ends.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var req passwordChange
	if err := h.decodeJSON(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if req.CurrentPassword == "" || len(req.CurrentPassword) > crmcore.MaxPasswordLen {
		h.fail(w, r, bad("current_password", "current_password is required"))
		return
	}
	hash, err := crmcore.HashPassword(req.NewPassword)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ag, err := h.d.Agents.GetAgent(r.Context(), p.AgentID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.d.Auth.CheckAgentPassword(r.Context(), ag, req.CurrentPassword, sourceAddr(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	ag.PasswordHash = hash
	if _, err := h.d.Agents.UpdateAgent(r.Context(), ag.ID, ag); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("crmapi: password changed", "agent_id", ag.ID, "login", ag.Login)
	if err := h.d.Auth.Revoke(r.Context(), ag.ID, crmcore.RevokePasswordChanged); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// sourceAddr is the client's IP address, for the login throttle and the
// security log.
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// --- lookup ---

func (h *Handler) region(r *http.Request) string {
	if reg := r.URL.Query().Get("region"); reg != "" {
		return strings.ToUpper(reg)
	}
	return h.defaultRegion
}

func (h *Handler) lookup(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	ph, err := crmcore.NormalizePhone(r.URL.Query().Get("phone"), h.region(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.d.Lookup.LookupByPhone(r.Context(), ph.E164)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !p.Role.Can(crmcore.PermReadAllInteractions) {
		// Agents see the history of their own calls only.
		own := res.Recent[:0]
		for _, in := range res.Recent {
			if in.AgentID == p.AgentID {
				own = append(own, in)
			}
		}
		res.Recent = own
	}
	writeJSON(w, http.StatusOK, res)
}

// --- contacts ---

type listResponse[T any] struct {
	Items []T `json:"items"`
	Count int `json:"count"`
}

func (h *Handler) searchContacts(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	q := r.URL.Query()
	cq := crmcore.ContactQuery{Text: q.Get("q"), Tag: strings.ToLower(q.Get("tag"))}
	var err error
	if cq.Limit, cq.Offset, err = page(q.Get("limit"), q.Get("offset")); err != nil {
		h.fail(w, r, err)
		return
	}
	if len(cq.Text) > crmcore.MaxNameLen || len(cq.Tag) > crmcore.MaxTagLen {
		h.fail(w, r, bad("q", "search text too long"))
		return
	}
	if s := q.Get("phone"); s != "" {
		ph, err := crmcore.NormalizePhone(s, h.region(r))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		cq.Phone = ph.E164
	}
	if s := q.Get("email"); s != "" {
		e, err := crmcore.NormalizeEmail(s)
		if err != nil {
			h.fail(w, r, bad("email", err.Error()))
			return
		}
		cq.Email = e
	}
	cs, err := h.d.Contacts.SearchContacts(r.Context(), cq)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.Contact]{Items: cs, Count: len(cs)})
}

func page(limit, offset string) (int, int, error) {
	l, o := 0, 0
	var err error
	if limit != "" {
		if l, err = strconv.Atoi(limit); err != nil || l < 1 || l > 500 {
			return 0, 0, bad("limit", "limit must be 1–500")
		}
	}
	if offset != "" {
		if o, err = strconv.Atoi(offset); err != nil || o < 0 || o > 1_000_000 {
			return 0, 0, bad("offset", "offset must be 0–1000000")
		}
	}
	return l, o, nil
}

func (h *Handler) createContact(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in crmcore.ContactInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := crmcore.NewContact(in, h.region(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if c, err = h.d.Contacts.CreateContact(r.Context(), c); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/contacts/"+c.ID)
	writeJSON(w, http.StatusCreated, c)
}

func (h *Handler) getContact(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	c, err := h.d.Contacts.GetContact(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (h *Handler) replaceContact(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in crmcore.ContactInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	h.saveContact(w, r, r.PathValue("id"), in)
}

// patchContact merges the given fields into the stored contact.
func (h *Handler) patchContact(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	id := r.PathValue("id")
	cur, err := h.d.Contacts.GetContact(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := cur.Input()
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	h.saveContact(w, r, id, in)
}

func (h *Handler) saveContact(w http.ResponseWriter, r *http.Request, id string, in crmcore.ContactInput) {
	c, err := crmcore.NewContact(in, h.region(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if c, err = h.d.Contacts.UpdateContact(r.Context(), id, c); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (h *Handler) deleteContact(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	if err := h.d.Contacts.DeleteContact(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- tickets ---

func ticketNumber(r *http.Request) (int64, error) {
	n, err := crmcore.ParseTicketNumber(r.PathValue("number"))
	if err != nil {
		return 0, &badRequest{status: http.StatusNotFound, code: "not_found", msg: "no ticket " + strconv.Quote(truncate(r.PathValue("number"), 32)), field: "number"}
	}
	return n, nil
}

func (h *Handler) createTicket(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var in crmcore.TicketInput
	if err := h.decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := crmcore.NewTicket(in, h.d.Tickets.SLAPolicy(), h.now())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if t, err = h.d.Tickets.CreateTicket(r.Context(), p.AgentID, t); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tickets/"+t.Number)
	writeJSON(w, http.StatusCreated, t)
}

func (h *Handler) getTicket(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	n, err := ticketNumber(r)
	if err == nil {
		var t crmcore.Ticket
		if t, err = h.d.Tickets.GetTicket(r.Context(), n); err == nil {
			writeJSON(w, http.StatusOK, t)
			return
		}
	}
	h.fail(w, r, err)
}

func (h *Handler) listTickets(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	q := r.URL.Query()
	var f crmcore.TicketFilter
	var err error
	if f.Limit, f.Offset, err = page(q.Get("limit"), q.Get("offset")); err != nil {
		h.fail(w, r, err)
		return
	}
	for _, s := range splitList(q["status"]) {
		st, err := crmcore.ParseTicketStatus(s)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		f.Status = append(f.Status, st)
	}
	for _, s := range splitList(q["priority"]) {
		pr, err := crmcore.ParsePriority(s)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		f.Priority = append(f.Priority, pr)
	}
	if f.AssigneeID, err = idParam(q.Get("assignee"), "assignee", p); err != nil {
		h.fail(w, r, err)
		return
	}
	if f.RequesterID, err = idParam(q.Get("requester"), "requester", p); err != nil {
		h.fail(w, r, err)
		return
	}
	if s := q.Get("breached"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			h.fail(w, r, bad("breached", "want true or false"))
			return
		}
		f.Breached = &b
	}
	ts, err := h.d.Tickets.ListTickets(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.Ticket]{Items: ts, Count: len(ts)})
}

// idParam validates a UUID query parameter; "me" means the caller.
func idParam(s, field string, p crmcore.Principal) (string, error) {
	switch {
	case s == "":
		return "", nil
	case s == "me":
		return p.AgentID, nil
	case crmcore.ValidID(s):
		return strings.ToLower(s), nil
	}
	return "", bad(field, field+" must be a UUID")
}

func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (h *Handler) updateTicket(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	n, err := ticketNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var patch crmcore.TicketPatch
	if err := h.decodeJSON(w, r, &patch); err != nil {
		h.fail(w, r, err)
		return
	}
	if patch.AssigneeID != nil && *patch.AssigneeID != "" && !crmcore.ValidID(*patch.AssigneeID) {
		h.fail(w, r, bad("assignee_id", "assignee_id must be a UUID"))
		return
	}
	t, err := h.d.Tickets.UpdateTicket(r.Context(), p.AgentID, n, patch)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

type transitionRequest struct {
	To string `json:"to"`
}

func (h *Handler) transitionTicket(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	n, err := ticketNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req transitionRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	next, err := crmcore.ParseTicketStatus(req.To)
	if err != nil {
		h.fail(w, r, bad("to", "unknown status "+strconv.Quote(truncate(req.To, 32))+" (want new, open, pending, solved or closed)"))
		return
	}
	t, err := h.d.Tickets.TransitionTicket(r.Context(), p.AgentID, n, next)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

type commentRequest struct {
	Body   string `json:"body"`
	Public *bool  `json:"public"`
}

func (h *Handler) addComment(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	n, err := ticketNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req commentRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	c := crmcore.Comment{AuthorID: p.AgentID, Body: req.Body, Public: req.Public == nil || *req.Public}
	if c, err = h.d.Tickets.AddComment(r.Context(), n, c); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (h *Handler) listComments(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	n, err := ticketNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cs, err := h.d.Tickets.Comments(r.Context(), n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.Comment]{Items: cs, Count: len(cs)})
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	n, err := ticketNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	es, err := h.d.Tickets.Audit(r.Context(), n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.AuditEntry]{Items: es, Count: len(es)})
}

// --- interactions ---

func (h *Handler) interactionFilter(r *http.Request, p crmcore.Principal, export bool) (crmcore.InteractionFilter, error) {
	q := r.URL.Query()
	var f crmcore.InteractionFilter
	var err error
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if s := q.Get(name); s != "" {
			if *dst, err = time.Parse(time.RFC3339, s); err != nil {
				return f, bad(name, name+" must be an RFC 3339 time, e.g. 2026-03-02T09:00:00Z")
			}
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, bad("to", "to must be after from")
	}
	f.Queue = q.Get("queue")
	if len(f.Queue) > crmcore.MaxShortField {
		return f, bad("queue", "queue name too long")
	}
	if f.AgentID, err = idParam(q.Get("agent"), "agent", p); err != nil {
		return f, err
	}
	if f.ContactID, err = idParam(q.Get("contact"), "contact", p); err != nil {
		return f, err
	}
	if s := q.Get("outcome"); s != "" {
		f.Outcome = crmcore.Outcome(s)
		if !f.Outcome.Valid() {
			return f, bad("outcome", "unknown outcome "+strconv.Quote(truncate(s, 32)))
		}
	}
	if f.Campaign = q.Get("campaign"); f.Campaign != "" && !crmcore.ValidCampaignID(f.Campaign) {
		return f, bad("campaign", "campaign must be a campaign id (letters, digits, '.', '_', '-')")
	}
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil || f.Limit < 1 || f.Limit > 1000 {
			return f, bad("limit", "limit must be 1–1000")
		}
	} else if export {
		f.Limit = -1
	}
	if !p.Role.Can(crmcore.PermReadAllInteractions) {
		if f.AgentID != "" && f.AgentID != p.AgentID {
			return f, crmcore.ErrForbidden
		}
		f.AgentID = p.AgentID
	}
	return f, nil
}

func (h *Handler) listInteractions(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	f, err := h.interactionFilter(r, p, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	items := []crmcore.Interaction{}
	if err := h.d.Interactions.EachInteraction(r.Context(), f, func(in crmcore.Interaction) error {
		items = append(items, in)
		return nil
	}); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.Interaction]{Items: items, Count: len(items)})
}

func (h *Handler) getInteraction(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	in, err := h.d.Interactions.GetInteraction(r.Context(), r.PathValue("id"))
	if err == nil && !p.Role.Can(crmcore.PermReadAllInteractions) && in.AgentID != p.AgentID {
		err = crmcore.ErrNotFound // do not reveal other agents' calls
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

func (h *Handler) assignments(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	n, err := ticketNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	as, err := h.d.Tickets.TicketAssignments(r.Context(), n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.TicketAssignment]{Items: as, Count: len(as)})
}
