package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// ctiConn is a CTI client that reports how the server closed it.
type ctiConn struct {
	t      *testing.T
	conn   *websocket.Conn
	events chan envelope
	closed chan error // the read error that ended the connection
}

// dialCTIAuth connects to /cti and authenticates with an "auth" message.
func (s *system) dialCTIAuth(token, query string) *ctiConn {
	s.t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.http+"/cti"+query, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	c := &ctiConn{t: s.t, conn: conn, events: make(chan envelope, 256), closed: make(chan error, 1)}
	go func() {
		defer close(c.events)
		for {
			var e envelope
			if err := conn.ReadJSON(&e); err != nil {
				c.closed <- err
				return
			}
			c.events <- e
		}
	}()
	s.t.Cleanup(func() { conn.Close() })
	b, _ := json.Marshal(map[string]string{"token": token})
	if err := conn.WriteJSON(envelope{V: 1, Type: "auth", ID: "auth", Data: b}); err != nil {
		s.t.Fatal(err)
	}
	c.wait("hello")
	return c
}

// wait returns the first event of type typ.
func (c *ctiConn) wait(typ string) envelope {
	c.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-c.events:
			if !ok {
				c.t.Fatalf("connection closed waiting for %s: %v", typ, <-c.closed)
			}
			if e.Type == typ {
				return e
			}
		case <-timeout:
			c.t.Fatalf("no %s within 10s", typ)
		}
	}
}

// ended waits for "session.ended" and the close, and returns the reason
// and the close code.
func (c *ctiConn) ended() (string, int) {
	c.t.Helper()
	var d struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(c.wait("session.ended").Data, &d); err != nil {
		c.t.Fatal(err)
	}
	for range c.events {
	}
	var ce *websocket.CloseError
	if err := <-c.closed; errors.As(err, &ce) {
		return d.Reason, ce.Code
	}
	return d.Reason, -1
}

// rest sends a JSON request with a bearer token and returns the status and body.
func (s *system) rest(method, path, token string, body any) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+s.http+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// agentPut is the PUT /api/v1/agents/{id} body keeping an agent's fields but
// those in change.
func (s *system) agentPut(admin, id string, change map[string]any) {
	s.t.Helper()
	code, b := s.rest("GET", "/api/v1/agents/"+id, admin, nil)
	if code != 200 {
		s.t.Fatalf("get agent: %d %s", code, b)
	}
	var a map[string]any
	if err := json.Unmarshal(b, &a); err != nil {
		s.t.Fatal(err)
	}
	in := map[string]any{}
	for _, k := range []string{"login", "name", "role", "skills", "languages", "country", "region", "time_zone", "sip_username", "active"} {
		in[k] = a[k]
	}
	for k, v := range change {
		in[k] = v
	}
	if code, b := s.rest("PUT", "/api/v1/agents/"+id, admin, in); code != 200 {
		s.t.Fatalf("put agent: %d %s", code, b)
	}
}

// TestRevocationClosesCTI: logout, a password change, disabling an agent
// and demoting a supervisor each close that user's CTI connections at once,
// with the reason, over the real REST API and WebSocket; old tokens stop
// working, and a demoted supervisor's sup.* commands are refused.
func TestRevocationClosesCTI(t *testing.T) {
	s := startSystem(t, openAllDay, nil)
	admin, _ := s.login("admin", "admin")

	alice, _ := s.login("alice", "demo")
	aliceDesk := s.dialCTIAuth(alice, "")
	if code, b := s.rest("DELETE", "/api/v1/sessions", alice, nil); code != 204 {
		t.Fatalf("logout: %d %s", code, b)
	}
	if reason, code := aliceDesk.ended(); reason != "logout" || code != 4401 {
		t.Errorf("logout: reason %q, close %d", reason, code)
	}

	bob, _ := s.login("bob", "demo")
	bobDesk := s.dialCTIAuth(bob, "")
	if code, b := s.rest("PUT", "/api/v1/sessions/current/password", bob, map[string]string{"current_password": "demo", "new_password": "b0b-new-pass"}); code != 204 {
		t.Fatalf("password change: %d %s", code, b)
	}
	if reason, code := bobDesk.ended(); reason != "password_changed" || code != 4401 {
		t.Errorf("password change: reason %q, close %d", reason, code)
	}
	if code, _ := s.rest("GET", "/api/v1/sessions/current", bob, nil); code != 401 {
		t.Errorf("bob's old token after the password change: %d", code)
	}

	erin, erinID := s.login("erin", "demo")
	erinDesk := s.dialCTIAuth(erin, "")
	s.agentPut(admin, erinID, map[string]any{"active": false})
	if reason, code := erinDesk.ended(); reason != "disabled" || code != 4401 {
		t.Errorf("disabled: reason %q, close %d", reason, code)
	}
	if code, _ := s.rest("GET", "/api/v1/sessions/current", erin, nil); code != 401 {
		t.Errorf("disabled agent's token: %d", code)
	}

	sam, samID := s.login("sam", "demo")
	samBoard := s.dialCTIAuth(sam, "?client=wallboard")
	samBoard.wait("sup.snapshot")
	s.agentPut(admin, samID, map[string]any{"role": "agent"})
	if reason, code := samBoard.ended(); reason != "role_changed" || code != 4003 {
		t.Errorf("demotion: reason %q, close %d", reason, code)
	}
	again := s.dialCTIAuth(sam, "?client=wallboard")
	b, _ := json.Marshal(map[string]any{"call_id": "none", "priority": 5})
	if err := again.conn.WriteJSON(envelope{V: 1, Type: "sup.call.priority", ID: "p1", Data: b}); err != nil {
		t.Fatal(err)
	}
	if r := again.wait("error"); !strings.Contains(string(r.Data), `"forbidden"`) {
		t.Errorf("sup.* after demotion: %s", r.Data)
	}
}

// TestRefusesPublicListenWithSeededAdmin: serving on an address other
// machines reach is refused while admin/admin works, with the way out in
// the message; "switchboard passwd" sets another password.
func TestRefusesPublicListenWithSeededAdmin(t *testing.T) {
	s := startSystem(t, openAllDay, nil)
	cfg := *s.cfg
	cfg.HTTP.Listen = "0.0.0.0:0"
	err := serve(t.Context(), &cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "switchboard passwd admin") {
		t.Fatalf("serve on 0.0.0.0 with admin/admin: %v", err)
	}

	var out, errOut bytes.Buffer
	t.Setenv("DATABASE_URL", s.dsn) // the embedded demo configuration, on this system's database
	if code := passwdMain([]string{"admin"}, strings.NewReader("s3cure-admin\n"), &out, &errOut); code != 0 {
		t.Fatalf("passwd: %d %s", code, errOut.String())
	}
	if code, _ := s.rest("POST", "/api/v1/sessions", "", map[string]string{"login": "admin", "password": "admin"}); code != 401 {
		t.Errorf("admin/admin after passwd: %d", code)
	}
	if code, _ := s.rest("POST", "/api/v1/sessions", "", map[string]string{"login": "admin", "password": "s3cure-admin"}); code != 201 {
		t.Errorf("the new admin password: %d", code)
	}
}
