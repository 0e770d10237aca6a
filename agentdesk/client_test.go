package agentdesk

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestSendQueue: a connection's queue keeps messages in order, wakes the
// writer once for many, holds at most SendBuffer pending messages (the
// next one closes the connection with "resync"), and reuses the writer's
// last batch instead of allocating a new one.
func TestSendQueue(t *testing.T) {
	h := &Hub{cfg: Config{SendBuffer: 3}, m: NewMetrics(nil), log: slog.New(slog.DiscardHandler)}
	c := &client{h: h, wake: make(chan struct{}, 1), done: make(chan struct{})}
	for i := range 2 {
		if !c.enqueue(outMsg{typ: strconv.Itoa(i)}) {
			t.Fatalf("message %d refused", i)
		}
	}
	if len(c.wake) != 1 {
		t.Fatalf("wake holds %d signals, want 1", len(c.wake))
	}
	<-c.wake
	b := c.take()
	if len(b) != 2 || b[0].typ != "0" || b[1].typ != "1" {
		t.Fatalf("took %v, want messages 0 and 1 in order", b)
	}
	c.giveBack(b)
	if b[0].typ != "" {
		t.Error("a written message is still referenced by the reused batch")
	}
	for i := range 3 {
		if !c.enqueue(outMsg{typ: strconv.Itoa(i)}) {
			t.Fatalf("message %d refused after a batch", i)
		}
		if i == 0 && &c.queue[0] != &b[0] {
			t.Error("the queue did not reuse the written batch")
		}
	}
	if c.enqueue(outMsg{typ: "overflow"}) {
		t.Fatal("a fourth pending message was queued with SendBuffer 3")
	}
	select {
	case <-c.done:
	default:
		t.Fatal("a full queue did not close the connection")
	}
	if c.closeC != closeResync {
		t.Errorf("close code %d, want %d (resync)", c.closeC, closeResync)
	}
	if c.enqueue(outMsg{typ: "late"}) {
		t.Error("a closed connection queued a message")
	}
}

// TestWriterBatches: the writer writes everything queued since it was
// woken, in order, in one batch; a pop queued behind other messages keeps
// its place.
func TestWriterBatches(t *testing.T) {
	conns := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		conns <- conn
	}))
	defer srv.Close()
	peer, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	conn := <-conns
	defer conn.Close()
	h := &Hub{cfg: Config{SendBuffer: 8, WriteWait: time.Second}, m: NewMetrics(nil), log: slog.New(slog.DiscardHandler)}
	c := &client{h: h, conn: conn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.enqueue(outMsg{typ: EvAgentState, b: []byte("state")})
	c.enqueue(outMsg{typ: EvCallOffered, b: []byte("pop"), decided: time.Now()})
	c.enqueue(outMsg{typ: EvOK, b: []byte("ok")})
	if len(c.wake) != 1 {
		t.Fatalf("wake holds %d signals, want 1", len(c.wake))
	}
	<-c.wake
	if err := c.writeBatch(); err != nil {
		t.Fatal(err)
	}
	if len(c.queue) != 0 {
		t.Errorf("%d messages left after a batch", len(c.queue))
	}
	for _, want := range []string{"state", "pop", "ok"} {
		peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := peer.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Fatalf("read %q, want %q", b, want)
		}
	}
}

// TestSupervisorResyncInPlace: supervisor deltas that do not fit the send
// queue replace the deltas pending with one snapshot, keeping replies and
// their order, instead of closing the connection.
func TestSupervisorResyncInPlace(t *testing.T) {
	h := &Hub{cfg: Config{SendBuffer: 3}, m: NewMetrics(nil), log: slog.New(slog.DiscardHandler)}
	c := &client{h: h, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.enqueue(outMsg{typ: EvSupAgent, b: []byte("d1")})
	c.enqueue(outMsg{typ: EvOK, b: []byte("reply")})
	snaps := 0
	snapshot := func() (outMsg, bool) { snaps++; return outMsg{typ: EvSupSnapshot, b: []byte("snap")}, true }
	c.enqueueDeltas([]outMsg{{typ: EvSupQueue, b: []byte("d2")}}, snapshot)
	if snaps != 0 || len(c.queue) != 3 {
		t.Fatalf("deltas that fit: %d snapshots, %d queued; want 0 and 3", snaps, len(c.queue))
	}
	c.enqueueDeltas([]outMsg{{typ: EvSupAgent, b: []byte("d3")}, {typ: EvSupAgent, b: []byte("d4")}}, snapshot)
	var got []string
	for _, m := range c.queue {
		got = append(got, string(m.b))
	}
	if strings.Join(got, ",") != "reply,snap" || snaps != 1 {
		t.Errorf("queue %v after %d snapshots, want [reply snap] after 1", got, snaps)
	}
	select {
	case <-c.done:
		t.Error("a supervisor that could catch up was closed")
	default:
	}
}
