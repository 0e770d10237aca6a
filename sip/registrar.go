package sip

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Credentials supplies the SIP digest secret of an agent's phone (the CRM
// implements it). ok=false means no such user.
type Credentials interface {
	SIPSecret(ctx context.Context, username string) (secret string, ok bool, err error)
}

// Binding is one registered contact of a user.
type Binding struct {
	User    string
	Contact sipmsg.Uri
	Expires time.Time
	Source  string // transport source address of the REGISTER
}

// Registrar limits and defaults.
const (
	defaultExpires  = 3600
	maxExpires      = 7200
	minExpires      = 60
	nonceTTL        = 5 * time.Minute
	maxContacts     = 10
	failWindow      = time.Minute
	maxFailures     = 5 // per source per window; then 403 until the window ends
	maxNonceEntries = 100000
)

type nonceState struct {
	nonce  string
	issued time.Time
}

type failState struct {
	count int
	since time.Time
}

// Registrar handles REGISTER with digest authentication (RFC 3261 §10,
// RFC 2617 MD5 with qop=auth). Nonces are kept per Call-ID: a phone
// re-registers with the same Call-ID, and a nonce presented on another
// Call-ID is refused. An expired nonce is answered with stale=true so the
// phone retries without prompting. Responses are compared in constant
// time. Failed attempts are counted per source IP; past maxFailures in a
// window the source gets 403 without a challenge. It is safe for
// concurrent use (one mutex; every operation is short).
type Registrar struct {
	realm string
	creds Credentials
	now   func() time.Time
	m     *Metrics
	log   *slog.Logger

	mu       sync.Mutex
	bindings map[string][]Binding
	nonces   map[string]nonceState
	fails    map[string]*failState
}

// NewRegistrar creates a registrar for realm; now, m and log may be nil.
func NewRegistrar(realm string, creds Credentials, now func() time.Time, m *Metrics, log *slog.Logger) *Registrar {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Registrar{realm: realm, creds: creds, now: now, m: m, log: log,
		bindings: map[string][]Binding{}, nonces: map[string]nonceState{}, fails: map[string]*failState{}}
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func sourceIP(src string) string {
	if i := strings.LastIndexByte(src, ':'); i > 0 {
		return strings.Trim(src[:i], "[]")
	}
	return src
}

// authResult is the outcome of Authenticate.
type authResult struct {
	user string
	res  *sipmsg.Response // non-nil: send it (401 challenge or 403)
}

// Authenticate checks the Authorization header of req against the
// credentials store, returning either the authenticated user name or the
// response to send (401 with a fresh challenge, or 403).
func (r *Registrar) Authenticate(ctx context.Context, req *sipmsg.Request) authResult {
	src := sourceIP(req.Source())
	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	now := r.now()

	r.mu.Lock()
	if f := r.fails[src]; f != nil {
		if now.Sub(f.since) > failWindow {
			delete(r.fails, src)
		} else if f.count >= maxFailures {
			r.mu.Unlock()
			res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusForbidden, "Too Many Failed Attempts", nil)
			res.AppendHeader(sipmsg.NewHeader("Retry-After", strconv.Itoa(int(failWindow.Seconds()))))
			return authResult{res: res}
		}
	}
	st, haveNonce := r.nonces[callID]
	r.mu.Unlock()

	h := req.GetHeader("Authorization")
	if h == nil {
		h = req.GetHeader("Proxy-Authorization")
	}
	if h == nil || !haveNonce {
		return authResult{res: r.challenge(req, callID, false)}
	}
	cr, err := digest.ParseCredentials(h.Value())
	if err != nil || cr.Realm != r.realm || cr.Username == "" {
		r.fail(src)
		return authResult{res: r.challenge(req, callID, false)}
	}
	if subtle.ConstantTimeCompare([]byte(cr.Nonce), []byte(st.nonce)) != 1 {
		// A nonce we did not issue for this Call-ID.
		r.fail(src)
		return authResult{res: r.challenge(req, callID, false)}
	}
	if now.Sub(st.issued) > nonceTTL {
		return authResult{res: r.challenge(req, callID, true)}
	}
	secret, ok, err := r.creds.SIPSecret(ctx, cr.Username)
	if err != nil {
		// The store is down or overloaded: a temporary condition, so 503
		// with Retry-After (RFC 3261 21.5.4), which phones honour.
		r.log.Warn("sip: credentials lookup failed", "user", cr.Username, "src", src, "err", err)
		res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusServiceUnavailable, "Credentials Unavailable", nil)
		res.AppendHeader(sipmsg.NewHeader("Retry-After", "5"))
		return authResult{res: res}
	}
	if !ok {
		secret = newNonce() // compute anyway: same timing for unknown users
	}
	chal := &digest.Challenge{Realm: r.realm, Nonce: st.nonce, Algorithm: "MD5"}
	if cr.QOP != "" {
		chal.QOP = []string{"auth"}
	}
	want, err := digest.Digest(chal, digest.Options{Method: req.Method.String(), URI: cr.URI,
		Username: cr.Username, Password: secret, Cnonce: cr.Cnonce, Count: cr.Nc})
	if err != nil || subtle.ConstantTimeCompare([]byte(want.Response), []byte(cr.Response)) != 1 || !ok {
		r.fail(src)
		return authResult{res: r.challenge(req, callID, false)}
	}
	return authResult{user: cr.Username}
}

