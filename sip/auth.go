package sip

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// HA1 is what is stored of a SIP user's digest password for one realm:
// H(username ":" realm ":" password) in lower-case hex, for MD5 and for
// SHA-256 (RFC 7616). The password itself is never kept.
type HA1 struct {
	MD5    string
	SHA256 string
}

// Credentials supplies the HA1 hashes of a SIP user's password for the
// gateway's realm (the CRM implements it). ok=false means no such user,
// or a user without SIP access.
type Credentials interface {
	SIPHA1(ctx context.Context, username string) (ha1 HA1, ok bool, err error)
}

// Digest authentication settings.
const (
	// nonceTTL is how long a challenge may be answered; a later answer gets
	// a new challenge with stale=true, which phones answer without asking
	// the user.
	nonceTTL = 30 * time.Second
	// maxTrackedNonces caps the nonces whose counts are remembered.
	maxTrackedNonces = 100000
)

// digestAuth checks SIP digest credentials (RFC 3261 §22, RFC 2617 and
// RFC 7616 with MD5 and SHA-256, qop=auth) of REGISTERs and INVITEs.
// Nonces are stateless (nonceMint): bound to the client's address and
// valid for nonceTTL. Behind an edge proxy the client's address is the one
// the edge stamped on the request (edgeProxies.clientAddr), for the nonces
// as for the failure counts. The digest must name the Request-URI, and with
// qop=auth each use of a nonce must carry a higher nonce count (ncTracker),
// so a captured request cannot be replayed. Responses are compared in
// constant time; failures are counted per client (sourceGuard), and a
// client past maxFailures gets 403 without a challenge until the window
// ends. It is safe for concurrent use.
type digestAuth struct {
	realm  string
	algos  []string // challenged in this order; others are refused
	creds  Credentials
	now    func() time.Time
	nonces *nonceMint
	ncs    *ncTracker
	guard  *sourceGuard
	edges  edgeProxies
	m      *Metrics
	log    *slog.Logger
}

func newDigestAuth(realm string, algos []string, creds Credentials, guard *sourceGuard, edges edgeProxies, now func() time.Time, m *Metrics, log *slog.Logger) *digestAuth {
	return &digestAuth{realm: realm, algos: algos, creds: creds, now: now, nonces: newNonceMint(realm, nonceTTL),
		ncs: newNCTracker(nonceTTL, maxTrackedNonces), guard: guard, edges: edges, m: m, log: log}
}

// authResult is the outcome of an authentication.
type authResult struct {
	user string
	res  *sipmsg.Response // non-nil: send it (401 challenge, 403 or 503)
}

// authorization returns the request's Authorization header, or its
// Proxy-Authorization.
func authorization(req *sipmsg.Request) sipmsg.Header {
	if h := req.GetHeader("Authorization"); h != nil {
		return h
	}
	return req.GetHeader("Proxy-Authorization")
}

// hasFreshNonce reports whether authValue (an Authorization header's
// value) carries a nonce issued to client (a limitKey) that has not
// expired: such a request is not counted against the client's rate of
// unauthenticated requests.
func (a *digestAuth) hasFreshNonce(authValue string, client netip.Addr) bool {
	nonce, ok := digestParam(authValue, "nonce")
	if !ok {
		return false
	}
	st, _ := a.nonces.check(nonce, client, a.now())
	return st == nonceFresh
}

