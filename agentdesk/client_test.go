package agentdesk

import (
	"log/slog"
	"strconv"
	"testing"
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
