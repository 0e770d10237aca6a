package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"switchboard/crmcore"
	"switchboard/crmcore/jobs"
)

// queueName is the river queue of deliveries.
const queueName = "webhooks"

// Defaults of a Service.
const (
	DefaultWorkers        = 100
	DefaultPollInterval   = time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultMaxAttempts    = 20
	DefaultBatchSize      = 500
	// DefaultRetention is how long events and their delivery log are
	// kept; it is far longer than the retries of a delivery last.
	DefaultRetention = 30 * 24 * time.Hour
	// MaxResponseBody is how much of a receiver's answer is read (and
	// discarded, so that the connection can be reused).
	MaxResponseBody = 64 << 10
)

// Service dispatches the webhook outbox: it turns events into delivery
// jobs for the subscriptions that want them and works those jobs (see the
// package doc). It also manages the subscriptions and the delivery log.
// Its methods are safe for concurrent use.
type Service struct {
	pool *pgxpool.Pool
	jobs *jobs.Runner
	http *http.Client
	log  *slog.Logger
	m    *Metrics

	workers     int
	poll        time.Duration
	timeout     time.Duration
	maxAttempts int
	batch       int
	retry       backoff // zero: river's schedule
	retention   time.Duration

	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithMetrics sets the metrics (default: unregistered).
func WithMetrics(m *Metrics) Option { return func(s *Service) { s.m = m } }

// WithWorkers sets how many deliveries run at once in this process
// (default DefaultWorkers).
func WithWorkers(n int) Option { return func(s *Service) { s.workers = max(n, 1) } }

// WithPollInterval sets how often the outbox and the job queue are polled
// when no notification arrives (default DefaultPollInterval).
func WithPollInterval(d time.Duration) Option {
	return func(s *Service) { s.poll = max(d, 10*time.Millisecond) }
}

// WithRequestTimeout bounds one delivery attempt, connection to last byte
// (default DefaultRequestTimeout).
func WithRequestTimeout(d time.Duration) Option { return func(s *Service) { s.timeout = d } }

// WithMaxAttempts sets how many times a delivery is tried before it is
// given up (default DefaultMaxAttempts; river's default backoff spreads
// them over about a week).
func WithMaxAttempts(n int) Option { return func(s *Service) { s.maxAttempts = max(n, 1) } }

// WithRetention sets how long events and their delivery log are kept
// after the event was recorded (default DefaultRetention).
func WithRetention(d time.Duration) Option { return func(s *Service) { s.retention = d } }

// WithBackoff replaces river's retry schedule (attempt⁴ seconds) by an
// exponential one: base, 2·base, 4·base … up to maxDelay, each with up to
// 10% jitter.
func WithBackoff(base, maxDelay time.Duration) Option {
	return func(s *Service) { s.retry = backoff{base: base, max: maxDelay} }
}

// backoff is an exponential retry schedule.
type backoff struct{ base, max time.Duration }

// next is when a job that failed len(job.Errors) times is tried again.
func (b backoff) next(job *rivertype.JobRow) time.Time {
	d := b.base
	for range len(job.Errors) {
		if d >= b.max {
			break
		}
		d *= 2
	}
	d = min(d, b.max)
	return time.Now().Add(d + rand.N(d/10+1))
}

// New returns a Service over pool, whose schema must have been migrated
// (pgstore.Migrate, then jobs.Migrate), and registers its delivery jobs
// with runner, which must not be open yet. Start begins dispatching, once
// runner is started.
func New(pool *pgxpool.Pool, runner *jobs.Runner, opts ...Option) (*Service, error) {
	s := &Service{pool: pool, jobs: runner, log: slog.Default(), workers: DefaultWorkers, poll: DefaultPollInterval,
		timeout: DefaultRequestTimeout, maxAttempts: DefaultMaxAttempts, batch: DefaultBatchSize,
		retention: DefaultRetention}
	for _, o := range opts {
		o(s)
	}
	if s.m == nil {
		s.m = NewMetrics(nil)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = s.workers
	s.http = &http.Client{Transport: tr, Timeout: s.timeout,
		// A redirect could lead anywhere (another scheme, another host):
		// the receiver's answer is taken as it is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if err := jobs.Register(runner, &deliveryWorker{s: s}, queueName, s.workers); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return s, nil
}

// client is the job queue's client, once the runner is open.
func (s *Service) client() (*river.Client[pgx.Tx], error) {
	c, err := s.jobs.Client()
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return c, nil
}

// insertOpts are a delivery job's: its queue and attempts.
func (s *Service) insertOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: queueName, MaxAttempts: s.maxAttempts}
}

// Start starts the outbox dispatcher, which runs until Stop; the
// deliveries are worked by the job runner, which must be started.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return errors.New("webhook: already started")
	}
	if _, err := s.client(); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	wake := make(chan struct{}, 1)
	s.wg.Go(func() { s.listen(runCtx, wake) })
	s.wg.Go(func() { s.dispatch(runCtx, wake) })
	return nil
}

