package mail

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/crmcore"
)

func newTestInbox(store Store, clock *fakeClock, reg prometheus.Registerer) *Inbox {
	return NewInbox(store, InboxOptions{
		Domain:   "acme.test",
		FromName: "Acme Support",
		Routes: map[string]Route{
			"Billing@acme.test": {Group: "billing", Priority: crmcore.PriorityHigh},
		},
		DefaultRoute: Route{Group: "support"},
		Now:          clock.Now,
		Logger:       quietLogger(),
		Metrics:      NewMetrics(reg),
	})
}

func deliverFixture(t *testing.T, ib *Inbox, from string, rcpt []string, file string) {
	t.Helper()
	if err := ib.Deliver(context.Background(), from, rcpt, bytes.NewReader(readFixture(t, file))); err != nil {
		t.Fatalf("Deliver %s: %v", file, err)
	}
}

func TestInboxAcknowledgesNewTicket(t *testing.T) {
	store := newFakeStore()
	store.requester = crmcore.Contact{Name: "Ana García"}
	clock := newFakeClock()
	ib := newTestInbox(store, clock, nil)
	deliverFixture(t, ib, "ana@example.com", []string{"support@acme.test"}, "alternative.eml")

	if len(store.ingested) != 1 {
		t.Fatalf("%d messages stored, want 1", len(store.ingested))
	}
	in := store.ingested[0]
	if in.Group != "support" || in.Priority != crmcore.PriorityNormal {
		t.Errorf("route = %q/%v, want the default support/normal", in.Group, in.Priority)
	}
	if in.TicketNumber != 1044 || in.ThreadIDs[0] != "ack-1@acme.test" {
		t.Errorf("TicketNumber %d, ThreadIDs %v", in.TicketNumber, in.ThreadIDs)
	}
	if !in.Message.CreatedAt.Equal(clock.Now()) {
		t.Errorf("CreatedAt = %v, want the receiver's clock %v", in.Message.CreatedAt, clock.Now())
	}
	if len(store.outbox) != 1 {
		t.Fatalf("%d acknowledgements queued, want 1", len(store.outbox))
	}
	ack := store.email(0)
	m := ack.Message
	want := crmcore.EmailMessage{
		ID: m.ID, TicketID: ack.TicketID, MessageID: m.MessageID, Text: m.Text, CreatedAt: clock.Now(),
		Direction:  crmcore.EmailOutbound,
		InReplyTo:  "CAF=abc123@mail.example.com",
		References: []string{"orig-1@mail.example.com", "ack-1@acme.test", "CAF=abc123@mail.example.com"},
		From:       "support@acme.test",
		FromName:   "Acme Support",
		To:         []string{"ana.garcia@example.com"},
		Subject:    "Re: Invoice missing [T-1001]",
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("acknowledgement mismatch (-want +got):\n%s", diff)
	}
	if ack.Kind != "ack" || ack.Status != crmcore.OutboxQueued || ack.TicketID == "" || ack.ID == "" {
		t.Errorf("ack Kind %q Status %q TicketID %q ID %q", ack.Kind, ack.Status, ack.TicketID, ack.ID)
	}
	if !strings.HasSuffix(m.MessageID, "@acme.test") {
		t.Errorf("ack Message-ID %q not in the configured domain", m.MessageID)
	}
	for _, s := range []string{"Hello Ana García,", "T-1001", "Re: Invoice missing [T-1044]", "[T-1001]"} {
		if !strings.Contains(m.Text, s) {
			t.Errorf("ack text lacks %q:\n%s", s, m.Text)
		}
	}
	if err := m.Validate(); err != nil {
		t.Errorf("ack does not validate: %v", err)
	}
	if _, err := Compose(m, ComposeOptions{Auto: true}); err != nil {
		t.Errorf("ack cannot be composed: %v", err)
	}
}

func TestInboxRoutesBySupportAddress(t *testing.T) {
	store := newFakeStore()
	ib := newTestInbox(store, newFakeClock(), nil)
	deliverFixture(t, ib, "bob@example.com", []string{"support@acme.test", "billing@acme.test"}, "mixed_attachment.eml")
	in := store.ingested[0]
	if in.Group != "billing" || in.Priority != crmcore.PriorityHigh {
		t.Errorf("route = %q/%v, want billing/high", in.Group, in.Priority)
	}
	if from := store.email(0).Message.From; from != "billing@acme.test" {
		t.Errorf("ack from %q, want the routed support address", from)
	}
}

