package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"

	"switchboard/agentdesk/agentdesktest"
	"switchboard/crmcore/mail"
	"switchboard/crmcore/mail/mailtest"
)

// email is a customer's message as an MTA hands it over.
type email struct {
	from, to, id, subject, text string
	headers                     []string // extra "Name: value" lines
	// file and content, when file is set, are a text attachment.
	file, content string
}

func (e email) bytes() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Zoe Q <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\n",
		e.from, e.to, e.subject, e.id, time.Now().Format(time.RFC1123Z))
	for _, h := range e.headers {
		b.WriteString(h + "\r\n")
	}
	if e.file == "" {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n" + e.text + "\r\n")
		return b.Bytes()
	}
	const boundary = "switchboard-test-boundary"
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n"+
		"--%s\r\nContent-Type: text/plain; name=%q\r\nContent-Disposition: attachment; filename=%q\r\n\r\n%s\r\n--%s--\r\n",
		boundary, boundary, e.text, boundary, e.file, e.file, e.content, boundary)
	return b.Bytes()
}

// sendMail delivers raw to addr over SMTP and returns the server's SMTP
// error code (0: accepted).
func sendMail(t *testing.T, addr, from, to string, raw []byte) int {
	t.Helper()
	err := deliver(addr, from, to, raw)
	var se *smtp.SMTPError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &se):
		return se.Code
	}
	t.Fatalf("SMTP to %s: %v", addr, err)
	return -1
}

// deliver sends one message over a plain SMTP session on loopback.
func deliver(addr, from, to string, raw []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, []string{to}, bytes.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

// parsed reads a message the relay received, with its raw header.
func parsed(t *testing.T, m mailtest.Message) (*mail.Parsed, textproto.MIMEHeader) {
	t.Helper()
	p, err := mail.Parse(bytes.NewReader(m.Data), 0)
	if err != nil {
		t.Fatalf("the relay got a message that does not parse: %v\n%s", err, m.Data)
	}
	i := bytes.Index(m.Data, []byte("\r\n\r\n"))
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(m.Data[:i+4]))).ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	return p, h
}

