package pgstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"switchboard/crmcore"
)

func attachment(name string, content []byte) crmcore.EmailAttachment {
	sum := sha256.Sum256(content)
	return crmcore.EmailAttachment{Name: name, ContentType: "application/pdf", Size: int64(len(content)),
		SHA256: hex.EncodeToString(sum[:]), Content: content}
}

// TestEmailAttachmentsKept: the kept attachments of an inbound email are
// stored with it and read back by ticket and id; the listing describes
// every attachment (kept ones with their id) without content; one not kept
// has no id; an attachment is found under its own ticket only.
func TestEmailAttachmentsKept(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if _, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	pdf := bytes.Repeat([]byte("%PDF-1.4 "), 1000)
	big := attachment("huge.iso", nil)
	big.Size, big.NotKept, big.Content = 50<<20, crmcore.AttachmentTooLarge, nil
	in := crmcore.InboundEmail{Message: crmcore.EmailMessage{MessageID: "att1@cust", From: "zoe@example.org",
		To: []string{"support@example.com"}, Subject: "Invoice", Text: "attached",
		Attachments: []crmcore.EmailAttachment{attachment("invoice.pdf", pdf), attachment("empty.txt", []byte{}), big}}}
	res, err := s.IngestEmail(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if in.Message.Attachments[0].ID != "" {
		t.Error("the caller's attachments were given ids")
	}
	n, _ := crmcore.ParseTicketNumber(res.Ticket.Number)
	thread, err := s.TicketEmails(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	listed := thread[0].Attachments
	if len(listed) != 3 || listed[0].ID == "" || listed[1].ID == "" || listed[2].ID != "" || listed[2].NotKept != crmcore.AttachmentTooLarge {
		t.Fatalf("listed attachments = %+v, want two with ids and the large one without", listed)
	}
	for _, a := range listed {
		if a.Content != nil {
			t.Errorf("listing carries the content of %q", a.Name)
		}
	}
	got, err := s.EmailAttachment(ctx, n, listed[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := in.Message.Attachments[0]
	if got.Name != want.Name || got.ContentType != want.ContentType || got.Size != want.Size || got.SHA256 != want.SHA256 || !bytes.Equal(got.Content, pdf) {
		t.Errorf("attachment read back = %+v, want %+v", got, want)
	}
	if empty, err := s.EmailAttachment(ctx, n, listed[1].ID); err != nil || empty.Size != 0 || len(empty.Content) != 0 {
		t.Errorf("empty attachment = %+v, %v", empty, err)
	}

	other, err := s.IngestEmail(ctx, crmcore.InboundEmail{Message: crmcore.EmailMessage{MessageID: "att2@cust",
		From: "eve@example.net", Subject: "other", Text: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	on, _ := crmcore.ParseTicketNumber(other.Ticket.Number)
	for _, tt := range []struct {
		name   string
		ticket int64
		id     string
	}{
		{"another ticket's number", on, listed[0].ID},
		{"unknown id", n, crmcore.NewID()},
		{"not an id", n, "../../etc/passwd"},
		{"unknown ticket", 999999, listed[0].ID},
	} {
		if _, err := s.EmailAttachment(ctx, tt.ticket, tt.id); !errors.Is(err, crmcore.ErrNotFound) {
			t.Errorf("%s: error %v, want ErrNotFound", tt.name, err)
		}
	}

	// A retried delivery stores nothing twice.
	if again, err := s.IngestEmail(ctx, in); err != nil || !again.Duplicate {
		t.Fatalf("retry = %+v, %v; want a duplicate", again, err)
	}
	var rows int
	if err := pool.QueryRow(ctx, `select count(*) from email_attachments`).Scan(&rows); err != nil || rows != 2 {
		t.Errorf("%d attachment rows (%v), want 2", rows, err)
	}
}

// TestEmailAttachmentsOneTransaction: an attachment the database refuses
// leaves nothing of its message: no ticket, no contact, no email, no
// other attachment.
func TestEmailAttachmentsOneTransaction(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if _, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	bad := attachment("b.bin", []byte("x"))
	bad.SHA256 = "not a digest"
	_, err := s.IngestEmail(ctx, crmcore.InboundEmail{Message: crmcore.EmailMessage{MessageID: "tx1@cust", From: "new@example.org",
		Subject: "s", Text: "t", Attachments: []crmcore.EmailAttachment{attachment("a.pdf", []byte("%PDF-")), bad}}})
	if err == nil {
		t.Fatal("an attachment the database refuses was accepted")
	}
	for _, q := range []string{`select count(*) from email_attachments`, `select count(*) from ticket_emails`,
		`select count(*) from tickets where channel = 'email'`, `select count(*) from contacts where emails @> array['new@example.org']`} {
		var n int
		if err := pool.QueryRow(ctx, q).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s = %d (%v), want 0", q, n, err)
		}
	}

	// A size that is not the content's length is refused before the database.
	lying := attachment("l.bin", []byte("abc"))
	lying.Size = 2
	_, err = s.IngestEmail(ctx, crmcore.InboundEmail{Message: crmcore.EmailMessage{MessageID: "tx2@cust", From: "new@example.org",
		Subject: "s", Text: "t", Attachments: []crmcore.EmailAttachment{lying}}})
	if !errors.Is(err, crmcore.ErrInvalid) {
		t.Errorf("size not the content's: error %v, want ErrInvalid", err)
	}
}
