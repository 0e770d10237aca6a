package callbacks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/crmcore"
	"switchboard/crmcore/jobs"
	"switchboard/crmcore/pgcluster/pgtest"
	"switchboard/crmcore/pgstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// newDB returns a pool on a fresh database migrated for the CRM and the
// job queue.
func newDB(t *testing.T) *pgxpool.Pool {
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
	return pool
}

// routed records the callbacks a router was handed.
type routed struct {
	mu  sync.Mutex
	got []crmcore.Callback
	ch  chan crmcore.Callback
}

func newRouted() *routed { return &routed{ch: make(chan crmcore.Callback, 16)} }

func (r *routed) route(_ context.Context, cb crmcore.Callback) error {
	r.mu.Lock()
	r.got = append(r.got, cb)
	r.mu.Unlock()
	r.ch <- cb
	return nil
}

// started returns a Service over a started job runner working the due
// callbacks with router r, stopped at the end of the test.
func started(t *testing.T, pool *pgxpool.Pool, r Router, opts ...Option) *Service {
	t.Helper()
	runner := jobs.New(pool, jobs.WithPollInterval(50*time.Millisecond))
	s, err := New(pool, runner, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := runner.AddQueue(Queue, 2); err != nil {
		t.Fatal(err)
	}
	s.SetRouter(r)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := runner.Stop(ctx, time.Second); err != nil {
			t.Error(err)
		}
	})
	return s
}

func ivrCallback(number string) crmcore.Callback {
	id := crmcore.NewID()
	return crmcore.Callback{ID: id, InteractionID: crmcore.NewID(), CallID: "call-" + id, Number: number, Queue: "sales",
		Route: []byte(`{"queue":"sales"}`), RequestedAt: time.Now().Add(-time.Minute)}
}

// record writes the interaction of cb's call with outcome o through a
// durable writer of its own (a node of its own, so that a later one does
// not close this one's records in progress), closed so that the record
// is in PostgreSQL, and checks that the interaction's outcome is want.
func record(t *testing.T, pool *pgxpool.Pool, cb crmcore.Callback, o, want crmcore.Outcome) {
	t.Helper()
	ctx := context.Background()
	w, err := pgstore.NewWriter(pool, filepath.Join(t.TempDir(), "journal"), pgstore.WithNodeID(crmcore.NewID()))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	rec := crmcore.Interaction{ID: cb.InteractionID, CallID: cb.CallID, Direction: crmcore.Inbound, Channel: crmcore.ChannelPhone,
		ANI: cb.Number, Queue: cb.Queue, ArrivedAt: cb.RequestedAt.UTC(), Outcome: o}
	if o != crmcore.OutcomeInProgress {
		rec.EndedAt = &now
	}
	if err := w.Write(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := pool.QueryRow(ctx, `select outcome from interactions where id = $1`, cb.InteractionID).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("after a record %s: outcome %q, want %q", o, got, want)
	}
}

func owedIDs(t *testing.T, s *Service) []string {
	t.Helper()
	owed, err := s.Owed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, cb := range owed {
		ids = append(ids, cb.ID)
	}
	return ids
}