// TestEmailEndToEnd: mail to a support address over real SMTP opens a
// ticket for a new contact and is acknowledged through the relay; the
// ticket is routed to an agent as an email task; the agent's reply goes
// out through the relay with the threading headers and the ticket's
// number; the customer's answer threads in. Auto-generated and looping
// mail opens tickets without an acknowledgement; malformed, oversized and
// misaddressed mail is refused at the SMTP level; a burst of 1,000
// messages gives 1,000 tickets.
func TestEmailEndToEnd(t *testing.T) {
	relay := mailtest.NewRelay(t, nil)
	s := startSystem(t, openAllDay, func(c *Config) {
		c.Mail.Relay.Addr = relay.Addr
		c.Mail.MaxMessageBytes = 1 << 20
	})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	smtpAddr := s.cfg.Mail.SMTP

	token, bob := s.login("bob", "demo")
	desk := s.connectCTI(token)
	desk.waitFor(5*time.Second, func(e envelope) bool { return e.Type == "hello" })
	desk.command("presence.set", map[string]string{"presence": "ready"})

	first := email{from: "zoe@example.org", to: "support@example.com", id: "m1@cust.example", subject: "Router down", text: "It blinks red."}
	if code := sendMail(t, smtpAddr, first.from, first.to, first.bytes()); code != 0 {
		t.Fatalf("first mail refused with %d", code)
	}
	got := relay.Wait(ctx, 1)
	if len(got) != 1 {
		t.Fatalf("the relay got %d messages, want the acknowledgement", len(got))
	}
	ack, ackHeader := parsed(t, got[0])
	if ack.Message.InReplyTo != first.id || !slices.Contains(got[0].To, first.from) || !strings.Contains(ack.Message.Subject, "[T-") ||
		ackHeader.Get("Auto-Submitted") != "auto-replied" || ackHeader.Get("X-Switchboard-Loop") == "" {
		t.Fatalf("acknowledgement = %+v\n%s", ack.Message, got[0].Data)
	}
	number := ack.Message.Subject[strings.Index(ack.Message.Subject, "[T-")+1 : strings.LastIndex(ack.Message.Subject, "]")]

	offer := desk.waitFor(30*time.Second, func(e envelope) bool { return e.Type == "task.offered" })
	var o struct {
		TaskID  string `json:"task_id"`
		Channel string `json:"channel"`
		Queue   string `json:"queue"`
		CRM     struct {
			Ticket struct {
				Number string `json:"number"`
			} `json:"ticket"`
		} `json:"crm"`
	}
	if err := json.Unmarshal(offer.Data, &o); err != nil {
		t.Fatal(err)
	}
	if o.Channel != "email" || o.Queue != "support" || o.CRM.Ticket.Number != number {
		t.Fatalf("offer = %s, want ticket %s on email in support", offer.Data, number)
	}
	desk.command("task.accept", map[string]string{"task_id": o.TaskID})

	if code, body := s.rest("POST", "/api/v1/tickets/"+number+"/emails", token,
		map[string]any{"text": "Hello {{contact.name}}, please restart it.", "cc": []string{"x@example.org\r\nBcc: all@example.org"}}); code != 400 {
		t.Fatalf("reply with a line break in cc = %d %s, want 400", code, body)
	}
	code, body := s.rest("POST", "/api/v1/tickets/"+number+"/emails", token,
		map[string]any{"text": "Hello {{contact.name}}, please restart it.", "cc": []string{"boss@example.org"}})
	if code != 201 {
		t.Fatalf("reply = %d %s", code, body)
	}
	got = relay.Wait(ctx, 2)
	if len(got) != 2 {
		t.Fatalf("the relay got %d messages, want the reply too", len(got))
	}
	reply, replyHeader := parsed(t, got[1])
	if reply.Message.From != "support@example.com" || reply.Message.InReplyTo != first.id || !slices.Equal(reply.ThreadIDs, []string{first.id}) ||
		reply.Message.FromName != "Example Support" ||
		reply.Message.Subject != "Re: Router down ["+number+"]" || !strings.HasPrefix(reply.Message.Text, "Hello Zoe Q, please restart it.") ||
		!slices.Contains(reply.Message.Cc, "boss@example.org") || !slices.Contains(got[1].To, "boss@example.org") ||
		replyHeader.Get("Auto-Submitted") != "" {
		t.Fatalf("reply = %+v\n%s", reply.Message, got[1].Data)
	}

	answer := email{from: "zoe@example.org", to: "support@example.com", id: "m2@cust.example", subject: reply.Message.Subject,
		text: "Done, it works.", headers: []string{"In-Reply-To: <" + reply.Message.MessageID + ">"}}
	if code := sendMail(t, smtpAddr, answer.from, answer.to, answer.bytes()); code != 0 {
		t.Fatalf("answer refused with %d", code)
	}
	code, body = s.rest("GET", "/api/v1/tickets/"+number+"/emails", token, nil)
	var thread struct {
		Items []struct {
			MessageID string `json:"message_id"`
			Direction string `json:"direction"`
			AuthorID  string `json:"author_id"`
		} `json:"items"`
	}
	if code != 200 || json.Unmarshal(body, &thread) != nil || len(thread.Items) != 4 || thread.Items[3].MessageID != answer.id ||
		thread.Items[2].AuthorID != bob {
		t.Fatalf("thread = %d %s, want the first mail, the ack, bob's reply and the answer", code, body)
	}

	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, m := range []email{
		{from: "mailer-daemon@example.net", to: "support@example.com", id: "bounce@example.net", subject: "Undelivered", text: "x",
			headers: []string{"Auto-Submitted: auto-replied"}},
		{from: "zoe@example.org", to: "billing@example.com", id: "loop@example.org", subject: "Looping", text: "x",
			headers: []string{"X-Switchboard-Loop: switchboard.local"}},
		{from: "list@example.net", to: "support@example.com", id: "list@example.net", subject: "News", text: "x",
			headers: []string{"Precedence: bulk"}},
	} {
		if code := sendMail(t, smtpAddr, m.from, m.to, m.bytes()); code != 0 {
			t.Fatalf("%s refused with %d", m.id, code)
		}
		var acks int
		if err := conn.QueryRow(ctx, `select count(*) from email_outbox o join ticket_emails a on a.id = o.email_id
			join ticket_emails e on e.ticket_id = a.ticket_id where e.message_id=$1 and o.kind='ack'`, m.id).Scan(&acks); err != nil || acks != 0 {
			t.Errorf("%s: %d acknowledgements, %v; want a ticket and none", m.id, acks, err)
		}
	}
	var group string
	if err := conn.QueryRow(ctx, `select t.group_name from tickets t join ticket_emails e on e.ticket_id = t.id where e.message_id='loop@example.org'`).
		Scan(&group); err != nil || group != "billing" {
		t.Errorf("mail to billing@ opened a ticket in %q, %v; want billing", group, err)
	}

	for _, tt := range []struct {
		name     string
		from, to string
		raw      []byte
		want     int
	}{
		{"unknown recipient", "zoe@example.org", "ceo@example.com", first.bytes(), 550},
		{"malformed MIME", "zoe@example.org", "support@example.com",
			[]byte("From: z@example.org\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\nno end"), 554},
		{"over the size limit", "zoe@example.org", "support@example.com",
			append(first.bytes(), bytes.Repeat([]byte("0123456789012345678901234567890123456789012345678901234567890123456789\r\n"), 30000)...), 552},
	} {
		if code := sendMail(t, smtpAddr, tt.from, tt.to, tt.raw); code != tt.want {
			t.Errorf("%s: SMTP %d, want %d", tt.name, code, tt.want)
		}
	}

	// A burst of 1,000 messages over 10 connections: each one ticket.
	var before int
	if err := conn.QueryRow(ctx, `select count(*) from tickets where channel='email'`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed sync.Map
	for c := range 10 {
		wg.Go(func() {
			for i := range 100 {
				m := email{from: fmt.Sprintf("burst%d-%d@example.org", c, i), to: "support@example.com",
					id: fmt.Sprintf("burst-%d-%d@example.org", c, i), subject: fmt.Sprintf("Burst %d/%d", c, i), text: "hello"}
				if err := deliver(smtpAddr, m.from, m.to, m.bytes()); err != nil {
					failed.Store(m.id, err)
				}
			}
		})
	}
	wg.Wait()
	failed.Range(func(k, v any) bool { t.Errorf("burst message %s: %v", k, v); return true })
	var after int
	if err := conn.QueryRow(ctx, `select count(*) from tickets where channel='email'`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after-before != 1000 {
		t.Errorf("the burst opened %d tickets, want 1000", after-before)
	}
}

// TestEmailDeskBrowser: an agent's desk in Chromium is offered an email
// task, accepts it, sees the customer's message in the thread as text
// (markup in it is not run), saves its attachment through the link (the
// file saved holds the attachment's bytes), picks a canned response and
// sends the reply, which reaches the relay with the customer's name
// filled in.
func TestEmailDeskBrowser(t *testing.T) {
	relay := mailtest.NewRelay(t, nil)
	s := startSystem(t, openAllDay, func(c *Config) { c.Mail.Relay.Addr = relay.Addr })
	desk := softphoneDesk(t, s.http, "bob")
	m := email{from: "zoe@example.org", to: "support@example.com", id: "desk-1@cust.example", subject: "Router down",
		text: `It blinks <img src=x onerror="document.title='xss'"> red.`, file: "router.log", content: "link down at 09:14, serial RT-4471"}
	if code := sendMail(t, s.cfg.Mail.SMTP, m.from, m.to, m.bytes()); code != 0 {
		t.Fatalf("mail refused with %d", code)
	}
	agentdesktest.Poll(t, desk, "email task offered", `!!document.querySelector('[data-channel="email"][data-state="offered"] .t-accept')`)
	agentdesktest.Step(t, desk, "accept", chromedp.Click(chromedp.CSS(`[data-channel="email"] .t-accept`)))
	agentdesktest.Poll(t, desk, "thread shown",
		`[...document.querySelectorAll('.email-thread .email-text')].some((e) => e.textContent.includes('onerror='))`)
	// The link fetches the attachment with the session's token and saves
	// it from a blob: the blob handed to the save is captured.
	agentdesktest.Step(t, desk, "save the attachment", chromedp.Evaluate[chromedp.Void](`(() => {
		const create = URL.createObjectURL;
		URL.createObjectURL = (b) => { b.text().then((s) => { window.savedAttachment = s; }); return create(b); };
		const a = [...document.querySelectorAll('.email-attachment')].find((e) => e.textContent === 'router.log');
		if (!a) throw new Error('no link to router.log among ' + document.querySelectorAll('.email-attachment').length);
		a.click();
	})()`))
	agentdesktest.Poll(t, desk, "attachment saved with its content", `window.savedAttachment === 'link down at 09:14, serial RT-4471'`)
	agentdesktest.Poll(t, desk, "canned responses loaded", `document.querySelectorAll('.email-reply select option').length > 1`)
	agentdesktest.Step(t, desk, "reply with a canned response", chromedp.Evaluate[chromedp.Void](`(() => {
		const sel = document.querySelector('.email-reply select');
		sel.selectedIndex = 1;
		sel.dispatchEvent(new Event('change'));
		document.querySelector('.email-reply button[type=submit]').click();
	})()`))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	got := relay.Wait(ctx, 2) // the acknowledgement, then the reply
	if len(got) != 2 {
		t.Fatalf("the relay got %d messages, want the acknowledgement and the reply", len(got))
	}
	reply, _ := parsed(t, got[1])
	if reply.Message.InReplyTo != m.id || !strings.HasPrefix(reply.Message.Text, "Hello Zoe Q,") {
		t.Errorf("reply = %+v", reply.Message)
	}
	agentdesktest.Poll(t, desk, "reply in the thread", `document.querySelectorAll('.email-thread .email.outbound').length >= 2`)
	title, err := chromedp.Run(desk, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title == "xss" || strings.Contains(title, "xss") {
		t.Error("markup from the customer's email ran in the desk")
	}
}
