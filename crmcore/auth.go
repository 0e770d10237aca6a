package crmcore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
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
}

// Auth is the login and token-verification service shared by the REST API
// and the CTI hub. It is safe for concurrent use.
type Auth struct {
	agents   AgentStore
	sessions SessionStore
	ttl      time.Duration
	now      func() time.Time
}

// AuthOption configures an Auth.
type AuthOption func(*Auth)

// WithSessionTTL sets the token lifetime (default DefaultSessionTTL).
func WithSessionTTL(d time.Duration) AuthOption { return func(a *Auth) { a.ttl = d } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) AuthOption { return func(a *Auth) { a.now = now } }

// NewAuth returns an Auth over the given stores.
func NewAuth(agents AgentStore, sessions SessionStore, opts ...AuthOption) *Auth {
	a := &Auth{agents: agents, sessions: sessions, ttl: DefaultSessionTTL, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Login checks the password of an active agent and opens a session. It
// returns the bearer token (shown once, never stored), its expiry and the
// agent. Wrong login or password yields ErrUnauthenticated, in the same time.
func (a *Auth) Login(ctx context.Context, login, password string) (token string, expires time.Time, agent Agent, err error) {
	login = strings.ToLower(strings.TrimSpace(login))
	ag, err := a.agents.AgentByLogin(ctx, login)
	switch {
	case err != nil && !isNotFound(err):
		return "", time.Time{}, Agent{}, fmt.Errorf("crmcore: login: %w", err)
	case err != nil || !ag.Active || ag.PasswordHash == "":
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return "", time.Time{}, Agent{}, fmt.Errorf("%w: wrong login or password", ErrUnauthenticated)
	case !CheckPassword(ag.PasswordHash, password):
		return "", time.Time{}, Agent{}, fmt.Errorf("%w: wrong login or password", ErrUnauthenticated)
	}
	now := a.now().UTC()
	token = NewSessionToken()
	s := Session{TokenHash: HashToken(token), AgentID: ag.ID, CreatedAt: now, ExpiresAt: now.Add(a.ttl)}
	if err := a.sessions.CreateSession(ctx, s); err != nil {
		return "", time.Time{}, Agent{}, fmt.Errorf("crmcore: login: %w", err)
	}
	return token, s.ExpiresAt, ag, nil
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

// Logout revokes a token. Revoking an unknown token is not an error.
func (a *Auth) Logout(ctx context.Context, token string) error {
	if !WellFormedToken(token) {
		return nil
	}
	if err := a.sessions.DeleteSession(ctx, HashToken(token)); err != nil {
		return fmt.Errorf("crmcore: logout: %w", err)
	}
	return nil
}