// TestOwedUntilTheRecordSaysDone: an IVR callback is owed from Keep until
// its interaction has a final outcome; "callback requested" (a virtual
// caller ended at a shutdown) leaves it owed, and the later call back's
// record replaces that outcome.
func TestOwedUntilTheRecordSaysDone(t *testing.T) {
	pool := newDB(t)
	ctx := context.Background()
	runner := jobs.New(pool)
	s, err := New(pool, runner)
	if err != nil {
		t.Fatal(err)
	}
	cb := ivrCallback("+14155550101")
	if err := s.Keep(ctx, cb); err != nil {
		t.Fatal(err)
	}
	again := cb
	again.ID = crmcore.NewID()
	if err := s.Keep(ctx, again); err != nil { // the same call kept twice
		t.Fatal(err)
	}
	if got := owedIDs(t, s); len(got) != 1 || got[0] != cb.ID {
		t.Fatalf("owed %v, want only %s", got, cb.ID)
	}
	record(t, pool, cb, crmcore.OutcomeInProgress, crmcore.OutcomeInProgress)
	record(t, pool, cb, crmcore.OutcomeCallbackRequested, crmcore.OutcomeCallbackRequested)
	if got := owedIDs(t, s); len(got) != 1 {
		t.Fatalf("after callback requested: owed %v, want it still", got)
	}
	record(t, pool, cb, crmcore.OutcomeInProgress, crmcore.OutcomeCallbackRequested) // a replayed arrival changes nothing
	record(t, pool, cb, crmcore.OutcomeAnswered, crmcore.OutcomeAnswered)
	if got := owedIDs(t, s); len(got) != 0 {
		t.Fatalf("after the call back: owed %v, want none", got)
	}
	got, err := s.Get(ctx, cb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != crmcore.CallbackStateDone || got.Outcome != crmcore.OutcomeAnswered || string(got.Route) != `{"queue": "sales"}` {
		t.Errorf("callback %+v (route %s), want done and answered with its route", got, got.Route)
	}
	record(t, pool, cb, crmcore.OutcomeCallbackRequested, crmcore.OutcomeAnswered) // a final record is never replaced

	r := newRouted()
	n, err := s.Requeue(ctx, r.route)
	if err != nil || n != 0 {
		t.Errorf("requeue of nothing owed: %d, %v", n, err)
	}
	other := ivrCallback("+14155550102")
	if err := s.Keep(ctx, other); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Requeue(ctx, r.route); err != nil || n != 1 || r.got[0].ID != other.ID || r.got[0].RequestedAt.Unix() != other.RequestedAt.Unix() {
		t.Errorf("requeue: %d, %v, %+v; want the owed callback with its queue time", n, err, r.got)
	}
}

// TestScheduledCallbackDue: a scheduled callback reaches the router when
// it is due, with the dial plan's number; a cancelled one never does; bad
// input is refused.
func TestScheduledCallbackDue(t *testing.T) {
	pool := newDB(t)
	ctx := context.Background()
	r := newRouted()
	check := func(n string) (string, error) {
		if n == "+19005550100" {
			return "", errors.New("premium numbers may not be dialled")
		}
		return "+1" + n[len(n)-10:], nil
	}
	s := started(t, pool, r.route, WithNumberCheck(check))
	agent := crmcore.NewID()
	if _, err := pool.Exec(ctx, `insert into agents (id, login, name, password_hash, role) values ($1, 'zoe', 'Zoe', '$2a$04$x', 'agent')`, agent); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cancelled, err := s.Schedule(ctx, crmcore.CallbackInput{Number: "(415) 555-0109", Queue: "sales", At: now.Add(time.Second)}, agent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Cancel(ctx, cancelled.ID); err != nil {
		t.Fatal(err)
	}
	cb, err := s.Schedule(ctx, crmcore.CallbackInput{Number: "4155550101", Queue: "sales", At: now.Add(2 * time.Second),
		AgentID: agent, Note: "wants the renewal price"}, agent)
	if err != nil {
		t.Fatal(err)
	}
	if cb.State != crmcore.CallbackStateScheduled || cb.Number != "+14155550101" || cb.CallID != "cb-"+cb.ID {
		t.Errorf("scheduled %+v", cb)
	}
	select {
	case got := <-r.ch:
		if got.ID != cb.ID || got.AgentID != agent || got.State != crmcore.CallbackStateQueued || got.DueAt.Before(now.Add(time.Second)) {
			t.Errorf("routed %+v, want %s queued for agent %s", got, cb.ID, agent)
		}
		if time.Now().Before(cb.DueAt) {
			t.Errorf("routed at %s, before it was due at %s", time.Now(), cb.DueAt)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the due callback never reached the router")
	}
	select {
	case got := <-r.ch:
		t.Errorf("routed %+v as well; the cancelled one must not be", got)
	case <-time.After(time.Second):
	}
	list, err := s.List(ctx, crmcore.CallbackFilter{State: crmcore.CallbackStateQueued, AgentID: agent})
	if err != nil || len(list) != 1 || list[0].ID != cb.ID {
		t.Errorf("queued for the agent: %+v, %v", list, err)
	}
	if _, err := s.Cancel(ctx, cancelled.ID); !errors.Is(err, crmcore.ErrConflict) {
		t.Errorf("cancel twice: %v, want a conflict", err)
	}

	for name, in := range map[string]crmcore.CallbackInput{
		"premium":    {Number: "+19005550100", Queue: "sales", At: now.Add(time.Hour)},
		"past":       {Number: "4155550101", Queue: "sales", At: now.Add(-time.Hour)},
		"far":        {Number: "4155550101", Queue: "sales", At: now.Add(100 * 24 * time.Hour)},
		"no queue":   {Number: "4155550101", At: now.Add(time.Hour)},
		"bad agent":  {Number: "4155550101", Queue: "sales", At: now.Add(time.Hour), AgentID: "x"},
		"no contact": {Number: "4155550101", Queue: "sales", At: now.Add(time.Hour), ContactID: crmcore.NewID()},
	} {
		if _, err := s.Schedule(ctx, in, agent); !errors.Is(err, crmcore.ErrInvalid) && !errors.Is(err, crmcore.ErrNotFound) {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}
}
