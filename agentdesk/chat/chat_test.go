package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/acd"
	"switchboard/agentdesk/chat"
	"switchboard/agentdesk/chat/chattest"
	"switchboard/crmcore"
	"switchboard/ivr"
)

func TestConversation(t *testing.T) {
	r := newRig(t, nil)
	r.login("a1", false) // logged in, not ready: the chat waits
	c := r.customer()
	_, id := r.toQueue(c)

	var q struct {
		Position int   `json:"position"`
		EWT      int64 `json:"ewt_s"`
	}
	if err := json.Unmarshal(c.next("queue").Data, &q); err != nil || q.Position != 1 {
		t.Fatalf("queue = %+v (%v), want position 1", q, err)
	}
	if err := r.engine.SetPresence(context.Background(), "a1", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	r.accept("a1", id)
	c.message("Ana joined the chat.")

	// The pop and the agent's history.
	hist, err := r.svc.History(context.Background(), "a1", id)
	if err != nil || len(hist) < 8 {
		t.Fatalf("History = %d messages, %v", len(hist), err)
	}
	if _, err := r.svc.History(context.Background(), "zz", id); !errors.Is(err, chat.ErrNotHeld) {
		t.Errorf("History by another agent = %v, want ErrNotHeld", err)
	}
	info, err := r.engine.Call(context.Background(), acd.CallID(id))
	if err != nil {
		t.Fatal(err)
	}
	pop, _ := info.Data.(*chat.Pop)
	if pop == nil || pop.Email != "carla@example.com" || pop.ContactID != "contact:carla@example.com" || !strings.Contains(pop.IVR, "ticket_entry") ||
		len(pop.Messages) == 0 || info.Queue != "support" || info.Customer != "contact:carla@example.com" {
		t.Errorf("task = queue %q customer %q pop %+v", info.Queue, info.Customer, pop)
	}

	// Messages both ways.
	c.send("message", map[string]string{"text": "Hello, my order is late", "client_id": "m1"})
	if cid, _ := c.delivered(); cid != "m1" {
		t.Fatalf("delivered %s", cid)
	}
	if e := r.event(chat.EvMessage); e.agent != "a1" || e.ev.TaskID != id || e.ev.Message.Text != "Hello, my order is late" {
		t.Errorf("agent event = %+v", e)
	}
	sent, err := r.svc.AgentSend(context.Background(), "a1", id, "Let me check.")
	if err != nil {
		t.Fatal(err)
	}
	if m := c.message("Let me check."); m.Sender != crmcore.ChatAgent || m.AgentID != "a1" || m.Seq != sent.Seq {
		t.Errorf("customer got %+v, want the agent's message seq %d", m, sent.Seq)
	}
	if _, err := r.svc.AgentSend(context.Background(), "b1", id, "hi"); !errors.Is(err, chat.ErrNotHeld) {
		t.Errorf("AgentSend by b1 = %v, want ErrNotHeld", err)
	}
	if _, err := r.svc.AgentSend(context.Background(), "a1", id, "  "); !errors.Is(err, chat.ErrInvalidText) {
		t.Errorf("AgentSend blank = %v, want ErrInvalidText", err)
	}

	// Typing and read receipts both ways.
	c.send("typing", nil)
	r.event(chat.EvTyping)
	if err := r.svc.AgentTyping(context.Background(), "a1", id); err != nil {
		t.Fatal(err)
	}
	c.next("typing")
	c.send("read", map[string]int64{"seq": sent.Seq})
	if e := r.event(chat.EvRead); e.ev.Seq != sent.Seq {
		t.Errorf("read event seq = %d, want %d", e.ev.Seq, sent.Seq)
	}
	if err := r.svc.AgentRead(context.Background(), "a1", id, sent.Seq-1); err != nil {
		t.Fatal(err)
	}
	var rd struct{ Seq int64 }
	_ = json.Unmarshal(c.next("read").Data, &rd)
	if rd.Seq != sent.Seq-1 {
		t.Errorf("customer read = %d, want %d", rd.Seq, sent.Seq-1)
	}

	// Transfer to b1: the customer is told and stays; a message meanwhile is kept.
	r.login("b1", true)
	if err := r.engine.TransferTask(context.Background(), acd.TaskID(id), acd.TransferTarget{Agent: "b1"}); err != nil {
		t.Fatal(err)
	}
	c.message("transferred")
	if e := r.event(chat.EvEnded); e.agent != "a1" {
		t.Errorf("ended event to %s, want a1", e.agent)
	}
	c.send("message", map[string]string{"text": "still there?", "client_id": "m2"})
	c.delivered()
	r.accept("b1", id)
	c.message("Bob joined the chat.")
	hist, err = r.svc.History(context.Background(), "b1", id)
	if err != nil || !slicesHasText(hist, "still there?") {
		t.Errorf("b1's history lacks the message sent meanwhile: %v", err)
	}
	if _, err := r.svc.AgentSend(context.Background(), "a1", id, "bye"); !errors.Is(err, chat.ErrNotHeld) {
		t.Errorf("AgentSend by a1 after the transfer = %v, want ErrNotHeld", err)
	}

	// The agent completes: the customer is closed.
	if err := r.engine.Complete(context.Background(), acd.TaskID(id)); err != nil {
		t.Fatal(err)
	}
	c.message("The chat has ended")
	c.next("closed")
	if err := r.svc.SetDisposition(context.Background(), id, "resolved"); err != nil {
		t.Fatal(err)
	}
	conv, _ := r.store.Conversation(context.Background(), id)
	if conv.Status != crmcore.ChatStatusClosed || conv.EndedAt == nil || conv.Disposition != "resolved" || conv.AgentID != "b1" {
		t.Errorf("stored conversation = %+v", conv)
	}

	// Every message stored once, numbered in order, senders as they spoke.
	all := r.store.All(id)
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d", i, m.Seq)
		}
	}
	var senders []string
	for _, m := range all {
		senders = append(senders, string(m.Sender)+":"+m.Text)
	}
	joined := strings.Join(senders, "|")
	for _, want := range []string{"customer:Support", "customer:12 34", "agent:Let me check.", "system:Ana joined the chat.", "customer:still there?", "system:Bob joined the chat."} {
		if !strings.Contains(joined, want) {
			t.Errorf("stored messages lack %q:\n%s", want, joined)
		}
	}
	if got := testutil.ToFloat64(r.svcMetric("switchboard_chat_messages_total", "agent")); got != 1 {
		t.Errorf("agent messages = %v, want 1", got)
	}
}

