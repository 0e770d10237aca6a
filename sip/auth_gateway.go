package sip

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// DefaultRealm is the digest realm of a gateway configured without one.
const DefaultRealm = "switchboard"

// DefaultDigestAlgorithms returns the digest algorithms of a gateway
// configured without any: MD5, then SHA-256. MD5 comes first because many
// deployed phones (and SIPp) answer only the first challenge and know
// only MD5; clients that read every challenge may pick SHA-256.
func DefaultDigestAlgorithms() []string { return []string{"MD5", "SHA-256"} }

// CheckDigestAlgorithms reports whether as is a usable
// Config.DigestAlgorithms: "SHA-256" and/or "MD5", each once.
func CheckDigestAlgorithms(as []string) error {
	for i, a := range as {
		if (a != "SHA-256" && a != "MD5") || slices.Contains(as[:i], a) {
			return fmt.Errorf("%w: digest algorithms %q (want SHA-256 and/or MD5, each once)", ErrBadConfig, as)
		}
	}
	if len(as) == 0 {
		return fmt.Errorf("%w: no digest algorithm", ErrBadConfig)
	}
	return nil
}

// Defaults of the TCP/TLS connection limits (Config.TCPMaxConns,
// TCPMaxPerSource, TCPIdleTimeout).
const (
	DefaultTCPMaxConns     = 10000
	DefaultTCPMaxPerSource = 100
	DefaultTCPIdleTimeout  = 30 * time.Second
)

// WithClock sets the clock of digest nonces, registrations and the
// per-source limits (default time.Now).
func WithClock(now func() time.Time) Option { return func(g *Gateway) { g.clock = now } }

// setupAuth applies the defaults of the authentication and limit settings,
// checks them, and builds the digest checker, the per-source guard, the
// registrar and the TCP/TLS connection limiter.
func (g *Gateway) setupAuth() error {
	c := &g.cfg
	if strings.ContainsAny(c.Realm, "\"\\\r\n\x00") || len(c.Realm) > 128 {
		return fmt.Errorf("%w: realm %q", ErrBadConfig, c.Realm)
	}
	if c.MinExpiry == 0 {
		c.MinExpiry = DefaultMinExpiry
	}
	if c.MaxExpiry == 0 {
		c.MaxExpiry = max(DefaultMaxExpiry, c.MinExpiry)
	}
	if c.MinExpiry < time.Second || c.MaxExpiry < c.MinExpiry {
		return fmt.Errorf("%w: registration expiry %v–%v", ErrBadConfig, c.MinExpiry, c.MaxExpiry)
	}
	if c.TCPMaxConns <= 0 {
		c.TCPMaxConns = DefaultTCPMaxConns
	}
	if c.TCPMaxPerSource <= 0 {
		c.TCPMaxPerSource = DefaultTCPMaxPerSource
	}
	if c.TCPIdleTimeout <= 0 {
		c.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if len(c.DigestAlgorithms) == 0 {
		c.DigestAlgorithms = DefaultDigestAlgorithms()
	}
	if err := CheckDigestAlgorithms(c.DigestAlgorithms); err != nil {
		return err
	}
	if c.UnauthRate < 0 || c.UnauthBurst < 0 {
		return fmt.Errorf("%w: negative unauthenticated request rate", ErrBadConfig)
	}
	if g.bindings == nil {
		g.bindings = newMemBindings()
	}
	if g.clock == nil {
		g.clock = time.Now
	}
	g.guard = newSourceGuard(c.UnauthRate, c.UnauthBurst, maxSources)
	g.auth = newDigestAuth(c.Realm, c.DigestAlgorithms, g.creds, g.guard, g.edges, g.clock, g.m, g.log)
	g.regr = newRegistrar(g.auth, g.bindings, c.MinExpiry, c.MaxExpiry, g.m, g.log)
	// A connection that authenticated a request stays open while it is
	// used at least once per registration interval (plus a margin). An
	// edge proxy's connections carry every client behind it: they are
	// limited like a trusted source's, and their requests per client.
	g.conns = newConnLimiter(c.TCPMaxConns, c.TCPMaxPerSource, c.TCPIdleTimeout, c.MaxExpiry+time.Minute,
		func(ip netip.Addr) bool { return g.isTrusted(ip) || g.edges.contains(ip) }, g.m, g.log)
	return nil
}

// authorizeInvite authenticates a new INVITE when Config.RequireAuth is set
// and its client (edgeProxies.clientAddr) is not trusted. It reports false
// after answering the request (401 challenge, 403, or 503 when the
// credentials store is down).
func (g *Gateway) authorizeInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) bool {
	client, _ := g.edges.clientAddr(req)
	if !g.cfg.RequireAuth || g.isTrusted(client.Addr()) {
		return true
	}
	if g.creds == nil {
		g.respond(req, tx, sipmsg.StatusForbidden, "Forbidden")
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if a := g.auth.authenticate(ctx, req); a.res != nil {
		g.send(req, tx, a.res)
		return false
	}
	g.conns.established(req)
	return true
}

// admitRequest applies the per-client limit of unauthenticated requests to
// a request that came over TCP or TLS, or over UDP from an edge proxy
// (other UDP datagrams are filtered before parsing, by limitConn). ACKs,
// trusted clients and requests with a fresh nonce of their client pass.
func (g *Gateway) admitRequest(req *sipmsg.Request) bool {
	if req.IsAck() {
		return true
	}
	if req.Transport() == "UDP" && !g.edges.contains(sourceAddr(req.Source())) {
		return true
	}
	client, _ := g.edges.clientAddr(req)
	if g.isTrusted(client.Addr()) {
		return true
	}
	key := limitKey(client.Addr())
	if h := authorization(req); h != nil && g.auth.hasFreshNonce(h.Value(), key) {
		return true
	}
	return g.guard.allow(key, g.auth.now())
}
