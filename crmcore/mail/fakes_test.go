package mail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"switchboard/crmcore"
	"switchboard/crmcore/mail/mailtest"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fakeStore is an in-memory Store: tickets are numbered from 1001, a
// message threads into the ticket of a message id it names, and the
// outbox keeps each email's next attempt.
type fakeStore struct {
	mu        sync.Mutex
	ingested  []crmcore.InboundEmail
	ticketOf  map[string]crmcore.Ticket // message id → ticket
	tickets   int64
	requester crmcore.Contact
	ingestErr error

	outbox []*crmcore.OutboundEmail
	nextAt map[string]time.Time
	fails  []time.Time // the retryAt of each MarkEmailFailed
}

func newFakeStore() *fakeStore {
	return &fakeStore{ticketOf: map[string]crmcore.Ticket{}, nextAt: map[string]time.Time{}}
}

func (s *fakeStore) IngestEmail(_ context.Context, in crmcore.InboundEmail) (crmcore.EmailResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ingestErr != nil {
		return crmcore.EmailResult{}, s.ingestErr
	}
	if t, ok := s.ticketOf[in.Message.MessageID]; ok {
		return crmcore.EmailResult{Ticket: t, Duplicate: true}, nil
	}
	s.ingested = append(s.ingested, in)
	for _, id := range in.ThreadIDs {
		if t, ok := s.ticketOf[id]; ok {
			s.ticketOf[in.Message.MessageID] = t
			return crmcore.EmailResult{Ticket: t}, nil
		}
	}
	s.tickets++
	n := 1000 + s.tickets
	t := crmcore.Ticket{ID: crmcore.NewID(), Number: crmcore.FormatTicketNumber(n), Subject: in.Message.Subject}
	s.ticketOf[in.Message.MessageID] = t
	res := crmcore.EmailResult{Ticket: t, Requester: s.requester, Created: true}
	if in.Ack != nil {
		if ack := in.Ack(t, s.requester); ack != nil {
			s.outbox = append(s.outbox, ack)
			s.ticketOf[ack.Message.MessageID] = t
			res.Ack = ack
		}
	}
	return res, nil
}

func (s *fakeStore) queue(e crmcore.OutboundEmail) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Status = crmcore.OutboxQueued
	s.outbox = append(s.outbox, &e)
}

func (s *fakeStore) DueEmails(_ context.Context, now time.Time, limit int) ([]crmcore.OutboundEmail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []crmcore.OutboundEmail
	for _, e := range s.outbox {
		if e.Status == crmcore.OutboxQueued && !s.nextAt[e.ID].After(now) && len(due) < limit {
			due = append(due, *e)
		}
	}
	return due, nil
}

func (s *fakeStore) find(id string) (*crmcore.OutboundEmail, error) {
	for _, e := range s.outbox {
		if e.ID == id {
			return e, nil
		}
	}
	return nil, errors.New("fake store: no email " + id)
}

func (s *fakeStore) MarkEmailSent(_ context.Context, id, relay string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.find(id)
	if err != nil {
		return err
	}
	e.Status, e.Relay, e.SentAt = crmcore.OutboxSent, relay, &at
	e.Attempts++
	return nil
}

func (s *fakeStore) MarkEmailFailed(_ context.Context, id, reason string, retryAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.find(id)
	if err != nil {
		return err
	}
	e.Attempts++
	e.LastErr = reason
	s.fails = append(s.fails, retryAt)
	if retryAt.IsZero() {
		e.Status = crmcore.OutboxFailed
	} else {
		s.nextAt[id] = retryAt
	}
	return nil
}

func (s *fakeStore) email(i int) crmcore.OutboundEmail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.outbox[i]
}

// fakeDeliverer reads each message whole and records it; fn, when set,
// decides the outcome after the read.
type fakeDeliverer struct {
	mu   sync.Mutex
	msgs [][]byte
	fn   func(data []byte) error
}

func (d *fakeDeliverer) Deliver(_ context.Context, _ string, _ []string, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if d.fn != nil {
		if err := d.fn(data); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, data)
	return nil
}

func (d *fakeDeliverer) delivered() [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.msgs)
}

// startServer serves srv on a kernel-chosen loopback port until the test
// ends.
func startServer(t *testing.T, inbox Deliverer, opts ServerOptions) (*Server, string) {
	t.Helper()
	if opts.Addresses == nil {
		opts.Addresses = []string{"support@acme.test", "billing@acme.test"}
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	srv := NewServer(inbox, opts)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, l.Addr().String()
}

// sendMail sends one message in its own session.
func sendMail(addr, from string, to []string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

// smtpCode returns the reply code and enhanced code of an SMTP error.
func smtpCode(err error) (int, smtp.EnhancedCode) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code, se.EnhancedCode
	}
	return 0, smtp.EnhancedCode{}
}

// startRelay starts a relay standing for the organisation's; it takes
// the user desk with the password s3cret.
func startRelay(t *testing.T, configure func(*smtp.Server)) (*mailtest.Relay, string) {
	t.Helper()
	r := mailtest.NewRelay(t, func(srv *smtp.Server) {
		srv.ErrorLog = slogPrinter{quietLogger()}
		if configure != nil {
			configure(srv)
		}
	})
	r.Username, r.Password = "desk", "s3cret"
	return r, r.Addr
}

func msgWithID(id int) []byte {
	return []byte("From: ana@example.com\r\nTo: support@acme.test\r\nSubject: burst\r\nMessage-ID: <burst-" +
		strconv.Itoa(id) + "@example.com>\r\n\r\nmessage " + strconv.Itoa(id) + "\r\n")
}
