package sip

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/sip/media"
)

// syncBuffer is a bytes.Buffer safe for a slog handler and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestShutdownLogsNoDoubleClose: a gateway started, carrying calls both
// ways (an inbound call the gateway hangs up, an outbound one to a
// registered phone the phone hangs up) and stopped logs no warning —
// sipgo's "UDP ref went negative on try close" marks a connection
// released more often than it was taken.
func TestShutdownLogsNoDoubleClose(t *testing.T) {
	var out syncBuffer
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// sipgo logs to slog's default logger.
	prev := slog.Default()
	slog.SetDefault(logger)
	defer slog.SetDefault(prev)

	calls := make(chan *Call, 1)
	g, err := New(Config{UDPAddr: "127.0.0.1:0", PublicIP: "127.0.0.1", RTPSharedSockets: 2},
		WithLogger(logger), WithMetrics(prometheus.NewRegistry()), WithCredentials(staticCreds{"alice": "s3cret"}),
		WithCallHandler(func(c *Call) { calls <- c }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	<-g.Ready()

	caller := newPhone(t, "caller")
	if _, err := caller.Invite(t.Context(), g.UDPAddr(), "100", media.PCMU); err != nil {
		t.Fatal(err)
	}
	in := <-calls
	if err := in.Hangup(t.Context()); err != nil {
		t.Fatal(err)
	}

	alice := newPhone(t, "alice")
	pcmu := media.PCMU
	alice.AnswerWith(&pcmu)
	register(t, alice, g, "s3cret", 300)
	out1, err := g.Dial(t.Context(), "alice", DialOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ac := <-alice.Inbound
	if err := ac.Hangup(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-out1.Context().Done()

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if log := out.String(); strings.Contains(log, "ref went negative") {
		t.Errorf("shutdown logged a double close:\n%s", log)
	}
}
