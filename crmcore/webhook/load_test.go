package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/crmcore"
)

// TestDeliveryRate measures sustained deliveries per second to a local
// receiver: SWITCHBOARD_WEBHOOK_LOAD=1 (events: SWITCHBOARD_WEBHOOK_LOAD_EVENTS,
// default 20000). Events go into the outbox in one statement; the clock
// runs from then until the receiver has taken every delivery.
func TestDeliveryRate(t *testing.T) {
	if os.Getenv("SWITCHBOARD_WEBHOOK_LOAD") == "" {
		t.Skip("set SWITCHBOARD_WEBHOOK_LOAD=1 to measure the delivery rate")
	}
	n := 20000
	if v := os.Getenv("SWITCHBOARD_WEBHOOK_LOAD_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	pool, _ := newDB(t)
	var got atomic.Int64
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got.Add(1) == int64(n) {
			close(done)
		}
	}))
	t.Cleanup(srv.Close)
	s := start(t, pool)
	ctx := context.Background()
	if _, err := s.CreateWebhook(ctx, crmcore.WebhookSubscription{URL: srv.URL + "/hook", EventTypes: []string{crmcore.EventTicketCreated}, Active: true}); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if _, err := pool.Exec(ctx, `insert into webhook_events (type, payload)
		select 'ticket.created', jsonb_build_object('id', g, 'subject', 'load') from generate_series(1, $1) g`, n); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		t.Fatalf("only %d of %d delivered", got.Load(), n)
	}
	took := time.Since(begin)
	t.Logf("%d deliveries in %s: %.0f deliveries/s", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
}
