package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Defaults of a Runner.
const (
	DefaultPollInterval = time.Second
	// DefaultRescueAfter is how long a job may stay running before it is
	// taken for the job of a process that died and tried again; every
	// worker's own timeout is shorter.
	DefaultRescueAfter = 5 * time.Minute
	// DefaultJobTimeout bounds a job whose worker sets no timeout.
	DefaultJobTimeout = time.Minute
)

// Runner is a process's one job queue client: the components register
// their workers, queues and periodic jobs, then Open builds the client
// and Start works the jobs. See the package doc.
type Runner struct {
	pool        *pgxpool.Pool
	log         *slog.Logger
	poll        time.Duration
	rescueAfter time.Duration

	mu       sync.Mutex
	workers  *river.Workers
	queues   map[string]river.QueueConfig
	periodic []*river.PeriodicJob
	client   *river.Client[pgx.Tx]
	started  bool
}

// Option configures a Runner.
type Option func(*Runner)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(r *Runner) { r.log = l } }

// WithPollInterval sets how often the queues are polled for jobs when no
// notification arrives (default DefaultPollInterval).
func WithPollInterval(d time.Duration) Option {
	return func(r *Runner) { r.poll = max(d, 10*time.Millisecond) }
}

// WithRescueAfter sets how long a job may stay running before it is tried
// again (default DefaultRescueAfter); it must exceed every worker's
// timeout.
func WithRescueAfter(d time.Duration) Option { return func(r *Runner) { r.rescueAfter = d } }

// New returns a Runner over pool, whose schema must have been migrated
// (Migrate). Register the job kinds, then Open or Start it.
func New(pool *pgxpool.Pool, opts ...Option) *Runner {
	r := &Runner{pool: pool, log: slog.Default(), poll: DefaultPollInterval, rescueAfter: DefaultRescueAfter,
		workers: river.NewWorkers(), queues: map[string]river.QueueConfig{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// ErrOpen is returned by the registration methods once the client is
// built, and by Client before.
var ErrOpen = errors.New("jobs: registration after Open, or client before it")

// Register adds a worker for its job kind, worked in queue by up to
// workers at once in this process (workers 0: the queue is not worked
// here unless AddQueue adds it later). It must come before Open.
func Register[T river.JobArgs](r *Runner, w river.Worker[T], queue string, workers int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return ErrOpen
	}
	if err := river.AddWorkerSafely(r.workers, w); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	if workers > 0 {
		r.queues[queue] = river.QueueConfig{MaxWorkers: workers}
	}
	return nil
}

// AddPeriodic schedules a periodic job. Only the process elected leader
// of the job queue inserts periodic jobs, so every process registers the
// same ones; any process working the job's queue may run it. It must come
// before Open.
func (r *Runner) AddPeriodic(p *river.PeriodicJob) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return ErrOpen
	}
	r.periodic = append(r.periodic, p)
	return nil
}

// Open builds the client; after it, jobs can be inserted (Client) but no
// kind registered. Start opens the Runner if needed.
func (r *Runner) Open() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open()
}

func (r *Runner) open() error {
	if r.client != nil {
		return nil
	}
	cfg := &river.Config{
		Workers:              r.workers,
		PeriodicJobs:         r.periodic,
		Logger:               r.log,
		JobTimeout:           DefaultJobTimeout,
		FetchCooldown:        min(10*time.Millisecond, r.poll),
		FetchPollInterval:    r.poll,
		RescueStuckJobsAfter: r.rescueAfter,
	}
	// A client with no queue cannot take one later, and Start refuses a
	// client without workers: every process works at least the
	// maintenance queue, which keeps the periodic jobs of the leader.
	cfg.Queues = map[string]river.QueueConfig{}
	for q, c := range r.queues {
		cfg.Queues[q] = c
	}
	if len(cfg.Queues) == 0 {
		cfg.Queues[river.QueueDefault] = river.QueueConfig{MaxWorkers: 1}
	}
	client, err := river.NewClient(riverpgxv5.New(r.pool), cfg)
	if err != nil {
		return fmt.Errorf("jobs: river client: %w", err)
	}
	r.client = client
	return nil
}

// Client is the job queue client, to insert jobs (in a transaction of
// one's own with InsertTx); ErrOpen before Open.
func (r *Runner) Client() (*river.Client[pgx.Tx], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client == nil {
		return nil, ErrOpen
	}
	return r.client, nil
}

// Start opens the Runner if needed and starts working the jobs, until
// Stop.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.open(); err != nil {
		return err
	}
	if r.started {
		return errors.New("jobs: already started")
	}
	if err := r.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	r.started = true
	return nil
}

// AddQueue starts working queue in this process with up to workers jobs
// at once, for a component that runs here only for a while (the routing
// node's); RemoveQueue stops it.
func (r *Runner) AddQueue(queue string, workers int) error {
	c, err := r.Client()
	if err != nil {
		return err
	}
	if err := c.Queues().Add(queue, river.QueueConfig{MaxWorkers: max(workers, 1)}); err != nil {
		return fmt.Errorf("jobs: add queue %s: %w", queue, err)
	}
	return nil
}

// RemoveQueue stops working queue in this process, waiting for its jobs
// in progress until ctx ends.
func (r *Runner) RemoveQueue(ctx context.Context, queue string) error {
	c, err := r.Client()
	if err != nil {
		return err
	}
	if err := c.Queues().Remove(ctx, queue); err != nil {
		return fmt.Errorf("jobs: remove queue %s: %w", queue, err)
	}
	return nil
}

// Stop stops working jobs, waiting for those in progress until ctx ends;
// then it cancels them. A cancelled job is tried again by the next
// process that works its queue.
func (r *Runner) Stop(ctx context.Context, grace time.Duration) error {
	r.mu.Lock()
	started := r.started
	r.started = false
	r.mu.Unlock()
	if !started {
		return nil
	}
	err := r.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		hard, done := context.WithTimeout(context.Background(), grace)
		defer done()
		err = r.client.StopAndCancel(hard)
	}
	if err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}
