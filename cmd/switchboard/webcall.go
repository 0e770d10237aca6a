package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/agentdesk/webcall"
	"switchboard/ivr"
	"switchboard/sip"
)

// WebCallConfig is the web caller: the page and button (/call) from which
// customers call over WebRTC into a webrtc entry point of the flows.
type WebCallConfig struct {
	// Entry is the webrtc entry point a page calls when it names none
	// (default "web").
	Entry string `yaml:"entry"`
	// AllowedOrigins are the sites whose pages may frame the call page and
	// post offers, besides this server's own; "*" allows any.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// TokenSecretFile holds the secret host sites sign their callers'
	// tokens with (agentdesk/webcall's doc: the format); none: callers
	// identify with the page's form only.
	TokenSecretFile string `yaml:"token_secret_file"`
	// TokenMaxLifetime refuses tokens that expire further ahead.
	TokenMaxLifetime Duration `yaml:"token_max_lifetime"`
	// MaxCalls caps the web calls at once; RatePerMinute and RateBurst
	// limit the calls one client address places.
	MaxCalls      int `yaml:"max_calls"`
	RatePerMinute int `yaml:"rate_per_minute"`
	RateBurst     int `yaml:"rate_burst"`
	// AnswerTimeout bounds the WebRTC negotiation of a call.
	AnswerTimeout Duration `yaml:"answer_timeout"`
}

// newWebCall builds the web caller's handler over dialer.
func newWebCall(cfg *WebCallConfig, dialer webcall.Dialer, reg prometheus.Registerer, logger *slog.Logger) (*webcall.Handler, error) {
	var secret []byte
	if cfg.TokenSecretFile != "" {
		b, err := os.ReadFile(cfg.TokenSecretFile)
		if err != nil {
			return nil, fmt.Errorf("webcall.token_secret_file: %w", err)
		}
		secret = []byte(strings.TrimSpace(string(b)))
	}
	h, err := webcall.New(dialer, webcall.Config{Entry: cfg.Entry, AllowedOrigins: cfg.AllowedOrigins, TokenSecret: secret,
		TokenMaxLifetime: cfg.TokenMaxLifetime.D(), MaxCalls: cfg.MaxCalls, RatePerMinute: cfg.RatePerMinute, RateBurst: cfg.RateBurst,
		AnswerTimeout: cfg.AnswerTimeout.D(), Logger: logger, Metrics: webcall.NewMetrics(reg)})
	if err != nil {
		return nil, fmt.Errorf("webcall: %w", err)
	}
	return h, nil
}

// webDialer places web callers' calls: the gateway answers the browser's
// offer and the call goes through the voice journey like a phone call,
// into the flows' webrtc entry point it named.
type webDialer struct {
	gw     *sip.Gateway
	flows  *ivr.Registry
	handle func(*sip.Call)
}

// Call implements webcall.Dialer.
func (d webDialer) Call(ctx context.Context, offer string, c webcall.Caller) (webcall.Answer, error) {
	if _, ok, err := d.flows.ForWebRTC(c.Entry); err != nil || !ok {
		return webcall.Answer{}, fmt.Errorf("%w: %q", webcall.ErrUnknownEntry, c.Entry)
	}
	// An unverified number is never the call's number (it would be dialled
	// back and would route: a segment, a sticky agent): the caller is
	// "web" unless a host site's token vouches for it. The journey still
	// matches the form's email or phone to a contact for the pop and the
	// record.
	ani := "web"
	if c.Verified && c.Phone != "" {
		ani = c.Phone
	}
	call, answer, err := d.gw.AcceptWebRTC(ctx, offer, sip.WebRTCInfo{ANI: ani, DNIS: "web", Entry: c.Entry,
		Caller: sip.WebCaller{Name: c.Name, Email: c.Email, Phone: c.Phone, Verified: c.Verified}})
	switch {
	case errors.Is(err, sip.ErrCallLimit), errors.Is(err, sip.ErrDraining):
		return webcall.Answer{}, fmt.Errorf("%w: %w", webcall.ErrUnavailable, err)
	case err != nil && ctx.Err() == nil && errors.Is(err, sip.ErrWebRTC):
		return webcall.Answer{}, fmt.Errorf("%w: %w", webcall.ErrBadOffer, err)
	case err != nil:
		return webcall.Answer{}, err
	}
	go d.handle(call)
	return webcall.Answer{SDP: answer, CallID: call.ID(), Done: call.Context().Done()}, nil
}
