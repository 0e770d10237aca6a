package webcall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"switchboard/crmcore"
)

// Errors a Dialer wraps (%w) so that the browser gets the right status and message;
// any other error is answered 500 call_failed.
var (
	// ErrUnknownEntry: no WebRTC entry point of the IVR flows has the requested name (404).
	ErrUnknownEntry = errors.New("webcall: unknown entry point")
	// ErrBadOffer: the browser's SDP offer cannot be answered (400).
	ErrBadOffer = errors.New("webcall: offer refused")
	// ErrUnavailable: the telephony side takes no call now: at its call limit, or
	// draining (503).
	ErrUnavailable = errors.New("webcall: calls unavailable")
)

// Dialer places a web caller's call: it answers the browser's SDP offer and runs the
// call through the IVR entry point (the `webrtc:` entry of the flows) like a phone
// call. cmd/switchboard wires it over the SIP gateway and the voice journey.
type Dialer interface {
	// Call answers offerSDP (ICE gathering complete: no trickle) for caller c and
	// starts the call. ctx bounds the negotiation only: the call outlives it.
	Call(ctx context.Context, offerSDP string, c Caller) (Answer, error)
}

// Caller is who places a web call, as far as the page could tell.
type Caller struct {
	// Entry is the WebRTC entry point of the IVR flows the call runs through.
	Entry string
	// Name, Email and Phone come from the host site's signed token (Verified) or from
	// the page's optional form (checked for shape only); each may be empty.
	Name, Email, Phone string
	// Verified is true when the identity comes from a valid signed token.
	Verified bool
	// Address is the client's address (after the HTTP edge's forwarding rules).
	Address netip.Addr
}

// Answer is a placed call: the SDP answer for the browser, and the call's lifetime.
type Answer struct {
	// SDP is the answer, ICE gathering complete.
	SDP string
	// CallID identifies the call in logs and records.
	CallID string
	// Done is closed when the call ends; the call holds one of Config.MaxCalls until
	// then. It must not be nil.
	Done <-chan struct{}
}

// Config configures a Handler; every field but TokenSecret has a default.
type Config struct {
	// Entry is the WebRTC entry point used when the page names none (default "web").
	Entry string
	// AllowedOrigins are the web origins (https://shop.example.com) whose pages may frame
	// the call page and post offers, besides the server's own; "*" allows any.
	AllowedOrigins []string
	// TokenSecret keys the HMAC of host sites' caller tokens (at least 16 bytes); empty
	// refuses every token, and callers identify with the form only.
	TokenSecret []byte
	// TokenMaxLifetime refuses tokens that expire further ahead than this: a host mints
	// a token per page view, so a leaked one is short-lived (default 24 h).
	TokenMaxLifetime time.Duration
	// MaxCalls caps the web calls at once (default 200; more get 503).
	MaxCalls int
	// RatePerMinute and RateBurst limit the offers one client address (an IPv6 /64)
	// may post (default 6 a minute, burst 6; more get 429).
	RatePerMinute int
	RateBurst     int
	// AnswerTimeout bounds the Dialer's negotiation of one offer (default 10 s).
	AnswerTimeout time.Duration
	// Logger and Metrics are optional.
	Logger  *slog.Logger
	Metrics *Metrics
	// Now is the clock of token expiry and rate limits (time.Now when nil).
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.Entry == "" {
		c.Entry = "web"
	}
	if c.TokenMaxLifetime <= 0 {
		c.TokenMaxLifetime = 24 * time.Hour
	}
	if c.MaxCalls <= 0 {
		c.MaxCalls = 200
	}
	if c.RatePerMinute <= 0 {
		c.RatePerMinute = 6
	}
	if c.RateBurst <= 0 {
		c.RateBurst = 6
	}
	if c.AnswerTimeout <= 0 {
		c.AnswerTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// entryRE is the IVR's syntax of entry point names.
var entryRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// Handler serves web callers: GET /call (the page), GET /call/button.js (the button
// host sites embed), the page's script and style, and POST /call/offer. See doc.go.
type Handler struct {
	d      Dialer
	cfg    Config
	log    *slog.Logger
	m      *Metrics
	mux    *http.ServeMux
	limits *crmcore.AddrLimiter
	csp    string // the page's Content-Security-Policy

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // one goroutine per call in progress, releasing its slot

	mu     sync.Mutex
	active int
	closed bool
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler placing calls through d.
func New(d Dialer, cfg Config) (*Handler, error) {
	if d == nil {
		return nil, errors.New("webcall: nil dialer")
	}
	if len(cfg.TokenSecret) > 0 && len(cfg.TokenSecret) < 16 {
		return nil, errors.New("webcall: the token secret must have at least 16 bytes")
	}
	if cfg.Entry != "" && !entryRE.MatchString(cfg.Entry) {
		return nil, fmt.Errorf("webcall: invalid entry name %q", cfg.Entry)
	}
	for _, o := range cfg.AllowedOrigins {
		if err := checkOriginSyntax(o); err != nil {
			return nil, err
		}
	}
	cfg.defaults()
	h := &Handler{d: d, cfg: cfg, log: cfg.Logger, m: cfg.Metrics,
		limits: crmcore.NewAddrLimiter(float64(cfg.RatePerMinute)/60, cfg.RateBurst),
		csp:    pageCSP(cfg.AllowedOrigins)}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /call", h.servePage)
	mux.HandleFunc("GET /call/call.js", h.serveStatic("web/call.js", "text/javascript; charset=utf-8", false))
	mux.HandleFunc("GET /call/call.css", h.serveStatic("web/call.css", "text/css; charset=utf-8", false))
	mux.HandleFunc("GET /call/button.js", h.serveStatic("web/button.js", "text/javascript; charset=utf-8", true))
	mux.HandleFunc("POST /call/offer", h.serveOffer)
	mux.HandleFunc("OPTIONS /call/offer", h.servePreflight)
	mux.HandleFunc("/call/offer", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST, OPTIONS")
		h.refuse(w, r, &requestError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", message: "offers are posted (POST)"})
	})
	h.mux = mux
	return h, nil
}

// checkOriginSyntax accepts "*" or a bare http(s) origin: the allowed origins go into
// the page's Content-Security-Policy, so nothing else may pass.
func checkOriginSyntax(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(strings.TrimRight(o, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(o, " ;,'\"\t\r\n") {
		return fmt.Errorf("webcall: allowed origin %q is not \"*\" nor scheme://host[:port]", o)
	}
	return nil
}

// ServeHTTP serves the routes of the web caller.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Close refuses new calls and stops following the calls in progress (they go on: the
// telephony side owns them).
func (h *Handler) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	return nil
}

// Active returns the web calls in progress.
func (h *Handler) Active() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.active
}

// reserve takes one of Config.MaxCalls; false when none is left or the handler is closed.
func (h *Handler) reserve() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.active >= h.cfg.MaxCalls {
		return false
	}
	h.active++
	h.m.setActive(h.active)
	return true
}

func (h *Handler) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.active--
	h.m.setActive(h.active)
}

// follow holds a call's slot until it ends (or the handler closes).
func (h *Handler) follow(done <-chan struct{}) {
	h.mu.Lock()
	if h.closed || done == nil {
		h.mu.Unlock()
		h.release()
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		defer h.release()
		select {
		case <-done:
		case <-h.ctx.Done():
		}
	}()
}