// authenticate checks req's credentials and returns either the user name
// or the response to send.
func (a *digestAuth) authenticate(ctx context.Context, req *sipmsg.Request) authResult {
	client, _ := a.edges.clientAddr(req)
	key := limitKey(client.Addr())
	now := a.now()
	if a.guard.blocked(key, now) {
		res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusForbidden, "Too Many Failed Attempts", nil)
		res.AppendHeader(sipmsg.NewHeader("Retry-After", strconv.Itoa(int(failWindow.Seconds()))))
		return authResult{res: res}
	}
	h := authorization(req)
	if h == nil {
		return authResult{res: a.challenge(req, key, false)}
	}
	cr, err := digest.ParseCredentials(h.Value())
	if err != nil || cr.Realm != a.realm || cr.Username == "" || cr.Nc < 0 {
		return a.refuse(req, client, "malformed credentials")
	}
	algo := strings.ToUpper(cr.Algorithm)
	if algo == "" {
		algo = "MD5" // RFC 2617 §3.2.2
	}
	if !slices.Contains(a.algos, algo) {
		return a.refuse(req, client, "algorithm not offered")
	}
	st, _ := a.nonces.check(cr.Nonce, key, now)
	switch st {
	case nonceBad:
		return a.refuse(req, client, "nonce not issued to this client")
	case nonceStale:
		return authResult{res: a.challenge(req, key, true)}
	}
	if !sameURI(cr.URI, req.Recipient) {
		return a.refuse(req, client, "digest uri is not the request uri")
	}
	if cr.QOP != "" && (cr.QOP != "auth" || cr.Nc == 0 || cr.Cnonce == "") {
		return a.refuse(req, client, "bad qop")
	}
	ha1, ok, err := a.creds.SIPHA1(ctx, cr.Username)
	if err != nil {
		// The store is down or overloaded: a temporary condition, so 503
		// with Retry-After (RFC 3261 21.5.4), which phones honour.
		a.log.Warn("sip: credentials lookup failed", "user", cr.Username, "src", req.Source(), "client", client.String(), "err", err)
		res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusServiceUnavailable, "Credentials Unavailable", nil)
		res.AppendHeader(sipmsg.NewHeader("Retry-After", "5"))
		return authResult{res: res}
	}
	stored := ha1.MD5
	if algo == "SHA-256" {
		stored = ha1.SHA256
	}
	if !ok || stored == "" {
		stored = randomHex() // compute anyway: same timing for unknown users
		ok = false
	}
	chal := &digest.Challenge{Realm: a.realm, Nonce: cr.Nonce, Algorithm: cr.Algorithm}
	if cr.QOP != "" {
		chal.QOP = []string{"auth"}
	}
	want, err := digest.Digest(chal, digest.Options{Method: req.Method.String(), URI: cr.URI,
		Username: cr.Username, A1: stored, Cnonce: cr.Cnonce, Count: cr.Nc})
	if err != nil || subtle.ConstantTimeCompare([]byte(want.Response), []byte(cr.Response)) != 1 || !ok {
		return a.refuse(req, client, "wrong credentials")
	}
	switch a.ncs.use(cr.Nonce, uint32(cr.Nc), now) {
	case ncReused:
		// A replay, or a client that lost count: either way a new nonce.
		a.m.NonceReuse.Inc()
		a.log.Info("sip: digest nonce count reused", "user", cr.Username, "src", req.Source(), "client", client.String(),
			"method", req.Method.String())
		return authResult{res: a.challenge(req, key, true)}
	case ncFull:
		res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusServiceUnavailable, "Busy", nil)
		res.AppendHeader(sipmsg.NewHeader("Retry-After", "5"))
		return authResult{res: res}
	}
	return authResult{user: cr.Username}
}

// refuse counts a failed attempt from client and answers a new challenge.
func (a *digestAuth) refuse(req *sipmsg.Request, client netip.AddrPort, why string) authResult {
	key := limitKey(client.Addr())
	a.m.AuthFailures.Inc()
	a.guard.failed(key, a.now())
	a.log.Debug("sip: digest refused", "reason", why, "src", req.Source(), "client", client.String(), "method", req.Method.String())
	return authResult{res: a.challenge(req, key, false)}
}

// challenge answers 401 with one challenge per algorithm, for one nonce,
// most preferred first (RFC 7616 §3.7, RFC 8760: the client uses the first
// it supports).
func (a *digestAuth) challenge(req *sipmsg.Request, src netip.Addr, stale bool) *sipmsg.Response {
	nonce := a.nonces.issue(src, a.now())
	res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusUnauthorized, "Unauthorized", nil)
	for _, algo := range a.algos {
		chal := digest.Challenge{Realm: a.realm, Nonce: nonce, Algorithm: algo, QOP: []string{"auth"}, Stale: stale}
		res.AppendHeader(sipmsg.NewHeader("WWW-Authenticate", chal.String()))
	}
	return res
}

func randomHex() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sameURI reports whether the digest-uri names the Request-URI (RFC 3261
// §22.4): same scheme, user, host and port (the scheme's default when
// absent); URI parameters are not compared.
func sameURI(digestURI string, ruri sipmsg.Uri) bool {
	if len(digestURI) > 512 {
		return false
	}
	var u sipmsg.Uri
	if err := sipmsg.ParseUri(digestURI, &u); err != nil {
		return false
	}
	port := func(x sipmsg.Uri) int {
		if x.Port != 0 {
			return x.Port
		}
		if strings.EqualFold(x.Scheme, "sips") {
			return 5061
		}
		return 5060
	}
	return strings.EqualFold(u.Scheme, ruri.Scheme) && u.User == ruri.User &&
		strings.EqualFold(u.Host, ruri.Host) && port(u) == port(ruri)
}

// digestParam finds the value of param key (e.g. nonce) in a Digest
// credentials header value without parsing the rest: a cheap look on
// the path that rate-limits floods.
func digestParam(v, key string) (string, bool) {
	for len(v) > 0 {
		i := strings.Index(v, key)
		if i < 0 {
			return "", false
		}
		before := byte(' ')
		if i > 0 {
			before = v[i-1]
		}
		v = v[i+len(key):]
		if before != ' ' && before != ',' && before != '\t' {
			continue
		}
		rest := strings.TrimLeft(v, " \t")
		if !strings.HasPrefix(rest, "=") {
			continue
		}
		rest = strings.TrimLeft(rest[1:], " \t")
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return "", false
			}
			return rest[1 : 1+end], true
		}
		end := strings.IndexAny(rest, ", \t\r\n")
		if end < 0 {
			end = len(rest)
		}
		return rest[:end], true
	}
	return "", false
}
