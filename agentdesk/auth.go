package agentdesk

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"switchboard/crmcore"
)

// A CTI connection lives only as long as the session it authenticated
// with. It starts unauthenticated: it must present a session token (an
// "Authorization: Bearer" header on the upgrade, or an "auth" message) or
// credentials (a "login" message) within Config.AuthTimeout, and at most
// Config.MaxUnauthenticated connections wait like this at once. A token in
// the URL is refused: URLs end up in logs and browser history.
//
// Once bound, the connection is closed when its session ends or changes
// meaning: Revoke (logout, password change, agent disabled or deleted, role
// changed; crmcore.Auth calls it through its revocation hook), a failed
// re-check every Config.SessionCheck (expiry, changes made elsewhere), or a
// failed re-check of the role before every supervisor command.

// sessionEndedData is the data of the "session.ended" event sent before the
// close frame of a connection whose session ended.
type sessionEndedData struct {
	Reason crmcore.RevokeReason `json:"reason"`
}

// recentRevocations is how many revocations the hub remembers for the
// connections that were authenticating while they happened.
const recentRevocations = 64

// hubAuth is the hub's authentication state.
type hubAuth struct {
	unauth atomic.Int64 // connections not yet authenticated

	// Under Hub.mu: the latest revocations, numbered from 1 by seq.
	seq    atomic.Uint64
	recent [recentRevocations]crmcore.Revocation
}

// ServeCTI upgrades the request to a CTI WebSocket; see the comment at the
// top of this file for authentication. ?client=wallboard opens a feed-only
// connection that does not act as the agent's desktop.
func (h *Hub) ServeCTI(w http.ResponseWriter, r *http.Request) {
	select {
	case <-h.done:
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	if r.URL.Query().Has("token") {
		http.Error(w, `agentdesk: a session token in the URL is refused; send it in an "auth" message or an Authorization header (PROTOCOL.md)`,
			http.StatusBadRequest)
		return
	}
	if h.auth.unauth.Add(1) > int64(h.cfg.MaxUnauthenticated) {
		h.auth.unauth.Add(-1)
		h.m.unauthRefused.Inc()
		w.Header().Set("Retry-After", "5")
		http.Error(w, "agentdesk: too many connections waiting to authenticate", http.StatusServiceUnavailable)
		return
	}
	up := websocket.Upgrader{
		ReadBufferSize: 4096, WriteBufferSize: 4096,
		CheckOrigin: h.checkOrigin,
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		h.auth.unauth.Add(-1)
		return // Upgrade already replied with an HTTP error
	}
	c := &client{
		h: h, conn: conn, desktop: r.URL.Query().Get("client") != "wallboard", source: remoteIP(r),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		tokens: float64(h.cfg.RateBurst), last: time.Now(),
	}
	var token string
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		token = strings.TrimSpace(a[7:])
	}
	if !h.spawn(c.writeLoop, func() { c.readLoop(token) }) {
		c.authenticated()
		conn.Close() // Run returned between the check above and the upgrade
	}
}

// remoteIP is the peer's IP address without the port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticated takes the connection off the unauthenticated count, once.
func (c *client) authenticated() {
	c.authOnce.Do(func() { c.h.auth.unauth.Add(-1) })
}

// authenticate binds the connection to an identity: with the token from
// the upgrade request, or with the first "auth" or "login" message. It
// reports false when the connection must end.
func (c *client) authenticate(token string) bool {
	h := c.h
	defer c.authenticated()
	if token != "" {
		return c.bindToken("", token)
	}
	deadline := time.AfterFunc(h.cfg.AuthTimeout, func() {
		c.replyErr("", ErrorData{Code: CodeUnauthenticated, Message: "no auth or login in time"})
		c.kill(closeUnauthenticated, "unauthenticated")
	})
	defer deadline.Stop()
	failures := 0
	for {
		cmd, err := c.readCommand()
		if err != nil {
			return false
		}
		switch cmd.Type {
		case CmdAuth:
			return c.bindToken(cmd.ID, cmd.Data.(*AuthToken).Token)
		case CmdLogin:
			if c.login(cmd) {
				return true
			}
			if failures++; failures >= 5 {
				c.kill(closeUnauthenticated, "too many failed logins")
				return false
			}
		default:
			c.replyErr(cmd.ID, ErrorData{Code: CodeUnauthenticated, Message: "send auth or login first"})
		}
	}
}

// bindToken verifies a session token and binds the connection to its
// identity; a bad token ends the connection (4401).
func (c *client) bindToken(cmdID, token string) bool {
	h := c.h
	seq := h.auth.seq.Load()
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.CommandTimeout)
	id, err := h.cfg.Auth.Verify(ctx, token)
	cancel()
	if err != nil {
		e := ErrorData{Code: CodeUnauthenticated, Message: "invalid or expired session token"}
		if !errors.Is(err, crmcore.ErrUnauthenticated) {
			e = errorData(err)
		}
		c.replyErr(cmdID, e)
		c.kill(closeUnauthenticated, "unauthenticated")
		return false
	}
	c.authenticated() // before the reply: the client may open another socket at once
	if cmdID != "" {
		c.replyOK(cmdID, map[string]any{"agent": id})
	}
	return c.bind(id, token, seq)
}

// login handles a "login" message; it reports success.
func (c *client) login(cmd Command) bool {
	h := c.h
	l := cmd.Data.(*Login)
	seq := h.auth.seq.Load()
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.CommandTimeout)
	tok, id, err := h.cfg.Auth.Login(ctx, l.Login, l.Password, c.source)
	cancel()
	if err != nil {
		var te *crmcore.ThrottleError
		e := errorData(err)
		switch {
		case errors.As(err, &te):
			e = ErrorData{Code: CodeRateLimited, Message: "too many failed logins; retry later", RetryAfterSec: te.RetrySeconds()}
		case e.Code != CodeUnavailable:
			e = ErrorData{Code: CodeUnauthenticated, Message: "wrong login or password"}
		}
		c.replyErr(cmd.ID, e)
		return false
	}
	c.authenticated() // before the reply, as in bindToken
	c.replyOK(cmd.ID, map[string]any{"token": tok, "agent": id})
	return c.bind(id, tok, seq)
}

