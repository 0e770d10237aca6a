package sip

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Binding is one registered contact of a user.
type Binding struct {
	User    string
	Contact sipmsg.Uri
	Expires time.Time
	Source  string // transport source address of the REGISTER
	// Path is the route to the contact (RFC 3327): the URIs of the Path
	// headers of the REGISTER that added it, in order, such as the SIP
	// edge a phone behind NAT registered through. Requests to the contact
	// carry them as Route headers, so they go through those proxies.
	// Nil: the contact is reached directly.
	Path []sipmsg.Uri
}

// Registrar limits and defaults.
const (
	defaultExpires = time.Hour
	// DefaultMinExpiry and DefaultMaxExpiry bound the registration
	// interval a phone may ask for (Config.MinExpiry, Config.MaxExpiry).
	DefaultMinExpiry = time.Minute
	DefaultMaxExpiry = time.Hour
	maxContacts      = 10
	// purgeEvery is how often expired bindings are deleted from the store.
	purgeEvery = time.Minute
)

// Registrar handles REGISTER (RFC 3261 §10) with digest authentication
// (digestAuth) and keeps the bindings in a BindingStore. A requested
// interval below the minimum is refused with 423 and Min-Expires; one
// above the maximum is shortened. REGISTERs of one user are serialised
// within the process; stores are read and written once per REGISTER. It is
// safe for concurrent use.
type Registrar struct {
	auth   *digestAuth
	store  BindingStore
	minExp time.Duration
	maxExp time.Duration
	now    func() time.Time
	m      *Metrics
	log    *slog.Logger

	seed  maphash.Seed
	locks [64]sync.Mutex // by user

	purgeMu   sync.Mutex
	lastPurge time.Time
}

func newRegistrar(auth *digestAuth, store BindingStore, minExp, maxExp time.Duration, m *Metrics, log *slog.Logger) *Registrar {
	return &Registrar{auth: auth, store: store, minExp: minExp, maxExp: maxExp, now: auth.now, m: m, log: log,
		seed: maphash.MakeSeed()}
}

func (r *Registrar) lock(user string) *sync.Mutex {
	return &r.locks[maphash.String(r.seed, user)%uint64(len(r.locks))]
}

func badRequest(req *sipmsg.Request, reason string) *sipmsg.Response {
	return sipmsg.NewResponseFromRequest(req, sipmsg.StatusBadRequest, reason, nil)
}

func unavailable(req *sipmsg.Request) *sipmsg.Response {
	res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusServiceUnavailable, "Registrations Unavailable", nil)
	res.AppendHeader(sipmsg.NewHeader("Retry-After", "5"))
	return res
}

// contactChange is one Contact of a REGISTER: a URI and the interval
// asked for it (0: remove), or the wildcard.
type contactChange struct {
	uri      sipmsg.Uri
	expires  int
	wildcard bool
}

// parseContacts reads the Contact headers and intervals of req.
func parseContacts(req *sipmsg.Request) ([]contactChange, *sipmsg.Response) {
	defExp := int(defaultExpires.Seconds())
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || n < 0 {
			return nil, badRequest(req, "Bad Expires")
		}
		defExp = n
	}
	hs := req.GetHeaders("Contact")
	out := make([]contactChange, 0, len(hs))
	for _, h := range hs {
		c, ok := h.(*sipmsg.ContactHeader)
		if !ok {
			return nil, badRequest(req, "Bad Contact")
		}
		exp := defExp
		if v, ok := c.Params.Get("expires"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, badRequest(req, "Bad expires")
			}
			exp = n
		}
		if c.Address.Wildcard && (exp != 0 || len(hs) != 1) {
			return nil, badRequest(req, "Bad Wildcard")
		}
		out = append(out, contactChange{uri: *c.Address.Clone(), expires: exp, wildcard: c.Address.Wildcard})
	}
	return out, nil
}