func (r *Registrar) fail(src string) {
	r.m.AuthFailures.Inc()
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.fails[src]
	if f == nil {
		f = &failState{since: r.now()}
		r.fails[src] = f
	}
	f.count++
}

func (r *Registrar) challenge(req *sipmsg.Request, callID string, stale bool) *sipmsg.Response {
	n := nonceState{nonce: newNonce(), issued: r.now()}
	r.mu.Lock()
	if len(r.nonces) >= maxNonceEntries {
		for k, v := range r.nonces {
			if r.now().Sub(v.issued) > 2*nonceTTL {
				delete(r.nonces, k)
			}
		}
		if len(r.nonces) >= maxNonceEntries {
			r.mu.Unlock()
			return sipmsg.NewResponseFromRequest(req, sipmsg.StatusServiceUnavailable, "Busy", nil)
		}
	}
	r.nonces[callID] = n
	r.mu.Unlock()
	chal := digest.Challenge{Realm: r.realm, Nonce: n.nonce, Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusUnauthorized, "Unauthorized", nil)
	res.AppendHeader(sipmsg.NewHeader("WWW-Authenticate", chal.String()))
	return res
}

// HandleRegister processes a REGISTER and returns the response to send.
func (r *Registrar) HandleRegister(ctx context.Context, req *sipmsg.Request) *sipmsg.Response {
	to := req.To()
	if to == nil || to.Address.User == "" {
		return sipmsg.NewResponseFromRequest(req, sipmsg.StatusBadRequest, "Bad To", nil)
	}
	aor := to.Address.User
	auth := r.Authenticate(ctx, req)
	if auth.res != nil {
		return auth.res
	}
	if auth.user != aor {
		r.fail(sourceIP(req.Source()))
		return sipmsg.NewResponseFromRequest(req, sipmsg.StatusForbidden, "Forbidden", nil)
	}
	defExp := defaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || n < 0 {
			return sipmsg.NewResponseFromRequest(req, sipmsg.StatusBadRequest, "Bad Expires", nil)
		}
		defExp = n
	}
	now := r.now()
	contacts := req.GetHeaders("Contact")

	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.live(aor, now)
	for _, h := range contacts {
		c, ok := h.(*sipmsg.ContactHeader)
		if !ok {
			return sipmsg.NewResponseFromRequest(req, sipmsg.StatusBadRequest, "Bad Contact", nil)
		}
		exp := defExp
		if v, ok := c.Params.Get("expires"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return sipmsg.NewResponseFromRequest(req, sipmsg.StatusBadRequest, "Bad expires", nil)
			}
			exp = n
		}
		if c.Address.Wildcard {
			if exp != 0 || len(contacts) != 1 {
				return sipmsg.NewResponseFromRequest(req, sipmsg.StatusBadRequest, "Bad Wildcard", nil)
			}
			cur = nil
			break
		}
		if exp > 0 && exp < minExpires {
			res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusIntervalToBrief, "Interval Too Brief", nil)
			res.AppendHeader(sipmsg.NewHeader("Min-Expires", strconv.Itoa(minExpires)))
			return res
		}
		exp = min(exp, maxExpires)
		key := c.Address.String()
		kept := cur[:0]
		for _, b := range cur {
			if b.Contact.String() != key {
				kept = append(kept, b)
			}
		}
		cur = kept
		if exp > 0 {
			if len(cur) >= maxContacts {
				return sipmsg.NewResponseFromRequest(req, sipmsg.StatusForbidden, "Too Many Contacts", nil)
			}
			cur = append(cur, Binding{User: aor, Contact: *c.Address.Clone(), Expires: now.Add(time.Duration(exp) * time.Second), Source: req.Source()})
		}
	}
	if len(cur) == 0 {
		delete(r.bindings, aor)
	} else {
		r.bindings[aor] = cur
	}
	r.m.Registrations.Set(float64(r.countLocked()))
	res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", nil)
	for _, b := range cur {
		ch := &sipmsg.ContactHeader{Address: *b.Contact.Clone()}
		ch.Params = sipmsg.NewParams()
		ch.Params.Add("expires", strconv.Itoa(int(b.Expires.Sub(now).Seconds())))
		res.AppendHeader(ch)
	}
	return res
}

// live returns the unexpired bindings of user; r.mu is held.
func (r *Registrar) live(user string, now time.Time) []Binding {
	var out []Binding
	for _, b := range r.bindings[user] {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	return out
}

func (r *Registrar) countLocked() int {
	n := 0
	for _, bs := range r.bindings {
		n += len(bs)
	}
	return n
}

// Lookup returns the live contacts registered for user.
func (r *Registrar) Lookup(user string) []Binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live(user, r.now())
}

// String describes the registrar for logs.
func (r *Registrar) String() string { return fmt.Sprintf("registrar(realm=%s)", r.realm) }
