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

// TestPopWrittenAtOnce: a screen pop is written by enqueue itself when
// nothing is queued before it and the writer is idle (no writer goroutine
// runs here); queued behind another message, or while the writer holds a
// batch, it waits its turn and keeps the order.
func TestPopWrittenAtOnce(t *testing.T) {
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
	read := func() string {
		t.Helper()
		peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := peer.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pop := func(s string) outMsg {
		return outMsg{typ: EvCallOffered, b: []byte(s), decided: time.Now(), direct: true}
	}

	if !c.enqueue(pop("pop-1")) {
		t.Fatal("pop refused")
	}
	if len(c.queue) != 0 || len(c.wake) != 0 {
		t.Fatal("an idle connection queued the pop instead of writing it")
	}
	if got := read(); got != "pop-1" {
		t.Fatalf("read %q, want pop-1", got)
	}

	c.enqueue(outMsg{typ: EvAgentState, b: []byte("state")})
	c.enqueue(pop("pop-2"))
	if len(c.queue) != 2 {
		t.Fatalf("%d queued, want the pop behind the message before it", len(c.queue))
	}
	if err := c.writeBatch(); err != nil {
		t.Fatal(err)
	}
	if a, b := read(), read(); a != "state" || b != "pop-2" {
		t.Fatalf("read %q then %q, want state then pop-2", a, b)
	}

	c.wmu.Lock() // the writer is busy with a batch
	c.enqueue(pop("pop-3"))
	c.wmu.Unlock()
	if len(c.queue) != 1 {
		t.Fatal("a pop overtook the writer's batch")
	}
	if err := c.writeBatch(); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "pop-3" {
		t.Fatalf("read %q, want pop-3", got)
	}
}
