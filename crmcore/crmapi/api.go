package crmapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/crmcore"
)

//go:embed openapi.json
var openapiJSON []byte

// Authenticator logs agents in, verifies bearer tokens and revokes
// sessions (crmcore.Auth).
type Authenticator interface {
	Login(ctx context.Context, login, password, source string) (token string, expires time.Time, agent crmcore.Agent, err error)
	Verify(ctx context.Context, token string) (crmcore.Principal, error)
	Logout(ctx context.Context, token string) error
	// Revoke ends the agent's sessions (all but on a role change) and
	// closes its live CTI connections.
	Revoke(ctx context.Context, agentID string, reason crmcore.RevokeReason) error
	// CheckAgentPassword checks a current password, throttled like Login.
	CheckAgentPassword(ctx context.Context, ag crmcore.Agent, password, source string) error
}

// ContactStore persists contacts and accounts.
type ContactStore interface {
	CreateContact(ctx context.Context, c crmcore.Contact) (crmcore.Contact, error)
	GetContact(ctx context.Context, id string) (crmcore.Contact, error)
	UpdateContact(ctx context.Context, id string, c crmcore.Contact) (crmcore.Contact, error)
	DeleteContact(ctx context.Context, id string) error
	SearchContacts(ctx context.Context, q crmcore.ContactQuery) ([]crmcore.Contact, error)
	FindContactIDs(ctx context.Context, e164s, emails []string) ([]string, error)
	EachContact(ctx context.Context, fn func(crmcore.Contact) error) error
	ListAccounts(ctx context.Context) ([]crmcore.Account, error)
	CreateAccount(ctx context.Context, a crmcore.Account) (crmcore.Account, error)
	GetAccount(ctx context.Context, id string) (crmcore.Account, error)
	UpdateAccount(ctx context.Context, id string, a crmcore.Account) (crmcore.Account, error)
}

// TicketStore persists tickets, comments and the audit trail.
type TicketStore interface {
	CreateTicket(ctx context.Context, actorID string, t crmcore.Ticket) (crmcore.Ticket, error)
	GetTicket(ctx context.Context, number int64) (crmcore.Ticket, error)
	ListTickets(ctx context.Context, f crmcore.TicketFilter) ([]crmcore.Ticket, error)
	UpdateTicket(ctx context.Context, actorID string, number int64, p crmcore.TicketPatch) (crmcore.Ticket, error)
	TransitionTicket(ctx context.Context, actorID string, number int64, next crmcore.TicketStatus) (crmcore.Ticket, error)
	AddComment(ctx context.Context, number int64, c crmcore.Comment) (crmcore.Comment, error)
	Comments(ctx context.Context, number int64) ([]crmcore.Comment, error)
	Audit(ctx context.Context, number int64) ([]crmcore.AuditEntry, error)
	TicketAssignments(ctx context.Context, number int64) ([]crmcore.TicketAssignment, error)
	SLAPolicy() crmcore.SLAPolicy
}

// InteractionStore reads interactions.
type InteractionStore interface {
	GetInteraction(ctx context.Context, id string) (crmcore.Interaction, error)
	EachInteraction(ctx context.Context, f crmcore.InteractionFilter, fn func(crmcore.Interaction) error) error
}

// AgentStore manages agents.
type AgentStore interface {
	CreateAgent(ctx context.Context, a crmcore.Agent) (crmcore.Agent, error)
	GetAgent(ctx context.Context, id string) (crmcore.Agent, error)
	UpdateAgent(ctx context.Context, id string, a crmcore.Agent) (crmcore.Agent, error)
	DeleteAgent(ctx context.Context, id string) error
	ListAgents(ctx context.Context) ([]crmcore.Agent, error)
}

// Deps are the handler's collaborators; one PostgreSQL store typically
// provides all the stores.
type Deps struct {
	Auth         Authenticator
	Contacts     ContactStore
	Tickets      TicketStore
	Interactions InteractionStore
	Agents       AgentStore
	Leads        LeadStore
	Lookup       crmcore.CallerLookuper
}

