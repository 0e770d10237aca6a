package mail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestServerDelivers(t *testing.T) {
	d := &fakeDeliverer{}
	_, addr := startServer(t, d, ServerOptions{})
	raw := readFixture(t, "alternative.eml")
	if err := sendMail(addr, "ana@example.com", []string{"Support@acme.test"}, raw); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := d.delivered()
	if len(got) != 1 || !bytes.Equal(got[0], raw) {
		t.Fatalf("delivered %d messages; want the one sent, byte for byte", len(got))
	}
}

func TestServerRefusesUnknownRecipient(t *testing.T) {
	d := &fakeDeliverer{}
	_, addr := startServer(t, d, ServerOptions{})
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("spammer@example.com", nil); err != nil {
		t.Fatal(err)
	}
	err = c.Rcpt("victim@elsewhere.example", nil)
	if code, ec := smtpCode(err); code != 550 || ec != (smtp.EnhancedCode{5, 1, 1}) {
		t.Fatalf("RCPT to a foreign address: %v, want 550 5.1.1", err)
	}
	if err := c.Rcpt("support@acme.test", nil); err != nil {
		t.Fatalf("RCPT to a support address after a refusal: %v", err)
	}
}

func TestServerRefusesOversizedMessage(t *testing.T) {
	store := newFakeStore()
	_, addr := startServer(t, NewInbox(store, InboxOptions{Logger: quietLogger()}), ServerOptions{})

	var big bytes.Buffer
	big.WriteString("From: ana@example.com\r\nTo: support@acme.test\r\nSubject: huge\r\n\r\n")
	line := strings.Repeat("x", 98) + "\r\n"
	for big.Len() < 30<<20 {
		big.WriteString(line)
	}
	err := sendMail(addr, "ana@example.com", []string{"support@acme.test"}, big.Bytes())
	if code, ec := smtpCode(err); code != 552 || ec != (smtp.EnhancedCode{5, 3, 4}) {
		t.Fatalf("30 MB message: %v, want 552 5.3.4", err)
	}
	if err := sendMail(addr, "ana@example.com", []string{"support@acme.test"}, readFixture(t, "alternative.eml")); err != nil {
		t.Fatalf("next session after the oversized one: %v", err)
	}
	if n := len(store.ingested); n != 1 {
		t.Fatalf("%d messages stored, want only the second", n)
	}
}

func TestServerRefusesMalformed(t *testing.T) {
	store := newFakeStore()
	_, addr := startServer(t, NewInbox(store, InboxOptions{Logger: quietLogger()}), ServerOptions{})
	err := sendMail(addr, "eve@example.com", []string{"support@acme.test"}, readFixture(t, "malformed_boundary.eml"))
	code, ec := smtpCode(err)
	if code != 554 || ec != (smtp.EnhancedCode{5, 6, 0}) {
		t.Fatalf("malformed message: %v, want 554 5.6.0", err)
	}
	if !strings.Contains(err.Error(), "malformed") {
		t.Errorf("reply %q does not give the reason", err)
	}
	if len(store.ingested) != 0 {
		t.Error("a malformed message was stored")
	}
}

func TestServerTemporaryFailures(t *testing.T) {
	tests := []struct {
		name string
		fn   func([]byte) error
	}{
		{"deliverer error", func([]byte) error { return errors.New("database is down") }},
		{"deliverer panic", func([]byte) error { panic("bug in the store") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDeliverer{}
			_, addr := startServer(t, d, ServerOptions{})
			d.fn = tt.fn
			err := sendMail(addr, "ana@example.com", []string{"support@acme.test"}, msgWithID(1))
			if code, ec := smtpCode(err); code != 451 || ec != (smtp.EnhancedCode{4, 3, 0}) {
				t.Fatalf("send: %v, want 451 4.3.0", err)
			}
			d.fn = nil
			if err := sendMail(addr, "ana@example.com", []string{"support@acme.test"}, msgWithID(2)); err != nil {
				t.Fatalf("next session: %v", err)
			}
			if n := len(d.delivered()); n != 1 {
				t.Fatalf("%d messages delivered, want 1", n)
			}
		})
	}
}

// blockingDeliverer waits for its context, as a store that hangs would.
type blockingDeliverer struct{}

func (blockingDeliverer) Deliver(ctx context.Context, _ string, _ []string, _ io.Reader) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestServerDeliverTimeout(t *testing.T) {
	_, addr := startServer(t, blockingDeliverer{}, ServerOptions{DeliverTimeout: 50 * time.Millisecond})
	err := sendMail(addr, "ana@example.com", []string{"support@acme.test"}, msgWithID(1))
	if code, _ := smtpCode(err); code != 451 {
		t.Fatalf("send to a hung store: %v, want 451", err)
	}
}

func TestServerBurst(t *testing.T) {
	const clients, perClient = 10, 100
	var mu sync.Mutex
	seen := map[string]int{}
	d := &fakeDeliverer{fn: func(data []byte) error {
		p, err := Parse(bytes.NewReader(data), 0)
		if err != nil {
			return err
		}
		mu.Lock()
		seen[p.Message.MessageID]++
		mu.Unlock()
		return nil
	}}
	_, addr := startServer(t, d, ServerOptions{})

	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := smtp.Dial(addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range perClient {
				if err := c.SendMail("ana@example.com", []string{"support@acme.test"}, bytes.NewReader(msgWithID(i*perClient+j))); err != nil {
					errs <- fmt.Errorf("client %d message %d: %w", i, j, err)
					return
				}
			}
			errs <- c.Quit()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != clients*perClient {
		t.Fatalf("%d distinct messages delivered, want %d", len(seen), clients*perClient)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
	}
}

func TestServerCapsSessions(t *testing.T) {
	_, addr := startServer(t, &fakeDeliverer{}, ServerOptions{MaxSessions: 2})
	greet := func() (net.Conn, string) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatalf("reading the greeting: %v", err)
		}
		return c, line
	}
	var open []net.Conn
	for range 2 {
		c, line := greet()
		open = append(open, c)
		if !strings.HasPrefix(line, "220 ") {
			t.Fatalf("greeting %q, want 220", line)
		}
	}
	c, line := greet()
	c.Close()
	if !strings.HasPrefix(line, "421 ") {
		t.Fatalf("connection over the cap got %q, want 421", line)
	}
	for _, c := range open {
		c.Close()
	}
}

func TestServerClose(t *testing.T) {
	d := &fakeDeliverer{}
	srv, addr := startServer(t, d, ServerOptions{})
	if err := sendMail(addr, "ana@example.com", []string{"support@acme.test"}, msgWithID(1)); err != nil {
		t.Fatal(err)
	}
	// A served session proves Serve has its listener.
	if got := srv.Addr(); got == nil || got.String() != addr {
		t.Errorf("Addr = %v, want %s", got, addr)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := smtp.Dial(addr); err == nil {
		t.Error("dial after Close succeeded")
	}
}

func TestServerCloseBeforeServe(t *testing.T) {
	srv := NewServer(&fakeDeliverer{}, ServerOptions{Logger: quietLogger()})
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(l); err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}
