package agentdesk_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"switchboard/agentdesk"
	"switchboard/crmcore"
)

// sessionEnded waits for the "session.ended" event and the close code.
func sessionEnded(t *testing.T, c *wsClient) (crmcore.RevokeReason, int) {
	t.Helper()
	d := decode[struct {
		Reason crmcore.RevokeReason `json:"reason"`
	}](t, c.waitType(agentdesk.EvSessionEnded))
	return d.Reason, c.closeCode()
}

func TestUnauthenticatedSocketClosed(t *testing.T) {
	r := newFakeRig(t, func(c *agentdesk.Config) { c.AuthTimeout = 200 * time.Millisecond })
	c := dialCTI(t, r.srv, "", nil)
	if e := c.errorData(c.next()); e.Code != agentdesk.CodeUnauthenticated {
		t.Fatalf("code %q, want unauthenticated", e.Code)
	}
	if code := c.closeCode(); code != 4401 {
		t.Fatalf("close code %d, want 4401", code)
	}
}

func TestUnauthenticatedSocketsCapped(t *testing.T) {
	r := newFakeRig(t, func(c *agentdesk.Config) { c.MaxUnauthenticated = 2 })
	a, b := dialCTI(t, r.srv, "", nil), dialCTI(t, r.srv, "", nil)
	u := "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/cti"
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err == nil {
		conn.Close()
		t.Fatal("a third unauthenticated socket was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("response %v, want 503", resp)
	}
	if got := counterValue(t, r.reg, "switchboard_agentdesk_unauthenticated_refused_total"); got != 1 {
		t.Errorf("refused counter = %v", got)
	}
	// Authenticating frees a place; so does closing.
	a.mustOK(agentdesk.CmdAuth, map[string]string{"token": "tok-a1"})
	c := dialCTI(t, r.srv, "", nil)
	b.conn.Close()
	c.mustOK(agentdesk.CmdAuth, map[string]string{"token": "tok-a2"})
	dialToken(t, r.srv, "", "tok-a3").waitType(agentdesk.EvHello)
	// A token on the upgrade request never waits.
	dialCTI(t, r.srv, "", bearer("tok-sup")).waitType(agentdesk.EvHello)
}

func TestRevokeClosesSessions(t *testing.T) {
	r := newFakeRig(t, func(c *agentdesk.Config) { c.Grace = time.Hour })
	a1 := login(t, r.srv, "a1")
	a1wall := dialToken(t, r.srv, "?client=wallboard", "tok-a1")
	a1wall.waitType(agentdesk.EvHello)
	a2 := login(t, r.srv, "a2")
	sup := login(t, r.srv, "sup")

	// Logout ends the connections of that session only.
	r.hub.Revoke(crmcore.Revocation{TokenHash: crmcore.HashToken("tok-a1"), Reason: crmcore.RevokeLogout})
	for _, c := range []*wsClient{a1, a1wall} {
		if reason, code := sessionEnded(t, c); reason != crmcore.RevokeLogout || code != 4401 {
			t.Errorf("logout: reason %q code %d, want logout 4401", reason, code)
		}
	}
	// The desktop's agent goes offline at once, not after the grace period.
	select {
	case p := <-r.eng.Presences:
		if p.AgentID != "id-a1" || p.Presence != agentdesk.PresenceOffline {
			t.Errorf("presence after logout = %+v", p)
		}
	case <-time.After(waitLimit):
		t.Error("agent not set offline after its session ended")
	}

	// A disabled agent: every connection of the agent.
	r.hub.Revoke(crmcore.Revocation{AgentID: "id-a2", Reason: crmcore.RevokeDisabled})
	if reason, code := sessionEnded(t, a2); reason != crmcore.RevokeDisabled || code != 4401 {
		t.Errorf("disabled: reason %q code %d", reason, code)
	}
	// A role change: told to reconnect.
	r.hub.Revoke(crmcore.Revocation{AgentID: "id-sup", Reason: crmcore.RevokeRoleChanged})
	if reason, code := sessionEnded(t, sup); reason != crmcore.RevokeRoleChanged || code != 4003 {
		t.Errorf("role change: reason %q code %d, want role_changed 4003", reason, code)
	}
	if got := counterValue(t, r.reg, "switchboard_agentdesk_sessions_ended_total"); got != 4 {
		t.Errorf("sessions ended counter = %v, want 4", got)
	}
	// Others keep working.
	a3 := login(t, r.srv, "a3")
	a3.mustOK(agentdesk.CmdPing, nil)
}

func TestSupervisorRoleRecheckedPerCommand(t *testing.T) {
	auth := newFakeAuth()
	r := newFakeRig(t, func(c *agentdesk.Config) { c.Auth = auth })
	sup := login(t, r.srv, "sup")
	sup.mustOK(agentdesk.CmdSupPriority, map[string]any{"call_id": "c1", "priority": 5})

	// Demoted behind the hub's back (no Revoke): the next sup.* command
	// is refused and the connection told to reconnect.
	auth.add("sup", "Sam Supervisor", crmcore.RoleAgent)
	id := sup.send(agentdesk.CmdSupPriority, map[string]any{"call_id": "c1", "priority": 9})
	if e := sup.errorData(sup.reply(id)); e.Code != agentdesk.CodeForbidden {
		t.Fatalf("sup.* after demotion: %q, want forbidden", e.Code)
	}
	if reason, code := sessionEnded(t, sup); reason != crmcore.RevokeRoleChanged || code != 4003 {
		t.Errorf("reason %q code %d", reason, code)
	}
	again := login(t, r.srv, "sup")
	id = again.send(agentdesk.CmdSupPriority, map[string]any{"call_id": "c1", "priority": 9})
	if e := again.errorData(again.reply(id)); e.Code != agentdesk.CodeForbidden {
		t.Fatalf("reconnected as agent: %q, want forbidden", e.Code)
	}
}

func TestSessionRecheckedPeriodically(t *testing.T) {
	auth := newFakeAuth()
	r := newFakeRig(t, func(c *agentdesk.Config) { c.Auth = auth; c.SessionCheck = 20 * time.Millisecond })
	a1 := login(t, r.srv, "a1")
	a2 := login(t, r.srv, "a2")
	auth.remove("a1") // expired or deleted elsewhere
	if reason, code := sessionEnded(t, a1); reason != crmcore.RevokeExpired || code != 4401 {
		t.Errorf("reason %q code %d, want expired 4401", reason, code)
	}
	a2.mustOK(agentdesk.CmdPing, nil)
}

func TestCTILoginThrottled(t *testing.T) {
	hash, err := crmcore.HashPasswordCost("s3cret-pass", 4)
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{agents: map[string]crmcore.Agent{"dana": {ID: "ag-dana", Login: "dana", Name: "Dana", Role: crmcore.RoleAgent,
		PasswordHash: hash, Active: true}}}
	r := newFakeRig(t, func(c *agentdesk.Config) {
		c.Auth = agentdesk.CRMAuth(crmcore.NewAuth(st, st, crmcore.WithAuthLogger(slog.New(slog.DiscardHandler))))
	})
	// 60 wrong passwords over several connections (each closes after 5).
	for n := 0; n < 60; {
		c := dialCTI(t, r.srv, "", nil)
		for range 5 {
			id := c.send(agentdesk.CmdLogin, map[string]any{"login": "dana", "password": "guess"})
			if e := c.errorData(c.reply(id)); e.Code != agentdesk.CodeUnauthenticated && e.Code != agentdesk.CodeRateLimited {
				t.Fatalf("guess %d: %+v", n, e)
			}
			n++
		}
		c.closeCode()
	}
	c := dialCTI(t, r.srv, "", nil)
	id := c.send(agentdesk.CmdLogin, map[string]any{"login": "dana", "password": "s3cret-pass"})
	e := c.errorData(c.reply(id))
	if e.Code != agentdesk.CodeRateLimited || e.RetryAfterSec < 1 {
		t.Fatalf("right password after 60 wrong ones: %+v, want rate_limited with retry_after_s", e)
	}
}

func TestPagesRefuseFraming(t *testing.T) {
	r := newFakeRig(t, nil)
	for _, path := range []string{"/", "/wallboard"} {
		res, err := http.Get(r.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		csp := res.Header.Get("Content-Security-Policy")
		if res.StatusCode != 200 || !strings.Contains(csp, "frame-ancestors 'none'") || res.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: %d, CSP %q, X-Frame-Options %q", path, res.StatusCode, csp, res.Header.Get("X-Frame-Options"))
		}
	}
}
