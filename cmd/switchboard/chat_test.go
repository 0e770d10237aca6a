package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"switchboard/agentdesk/agentdesktest"
	"switchboard/cmd/switchboard/livesim"
	"switchboard/crmcore/mail/mailtest"
)

// customer is a web chat customer's socket.
type customer struct {
	t    *testing.T
	conn *websocket.Conn
	in   chan envelope
}

func (s *system) chatCustomer(t *testing.T) *customer {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.http+"/chat/ws", http.Header{"Origin": {"http://" + s.http}})
	if err != nil {
		t.Fatal(err)
	}
	c := &customer{t: t, conn: conn, in: make(chan envelope, 256)}
	go func() {
		defer close(c.in)
		for {
			var e envelope
			if err := conn.ReadJSON(&e); err != nil {
				return
			}
			c.in <- e
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *customer) send(typ string, data any) {
	c.t.Helper()
	b, _ := json.Marshal(data)
	if err := c.conn.WriteJSON(map[string]any{"type": typ, "data": json.RawMessage(b)}); err != nil {
		c.t.Fatal(err)
	}
}

// wait returns the first frame that matches within 20 s.
func (c *customer) wait(what string, match func(envelope) bool) envelope {
	c.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e, ok := <-c.in:
			if !ok {
				c.t.Fatalf("chat socket closed waiting for %s", what)
			}
			if match(e) {
				return e
			}
		case <-timeout:
			c.t.Fatalf("no %s within 20 s", what)
		}
	}
}

// chatText is a message frame's text and sender.
func chatText(e envelope) (sender, text string) {
	var m struct {
		Sender string `json:"sender"`
		Text   string `json:"text"`
	}
	_ = json.Unmarshal(e.Data, &m)
	return m.Sender, m.Text
}

