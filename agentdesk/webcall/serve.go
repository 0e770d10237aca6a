package webcall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"unicode"
	"unicode/utf8"

	"switchboard/agentdesk"
)

// apiError is the body of every refusal: {"error": {code, message, field}}.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// serveOffer places a call from the page's offer. The cheap checks (content type,
// origin, rate) come before the body is read; a slot under MaxCalls is taken last,
// just before the Dialer runs.
func (h *Handler) serveOffer(w http.ResponseWriter, r *http.Request) {
	h.m.offer()
	h.cors(w, r)
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		// A cross-site form or beacon cannot send application/json without a CORS
		// preflight, which only allowed origins pass.
		h.refuse(w, r, &requestError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			message: "the request must be application/json"})
		return
	}
	if !agentdesk.OriginAllowed(r, h.cfg.AllowedOrigins) {
		h.refuse(w, r, &requestError{status: http.StatusForbidden, code: "origin_not_allowed",
			message: "calls cannot be placed from this site"})
		return
	}
	addr := clientAddr(r)
	if !h.limits.Allow(addr, h.cfg.Now()) {
		w.Header().Set("Retry-After", "60")
		h.refuse(w, r, &requestError{status: http.StatusTooManyRequests, code: "rate_limited",
			message: "too many calls from your network; please wait a minute and try again"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.refuse(w, r, &requestError{status: http.StatusRequestEntityTooLarge, code: "too_large", message: "the request is too large"})
		} else {
			h.refuse(w, r, badRequest("bad_request", "", "the request body could not be read"))
		}
		return
	}
	req, err := parseOffer(body)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	caller, err := h.identify(req)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	caller.Address = addr
	if !h.reserve() {
		w.Header().Set("Retry-After", "30")
		h.refuse(w, r, &requestError{status: http.StatusServiceUnavailable, code: "busy",
			message: "all our lines are busy; please try again in a moment"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.AnswerTimeout)
	defer cancel()
	ans, err := h.dial(ctx, req.SDP, caller)
	if err != nil {
		h.release()
		re := dialError(ctx, err)
		if re.status >= 500 {
			h.log.Warn("webcall: call not placed", "entry", caller.Entry, "err", err)
		}
		h.refuse(w, r, re)
		return
	}
	h.follow(ans.Done)
	identity := "anonymous"
	switch {
	case caller.Verified:
		identity = "verified"
	case caller.Name != "" || caller.Email != "" || caller.Phone != "":
		identity = "form"
	}
	h.m.placed(identity)
	h.log.Info("webcall: call placed", "call_id", ans.CallID, "entry", caller.Entry, "identity", identity)
	writeJSON(w, http.StatusOK, offerResponse{SDP: ans.SDP, CallID: ans.CallID})
}

// dial runs the Dialer; a panic in it refuses the call instead of taking the server's
// connection down with it.
func (h *Handler) dial(ctx context.Context, sdp string, c Caller) (ans Answer, err error) {
	defer func() {
		if v := recover(); v != nil {
			h.log.Error("webcall: panic in the dialer", "panic", fmt.Sprint(v))
			ans, err = Answer{}, errors.New("webcall: dialer panicked")
		}
	}()
	return h.d.Call(ctx, sdp, c)
}

// identify builds the caller from the token, else from the form (unverified). A token
// speaks for the caller entirely: the form's fields are not mixed in.
func (h *Handler) identify(req offerRequest) (Caller, error) {
	c := Caller{Entry: req.Entry, Name: req.Name, Email: req.Email, Phone: req.Phone}
	if c.Entry == "" {
		c.Entry = h.cfg.Entry
	}
	if req.Token == "" {
		return c, nil
	}
	claims, err := verifyToken(h.cfg.TokenSecret, req.Token, h.cfg.Now(), h.cfg.TokenMaxLifetime)
	if err != nil {
		code := "bad_token"
		if errors.Is(err, errTokenExpired) {
			code = "token_expired"
		}
		return Caller{}, &requestError{status: http.StatusUnauthorized, code: code, field: "token", message: err.Error()}
	}
	return Caller{Entry: c.Entry, Name: claims.Name, Email: claims.Email, Phone: claims.Phone, Verified: true}, nil
}

// dialError maps a Dialer's error to the page's answer.
func dialError(ctx context.Context, err error) *requestError {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		// First: a negotiation cut short may come back wrapped in any error.
		return &requestError{status: http.StatusGatewayTimeout, code: "timeout", message: "the call took too long to connect; please try again"}
	case errors.Is(err, ErrUnknownEntry):
		return &requestError{status: http.StatusNotFound, code: "unknown_entry", field: "entry", message: "there is no such line to call"}
	case errors.Is(err, ErrBadOffer):
		return badRequest("bad_sdp", "sdp", "your browser's call could not be connected (its offer was refused)")
	case errors.Is(err, ErrUnavailable):
		return &requestError{status: http.StatusServiceUnavailable, code: "unavailable", message: "we cannot take calls right now; please try again later"}
	}
	return &requestError{status: http.StatusInternalServerError, code: "call_failed", message: "the call could not be placed; please try again"}
}

// refuse answers a refused request with its JSON error and counts it.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var re *requestError
	if !errors.As(err, &re) {
		re = &requestError{status: http.StatusInternalServerError, code: "call_failed", message: "the call could not be placed"}
	}
	h.m.refuse(re.code)
	h.log.Debug("webcall: offer refused", "code", re.code, "field", re.field, "remote", r.RemoteAddr)
	writeJSON(w, re.status, struct {
		Error apiError `json:"error"`
	}{apiError{Code: re.code, Message: sentence(re.message), Field: re.field}})
}

// sentence capitalises a message for the page, which shows it as is (the messages are
// written as Go errors are: lower case).
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:] + "."
}

// cors lets an allowed origin's own page read the answer (the page served here needs
// none of it: it posts to its own origin).
func (h *Handler) cors(w http.ResponseWriter, r *http.Request) {
	o := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	if o != "" && agentdesk.OriginAllowed(r, h.cfg.AllowedOrigins) {
		w.Header().Set("Access-Control-Allow-Origin", o)
	}
}

// servePreflight answers the CORS preflight of a cross-origin POST /call/offer: allowed
// origins may post JSON, others get no permission (and the browser sends nothing).
func (h *Handler) servePreflight(w http.ResponseWriter, r *http.Request) {
	h.cors(w, r)
	if r.Header.Get("Origin") != "" && agentdesk.OriginAllowed(r, h.cfg.AllowedOrigins) {
		w.Header().Set("Access-Control-Allow-Methods", "POST")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
		w.Header().Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}

// clientAddr is the request's client address; the zero Addr when it cannot be read.
func clientAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
