package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/crmcore"
	"switchboard/crmcore/jobs"
	"switchboard/crmcore/pgcluster/pgtest"
	"switchboard/crmcore/pgstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// newDB returns a pool and a store on a fresh database migrated for the
// CRM and for river.
func newDB(t testing.TB) (*pgxpool.Pool, *pgstore.Store) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgstore.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return pool, pgstore.New(pool)
}

// start returns a started Service with short test timings, over a job
// runner of its own, both stopped at the end of the test.
func start(t testing.TB, pool *pgxpool.Pool, opts ...Option) *Service {
	t.Helper()
	s, runner := newService(t, pool, append([]Option{WithBackoff(50*time.Millisecond, 400*time.Millisecond),
		WithMetrics(NewMetrics(prometheus.NewRegistry()))}, opts...)...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Stop()
		if err := runner.Stop(ctx, s.StopGrace()); err != nil {
			t.Error(err)
		}
	})
	return s
}

// newService returns a Service with short poll intervals and request
// timeouts, started over a started job runner of its own.
func newService(t testing.TB, pool *pgxpool.Pool, opts ...Option) (*Service, *jobs.Runner) {
	t.Helper()
	runner := jobs.New(pool, jobs.WithPollInterval(100*time.Millisecond))
	s, err := New(pool, runner, append([]Option{WithPollInterval(100 * time.Millisecond), WithRequestTimeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, runner
}

// received is one request a receiver took.
type received struct {
	delivery, event string
	env             Envelope
	sigErr          error
}

// receiver is a webhook endpoint on 127.0.0.1 that checks signatures and
// answers what the test tells it to.
type receiver struct {
	t      testing.TB
	secret []byte
	addr   string

	mu     sync.Mutex
	srv    *http.Server
	got    []received
	status int           // the answer; 0 means 200
	hold   chan struct{} // when set, requests wait for it to close
	seen   chan struct{} // gets a value per request taken
}

// newReceiver starts a receiver on a port the kernel picks.
func newReceiver(t testing.TB) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, addr: ln.Addr().String(), seen: make(chan struct{}, 100000)}
	rc.serve(ln)
	t.Cleanup(rc.down)
	return rc
}

func (rc *receiver) url() string { return "http://" + rc.addr + "/hook" }

func (rc *receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	rc.mu.Lock()
	rc.srv = srv
	rc.mu.Unlock()
	go srv.Serve(ln)
}

// down closes the receiver: connections are refused.
func (rc *receiver) down() {
	rc.mu.Lock()
	srv := rc.srv
	rc.srv = nil
	rc.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// up serves again on the same address.
func (rc *receiver) up() {
	ln, err := net.Listen("tcp", rc.addr)
	if err != nil {
		rc.t.Fatal(err)
	}
	rc.serve(ln)
}

func (rc *receiver) set(status int, hold chan struct{}) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.status, rc.hold = status, hold
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	rc.mu.Lock()
	status, hold, secret := rc.status, rc.hold, rc.secret
	rc.mu.Unlock()
	if hold != nil {
		rc.seen <- struct{}{}
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
		rc.mu.Lock()
		status = rc.status
		rc.mu.Unlock()
	}
	rec := received{delivery: r.Header.Get(HeaderDelivery), event: r.Header.Get(HeaderEvent),
		sigErr: Verify(secret, r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), body, time.Now(), time.Minute)}
	if err := json.Unmarshal(body, &rec.env); err != nil {
		rc.t.Errorf("receiver: body %q: %v", body, err)
	}
	if status == 0 {
		status = http.StatusOK
	}
	if status == http.StatusOK {
		rc.mu.Lock()
		rc.got = append(rc.got, rec)
		rc.mu.Unlock()
	}
	if hold == nil {
		rc.seen <- struct{}{}
	}
	w.WriteHeader(status)
}