func TestInboxNoAckForMachineMail(t *testing.T) {
	tests := []struct {
		name, from, file, reason string
	}{
		{"bounce", "", "bounce.eml", "auto"},
		{"list", "bounces@shop.example", "list_bulk.eml", "auto"},
		{"our own loop", "support@acme.test", "loop.eml", "loop"},
		{"null envelope sender", "", "qp_latin1.eml", "auto"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newFakeStore()
			reg := prometheus.NewRegistry()
			ib := newTestInbox(store, newFakeClock(), reg)
			deliverFixture(t, ib, tt.from, []string{"support@acme.test"}, tt.file)
			if len(store.ingested) != 1 {
				t.Fatalf("%d messages stored, want 1 (machine mail still reaches the desk)", len(store.ingested))
			}
			if store.ingested[0].Ack != nil {
				t.Error("Ack builder set for machine mail")
			}
			if len(store.outbox) != 0 {
				t.Errorf("%d acknowledgements queued, want none", len(store.outbox))
			}
			m := ib.opts.Metrics
			if got := testutil.ToFloat64(m.AcksSuppressed.WithLabelValues(tt.reason)); got != 1 {
				t.Errorf("acks_suppressed{reason=%s} = %v, want 1", tt.reason, got)
			}
		})
	}
}

func TestInboxAckLimit(t *testing.T) {
	store := newFakeStore()
	clock := newFakeClock()
	reg := prometheus.NewRegistry()
	ib := newTestInbox(store, clock, reg)
	for i := range 7 {
		if err := ib.Deliver(context.Background(), "ana@example.com", []string{"support@acme.test"}, bytes.NewReader(msgWithID(i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(store.outbox); got != 5 {
		t.Fatalf("%d acknowledgements for 7 new tickets in an hour, want 5", got)
	}
	m := ib.opts.Metrics
	if got := testutil.ToFloat64(m.AcksSuppressed.WithLabelValues("limit")); got != 2 {
		t.Errorf("acks_suppressed{reason=limit} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.Received.WithLabelValues("ticket_created")); got != 7 {
		t.Errorf("received{ticket_created} = %v, want 7", got)
	}
}

func TestInboxResults(t *testing.T) {
	store := newFakeStore()
	reg := prometheus.NewRegistry()
	ib := newTestInbox(store, newFakeClock(), reg)
	ctx := context.Background()
	deliver := func(raw string) error {
		return ib.Deliver(ctx, "ana@example.com", []string{"support@acme.test"}, strings.NewReader(raw))
	}
	first := "From: ana@example.com\r\nMessage-ID: <first@example.com>\r\nSubject: help\r\n\r\nhelp\r\n"
	answer := "From: ana@example.com\r\nMessage-ID: <second@example.com>\r\nIn-Reply-To: <first@example.com>\r\nSubject: Re: help\r\n\r\nmore\r\n"
	for _, raw := range []string{first, first, answer} {
		if err := deliver(raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := deliver("From: ana@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\nno parts\r\n"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("malformed message: %v, want ErrMalformed", err)
	}
	store.ingestErr = errors.New("connection refused")
	if err := deliver(first); err == nil || errors.Is(err, ErrMalformed) {
		t.Fatalf("store failure: %v, want a temporary error", err)
	}
	store.ingestErr = crmcore.ErrInvalid
	if err := deliver(first); !errors.Is(err, ErrMalformed) {
		t.Fatalf("store refusal: %v, want ErrMalformed", err)
	}
	m := ib.opts.Metrics
	for result, want := range map[string]float64{"ticket_created": 1, "duplicate": 1, "threaded": 1, "refused": 3} {
		if got := testutil.ToFloat64(m.Received.WithLabelValues(result)); got != want {
			t.Errorf("received{result=%s} = %v, want %v", result, got, want)
		}
	}
	if got := testutil.ToFloat64(m.ParseErrors); got != 1 {
		t.Errorf("parse_errors = %v, want 1", got)
	}
}

func TestInboxSenderFromEnvelope(t *testing.T) {
	store := newFakeStore()
	ib := newTestInbox(store, newFakeClock(), nil)
	raw := "To: support@acme.test\r\nSubject: no from\r\n\r\nbody\r\n"
	if err := ib.Deliver(context.Background(), "Lee@Example.com", []string{"support@acme.test"}, strings.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	if got := store.ingested[0].Message.From; got != "lee@example.com" {
		t.Errorf("From = %q, want the envelope sender", got)
	}
	err := ib.Deliver(context.Background(), "", []string{"support@acme.test"}, strings.NewReader(raw))
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("no sender at all: %v, want ErrMalformed", err)
	}
}

func TestAckTemplate(t *testing.T) {
	var b strings.Builder
	if err := DefaultAckTemplate.Execute(&b, AckData{Number: "T-7", Subject: "Broken <b>printer</b>"}); err != nil {
		t.Fatal(err)
	}
	// text/template does not escape: the subject is shown as the customer wrote it.
	for _, s := range []string{"Hello,", "ticket T-7", "Broken <b>printer</b>", "[T-7]"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, b.String())
		}
	}
}