// HandleRegister processes a REGISTER and returns the response to send.
func (r *Registrar) HandleRegister(ctx context.Context, req *sipmsg.Request) *sipmsg.Response {
	to := req.To()
	if to == nil || to.Address.User == "" {
		return badRequest(req, "Bad To")
	}
	aor := to.Address.User
	auth := r.auth.authenticate(ctx, req)
	if auth.res != nil {
		return auth.res
	}
	if auth.user != aor {
		client, _ := r.auth.edges.clientAddr(req)
		r.auth.guard.failed(limitKey(client.Addr()), r.now())
		return sipmsg.NewResponseFromRequest(req, sipmsg.StatusForbidden, "Forbidden", nil)
	}
	changes, res := parseContacts(req)
	if res != nil {
		return res
	}
	path, err := requestPath(req)
	if err != nil {
		return badRequest(req, "Bad Path")
	}
	minSec, maxSec := int(r.minExp.Seconds()), int(r.maxExp.Seconds())
	for _, c := range changes {
		if c.expires > 0 && c.expires < minSec {
			res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusIntervalToBrief, "Interval Too Brief", nil)
			res.AppendHeader(sipmsg.NewHeader("Min-Expires", strconv.Itoa(minSec)))
			return res
		}
	}
	now := r.now()
	mu := r.lock(aor)
	mu.Lock()
	defer mu.Unlock()
	cur, err := r.Lookup(ctx, aor)
	if err != nil {
		r.log.Warn("sip: bindings lookup failed", "user", aor, "err", err)
		return unavailable(req)
	}
	for _, c := range changes {
		if c.wildcard {
			cur = nil
			break
		}
		key := c.uri.String()
		kept := cur[:0]
		for _, b := range cur {
			if b.Contact.String() != key {
				kept = append(kept, b)
			}
		}
		cur = kept
		if c.expires > 0 {
			if len(cur) >= maxContacts {
				return sipmsg.NewResponseFromRequest(req, sipmsg.StatusForbidden, "Too Many Contacts", nil)
			}
			exp := time.Duration(min(c.expires, maxSec)) * time.Second
			cur = append(cur, Binding{User: aor, Contact: c.uri, Expires: now.Add(exp), Source: req.Source(), Path: path})
		}
	}
	if len(changes) > 0 {
		stored := make([]StoredBinding, len(cur))
		for i, b := range cur {
			stored[i] = StoredBinding{User: aor, Contact: b.Contact.String(), Source: b.Source, Expires: b.Expires, Path: pathStrings(b.Path)}
		}
		if err := r.store.SetBindings(ctx, aor, stored); err != nil {
			r.log.Warn("sip: storing bindings failed", "user", aor, "err", err)
			return unavailable(req)
		}
	}
	r.purge(ctx, now)
	res = sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", nil)
	for _, b := range cur {
		ch := &sipmsg.ContactHeader{Address: *b.Contact.Clone()}
		ch.Params = sipmsg.NewParams()
		ch.Params.Add("expires", strconv.Itoa(int(b.Expires.Sub(now).Round(time.Second).Seconds())))
		res.AppendHeader(ch)
	}
	// RFC 3327 §5.3: the Path is echoed only to a UA that supports it.
	if supports(req, "path") {
		for i := range path {
			res.AppendHeader(sipmsg.NewHeader("Path", "<"+path[i].String()+">"))
		}
	}
	return res
}

// purge deletes expired bindings from the store at most every purgeEvery
// and updates the registrations gauge.
func (r *Registrar) purge(ctx context.Context, now time.Time) {
	r.purgeMu.Lock()
	defer r.purgeMu.Unlock()
	if now.Sub(r.lastPurge) < purgeEvery && !r.lastPurge.IsZero() {
		return
	}
	r.lastPurge = now
	n, err := r.store.PurgeBindings(ctx, now)
	if err != nil {
		r.log.Warn("sip: purging bindings failed", "err", err)
		return
	}
	r.m.Registrations.Set(float64(n))
}

// Lookup returns the live contacts registered for user.
func (r *Registrar) Lookup(ctx context.Context, user string) ([]Binding, error) {
	stored, err := r.store.Bindings(ctx, user, r.now())
	if err != nil {
		return nil, fmt.Errorf("sip: bindings of %q: %w", user, err)
	}
	out := make([]Binding, 0, len(stored))
	for _, s := range stored {
		var u sipmsg.Uri
		if err := sipmsg.ParseUri(s.Contact, &u); err != nil {
			r.log.Warn("sip: stored binding unusable", "user", user, "err", err)
			continue
		}
		path, err := parseStoredPath(s.Path)
		if err != nil {
			r.log.Warn("sip: stored binding's path unusable", "user", user, "err", err)
			continue
		}
		out = append(out, Binding{User: s.User, Contact: u, Expires: s.Expires, Source: s.Source, Path: path})
	}
	return out, nil
}

// String describes the registrar for logs.
func (r *Registrar) String() string { return fmt.Sprintf("registrar(realm=%s)", r.auth.realm) }
