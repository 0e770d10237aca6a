package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"switchboard/crmcore"
)

// TestEmailThreading: a first email opens a ticket on channel email for a
// new contact and queues its acknowledgement; a retried delivery is a
// duplicate; a reply by In-Reply-To and a mail with the ticket's tag
// thread in; the agent's reply threads and goes to the outbox; the
// customer's answer to a solved ticket reopens it for routing; a tag from
// another sender, and a closed ticket, open new tickets.
func TestEmailThreading(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if _, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	alice, _ := s.AgentByLogin(ctx, "alice")
	ack := func(tk crmcore.Ticket, c crmcore.Contact) *crmcore.OutboundEmail {
		return &crmcore.OutboundEmail{Message: crmcore.EmailMessage{Direction: crmcore.EmailOutbound, MessageID: "ack-" + tk.Number + "@sb",
			From: "support@example.com", To: c.Emails, Subject: crmcore.ReplySubject("x", tk.Number), Text: "We got it."}}
	}
	in := func(id, from, subject string, thread []string, number int64) crmcore.InboundEmail {
		return crmcore.InboundEmail{Message: crmcore.EmailMessage{MessageID: id, From: from, FromName: "Zoe Q", To: []string{"support@example.com"},
			Subject: subject, Text: "Hello,\nmy router is down."}, ThreadIDs: thread, TicketNumber: number, Group: "support", Ack: ack}
	}

	first, err := s.IngestEmail(ctx, in("m1@cust", "Zoe@Example.org", "Router down", nil, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || !first.ContactCreated || first.Ticket.Channel != crmcore.ChannelEmail || first.Ticket.Group != "support" ||
		first.Requester.Emails[0] != "zoe@example.org" || first.Ack == nil {
		t.Fatalf("first email = %+v, want a new email ticket, a new contact and an ack", first)
	}
	n, _ := crmcore.ParseTicketNumber(first.Ticket.Number)
	fast := in("m0@cust", "quick@example.org", "Urgent-ish", nil, 0)
	fast.SLA = &crmcore.SLATarget{FirstResponse: 30 * time.Minute, Resolution: 2 * time.Hour, Calendar: true}
	queued, err := s.IngestEmail(ctx, fast)
	if err != nil {
		t.Fatal(err)
	}
	if got := queued.Ticket.FirstResponseDue.Sub(queued.Ticket.CreatedAt); got != 30*time.Minute {
		t.Errorf("first response due after %v, want the queue's 30m", got)
	}
	if again, err := s.IngestEmail(ctx, in("m1@cust", "zoe@example.org", "Router down", nil, 0)); err != nil || !again.Duplicate || again.Ticket.ID != first.Ticket.ID {
		t.Fatalf("retried delivery = %+v, %v; want a duplicate of the same ticket", again, err)
	}
	byRef, err := s.IngestEmail(ctx, in("m2@cust", "zoe@example.org", "Re: Router down", []string{"ack-" + first.Ticket.Number + "@sb"}, 0))
	if err != nil || byRef.Created || byRef.Ticket.ID != first.Ticket.ID || byRef.Ack != nil || byRef.ContactCreated {
		t.Fatalf("reply by In-Reply-To = %+v, %v; want threaded into %s", byRef, err, first.Ticket.Number)
	}
	byTag, err := s.IngestEmail(ctx, in("m3@cust", "zoe@example.org", "more ["+first.Ticket.Number+"]", nil, n))
	if err != nil || byTag.Ticket.ID != first.Ticket.ID {
		t.Fatalf("mail with the ticket's tag = %+v, %v; want threaded", byTag, err)
	}
	stranger, err := s.IngestEmail(ctx, in("m4@other", "eve@example.net", "hijack ["+first.Ticket.Number+"]", nil, n))
	if err != nil || !stranger.Created {
		t.Fatalf("another sender's tag = %+v, %v; want a new ticket", stranger, err)
	}

	out, err := s.ReplyEmail(ctx, alice.ID, n, func(tk crmcore.Ticket, c crmcore.Contact, thread []crmcore.EmailMessage) (crmcore.EmailMessage, error) {
		if len(thread) != 4 { // m1, its ack, m2, m3
			t.Errorf("thread of %d emails, want 4", len(thread))
		}
		return crmcore.NewEmailReply(tk, c, thread, "support@example.com", "Please restart it.", []string{"boss@example.org"}, "r1@sb", time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Message.InReplyTo != "m3@cust" || out.Message.To[0] != "zoe@example.org" || out.Message.Cc[0] != "boss@example.org" ||
		out.Message.Subject != "Re: more ["+first.Ticket.Number+"]" || out.Message.AuthorID != alice.ID {
		t.Errorf("reply = %+v", out.Message)
	}
	due, err := s.DueEmails(ctx, time.Now().Add(time.Second), 10)
	if err != nil || len(due) != 4 { // three acks and the reply
		t.Fatalf("due emails = %d, %v; want 4", len(due), err)
	}
	if err := s.MarkEmailFailed(ctx, out.ID, "relay down", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, o := range due {
		if o.Kind == "ack" {
			if err := s.MarkEmailSent(ctx, o.ID, "sink", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if due, _ := s.DueEmails(ctx, time.Now().Add(time.Second), 10); len(due) != 0 {
		t.Errorf("%d emails due after sending and a retry later, want none", len(due))
	}
	tk, _ := s.GetTicket(ctx, n)
	if tk.Status != crmcore.StatusOpen || tk.FirstRespondedAt == nil {
		t.Errorf("after the reply the ticket is %s, first response %v; want open and responded", tk.Status, tk.FirstRespondedAt)
	}

	for _, st := range []crmcore.TicketStatus{crmcore.StatusSolved} {
		if _, err := s.TransitionTicket(ctx, alice.ID, n, st); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `update tickets set assignee_id=$2 where number=$1`, n, alice.ID); err != nil {
		t.Fatal(err)
	}
	back, err := s.IngestEmail(ctx, in("m5@cust", "zoe@example.org", "Re: Router down", []string{"r1@sb"}, 0))
	if err != nil || !back.Reopened || back.Ticket.Status != crmcore.StatusOpen {
		t.Fatalf("answer to a solved ticket = %+v, %v; want it reopened", back, err)
	}
	var waiting bool
	if err := pool.QueryRow(ctx, `select exists(select 1 from ticket_routing where ticket_id=$1)`, first.Ticket.ID).Scan(&waiting); err != nil || !waiting {
		t.Errorf("reopened ticket waiting for routing = %v, %v; want true", waiting, err)
	}

	if _, err := s.TransitionTicket(ctx, alice.ID, n, crmcore.StatusSolved); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitionTicket(ctx, alice.ID, n, crmcore.StatusClosed); err != nil {
		t.Fatal(err)
	}
	late, err := s.IngestEmail(ctx, in("m6@cust", "zoe@example.org", "Re: Router down", []string{"r1@sb"}, n))
	if err != nil || !late.Created || late.ContactCreated {
		t.Fatalf("answer to a closed ticket = %+v, %v; want a new ticket for the same contact", late, err)
	}
	thread, err := s.TicketEmails(ctx, n)
	if err != nil || len(thread) != 6 {
		t.Fatalf("thread = %d emails, %v; want 6", len(thread), err)
	}

	bad := in("m7@cust", "zoe@example.org", "x\r\nBcc: all@example.org", nil, 0)
	if _, err := s.IngestEmail(ctx, bad); !errors.Is(err, crmcore.ErrInvalid) {
		t.Errorf("subject with a line break = %v, want ErrInvalid", err)
	}
}
