package agentdesk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"switchboard/agentdesk"
	"switchboard/crmcore"
)

// fakeAuth knows a set of users; each user's token is "tok-"+login.
type fakeAuth struct {
	mu    sync.Mutex
	users map[string]agentdesk.Identity // login → identity
}

func newFakeAuth() *fakeAuth {
	a := &fakeAuth{users: map[string]agentdesk.Identity{}}
	a.add("a1", "Alice Agent", crmcore.RoleAgent)
	a.add("a2", "Bob Agent", crmcore.RoleAgent)
	a.add("a3", "Carol Agent", crmcore.RoleAgent)
	a.add("sup", "Sam Supervisor", crmcore.RoleSupervisor)
	return a
}

func (a *fakeAuth) add(login, name string, role crmcore.Role) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[login] = agentdesk.Identity{AgentID: "id-" + login, Login: login, Name: name, Role: role}
}

// remove forgets a user: its token no longer verifies.
func (a *fakeAuth) remove(login string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.users, login)
}

func (a *fakeAuth) Verify(_ context.Context, token string) (agentdesk.Identity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := a.users[strings.TrimPrefix(token, "tok-")]
	if !ok || !strings.HasPrefix(token, "tok-") {
		return agentdesk.Identity{}, fmt.Errorf("%w: unknown token", crmcore.ErrUnauthenticated)
	}
	return id, nil
}

func (a *fakeAuth) Login(_ context.Context, login, password, _ string) (string, agentdesk.Identity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := a.users[login]
	if !ok || password != "secret-"+login {
		return "", agentdesk.Identity{}, fmt.Errorf("%w: wrong login or password", crmcore.ErrUnauthenticated)
	}
	return "tok-" + login, id, nil
}

// wsClient is a test CTI client over a real WebSocket.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	n    int
	msgs chan agentdesk.Envelope
	errc chan error
	// backlog holds received messages a wait skipped over.
	backlog []agentdesk.Envelope
}

func dialCTI(t *testing.T, srv *httptest.Server, query string, hdr http.Header) *wsClient {
	t.Helper()
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/cti" + query
	conn, resp, err := websocket.DefaultDialer.Dial(u, hdr)
	if err != nil {
		t.Fatalf("dial %s: %v (resp %v)", u, err, resp)
	}
	c := &wsClient{t: t, conn: conn, msgs: make(chan agentdesk.Envelope, 1024), errc: make(chan error, 1)}
	go func() {
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				c.errc <- err
				close(c.msgs)
				return
			}
			var env agentdesk.Envelope
			if err := json.Unmarshal(b, &env); err != nil {
				c.errc <- fmt.Errorf("bad JSON from server: %v: %s", err, b)
				close(c.msgs)
				return
			}
			c.msgs <- env
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c
}

// dialToken dials /cti+query and authenticates with an "auth" message
// carrying token; its reply stays in the backlog.
func dialToken(t *testing.T, srv *httptest.Server, query, token string) *wsClient {
	t.Helper()
	c := dialCTI(t, srv, query, nil)
	c.send(agentdesk.CmdAuth, map[string]string{"token": token})
	return c
}

// bearer is the upgrade header that authenticates with token.
func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// login dials with the user's token and waits for hello.
func login(t *testing.T, srv *httptest.Server, user string) *wsClient {
	t.Helper()
	c := dialToken(t, srv, "", "tok-"+user)
	c.waitType(agentdesk.EvHello)
	return c
}

// sendRaw writes a raw text frame.
func (c *wsClient) sendRaw(b []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// send writes a command and returns its id.
func (c *wsClient) send(typ string, data any) string {
	c.t.Helper()
	c.n++
	id := fmt.Sprintf("c%d", c.n)
	env := map[string]any{"v": 1, "type": typ, "id": id}
	if data != nil {
		env["data"] = data
	}
	b, _ := json.Marshal(env)
	c.sendRaw(b)
	return id
}

const waitLimit = 5 * time.Second

// next returns the next message (from the backlog first).
func (c *wsClient) next() agentdesk.Envelope {
	c.t.Helper()
	if len(c.backlog) > 0 {
		m := c.backlog[0]
		c.backlog = c.backlog[1:]
		return m
	}
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.t.Fatalf("connection closed: %v", <-c.errc)
		}
		return m
	case <-time.After(waitLimit):
		c.t.Fatalf("no message within %v", waitLimit)
	}
	return agentdesk.Envelope{}
}

