// Package mailtest has a real SMTP server that keeps what it receives,
// standing for a mail relay in tests (the mail a system sends arrives
// there over SMTP on loopback).
package mailtest

import (
	"context"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the relay accepted.
type Message struct {
	From string
	To   []string
	Data []byte
	User string // the authenticated user, if any
}

// Relay is an SMTP server on 127.0.0.1 that accepts every message (or,
// while Failing, answers DATA with 451) and keeps them in order.
type Relay struct {
	// Addr is where it listens.
	Addr string
	// Username and Password, when set, are the PLAIN credentials it takes.
	Username, Password string

	srv     *smtp.Server
	mu      sync.Mutex
	msgs    []Message
	failing bool
	got     chan struct{}
}

// NewRelay starts a relay on a free loopback port; it stops with the
// test. configure, when not nil, adjusts the server first (TLS for
// STARTTLS, its error log).
func NewRelay(t testing.TB, configure func(*smtp.Server)) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{Addr: ln.Addr().String(), got: make(chan struct{}, 1)}
	r.srv = smtp.NewServer(r)
	r.srv.Domain = "relay.test"
	r.srv.AllowInsecureAuth = true
	r.srv.ReadTimeout, r.srv.WriteTimeout = 10*time.Second, 10*time.Second
	if configure != nil {
		configure(r.srv)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.srv.Shutdown(ctx)
		<-done
	})
	return r
}

// Got is signalled (without blocking, so possibly once for several) when
// a message arrives.
func (r *Relay) Got() <-chan struct{} { return r.got }

// SetFailing makes DATA fail with 451 (a relay that is down) or succeed.
func (r *Relay) SetFailing(f bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failing = f
}

// Messages returns what the relay accepted so far.
func (r *Relay) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// Wait returns the messages once there are at least n, or what there is
// when ctx ends.
func (r *Relay) Wait(ctx context.Context, n int) []Message {
	for {
		if ms := r.Messages(); len(ms) >= n {
			return ms
		}
		select {
		case <-ctx.Done():
			return r.Messages()
		case <-r.got:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// NewSession implements smtp.Backend.
func (r *Relay) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{r: r}, nil }

type session struct {
	r   *Relay
	msg Message
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if s.r.Username == "" || user != s.r.Username || pass != s.r.Password {
			return smtp.ErrAuthFailed
		}
		s.msg.User = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.msg = Message{From: from, User: s.msg.User}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *session) Data(rd io.Reader) error {
	data, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.failing {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	}
	s.msg.Data = data
	s.r.msgs = append(s.r.msgs, s.msg)
	select {
	case s.r.got <- struct{}{}:
	default:
	}
	return nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }
