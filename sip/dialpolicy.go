package sip

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"

	"switchboard/acd/dialplan"
)

// ErrDialDenied is wrapped by Dial when the dial policy refuses a number
// bound for the trunk; no INVITE was sent.
var ErrDialDenied = errors.New("sip: number refused by the dial plan")

// DialPolicy decides which numbers may be dialled through the trunk, and
// how (*dialplan.Plan satisfies it).
type DialPolicy interface {
	// Check returns the decision for number dialled on behalf of role,
	// with the number to send, or an error when it may not be dialled.
	Check(role dialplan.Role, number string) (dialplan.Decision, error)
}

var _ DialPolicy = (*dialplan.Plan)(nil)

// WithDialPolicy makes every leg Dial sends to the trunk pass policy: a
// refused number gets no INVITE (Dial's error wraps ErrDialDenied), an
// allowed one is dialled in the form the policy returns (E.164). Without a
// policy the trunk dials any number.
func WithDialPolicy(p DialPolicy) Option { return func(g *Gateway) { g.dialPolicy = p } }

// vetTrunk applies the dial policy to the targets bound for the trunk (a
// number routed there, or a URI naming the trunk's host and port) and
// rewrites their user part to the number the policy allows.
func (g *Gateway) vetTrunk(uris []sipmsg.Uri, role dialplan.Role) error {
	if g.dialPolicy == nil || g.cfg.Trunk == "" {
		return nil
	}
	for i := range uris {
		if !g.isTrunk(uris[i]) {
			continue
		}
		d, err := g.dialPolicy.Check(role, uris[i].User)
		if err != nil {
			g.m.CallResults.WithLabelValues("out", "denied").Inc()
			g.log.Warn("sip: trunk dial refused by the dial plan", "role", string(role), "number", sanitizeHeaderValue(uris[i].User), "err", err)
			return fmt.Errorf("%w: %w", ErrDialDenied, err)
		}
		uris[i].User = d.Number
	}
	return nil
}

// isTrunk reports whether u is addressed to the trunk's host and port.
func (g *Gateway) isTrunk(u sipmsg.Uri) bool {
	host, port := g.cfg.Trunk, 0
	if h, p, err := net.SplitHostPort(g.cfg.Trunk); err == nil {
		host = h
		port, _ = strconv.Atoi(p)
	}
	norm := func(p int) int {
		if p == 0 {
			return 5060
		}
		return p
	}
	return strings.EqualFold(strings.Trim(u.Host, "[]"), strings.Trim(host, "[]")) && norm(u.Port) == norm(port)
}
