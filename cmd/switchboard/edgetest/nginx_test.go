package edgetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"
)

// backend is a stand-in for a node's HTTP listener: GET / answers its name
// and the X-Forwarded-For it was sent, /cti echoes WebSocket messages.
func backend(name string) http.Handler {
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name+" "+r.Header.Get("X-Forwarded-For"))
	})
	mux.HandleFunc("GET /cti", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			kind, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(kind, msg); err != nil {
				return
			}
		}
	})
	return mux
}

// startBackend serves backend(name) on 127.0.0.1 with a port the kernel
// picked.
func startBackend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(backend(name))
	t.Cleanup(s.Close)
	return s
}

// refusedAddr is a loopback address nothing listens on: connections to it
// are refused, as to a stopped node or a standby.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// TestNginxProxiesHTTPAndWebSocket: a page request and a CTI WebSocket
// reach the node through nginx, which tells the node the client's address.
func TestNginxProxiesHTTPAndWebSocket(t *testing.T) {
	b := startBackend(t, "node1")
	n := StartNginx(t, NginxOptions{Upstreams: []string{strings.TrimPrefix(b.URL, "http://")}})

	t.Run("http", func(t *testing.T) {
		code, body := get(t, n.URL()+"/")
		if diff := cmp.Diff("200 node1 127.0.0.1", fmt.Sprintf("%d %s", code, body)); diff != "" {
			t.Fatalf("response (-want +got):\n%s", diff)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+n.Addr().String()+"/cti", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		for _, msg := range []string{`{"v":1,"type":"ping"}`, `{"v":1,"type":"ready"}`} {
			if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			_, got, err := c.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(msg, string(got)); diff != "" {
				t.Fatalf("echo (-want +got):\n%s", diff)
			}
		}
	})
}

// TestNginxSkipsRefusingNode: with one node refusing connections (down,
// or a standby), every request is answered by the other, wherever the
// refusing node is in the list.
func TestNginxSkipsRefusingNode(t *testing.T) {
	for _, tc := range []struct {
		name         string
		refusedFirst bool
	}{
		{"refusing node first", true},
		{"refusing node second", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBackend(t, "node2")
			live, refused := strings.TrimPrefix(b.URL, "http://"), refusedAddr(t)
			ups := []string{live, refused}
			if tc.refusedFirst {
				ups = []string{refused, live}
			}
			n := StartNginx(t, NginxOptions{Upstreams: ups})
			for i := range 10 {
				code, body := get(t, n.URL()+"/")
				if code != http.StatusOK || !strings.HasPrefix(body, "node2 ") {
					t.Fatalf("request %d: %d %q, want 200 from node2", i, code, body)
				}
			}
		})
	}
}

// TestNginxFollowsNewLeader: when the serving node stops and a standby
// starts listening (it won the leader lease), requests reach the new node
// within 5 s, although nginx had marked the standby failed before.
func TestNginxFollowsNewLeader(t *testing.T) {
	old := httptest.NewServer(backend("node1"))
	defer old.Close()
	standby := refusedAddr(t)
	n := StartNginx(t, NginxOptions{Upstreams: []string{strings.TrimPrefix(old.URL, "http://"), standby}})
	for i := range 4 { // round robin tries the standby too
		if code, body := get(t, n.URL()+"/"); code != http.StatusOK || !strings.HasPrefix(body, "node1 ") {
			t.Fatalf("request %d before the failover: %d %q, want 200 from node1", i, code, body)
		}
	}

	old.Close()
	l, err := net.Listen("tcp", standby)
	if err != nil {
		t.Fatalf("the standby's port was taken meanwhile: %v", err)
	}
	leader := httptest.NewUnstartedServer(backend("node2"))
	leader.Listener = l
	leader.Start()
	defer leader.Close()

	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := get(t, n.URL()+"/")
		if code == http.StatusOK && strings.HasPrefix(body, "node2 ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the failover: %d %q, want 200 from node2", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