// waitType returns the first message of type typ; messages skipped on the
// way stay in the backlog for later waits.
func (c *wsClient) waitType(typ string) agentdesk.Envelope {
	c.t.Helper()
	return c.waitFor(typ, func(m agentdesk.Envelope) bool { return m.Type == typ })
}

// waitFor returns the first message (backlog first) for which pred is true;
// the others stay in the backlog.
func (c *wsClient) waitFor(desc string, pred func(agentdesk.Envelope) bool) agentdesk.Envelope {
	c.t.Helper()
	for i, m := range c.backlog {
		if pred(m) {
			c.backlog = append(c.backlog[:i:i], c.backlog[i+1:]...)
			return m
		}
	}
	deadline := time.After(waitLimit)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.t.Fatalf("connection closed waiting for %s: %v", desc, <-c.errc)
			}
			if pred(m) {
				return m
			}
			if len(c.backlog) < 10000 {
				c.backlog = append(c.backlog, m)
			}
		case <-deadline:
			c.t.Fatalf("no %s within %v", desc, waitLimit)
		}
	}
}

// reply waits for the reply to command id; other messages are skipped.
func (c *wsClient) reply(id string) agentdesk.Envelope {
	c.t.Helper()
	return c.waitFor("reply to "+id, func(m agentdesk.Envelope) bool {
		return m.ID == id && (m.Type == agentdesk.EvOK || m.Type == agentdesk.EvError)
	})
}

// mustOK sends a command and fails unless it is answered with ok.
func (c *wsClient) mustOK(typ string, data any) agentdesk.Envelope {
	c.t.Helper()
	id := c.send(typ, data)
	r := c.reply(id)
	if r.Type != agentdesk.EvOK {
		c.t.Fatalf("%s: got %s %s, want ok", typ, r.Type, r.Data)
	}
	return r
}

// mustErr sends a raw message and returns the error reply's data.
func (c *wsClient) errorData(r agentdesk.Envelope) agentdesk.ErrorData {
	c.t.Helper()
	if r.Type != agentdesk.EvError {
		c.t.Fatalf("got %s %s, want error", r.Type, r.Data)
	}
	var e agentdesk.ErrorData
	if err := json.Unmarshal(r.Data, &e); err != nil {
		c.t.Fatal(err)
	}
	return e
}

// drainNo asserts that no message of type typ arrives before a ping round trip.
func (c *wsClient) noneBeforePing(typ string) {
	c.t.Helper()
	id := c.send(agentdesk.CmdPing, nil)
	for _, m := range c.backlog {
		if m.Type == typ {
			c.t.Fatalf("unexpected %s: %s", typ, m.Data)
		}
	}
	c.backlog = nil
	for {
		m := c.next()
		if m.Type == typ {
			c.t.Fatalf("unexpected %s: %s", typ, m.Data)
		}
		if m.ID == id {
			return
		}
	}
}

// closeCode waits for the server to close the connection and returns the code.
func (c *wsClient) closeCode() int {
	c.t.Helper()
	for {
		select {
		case _, ok := <-c.msgs:
			if !ok {
				err := <-c.errc
				if ce, ok := err.(*websocket.CloseError); ok {
					return ce.Code
				}
				return -1
			}
		case <-time.After(waitLimit):
			c.t.Fatalf("connection not closed within %v", waitLimit)
		}
	}
}

func decode[T any](t *testing.T, m agentdesk.Envelope) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(m.Data, &v); err != nil {
		t.Fatalf("decode %s: %v: %s", m.Type, err, m.Data)
	}
	return v
}

// recorder collects values safely for assertions.
type recorder[T any] struct {
	mu sync.Mutex
	v  []T
	ch chan T
}

func newRecorder[T any]() *recorder[T] { return &recorder[T]{ch: make(chan T, 1000)} }

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	r.v = append(r.v, v)
	r.mu.Unlock()
	r.ch <- v
}

func (r *recorder[T]) wait(t *testing.T, desc string, pred func(T) bool) T {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case v := <-r.ch:
			if pred(v) {
				return v
			}
		case <-deadline:
			t.Fatalf("no %s within %v", desc, waitLimit)
		}
	}
}