// Size caps for request bodies.
const (
	DefaultMaxBody   = 1 << 20  // JSON bodies
	DefaultMaxImport = 10 << 20 // CSV imports
)

// Handler serves /api/v1. Create it with New.
type Handler struct {
	d             Deps
	mux           *http.ServeMux
	log           *slog.Logger
	m             *Metrics
	now           func() time.Time
	defaultRegion string
	maxBody       int64
	maxImport     int64
	channels      []string // sorted; nil accepts any well-formed channel name
	emails        EmailStore
	email         EmailSettings
	chats         ChatStore
	recFiles      Recordings
	recLog        RecordingLog
	kb            *knowledge // nil without WithKnowledge
	webhooks      WebhookStore
	quality       QualityStore
	scripts       ScriptStore
	reports       ReportStore
	callbacks     CallbackStore
	campaigns     CampaignRunner
	dnc           DNCStore
}

// Option configures a Handler.
type Option func(*Handler)

// WithDefaultRegion sets the ISO region used to read phone numbers typed in
// national format (default "US"); a request may override it with ?region=.
func WithDefaultRegion(r string) Option {
	return func(h *Handler) { h.defaultRegion = strings.ToUpper(r) }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithMetrics sets the metrics (default: unregistered).
func WithMetrics(m *Metrics) Option { return func(h *Handler) { h.m = m } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithBodyLimits sets the JSON and CSV body caps in bytes.
func WithBodyLimits(jsonMax, importMax int64) Option {
	return func(h *Handler) { h.maxBody, h.maxImport = jsonMax, importMax }
}

// WithChannels names the channels an agent's capacity overrides may name
// (the router's channels); others are refused with 400. Without it any
// well-formed channel name is accepted.
func WithChannels(names ...string) Option {
	return func(h *Handler) { h.channels = slices.Sorted(slices.Values(names)) }
}

// New returns the /api/v1 handler. Every field of d must be set.
func New(d Deps, opts ...Option) (*Handler, error) {
	if d.Auth == nil || d.Contacts == nil || d.Tickets == nil || d.Interactions == nil || d.Agents == nil || d.Leads == nil || d.Lookup == nil {
		return nil, errors.New("crmapi: every dependency must be set")
	}
	h := &Handler{d: d, mux: http.NewServeMux(), log: slog.Default(), now: time.Now, defaultRegion: "US",
		maxBody: DefaultMaxBody, maxImport: DefaultMaxImport}
	for _, o := range opts {
		o(h)
	}
	if h.m == nil {
		h.m = NewMetrics(nil)
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapiJSON)
	})
	m.HandleFunc("POST /api/v1/sessions", h.login)
	m.HandleFunc("DELETE /api/v1/sessions", h.authed(0, h.logout))
	m.HandleFunc("GET /api/v1/sessions/current", h.authed(0, h.whoami))
	m.HandleFunc("PUT /api/v1/sessions/current/password", h.authed(0, h.changePassword))

	m.HandleFunc("GET /api/v1/lookup", h.authed(crmcore.PermReadContacts, h.lookup))
	m.HandleFunc("GET /api/v1/contacts", h.authed(crmcore.PermReadContacts, h.searchContacts))
	m.HandleFunc("POST /api/v1/contacts", h.authed(crmcore.PermWriteContacts, h.createContact))
	m.HandleFunc("GET /api/v1/contacts/export", h.authed(crmcore.PermReadContacts, h.exportContacts))
	m.HandleFunc("POST /api/v1/contacts/import", h.authed(crmcore.PermWriteContacts, h.importContacts))
	m.HandleFunc("GET /api/v1/contacts/{id}", h.authed(crmcore.PermReadContacts, h.getContact))
	m.HandleFunc("PUT /api/v1/contacts/{id}", h.authed(crmcore.PermWriteContacts, h.replaceContact))
	m.HandleFunc("PATCH /api/v1/contacts/{id}", h.authed(crmcore.PermWriteContacts, h.patchContact))
	m.HandleFunc("DELETE /api/v1/contacts/{id}", h.authed(crmcore.PermDeleteContacts, h.deleteContact))
	m.HandleFunc("GET /api/v1/accounts", h.authed(crmcore.PermReadContacts, h.listAccounts))
	m.HandleFunc("POST /api/v1/accounts", h.authed(crmcore.PermWriteContacts, h.createAccount))
	m.HandleFunc("GET /api/v1/accounts/{id}", h.authed(crmcore.PermReadContacts, h.getAccount))
	m.HandleFunc("PATCH /api/v1/accounts/{id}", h.authed(crmcore.PermWriteContacts, h.patchAccount))

	m.HandleFunc("GET /api/v1/tickets", h.authed(crmcore.PermManageTickets, h.listTickets))
	m.HandleFunc("POST /api/v1/tickets", h.authed(crmcore.PermManageTickets, h.createTicket))
	m.HandleFunc("GET /api/v1/tickets/{number}", h.authed(crmcore.PermManageTickets, h.getTicket))
	m.HandleFunc("PATCH /api/v1/tickets/{number}", h.authed(crmcore.PermManageTickets, h.updateTicket))
	m.HandleFunc("POST /api/v1/tickets/{number}/transitions", h.authed(crmcore.PermManageTickets, h.transitionTicket))
	m.HandleFunc("GET /api/v1/tickets/{number}/comments", h.authed(crmcore.PermManageTickets, h.listComments))
	m.HandleFunc("POST /api/v1/tickets/{number}/comments", h.authed(crmcore.PermManageTickets, h.addComment))
	m.HandleFunc("GET /api/v1/tickets/{number}/audit", h.authed(crmcore.PermManageTickets, h.audit))
	m.HandleFunc("GET /api/v1/tickets/{number}/assignments", h.authed(crmcore.PermManageTickets, h.assignments))

	h.routeEmails()
	h.routeChats()
	h.routeRecordings()
	h.routeKnowledge()
	h.routeWebhooks()
	h.routeQuality()
	h.routeScripts()
	h.routeReports()
	h.routeCallbacks()
	h.routeCampaigns()
	h.routeDNC()

	m.HandleFunc("GET /api/v1/leads", h.authed(crmcore.PermManageLeads, h.listLeads))
	m.HandleFunc("POST /api/v1/leads", h.authed(crmcore.PermManageLeads, h.createLead))
	m.HandleFunc("GET /api/v1/leads/{id}", h.authed(crmcore.PermManageLeads, h.getLead))
	m.HandleFunc("POST /api/v1/leads/{id}/transitions", h.authed(crmcore.PermManageLeads, h.transitionLead))
	m.HandleFunc("GET /api/v1/leads/{id}/assignments", h.authed(crmcore.PermManageLeads, h.leadAssignments))

	m.HandleFunc("GET /api/v1/interactions", h.authed(crmcore.PermReadOwnInteractions, h.listInteractions))
	m.HandleFunc("GET /api/v1/interactions/export", h.authed(crmcore.PermReadOwnInteractions, h.exportInteractions))
	m.HandleFunc("GET /api/v1/interactions/{id}", h.authed(crmcore.PermReadOwnInteractions, h.getInteraction))

	m.HandleFunc("GET /api/v1/agents", h.authed(crmcore.PermReadAgents, h.listAgents))
	m.HandleFunc("POST /api/v1/agents", h.authed(crmcore.PermManageAgents, h.createAgent))
	m.HandleFunc("GET /api/v1/agents/{id}", h.authed(crmcore.PermReadAgents, h.getAgent))
	m.HandleFunc("PUT /api/v1/agents/{id}", h.authed(crmcore.PermManageAgents, h.updateAgent))
	m.HandleFunc("DELETE /api/v1/agents/{id}", h.authed(crmcore.PermManageAgents, h.deleteAgent))
}