// TestChatEndToEnd: a customer opens a chat, gives their email in the
// pre-chat form (a contact of the CRM), picks Billing on the bot's menu,
// waits in the queue, and an agent's desk is offered the chat, accepts it
// and talks with the customer both ways; the agent closes and wraps it up;
// the conversation and its interaction record are in PostgreSQL.
func TestChatEndToEnd(t *testing.T) {
	relay := mailtest.NewRelay(t, nil)
	s := startSystem(t, openAllDay, func(c *Config) { c.Mail.Relay.Addr = relay.Addr })
	token, alice := s.login("alice", "demo")
	desk := s.connectCTI(token)
	desk.waitFor(5*time.Second, func(e envelope) bool { return e.Type == "hello" })
	desk.command("presence.set", map[string]string{"presence": "ready"})

	cust := s.chatCustomer(t)
	cust.send("start", map[string]string{"name": "Zoe Q", "email": "zoe.chat@example.org", "language": "en"})
	welcome := cust.wait("welcome", func(e envelope) bool { return e.Type == "welcome" })
	var w struct {
		ConversationID string `json:"conversation_id"`
	}
	_ = json.Unmarshal(welcome.Data, &w)
	menu := cust.wait("the bot's menu", func(e envelope) bool {
		return e.Type == "message" && strings.Contains(string(e.Data), `"buttons"`)
	})
	if !strings.Contains(string(menu.Data), `"Billing"`) {
		t.Fatalf("menu = %s, want a Billing button", menu.Data)
	}
	cust.send("button", map[string]string{"value": "3"})

	offer := desk.waitFor(30*time.Second, func(e envelope) bool { return e.Type == "task.offered" })
	var o struct {
		TaskID  string `json:"task_id"`
		Channel string `json:"channel"`
		Queue   string `json:"queue"`
	}
	_ = json.Unmarshal(offer.Data, &o)
	if o.Channel != "chat" || o.Queue != "billing" || o.TaskID != w.ConversationID {
		t.Fatalf("offer = %s, want conversation %s on chat in billing", offer.Data, w.ConversationID)
	}
	desk.command("task.accept", map[string]string{"task_id": o.TaskID})
	cust.wait("the agent joined", func(e envelope) bool {
		sender, text := chatText(e)
		return e.Type == "message" && sender == "system" && strings.Contains(text, "Alice")
	})

	desk.command("chat.send", map[string]string{"task_id": o.TaskID, "text": "Hello Zoe, how can I help?"})
	cust.wait("the agent's message", func(e envelope) bool {
		sender, text := chatText(e)
		return e.Type == "message" && sender == "agent" && text == "Hello Zoe, how can I help?"
	})
	cust.send("typing", nil)
	desk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "chat.typing" })
	cust.send("message", map[string]string{"text": "My invoice <b>is wrong</b>", "client_id": "c1"})
	cust.wait("delivered", func(e envelope) bool { return e.Type == "delivered" })
	got := desk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "chat.message" })
	if !strings.Contains(string(got.Data), `My invoice \u003cb\u003eis wrong\u003c/b\u003e`) && !strings.Contains(string(got.Data), "My invoice <b>is wrong</b>") {
		t.Fatalf("chat.message = %s", got.Data)
	}
	desk.command("chat.read", map[string]any{"task_id": o.TaskID, "seq": 1})
	cust.wait("read receipt", func(e envelope) bool { return e.Type == "read" })

	if code, body := s.rest("POST", "/api/v1/chats/"+o.TaskID+"/transcript", token, nil); code != 201 {
		t.Fatalf("transcript = %d %s", code, body)
	}
	mctx, mcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer mcancel()
	if got := relay.Wait(mctx, 1); len(got) != 1 || !strings.Contains(string(got[0].Data), "Hello Zoe, how can I help?") ||
		!strings.Contains(string(got[0].Data), "Your chat with us [T-") || got[0].To[0] != "zoe.chat@example.org" {
		t.Fatalf("the relay got %d messages, want the transcript: %+v", len(got), got)
	}
	desk.command("task.complete", map[string]string{"task_id": o.TaskID})
	cust.wait("closed", func(e envelope) bool { return e.Type == "closed" })
	// The wrap-up keeps the chat under a new ticket for the follow-up.
	reply := desk.command("task.wrapup", map[string]any{"task_id": o.TaskID, "disposition": "resolved", "notes": "Invoice fixed.",
		"create_ticket": map[string]string{"subject": "Send the corrected invoice"}})
	var made struct {
		TicketID string `json:"ticket_id"`
	}
	if err := json.Unmarshal(reply.Data, &made); err != nil || !strings.HasPrefix(made.TicketID, "T-") {
		t.Fatalf("wrap-up reply %s: want the new ticket's number", reply.Data)
	}
	code, body := s.rest("GET", "/api/v1/tickets/"+made.TicketID, token, nil)
	var followUp struct {
		ID          string `json:"id"`
		Channel     string `json:"channel"`
		Subject     string `json:"subject"`
		RequesterID string `json:"requester_id"`
	}
	if err := json.Unmarshal(body, &followUp); code != 200 || err != nil || followUp.Channel != "chat" || followUp.Subject != "Send the corrected invoice" ||
		followUp.RequesterID == "" {
		t.Fatalf("the wrap-up's ticket = %d %s", code, body)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for {
		var outcome, agent, disposition, contact, ticket string
		var messages int
		err := conn.QueryRow(ctx, `select i.outcome, coalesce(i.agent_id::text,''), i.disposition, coalesce(i.contact_id::text,''),
			coalesce(i.ticket_id::text,''), (select count(*) from chat_messages m where m.conversation_id = i.id)
			from interactions i where i.id=$1 and i.channel='chat'`, w.ConversationID).Scan(&outcome, &agent, &disposition, &contact, &ticket, &messages)
		if err == nil && outcome == "answered" && disposition == "resolved" {
			if agent != alice || contact == "" || messages < 5 || ticket != followUp.ID || followUp.RequesterID != contact {
				t.Errorf("record by %s for contact %q with %d messages, ticket %q; want alice's, a contact, the whole conversation, the wrap-up's ticket %s requested by the contact",
					agent, contact, messages, ticket, followUp.ID)
			}
			code, body := s.rest("GET", "/api/v1/contacts/"+contact+"/chats", token, nil)
			if code != 200 || !strings.Contains(string(body), w.ConversationID) {
				t.Errorf("the contact's chats = %d %s, want this one", code, body)
			}
			code, body = s.rest("GET", "/api/v1/chats/"+w.ConversationID, token, nil)
			if code != 200 || !strings.Contains(string(body), "Hello Zoe, how can I help?") || !strings.Contains(string(body), `"disposition":"resolved"`) {
				t.Errorf("transcript = %d %s", code, body)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("chat record = %s by %s (%s), %v; want answered and resolved", outcome, agent, disposition, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// widget is the chat widget's shadow root on the customer's page.
const widget = `[...document.querySelectorAll('div')].find((e) => e.shadowRoot).shadowRoot`

// TestChatBrowser: a customer in Chromium fills the widget's pre-chat
// form, picks Operator on the bot's buttons and sees their place in the
// queue; bob's desk in Chromium is offered the chat and accepts it, and
// they write to each other; a second customer's chat joins bob's desk,
// and then a phone call, so that bob holds a call and two chats at once;
// bob transfers the second chat to erin, who goes on with the customer;
// bob closes the first chat and wraps it up, and its transcript is the
// contact's in the CRM.
func TestChatBrowser(t *testing.T) {
	s := startSystem(t, openAllDay, func(c *Config) { c.SIP.WebRTCIPs = []string{"127.0.0.1"} })
	desk := softphoneDesk(t, s.http, "bob")
	agentdesktest.Step(t, desk, "not ready", chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.getElementById('presence'); s.value = 'not-ready:break'; s.dispatchEvent(new Event('change')); })()`))
	agentdesktest.Poll(t, desk, "not ready", `document.getElementById('state-badge').textContent.startsWith('not ready')`)

	page := agentdesktest.NewTab(t, agentdesktest.NewBrowser(t))
	agentdesktest.Step(t, page, "open the chat page", chromedp.Navigate("http://"+s.http+"/chat"))
	agentdesktest.Poll(t, page, "pre-chat form", widget+`.querySelector('input[type=email]') !== null`)
	agentdesktest.Step(t, page, "pre-chat form", chromedp.Evaluate[chromedp.Void](`(() => {
		const r = `+widget+`;
		r.querySelector('input[autocomplete=name]').value = 'Liam Johnson';
		r.querySelector('input[type=email]').value = 'liam.chat@example.org';
		r.querySelector('form').requestSubmit();
	})()`))
	agentdesktest.Poll(t, page, "the bot's buttons", `[...`+widget+`.querySelectorAll('[data-quick] button')].some((b) => b.textContent === 'Operator')`)
	agentdesktest.Step(t, page, "press Operator", chromedp.Evaluate[chromedp.Void](
		`[...`+widget+`.querySelectorAll('[data-quick] button')].find((b) => b.textContent === 'Operator').click()`))
	agentdesktest.Poll(t, page, "place in the queue", widget+`.textContent.includes('You are number 1 in the queue')`)

	agentdesktest.Step(t, desk, "ready", chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.getElementById('presence'); s.value = 'ready'; s.dispatchEvent(new Event('change')); })()`))
	agentdesktest.Poll(t, desk, "chat offered", `!!document.querySelector('[data-channel="chat"][data-state="offered"] .t-accept')`)
	agentdesktest.Step(t, desk, "accept the chat", chromedp.Click(chromedp.CSS(`[data-channel="chat"][data-state="offered"] .t-accept`)))
	agentdesktest.Poll(t, desk, "the customer's choice in the panel", `!!document.querySelector('[data-channel="chat"][data-state="active"] .chat-log')`)
	agentdesktest.Poll(t, page, "bob joined", widget+`.textContent.includes('Bob')`)

	// A canned response fills the composer with the customer's and bob's names.
	agentdesktest.Poll(t, desk, "canned responses", `[...document.querySelectorAll('[data-channel="chat"][data-state="active"] .chat-canned option')].some((o) => o.textContent === 'Greeting (chat)')`)
	agentdesktest.Step(t, desk, "pick the greeting", chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.querySelector('[data-channel="chat"][data-state="active"] .chat-canned');
		s.value = [...s.options].find((o) => o.textContent === 'Greeting (chat)').value;
		s.dispatchEvent(new Event('change'));
	})()`))
	agentdesktest.Poll(t, desk, "the greeting filled in", `document.querySelector('[data-channel="chat"][data-state="active"] .chat-compose textarea').value === 'Hello Liam Johnson, I am Bob Jones. How can I help?'`)
	agentdesktest.Step(t, desk, "bob writes", chromedp.Evaluate[chromedp.Void](`(() => {
		const p = document.querySelector('[data-channel="chat"][data-state="active"]');
		p.querySelector('.chat-compose textarea').value = 'Hi Liam, what can I do for you?';
		p.querySelector('.chat-compose').requestSubmit();
	})()`))
	agentdesktest.Poll(t, page, "bob's message", widget+`.textContent.includes('Hi Liam, what can I do for you?')`)
	agentdesktest.Step(t, page, "the customer writes", chromedp.Evaluate[chromedp.Void](`(() => {
		const r = `+widget+`;
		r.querySelector('textarea').value = 'My <img src=x onerror="document.title=1"> modem is slow';
		r.querySelector('textarea').closest('form').requestSubmit();
	})()`))
	agentdesktest.Poll(t, desk, "the customer's message as text",
		`[...document.querySelectorAll('.chat-msg.customer .chat-text')].some((e) => e.textContent.includes('onerror='))`)
	agentdesktest.Poll(t, page, "read by bob", widget+`.textContent.includes('✓✓')`)

	// A second chat, over the customer protocol, on bob's desk too.
	other := s.chatCustomer(t)
	other.send("start", map[string]string{"name": "Noah Brown"})
	other.wait("the bot's menu", func(e envelope) bool { return e.Type == "message" && strings.Contains(string(e.Data), `"buttons"`) })
	other.send("button", map[string]string{"value": "0"})
	agentdesktest.Poll(t, desk, "second chat offered", `!!document.querySelector('[data-channel="chat"][data-state="offered"] .t-accept')`)
	agentdesktest.Step(t, desk, "accept the second chat", chromedp.Click(chromedp.CSS(`[data-channel="chat"][data-state="offered"] .t-accept`)))
	agentdesktest.Poll(t, desk, "two chats", `document.querySelectorAll('[data-channel="chat"][data-state="active"]').length === 2`)

	// And a phone call: a call and two chats at once.
	caller := s.sipp("caller_support.xml", "Liam Johnson", "+14155550101", "+15550100", "-rtp_echo")
	c, cancel := context.WithTimeout(desk, 45*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[bool](`!document.getElementById('btn-answer').disabled`, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("the call was not offered while bob held two chats: %v", err)
	}
	agentdesktest.Step(t, desk, "answer the call", chromedp.Click(chromedp.CSS("#btn-answer")))
	agentdesktest.Poll(t, desk, "a call and two chats", `document.getElementById('call-status').textContent.startsWith('Talking') &&
		document.querySelectorAll('[data-channel="chat"][data-state="active"]').length === 2`)

	// The second chat goes to erin.
	erinTok, erin := s.login("erin", "demo")
	erinDesk := s.connectCTI(erinTok)
	erinDesk.waitFor(5*time.Second, func(e envelope) bool { return e.Type == "hello" })
	erinDesk.command("presence.set", map[string]string{"presence": "ready"})
	agentdesktest.Step(t, desk, "transfer the second chat to erin", chromedp.Evaluate[chromedp.Void](`(() => {
		const p = [...document.querySelectorAll('[data-channel="chat"][data-state="active"]')].find((x) => !x.textContent.includes('modem'));
		const f = p.querySelector('.t-transfer');
		f.querySelector('select').value = 'agent';
		f.querySelector('input').value = '`+erin+`';
		f.requestSubmit();
	})()`))
	moved := erinDesk.waitFor(20*time.Second, func(e envelope) bool { return e.Type == "task.offered" })
	var mo struct {
		TaskID string `json:"task_id"`
	}
	_ = json.Unmarshal(moved.Data, &mo)
	erinDesk.command("task.accept", map[string]string{"task_id": mo.TaskID})
	erinDesk.command("chat.send", map[string]string{"task_id": mo.TaskID, "text": "Erin here, I will take it from there."})
	other.wait("erin's message", func(e envelope) bool {
		sender, text := chatText(e)
		return sender == "agent" && strings.HasPrefix(text, "Erin here")
	})

	// Bob closes the first chat and wraps it up.
	first, err := chromedp.Run(desk, chromedp.Evaluate[string](
		`[...document.querySelectorAll('[data-channel="chat"][data-state="active"]')].find((x) => x.textContent.includes('modem')).dataset.task`))
	if err != nil || first == "" {
		t.Fatalf("the first chat's panel: %q, %v", first, err)
	}
	agentdesktest.Step(t, desk, "complete the first chat", chromedp.Click(chromedp.CSS(`[data-task="`+first+`"] .t-complete`)))
	agentdesktest.Poll(t, page, "the chat ended", widget+`.textContent.includes('Start a new chat')`)
	agentdesktest.Poll(t, desk, "chat wrap-up", `!!document.querySelector('[data-task="`+first+`"][data-state="wrap-up"] .t-wrap')`)
	agentdesktest.Step(t, desk, "wrap the chat up", chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.querySelector('[data-task="`+first+`"][data-state="wrap-up"] .t-wrap');
		f.querySelector('select').value = 'resolved';
		f.requestSubmit();
	})()`))
	if err := <-caller; err != nil {
		t.Fatal(err)
	}

	token, _ := s.login("bob", "demo")
	ctx, cancelDB := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancelDB()
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for {
		var id, contact string
		err := conn.QueryRow(ctx, `select i.id::text, coalesce(i.contact_id::text,'') from interactions i where i.id=$1
			and i.outcome='answered' and i.disposition='resolved'`, first).Scan(&id, &contact)
		if err == nil {
			code, body := s.rest("GET", "/api/v1/contacts/"+contact+"/chats", token, nil)
			if code != 200 || !strings.Contains(string(body), id) {
				t.Errorf("the contact's chats = %d %s, want %s", code, body, id)
			}
			code, body = s.rest("GET", "/api/v1/chats/"+id, token, nil)
			if code != 200 || !strings.Contains(string(body), "Hi Liam, what can I do for you?") || !strings.Contains(string(body), "modem is slow") {
				t.Errorf("transcript = %d %s", code, body)
			}
			break
		}
		if ctx.Err() != nil {
			rows, _ := conn.Query(context.Background(), `select outcome || ' ' || coalesce(agent_id::text,'-') || ' ' || disposition from interactions where channel='chat'`)
			got, _ := pgx.CollectRows(rows, pgx.RowTo[string])
			t.Fatalf("no resolved chat record (%v): %q", err, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	title, err := chromedp.Run(desk, chromedp.Title())
	if err != nil || title == "1" {
		t.Errorf("desk title %q (%v): markup from the chat ran", title, err)
	}
}

// TestChatLoad runs the chat load generator small: every customer's chat
// reaches an agent and their messages are timed on the agents' desks.
func TestChatLoad(t *testing.T) {
	s := startSystem(t, openAllDay, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	rep, err := livesim.ChatLoad(ctx, livesim.ChatLoadOptions{HTTP: s.http, Agents: 4, Customers: 12, Rate: 20, Duration: 3 * time.Second,
		Password: "demo", AdminPassword: "admin", Button: "0"}, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 12 || rep.Active != 12 || rep.Sent < 20 || rep.Delivered != rep.Sent || rep.P99 <= 0 {
		t.Fatalf("report = %+v, want 12 customers with agents and every message delivered", rep)
	}
}
