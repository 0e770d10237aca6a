package crmcore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// BcryptCost is the bcrypt work factor for new password hashes.
const BcryptCost = 10

// HashPassword validates the password length and returns its bcrypt hash
// at BcryptCost.
func HashPassword(pw string) (string, error) { return HashPasswordCost(pw, BcryptCost) }

// HashPasswordCost is HashPassword with an explicit bcrypt cost (tests and
// demo seeding may use bcrypt.MinCost).
func HashPasswordCost(pw string, cost int) (string, error) {
	switch {
	case len(pw) < MinPasswordLen:
		return "", invalid("password", fmt.Sprintf("shorter than %d characters", MinPasswordLen))
	case len(pw) > MaxPasswordLen:
		return "", invalid("password", fmt.Sprintf("longer than %d bytes", MaxPasswordLen))
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return "", fmt.Errorf("crmcore: hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether pw matches the bcrypt hash (in constant time).
func CheckPassword(hash, pw string) bool {
	if hash == "" || len(pw) > MaxPasswordLen {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// dummyHash is compared against when the login is unknown, so that a login
// attempt takes the same time whether or not the agent exists.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("switchboard-dummy"), BcryptCost)
	return h
})

// Session token format: the prefix followed by 43 base64url characters (32 random bytes).
const (
	TokenPrefix = "sbt_"
	tokenLen    = len(TokenPrefix) + 43
)

// DefaultSessionTTL is how long a bearer token stays valid.
const DefaultSessionTTL = 12 * time.Hour

// NewSessionToken returns a fresh random bearer token. Only HashToken(token)
// is ever stored.
func NewSessionToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// WellFormedToken reports whether s has the shape of a token from NewSessionToken.
func WellFormedToken(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(TokenPrefix):])
	return err == nil
}

// HashToken returns the SHA-256 of a token: the form stored and looked up.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Session is a stored login: the token's hash, whose it is and until when.
type Session struct {
	TokenHash []byte
	AgentID   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AgentStore finds agents for authentication.
type AgentStore interface {
	// AgentByLogin returns the agent with that login, or an error wrapping ErrNotFound.
	AgentByLogin(ctx context.Context, login string) (Agent, error)
}

// SessionStore keeps sessions by token hash.
type SessionStore interface {
	// CreateSession stores s.
	CreateSession(ctx context.Context, s Session) error
	// SessionAgent returns the active agent owning an unexpired session with
	// that token hash, or an error wrapping ErrNotFound.
	SessionAgent(ctx context.Context, tokenHash []byte, now time.Time) (Agent, error)
	// DeleteSession removes the session (logout); unknown hashes are not an error.
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// DeleteAgentSessions removes every session of the agent.
	DeleteAgentSessions(ctx context.Context, agentID string) error
	// PurgeSessions deletes the sessions expired at now and returns how many.
	PurgeSessions(ctx context.Context, now time.Time) (int64, error)
}

// RevokeReason says why an agent's sessions, or its live connections,
// end. The values are sent to CTI clients.
type RevokeReason string

// Revocation reasons.
const (
	RevokeLogout          RevokeReason = "logout"           // one session ended by its owner
	RevokePasswordChanged RevokeReason = "password_changed" // every session ends
	RevokeDisabled        RevokeReason = "disabled"         // every session ends
	RevokeDeleted         RevokeReason = "deleted"          // every session ends
	RevokeRoleChanged     RevokeReason = "role_changed"     // sessions stay; connections re-authenticate
	RevokeExpired         RevokeReason = "expired"          // the session's lifetime ended, or it is gone
)

// Revocation tells the holders of live connections (the CTI hub) that a
// session, or every session of an agent, ended or changed meaning.
type Revocation struct {
	AgentID   string       // the agent; empty when only TokenHash is known
	TokenHash []byte       // set: only this session (logout); nil: every session of AgentID
	Reason    RevokeReason // why
}

// Auth is the login and token-verification service shared by the REST API
// and the CTI hub. It is safe for concurrent use.
type Auth struct {
	agents   AgentStore
	sessions SessionStore
	ttl      time.Duration
	now      func() time.Time
	throttle *LoginThrottle
	log      *slog.Logger
	revoked  []func(Revocation)
	// checks holds a token per password check in progress: bcrypt is
	// CPU-bound, so a login storm queues here and is answered ErrBusy
	// after checkWait instead of starving everything else (and outliving
	// the HTTP server's write timeout).
	checks    chan struct{}
	checkWait time.Duration
}

// DefaultCheckWait is how long a login waits for a password check slot.
const DefaultCheckWait = 10 * time.Second

// WithPasswordChecks sets how many password checks run at once (default
// GOMAXPROCS) and how long a login waits for one (default
// DefaultCheckWait) before ErrBusy.
func WithPasswordChecks(n int, wait time.Duration) AuthOption {
	return func(a *Auth) { a.checks, a.checkWait = make(chan struct{}, max(n, 1)), wait }
}

// AuthOption configures an Auth.
type AuthOption func(*Auth)

// WithSessionTTL sets the token lifetime (default DefaultSessionTTL).
func WithSessionTTL(d time.Duration) AuthOption { return func(a *Auth) { a.ttl = d } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) AuthOption { return func(a *Auth) { a.now = now } }

// WithThrottle sets the failed-login throttle (default
// NewLoginThrottle(ThrottleConfig{})).
func WithThrottle(t *LoginThrottle) AuthOption { return func(a *Auth) { a.throttle = t } }

// WithAuthLogger sets the logger of security events (default slog.Default()).
func WithAuthLogger(l *slog.Logger) AuthOption { return func(a *Auth) { a.log = l } }

// WithRevocationHook adds f to the functions told of every revocation,
// after the sessions concerned are deleted. f runs on the caller's
// goroutine and must not block.
func WithRevocationHook(f func(Revocation)) AuthOption {
	return func(a *Auth) { a.revoked = append(a.revoked, f) }
}

// NewAuth returns an Auth over the given stores.
func NewAuth(agents AgentStore, sessions SessionStore, opts ...AuthOption) *Auth {
	a := &Auth{agents: agents, sessions: sessions, ttl: DefaultSessionTTL, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(a)
	}
	if a.throttle == nil {
		a.throttle = NewLoginThrottle(ThrottleConfig{})
	}
	if a.checks == nil {
		a.checks, a.checkWait = make(chan struct{}, runtime.GOMAXPROCS(0)), DefaultCheckWait
	}
	return a
}

// checkPassword runs check in a password check slot, waiting at most
// checkWait (or until ctx ends) for one.
func (a *Auth) checkPassword(ctx context.Context, check func() bool) (bool, error) {
	t := time.NewTimer(a.checkWait)
	defer t.Stop()
	select {
	case a.checks <- struct{}{}:
	case <-t.C:
		return false, ErrBusy
	case <-ctx.Done():
		return false, fmt.Errorf("crmcore: login: %w", ctx.Err())
	}
	defer func() { <-a.checks }()
	return check(), nil
}

// Login checks the password of an active agent and opens a session. It
// returns the bearer token (shown once, never stored), its expiry and the
// agent. Wrong login or password yields ErrUnauthenticated, in the same
// time; too many recent failures for the login or from source (the
// client's address, "" when unknown) yield a *ThrottleError without a
// password check. Every failure is logged as a security event.
func (a *Auth) Login(ctx context.Context, login, password, source string) (token string, expires time.Time, agent Agent, err error) {
	login = strings.ToLower(strings.TrimSpace(login))
	now := a.now()
	if err := a.throttle.Check(login, source, now); err != nil {
		a.securityEvent("throttled", login, source)
		return "", time.Time{}, Agent{}, err
	}
	ag, err := a.agents.AgentByLogin(ctx, login)
	if err != nil && !isNotFound(err) {
		return "", time.Time{}, Agent{}, fmt.Errorf("crmcore: login: %w", err)
	}
	known := err == nil && ag.Active && ag.PasswordHash != ""
	ok, cerr := a.checkPassword(ctx, func() bool {
		if !known {
			_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password)) // same time as a real check
			return false
		}
		return CheckPassword(ag.PasswordHash, password)
	})
	switch {
	case cerr != nil:
		return "", time.Time{}, Agent{}, cerr
	case !known:
		a.failed(login, source, "unknown_or_disabled", now)
		return "", time.Time{}, Agent{}, fmt.Errorf("%w: wrong login or password", ErrUnauthenticated)
	case !ok:
		a.failed(login, source, "wrong_password", now)
		return "", time.Time{}, Agent{}, fmt.Errorf("%w: wrong login or password", ErrUnauthenticated)
	}
	a.throttle.Succeeded(login)
	now = now.UTC()
	token = NewSessionToken()
	s := Session{TokenHash: HashToken(token), AgentID: ag.ID, CreatedAt: now, ExpiresAt: now.Add(a.ttl)}
	if err := a.sessions.CreateSession(ctx, s); err != nil {
		return "", time.Time{}, Agent{}, fmt.Errorf("crmcore: login: %w", err)
	}
	return token, s.ExpiresAt, ag, nil
}