// ServeHTTP routes the request. Unknown paths and methods get JSON 404/405
// errors like every other failure; a panic in a handler becomes a JSON 500.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	_, pattern := h.mux.Handler(r)
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("crmapi: panic", "method", r.Method, "path", r.URL.Path, "panic", p)
			if !sw.wrote {
				writeError(sw, http.StatusInternalServerError, "internal", "internal error", "")
			}
		}
		route := pattern
		if route == "" {
			route = "unmatched"
		}
		h.m.Requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		h.m.Duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}()
	sw.Header().Set("Cache-Control", "no-store")
	if pattern == "" {
		// Let the mux decide between 404 and 405 (it sets Allow), then
		// answer in JSON.
		rec := &headerRecorder{h: http.Header{}}
		hd, _ := h.mux.Handler(r)
		hd.ServeHTTP(rec, r)
		if allow := rec.h.Get("Allow"); allow != "" && rec.code == http.StatusMethodNotAllowed {
			sw.Header().Set("Allow", allow)
			writeError(sw, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here (allowed: "+allow+")", "")
			return
		}
		if rec.code == http.StatusMovedPermanently || rec.code == http.StatusTemporaryRedirect || rec.code == http.StatusPermanentRedirect {
			sw.Header().Set("Location", rec.h.Get("Location"))
			writeError(sw, rec.code, "redirect", "see Location", "")
			return
		}
		writeError(sw, http.StatusNotFound, "not_found", "no such endpoint", "")
		return
	}
	h.mux.ServeHTTP(sw, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the connection's writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// streamWriteWait is how long one chunk of a streamed response may take to
// be written: a long export keeps going as long as the client reads, past
// the server's overall write timeout, and stops when it does not.
const streamWriteWait = 30 * time.Second

// streamWriter extends the connection's write deadline before every write.
type streamWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

// stream returns w wrapped in a streamWriter.
func stream(w http.ResponseWriter) io.Writer {
	return streamWriter{w: w, rc: http.NewResponseController(w)}
}

func (s streamWriter) Write(b []byte) (int, error) {
	_ = s.rc.SetWriteDeadline(time.Now().Add(streamWriteWait)) // unsupported (a recorder): no deadline to move
	return s.w.Write(b)
}

type headerRecorder struct {
	h    http.Header
	code int
}

func (r *headerRecorder) Header() http.Header { return r.h }
func (r *headerRecorder) WriteHeader(c int) {
	if r.code == 0 {
		r.code = c
	}
}
func (r *headerRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return len(b), nil
}

type ctxKey struct{}

// PrincipalFrom returns the authenticated caller stored in ctx by the handler.
func PrincipalFrom(ctx context.Context) (crmcore.Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(crmcore.Principal)
	return p, ok
}

// authed wraps fn with bearer-token authentication and, when perm is
// non-zero, a permission check.
func (h *Handler) authed(perm crmcore.Permission, fn func(http.ResponseWriter, *http.Request, crmcore.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "missing bearer token", "")
			return
		}
		p, err := h.d.Auth.Verify(r.Context(), tok)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard", error="invalid_token"`)
			h.fail(w, r, err)
			return
		}
		if perm != 0 {
			if err := p.Role.Check(perm); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		fn(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)), p)
	}
}