// Stop stops dispatching. The deliveries in flight are the job runner's:
// stop it after this (jobs.Runner.Stop with StopGrace); a cancelled
// delivery is retried (under the same id) by the next process that
// starts.
func (s *Service) Stop() {
	s.mu.Lock()
	cancel := s.cancel
	s.cancel = nil
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	s.wg.Wait()
}

// StopGrace is how long the job runner's stop should let a delivery cut
// short end (its attempt is logged).
func (s *Service) StopGrace() time.Duration { return s.timeout + 5*time.Second }

// listen wakes the dispatcher on every notification of new events, on a
// connection of its own, reconnecting with backoff when it fails.
func (s *Service) listen(ctx context.Context, wake chan<- struct{}) {
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("webhook: listening for new events failed, polling meanwhile", "err", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return
		}
		delay = min(delay*2, 10*time.Second)
	}
}

func (s *Service) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "listen "+pgx.Identifier{crmcore.WebhookNotifyChannel}.Sanitize()); err != nil {
		return err
	}
	for {
		// Whatever was notified before LISTEN took effect is found now.
		select {
		case wake <- struct{}{}:
		default:
		}
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
	}
}

// pruneEvery is how often old events are deleted.
const pruneEvery = time.Hour

// dispatch fans events out whenever it is woken and at every poll, and
// deletes expired events every pruneEvery.
func (s *Service) dispatch(ctx context.Context, wake <-chan struct{}) {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	var pruned time.Time
	for {
		if time.Since(pruned) >= pruneEvery {
			pruned = time.Now()
			if err := s.prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("webhook: prune failed", "err", err)
			}
		}
		for ctx.Err() == nil {
			n, err := s.fanOut(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("webhook: fan-out failed", "err", err)
				}
				break
			}
			if n < s.batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}

// fanOut takes up to a batch of events not yet fanned out (skipping those
// another process is fanning out), inserts one delivery job per event and
// active subscription that wants it, and marks the events fanned out, all
// in one transaction: an event gets its jobs exactly once. It returns how
// many events it took.
func (s *Service) fanOut(ctx context.Context) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `select e.id, coalesce(array_agg(s.id::text) filter (where s.id is not null), '{}')
			from (select id, type from webhook_events where fanned_out_at is null order by id limit $1 for update skip locked) e
			left join webhook_subscriptions s on s.active and e.type = any(s.event_types)
			group by e.id order by e.id`, s.batch)
		if err != nil {
			return err
		}
		var ids []int64
		var params []river.InsertManyParams
		var id int64
		var subs []string
		_, err = pgx.ForEachRow(rows, []any{&id, &subs}, func() error {
			ids = append(ids, id)
			for _, sub := range subs {
				params = append(params, river.InsertManyParams{Args: deliveryArgs{DeliveryID: crmcore.NewID(), SubscriptionID: sub, EventID: id},
					InsertOpts: s.insertOpts()})
			}
			return nil
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		n = len(ids)
		if len(params) > 0 {
			client, err := s.client()
			if err != nil {
				return err
			}
			if _, err := client.InsertManyTx(ctx, tx, params); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `update webhook_events set fanned_out_at = now() where id = any($1)`, ids)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("webhook: fan out: %w", err)
	}
	s.m.FannedOut.Add(float64(n))
	return n, nil
}

// prune deletes the events older than the retention that are fanned out,
// with their delivery log (by cascade).
func (s *Service) prune(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `delete from webhook_events where created_at < $1 and fanned_out_at is not null`,
		time.Now().Add(-s.retention))
	return err
}