// CheckAgentPassword checks ag's current password before a change of
// password, under the same throttle and security logging as Login.
func (a *Auth) CheckAgentPassword(ctx context.Context, ag Agent, password, source string) error {
	now := a.now()
	if err := a.throttle.Check(ag.Login, source, now); err != nil {
		a.securityEvent("throttled", ag.Login, source)
		return err
	}
	if !CheckPassword(ag.PasswordHash, password) {
		a.failed(ag.Login, source, "wrong_current_password", now)
		return fmt.Errorf("%w: wrong current password", ErrUnauthenticated)
	}
	return nil
}

func (a *Auth) failed(login, source, reason string, now time.Time) {
	a.throttle.Failed(login, source, now)
	a.securityEvent(reason, login, source)
}

// securityEvent logs a refused login: never the password, the login cut
// to its maximum length.
func (a *Auth) securityEvent(reason, login, source string) {
	if len(login) > 64 {
		login = login[:64]
	}
	a.log.Warn("crmcore: login refused", "event", "security.login_failed", "reason", reason,
		"login", login, "source", source)
}

// Verify returns the identity behind a bearer token, or ErrUnauthenticated
// for a malformed, unknown, expired or revoked token or an inactive agent.
func (a *Auth) Verify(ctx context.Context, token string) (Principal, error) {
	if !WellFormedToken(token) {
		return Principal{}, fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	ag, err := a.sessions.SessionAgent(ctx, HashToken(token), a.now().UTC())
	if err != nil {
		if isNotFound(err) {
			return Principal{}, fmt.Errorf("%w: unknown or expired token", ErrUnauthenticated)
		}
		return Principal{}, fmt.Errorf("crmcore: verify token: %w", err)
	}
	if !ag.Active {
		return Principal{}, fmt.Errorf("%w: agent disabled", ErrUnauthenticated)
	}
	return ag.Principal(), nil
}

// Logout revokes a token and tells the revocation hooks. Revoking an
// unknown token is not an error.
func (a *Auth) Logout(ctx context.Context, token string) error {
	if !WellFormedToken(token) {
		return nil
	}
	h := HashToken(token)
	if err := a.sessions.DeleteSession(ctx, h); err != nil {
		return fmt.Errorf("crmcore: logout: %w", err)
	}
	a.notify(Revocation{TokenHash: h, Reason: RevokeLogout})
	return nil
}

// Revoke ends every session of the agent (all reasons but
// RevokeRoleChanged, which keeps them: tokens are checked against the
// agent's current role on every use) and tells the revocation hooks, which
// close the agent's live connections. The hooks are told even when the
// sessions could not be deleted.
func (a *Auth) Revoke(ctx context.Context, agentID string, reason RevokeReason) error {
	var err error
	if reason != RevokeRoleChanged {
		if err = a.sessions.DeleteAgentSessions(ctx, agentID); err != nil {
			err = fmt.Errorf("crmcore: revoke sessions: %w", err)
		}
	}
	a.notify(Revocation{AgentID: agentID, Reason: reason})
	return err
}

func (a *Auth) notify(r Revocation) {
	for _, f := range a.revoked {
		f(r)
	}
}

// PurgeExpired deletes the sessions expired now and returns how many.
func (a *Auth) PurgeExpired(ctx context.Context) (int64, error) {
	n, err := a.sessions.PurgeSessions(ctx, a.now().UTC())
	if err != nil {
		return n, fmt.Errorf("crmcore: purge sessions: %w", err)
	}
	return n, nil
}

// RunPurge deletes expired sessions at once and then every interval until
// ctx ends; a failure is logged and retried at the next tick.
func (a *Auth) RunPurge(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := a.PurgeExpired(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("crmcore: purge expired sessions", "err", err)
		case n > 0:
			a.log.Info("crmcore: expired sessions purged", "sessions", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