// bind attaches the authenticated identity and its session and registers
// with the hub; seq is the revocation count before the session was
// checked.
func (c *client) bind(id Identity, token string, seq uint64) bool {
	c.id, c.token, c.session, c.authSeq = id, token, crmcore.HashToken(token), seq
	c.bound.Store(true)
	select {
	case <-c.h.done:
		return false
	default:
	}
	c.setState(connOpen) // before the hub can see the client
	select {
	case c.h.register <- c:
		return true
	case <-c.h.done:
		// Run ended without taking the client: nothing to unregister.
		c.state = connClosed
		return false
	}
}

// matches reports whether revocation r concerns c.
func (c *client) matches(r crmcore.Revocation) bool {
	if r.TokenHash != nil {
		return bytes.Equal(c.session, r.TokenHash)
	}
	return r.AgentID != "" && c.id.AgentID == r.AgentID
}

// Revoke closes every connection r concerns, after a "session.ended" event
// with the reason: with close code 4003 on a role change (the client
// reconnects and gets its new role), else 4401, and a desktop whose session
// ended takes its agent offline at once (no grace period). A connection
// still authenticating when r happens is closed as it registers. Revoke
// does not block; crmcore.Auth calls it through WithRevocationHook.
func (h *Hub) Revoke(r crmcore.Revocation) {
	h.locked(func() {
		n := h.auth.seq.Load() + 1
		h.auth.recent[n%recentRevocations] = r
		h.auth.seq.Store(n)
		for c := range h.all {
			if c.matches(r) {
				h.endSession(c, r.Reason)
			}
		}
	})
}

// revokedDuringAuth reports, under h.mu, whether a revocation that
// concerns c happened while c was being authenticated. When more happened
// than the hub remembers, c is refused to be safe.
func (h *Hub) revokedDuringAuth(c *client) (crmcore.RevokeReason, bool) {
	last := h.auth.seq.Load()
	if last-c.authSeq > recentRevocations {
		return crmcore.RevokeExpired, true
	}
	for n := c.authSeq + 1; n <= last; n++ {
		if r := h.auth.recent[n%recentRevocations]; c.matches(r) {
			return r.Reason, true
		}
	}
	return "", false
}

// endSession tells c why its session ended and closes it; under h.mu.
func (h *Hub) endSession(c *client, reason crmcore.RevokeReason) {
	h.m.sessionsEnded.WithLabelValues(string(reason)).Inc()
	h.log.Info("agentdesk: session ended; connection closed", "agent_id", c.id.AgentID, "reason", string(reason))
	c.sendEvent(EvSessionEnded, "", sessionEndedData{Reason: reason})
	if reason == crmcore.RevokeRoleChanged {
		c.kill(closeRoleChanged, "role changed: reconnect")
		return
	}
	c.ended = true
	c.kill(closeUnauthenticated, "session ended: "+string(reason))
}

// recheck verifies the connection's session again (the writer's timer);
// a session gone or a role changed ends the connection. A backend failure
// keeps it: the next check tries again.
func (c *client) recheck(ctx context.Context) {
	if !c.bound.Load() {
		return
	}
	id, err := c.h.cfg.Auth.Verify(ctx, c.token)
	var reason crmcore.RevokeReason
	switch {
	case errors.Is(err, crmcore.ErrUnauthenticated):
		reason = crmcore.RevokeExpired
	case err != nil:
		c.h.log.Warn("agentdesk: session re-check failed", "agent_id", c.id.AgentID, "err", err)
		return
	case id.Role != c.id.Role:
		reason = crmcore.RevokeRoleChanged
	default:
		return
	}
	c.h.locked(func() {
		if c.registered {
			c.h.endSession(c, reason)
		}
	})
}

// checkRole re-checks, before a supervisor command, that the session is
// still valid and still grants a supervisor role; it answers the command
// with the error and reports false when not.
func (c *client) checkRole(cmd Command) bool {
	if !c.supervisor() {
		c.replyErr(cmd.ID, ErrorData{Code: CodeForbidden, Field: "type", Message: "supervisor role required"})
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.CommandTimeout)
	id, err := c.h.cfg.Auth.Verify(ctx, c.token)
	cancel()
	switch {
	case errors.Is(err, crmcore.ErrUnauthenticated):
		c.replyErr(cmd.ID, ErrorData{Code: CodeUnauthenticated, Message: "session ended"})
		c.h.locked(func() { c.h.endSession(c, crmcore.RevokeExpired) })
		return false
	case err != nil:
		c.replyErr(cmd.ID, errorData(err))
		return false
	case id.Role != crmcore.RoleSupervisor && id.Role != crmcore.RoleAdmin:
		c.replyErr(cmd.ID, ErrorData{Code: CodeForbidden, Field: "type", Message: "supervisor role required"})
		c.h.locked(func() { c.h.endSession(c, crmcore.RevokeRoleChanged) })
		return false
	}
	return true
}

// connAuth is a connection's authentication: set by its reader goroutine
// before the connection registers, then read-only.
type connAuth struct {
	token    string // the session token (re-checks)
	session  []byte // crmcore.HashToken(token)
	authSeq  uint64 // hubAuth.seq before the token was checked
	bound    atomic.Bool
	authOnce sync.Once
	ended    bool // under Hub.mu: the session ended; no grace period
}