// delivered returns the requests answered with 200 so far.
func (rc *receiver) delivered() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// subscribe creates a subscription for the receiver and teaches it the
// secret.
func subscribe(t testing.TB, s *Service, rc *receiver, types ...string) crmcore.WebhookSubscription {
	t.Helper()
	sub, err := s.CreateWebhook(context.Background(), crmcore.WebhookSubscription{URL: rc.url(), EventTypes: types, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = []byte(sub.Secret)
	rc.mu.Unlock()
	return sub
}

func createTicket(t testing.TB, st *pgstore.Store, subject string) crmcore.Ticket {
	t.Helper()
	nt, err := crmcore.NewTicket(crmcore.TicketInput{Subject: subject, Channel: crmcore.ChannelWeb}, st.SLAPolicy(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tk, err := st.CreateTicket(context.Background(), "", nt)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestTicketCreatedDelivered: a ticket created reaches the receiver once,
// signed, with its event type, delivery id and the ticket as data; the
// attempt is logged; a replay sends it again under a new delivery id.
func TestTicketCreatedDelivered(t *testing.T) {
	pool, st := newDB(t)
	s := start(t, pool)
	rc := newReceiver(t)
	sub := subscribe(t, s, rc, crmcore.EventTicketCreated)
	tk := createTicket(t, st, "printer on fire")
	waitFor(t, "the delivery", func() bool { return len(rc.delivered()) == 1 })
	got := rc.delivered()[0]
	if got.sigErr != nil {
		t.Errorf("signature: %v", got.sigErr)
	}
	if got.event != crmcore.EventTicketCreated || got.env.Type != crmcore.EventTicketCreated || !crmcore.ValidID(got.delivery) {
		t.Errorf("event header %q, type %q, delivery %q", got.event, got.env.Type, got.delivery)
	}
	var data crmcore.Ticket
	if err := json.Unmarshal(got.env.Data, &data); err != nil || data.ID != tk.ID || data.Subject != "printer on fire" {
		t.Errorf("data = %s (%v)", got.env.Data, err)
	}
	ctx := context.Background()
	var as []crmcore.WebhookAttempt
	waitFor(t, "the attempt log", func() bool {
		var err error
		as, err = s.WebhookAttempts(ctx, sub.ID, 10)
		return err == nil && len(as) == 1
	})
	if a := as[0]; a.DeliveryID != got.delivery || a.StatusCode != 200 || a.Attempt != 1 || a.EventType != crmcore.EventTicketCreated || !a.OK() {
		t.Errorf("attempt = %+v", a)
	}

	again, err := s.ReplayDelivery(ctx, got.delivery)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replay", func() bool { return len(rc.delivered()) == 2 })
	if r := rc.delivered()[1]; r.delivery != again || r.delivery == got.delivery || r.env.ID != got.env.ID || r.sigErr != nil {
		t.Errorf("replay = %+v, want delivery %s of event %d", r, again, got.env.ID)
	}
	if _, err := s.ReplayDelivery(ctx, crmcore.NewID()); err == nil {
		t.Error("replay of an unknown delivery accepted")
	}
	if _, err := s.ReplayEvent(ctx, sub.ID, got.env.ID+1000); err == nil {
		t.Error("replay of an unknown event accepted")
	}
}

// TestRetriesUntilReceiverBack: a receiver answering 503, then down
// (connections refused), gets the event once it is back; every attempt
// carries the same delivery id and is logged.
func TestRetriesUntilReceiverBack(t *testing.T) {
	pool, st := newDB(t)
	s := start(t, pool)
	rc := newReceiver(t)
	sub := subscribe(t, s, rc, crmcore.EventTicketCreated)
	rc.set(http.StatusServiceUnavailable, nil)
	createTicket(t, st, "retry me")
	ctx := context.Background()
	attempts := func() []crmcore.WebhookAttempt {
		as, err := s.WebhookAttempts(ctx, sub.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
	waitFor(t, "two 503 attempts", func() bool { return len(attempts()) >= 2 })
	rc.down()
	n := len(attempts())
	waitFor(t, "an attempt while down", func() bool { return len(attempts()) > n })
	rc.set(0, nil)
	rc.up()
	waitFor(t, "the delivery", func() bool { return len(rc.delivered()) == 1 })
	waitFor(t, "the last attempt logged", func() bool { return attempts()[0].OK() })
	as := attempts()
	var saw503, sawRefused bool
	for i, a := range as {
		if a.DeliveryID != rc.delivered()[0].delivery {
			t.Errorf("attempt %d has delivery id %s, want %s", a.Attempt, a.DeliveryID, rc.delivered()[0].delivery)
		}
		if want := len(as) - i; a.Attempt != want {
			t.Errorf("attempt number %d, want %d", a.Attempt, want)
		}
		saw503 = saw503 || a.StatusCode == 503
		sawRefused = sawRefused || (a.StatusCode == 0 && a.Error != "")
	}
	if !saw503 || !sawRefused {
		t.Errorf("attempts %+v: want a 503 and a refused connection logged", as)
	}
}

// TestRestartLosesNothing: the service stopped with deliveries in flight
// and events not yet dispatched, then started again as a new process
// would, delivers every event, each under one delivery id.
func TestRestartLosesNothing(t *testing.T) {
	pool, st := newDB(t)
	first, firstJobs := newService(t, pool, WithBackoff(50*time.Millisecond, 200*time.Millisecond))
	rc := newReceiver(t)
	subscribe(t, first, rc, crmcore.EventTicketCreated, crmcore.EventTicketUpdated)
	hold := make(chan struct{})
	rc.set(0, hold)
	const before, after = 20, 10
	for range before {
		createTicket(t, st, "before")
	}
	<-rc.seen // a delivery is in flight
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	first.Stop()
	err := firstJobs.Stop(ctx, first.StopGrace())
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	close(hold)
	rc.set(0, nil)
	for range after {
		createTicket(t, st, "while stopped")
	}
	start(t, pool)
	waitFor(t, "every event", func() bool {
		events := map[int64]bool{}
		for _, r := range rc.delivered() {
			events[r.env.ID] = true
		}
		return len(events) == before+after
	})
	ids := map[int64]string{}
	for _, r := range rc.delivered() {
		if r.sigErr != nil {
			t.Errorf("event %d: signature: %v", r.env.ID, r.sigErr)
		}
		if id, ok := ids[r.env.ID]; ok && id != r.delivery {
			t.Errorf("event %d delivered under ids %s and %s", r.env.ID, id, r.delivery)
		}
		ids[r.env.ID] = r.delivery
	}
	// The attempts cut short by the stop were logged, and their deliveries
	// were tried again under the same id. (River gives an attempt cut
	// short by a stop back: the next one has the same number.)
	var split, retried int
	err = pool.QueryRow(context.Background(), `select
		(select count(*) from (select event_id from webhook_deliveries group by event_id having count(distinct delivery_id) > 1) x),
		(select count(*) from (select delivery_id from webhook_deliveries group by delivery_id having count(*) > 1) y)`).Scan(&split, &retried)
	if err != nil || split != 0 || retried == 0 {
		t.Errorf("events under several delivery ids: %d, deliveries retried: %d (%v); want 0 and some", split, retried, err)
	}
}

// TestPrune: events past the retention go with their delivery log, unless
// they still wait to be fanned out.
func TestPrune(t *testing.T) {
	pool, _ := newDB(t)
	s, err := New(pool, jobs.New(pool), WithRetention(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = pool.Exec(ctx, `insert into webhook_events (type, payload, created_at, fanned_out_at) values
		('old.done', '{}', now() - interval '2 hours', now() - interval '2 hours'),
		('old.pending', '{}', now() - interval '2 hours', null),
		('new.done', '{}', now(), now())`)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.prune(ctx); err != nil {
		t.Fatal(err)
	}
	var left []string
	rows, _ := pool.Query(ctx, `select type from webhook_events order by id`)
	for rows.Next() {
		var typ string
		rows.Scan(&typ)
		left = append(left, typ)
	}
	if err := rows.Err(); err != nil || len(left) != 2 || left[0] != "old.pending" || left[1] != "new.done" {
		t.Errorf("left %v (%v), want [old.pending new.done]", left, err)
	}
}