func TestCustomerCloses(t *testing.T) {
	t.Run("while queued with nobody logged in", func(t *testing.T) {
		r := newRig(t, nil)
		c := r.customer()
		_, id := r.toQueue(c)
		c.message("No agent is available")
		c.send("close", nil)
		c.next("closed")
		conv, _ := r.store.Conversation(context.Background(), id)
		if conv.Status != crmcore.ChatStatusClosed {
			t.Errorf("status = %s, want closed", conv.Status)
		}
		if got := testutil.ToFloat64(r.svcMetric("switchboard_chat_conversations_total", "abandoned")); got != 1 {
			t.Errorf("abandoned conversations = %v, want 1", got)
		}
	})
	t.Run("while active", func(t *testing.T) {
		r := newRig(t, nil)
		r.login("a1", true)
		c := r.customer()
		_, id := r.toQueue(c)
		r.accept("a1", id)
		c.message("Ana joined")
		c.send("close", nil)
		c.next("closed")
		if e := r.event(chat.EvEnded); e.agent != "a1" || e.ev.TaskID != id {
			t.Errorf("ended event = %+v", e)
		}
	})
	t.Run("by leaving the page", func(t *testing.T) {
		r := newRig(t, func(o *chat.Options) { o.AbandonAfter = 300 * time.Millisecond })
		c := r.customer()
		token, id := r.toQueue(c)
		c.message("No agent is available")
		c.conn.Close()
		deadline := time.Now().Add(10 * time.Second)
		for {
			conv, _ := r.store.Conversation(context.Background(), id)
			if conv.Status == crmcore.ChatStatusClosed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("status = %s after the customer's page closed, want closed (abandoned)", conv.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
		back := r.customer()
		back.send("resume", map[string]any{"token": token, "after_seq": 0})
		back.next("closed")
	})
	t.Run("in the bot", func(t *testing.T) {
		r := newRig(t, nil)
		c := r.customer()
		c.send("start", nil)
		_, id := c.welcome()
		c.message("For sales")
		c.send("close", nil)
		c.next("closed")
		conv, _ := r.store.Conversation(context.Background(), id)
		if conv.Status != crmcore.ChatStatusClosed {
			t.Errorf("status = %s, want closed", conv.Status)
		}
	})
}

func TestBotEndsTheChat(t *testing.T) {
	r := newRig(t, func(o *chat.Options) { o.Hours = ivr.HoursClosed })
	c := r.customer()
	c.send("start", nil)
	c.welcome()
	c.message("Our office is closed")
	c.message("by email")
	c.next("closed")
}

func TestResume(t *testing.T) {
	r := newRig(t, nil)
	c := r.customer()
	c.send("start", nil)
	token, id := c.welcome()
	c.message("For sales")
	c.send("message", map[string]string{"text": "hello", "client_id": "x1"})
	_, seq := c.delivered()
	c.conn.Close() // the socket drops

	c2 := r.customer()
	c2.send("resume", map[string]any{"token": token, "after_seq": 0})
	c2.welcome()
	first := c2.message("For sales")
	if first.Seq != 1 {
		t.Errorf("replay starts at seq %d, want 1", first.Seq)
	}
	c2.message("hello")
	// The resend of a message already stored is acknowledged, not stored again.
	c2.send("message", map[string]string{"text": "hello", "client_id": "x1"})
	if cid, s := c2.delivered(); cid != "x1" || s != seq {
		t.Errorf("resend delivered = %s %d, want x1 %d", cid, s, seq)
	}
	n := 0
	for _, m := range r.store.All(id) {
		if m.Text == "hello" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("hello stored %d times, want once", n)
	}
	// The flow goes on over the new socket.
	c2.send("button", map[string]string{"value": "1"})
	c2.message("Please hold")

	t.Run("after_seq skips what the widget has", func(t *testing.T) {
		c3 := r.customer()
		c3.send("resume", map[string]any{"token": token, "after_seq": seq})
		c3.welcome()
		if m := c3.message(""); m.Seq != seq+1 {
			t.Errorf("first replayed seq = %d, want %d", m.Seq, seq+1)
		}
	})
	for name, tok := range map[string]string{
		"forged":    strings.Replace(token, id, "00000000-0000-0000-0000-000000000000", 1),
		"bad mac":   token[:len(token)-2] + "AA",
		"malformed": "nonsense",
	} {
		t.Run(name+" token", func(t *testing.T) {
			c := r.customer()
			c.send("resume", map[string]any{"token": tok})
			if code := c.errorCode(); code != "bad_token" {
				t.Errorf("error = %s, want bad_token", code)
			}
		})
	}
	t.Run("expired token", func(t *testing.T) {
		r.clock.Store(int64(25 * time.Hour))
		defer r.clock.Store(0)
		c := r.customer()
		c.send("resume", map[string]any{"token": token})
		if code := c.errorCode(); code != "bad_token" {
			t.Errorf("error = %s, want bad_token", code)
		}
	})
}

func TestHostileInput(t *testing.T) {
	r := newRig(t, func(o *chat.Options) { o.MessageRate, o.MessageBurst = 0.001, 4 })
	c := r.customer()
	c.send("message", map[string]string{"text": "before start"})
	if code := c.errorCode(); code != "no_conversation" {
		t.Errorf("message before start: %s", code)
	}
	c.send("start", nil)
	_, id := c.welcome()
	c.message("For sales")

	c.send("message", map[string]string{"text": strings.Repeat("x", crmcore.MaxChatText+1)})
	if code := c.errorCode(); code != "too_large" {
		t.Errorf("too large: %s", code)
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte("{\"type\":\"message\",\"data\":{\"text\":\"bad \xff byte\"}}")); err != nil {
		t.Fatal(err)
	}
	if code := c.errorCode(); code != "bad_text" {
		t.Errorf("bad UTF-8: %s", code)
	}
	c.send("nonsense", nil)
	if code := c.errorCode(); code != "bad_request" {
		t.Errorf("unknown type: %s", code)
	}
	const xss = `<img src=x onerror=alert(1)><script>alert(2)</script>`
	c.send("message", map[string]string{"text": xss, "client_id": "x"})
	c.delivered()
	c.send("message", map[string]string{"text": "a\u0007b\u0000c\n\td\u2028", "client_id": "y"})
	c.delivered()
	all := r.store.All(id)
	if !slicesHasText(all, xss) || !slicesHasText(all, "abc\n\td") {
		t.Errorf("stored = %+v, want the payload as text and the control characters dropped", all)
	}
	// The socket stayed open through all of it; the burst is spent by now (4 stored
	// customer messages would be the burst: 2 above plus these).
	codes := map[string]int{}
	for i := range 4 {
		c.send("message", map[string]string{"text": "spam", "client_id": "s" + string(rune('a'+i))})
		var f frame
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for f.Type != "delivered" && f.Type != "error" {
			if err := c.conn.ReadJSON(&f); err != nil {
				t.Fatal(err)
			}
		}
		codes[f.Type]++
	}
	if codes["error"] == 0 {
		t.Errorf("no message was rate limited: %v", codes)
	}
	// A 70 KiB frame breaks the read limit: the socket closes.
	_ = c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"message","data":{"text":"`+strings.Repeat("y", 70<<10)+`"}}`))
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			break
		}
	}
}

func TestConnectionLimits(t *testing.T) {
	t.Run("pending sockets per address", func(t *testing.T) {
		r := newRig(t, func(o *chat.Options) { o.MaxPendingPerAddress = 2 })
		r.customer()
		r.customer()
		_, res, err := r.dial(nil)
		if err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
			t.Errorf("third socket in no chat: %v, %v; want 429", err, res)
		}
	})
	t.Run("customers at once", func(t *testing.T) {
		r := newRig(t, func(o *chat.Options) { o.MaxCustomers = 1 })
		c := r.customer()
		_, res, err := r.dial(nil)
		if err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("second socket: %v, %v; want 503", err, res)
		}
		c.conn.Close()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, _, err := r.dial(nil); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the freed place never came back")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	t.Run("origin", func(t *testing.T) {
		r := newRig(t, func(o *chat.Options) { o.AllowedOrigins = []string{"https://shop.example.com"} })
		if _, res, err := r.dial(http.Header{"Origin": {"https://evil.example.com"}}); err == nil || res.StatusCode != http.StatusForbidden {
			t.Errorf("foreign origin: %v, want 403", err)
		}
		if _, _, err := r.dial(http.Header{"Origin": {"https://shop.example.com"}}); err != nil {
			t.Errorf("allowed origin: %v", err)
		}
	})
}

func TestPages(t *testing.T) {
	r := newRig(t, nil)
	get := func(path string) (*http.Response, string) {
		res, err := http.Get(r.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := get("/chat")
	if csp := res.Header.Get("Content-Security-Policy"); res.StatusCode != 200 || !strings.Contains(csp, "script-src 'self'") ||
		strings.Contains(csp, "unsafe") || !strings.Contains(body, `src="/chat/widget.js"`) {
		t.Errorf("/chat: %d, CSP %q", res.StatusCode, csp)
	}
	res, body = get("/chat/widget.js")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("/chat/widget.js: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function", "document.write"} {
		if strings.Contains(body, banned) {
			t.Errorf("widget.js uses %s", banned)
		}
	}
}

func TestNewNeedsASecret(t *testing.T) {
	if _, err := chat.New(chattest.NewStore(), ivr.NewRegistry(ivr.Options{}, nil), chat.Options{Secret: []byte("short")}); err == nil {
		t.Error("New with a short secret succeeded")
	}
}

// BenchmarkCustomerToAgent measures a customer's message from the socket to the agent's
// event callback, through the store.
func BenchmarkCustomerToAgent(b *testing.B) {
	r := newRig(b, func(o *chat.Options) { o.MessageRate, o.MessageBurst = 1e9, 1<<30 })
	r.login("a1", true)
	c := r.customer()
	_, id := r.toQueue(c)
	r.accept("a1", id)
	c.message("Ana joined")
	var wg sync.WaitGroup
	wg.Add(1)
	_ = c.conn.SetReadDeadline(time.Time{})
	go func() { // the customer's side drains its acks
		defer wg.Done()
		for {
			if _, _, err := c.conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	msg := []byte(`{"type":"message","data":{"text":"hello agent"}}`)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			b.Fatal(err)
		}
		r.event(chat.EvMessage)
	}
	b.StopTimer()
	c.conn.Close()
	wg.Wait()
}