func bearer(r *http.Request) (string, bool) {
	a := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(a) <= len(prefix) || !strings.EqualFold(a[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(a[len(prefix):]), true
}

// apiError is the JSON error body.
type apiError struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Field   string   `json:"field,omitempty"`
	Allowed []string `json:"allowed,omitempty"` // next states, on a refused transition
}

func writeError(w http.ResponseWriter, status int, code, msg, field string) {
	writeErrorBody(w, status, apiError{Code: code, Message: msg, Field: field})
}

func writeErrorBody(w http.ResponseWriter, status int, e apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error apiError `json:"error"`
	}{e})
}

// fail maps a domain or store error to its HTTP status and JSON body.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		fe  *crmcore.FieldError
		pe  *crmcore.PhoneError
		te  *crmcore.TransitionError
		mbe *http.MaxBytesError
		be  *badRequest
		the *crmcore.ThrottleError
	)
	switch {
	case errors.As(err, &te):
		allowed := make([]string, len(te.Allowed))
		for i, s := range te.Allowed {
			allowed[i] = s.String()
		}
		writeErrorBody(w, http.StatusConflict, apiError{Code: "invalid_transition", Message: strings.TrimPrefix(err.Error(), "crmcore: "),
			Field: "to", Allowed: allowed})
	case errors.Is(err, crmcore.ErrInvalidTransition): // a refused lead transition
		writeError(w, http.StatusConflict, "invalid_transition", trimPrefixes(err.Error()), "to")
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body larger than %d bytes", mbe.Limit), "")
	case errors.As(err, &be):
		writeError(w, be.status, be.code, be.msg, be.field)
	case errors.As(err, &fe):
		code := "invalid_argument"
		if errors.Is(err, crmcore.ErrInvalidPhone) {
			code = "invalid_phone"
		}
		writeError(w, http.StatusBadRequest, code, fe.Field+": "+fe.Reason, fe.Field)
	case errors.As(err, &pe):
		writeError(w, http.StatusBadRequest, "invalid_phone", "invalid phone number: "+pe.Reason, "phone")
	case errors.Is(err, crmcore.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid_argument", trimPrefixes(err.Error()), "")
	case errors.As(err, &the):
		w.Header().Set("Retry-After", strconv.Itoa(the.RetrySeconds()))
		writeError(w, http.StatusTooManyRequests, "throttled", trimPrefixes(err.Error()), "")
	case errors.Is(err, crmcore.ErrBusy):
		w.Header().Set("Retry-After", "2")
		writeError(w, http.StatusServiceUnavailable, "unavailable", trimPrefixes(err.Error()), "")
	case errors.Is(err, crmcore.ErrUnauthenticated):
		writeError(w, http.StatusUnauthorized, "unauthenticated", trimPrefixes(err.Error()), "")
	case errors.Is(err, crmcore.ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", trimPrefixes(err.Error()), "")
	case errors.Is(err, crmcore.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "not found", "")
	case errors.Is(err, crmcore.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", trimPrefixes(err.Error()), "")
	case errors.Is(err, context.Canceled):
		writeError(w, 499, "canceled", "request canceled", "")
	default:
		h.log.Error("crmapi: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error", "")
	}
}

func trimPrefixes(s string) string {
	for _, p := range []string{"pgstore: ", "crmcore: "} {
		for strings.Contains(s, p) {
			s = strings.Replace(s, p, "", 1)
		}
	}
	return s
}

// badRequest is an input error found by the handler itself.
type badRequest struct {
	status           int
	code, msg, field string
}

func (e *badRequest) Error() string { return "crmapi: " + e.msg }

func bad(field, msg string) error {
	return &badRequest{status: http.StatusBadRequest, code: "invalid_argument", msg: msg, field: field}
}

// decodeJSON reads a size-capped JSON body into v, refusing unknown fields
// and trailing data.
func (h *Handler) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeJSONMax(w, r, v, h.maxBody)
}

// decodeJSONMax is decodeJSON with a cap of its own, for the endpoints
// whose bodies are smaller or larger than the usual.
func decodeJSONMax(w http.ResponseWriter, r *http.Request, v any, maxBody int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &badRequest{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", msg: "want Content-Type: application/json"}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return bad("", "empty request body")
		case errors.As(err, &se):
			return bad("", fmt.Sprintf("malformed JSON at byte %d", se.Offset))
		case errors.As(err, &te):
			return bad(te.Field, fmt.Sprintf("%s: want %s", te.Field, te.Type))
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return bad(f, "unknown field "+strconv.Quote(f))
		default:
			var fe *crmcore.FieldError
			if errors.As(err, &fe) {
				return err
			}
			return bad("", "malformed JSON: "+truncate(err.Error(), 200))
		}
	}
	if dec.More() {
		return bad("", "trailing data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return bad("", "trailing data after the JSON value")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Metrics are the API's request counters (namespace switchboard, subsystem crmapi).
type Metrics struct {
	Requests *prometheus.CounterVec   // by route pattern and status code
	Duration *prometheus.HistogramVec // by route pattern
}

// NewMetrics creates the metrics and registers them with reg (which may be nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "crmapi",
			Name: "requests_total", Help: "REST API requests by route and status."}, []string{"route", "code"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "switchboard", Subsystem: "crmapi",
			Name: "request_seconds", Help: "REST API request latency by route.", Buckets: prometheus.DefBuckets}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.Duration)
	}
	return m
}
