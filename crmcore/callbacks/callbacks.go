package callbacks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"switchboard/crmcore"
	"switchboard/crmcore/jobs"
)

// Queue is the job queue of due callbacks. It is worked only by the
// routing node (jobs.Runner.AddQueue), whose router queues them.
const Queue = "callbacks"

// Router queues a callback owed to a customer as a virtual caller: the
// routing node's voice journey. It returns nil when the callback is
// queued, also when it already was.
type Router func(ctx context.Context, cb crmcore.Callback) error

// Service keeps the callbacks owed to customers (see the package doc).
// Its methods are safe for concurrent use.
type Service struct {
	pool  *pgxpool.Pool
	jobs  *jobs.Runner
	log   *slog.Logger
	check func(number string) (string, error)
	now   func() time.Time

	mu     sync.Mutex
	router Router
}

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithNumberCheck sets the dial plan's check of a number to call back: it
// returns the number to dial or why it may not be dialled. Without it,
// the router's dial plan refuses a bad number only when it is due.
func WithNumberCheck(f func(number string) (string, error)) Option {
	return func(s *Service) { s.check = f }
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns a Service over pool (migrated by pgstore.Migrate and
// jobs.Migrate) and registers its due-callback jobs with runner, which
// must not be open yet.
func New(pool *pgxpool.Pool, runner *jobs.Runner, opts ...Option) (*Service, error) {
	s := &Service{pool: pool, jobs: runner, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if err := jobs.Register(runner, &dueWorker{s: s}, Queue, 0); err != nil {
		return nil, fmt.Errorf("callbacks: %w", err)
	}
	return s, nil
}

// SetRouter sets (nil: clears) the router due callbacks go to; the
// routing node sets it while it leads.
func (s *Service) SetRouter(r Router) {
	s.mu.Lock()
	s.router = r
	s.mu.Unlock()
}

func (s *Service) routerFn() Router {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.router
}

// mapErr turns database errors into the CRM's.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = crmcore.ErrNotFound
	case errors.As(err, &pgErr) && pgErr.Code == "23503":
		err = &crmcore.FieldError{Field: "contact_id", Reason: "no such contact or agent", Err: crmcore.ErrNotFound}
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		err = crmcore.ErrConflict
	}
	return fmt.Errorf("callbacks: %s: %w", op, err)
}

// Keep stores a callback asked for in the IVR (state queued) before it is
// handed to the router, so that the routing node that owes it, or the
// next one, calls the customer back. Keeping the same call again changes
// nothing.
func (s *Service) Keep(ctx context.Context, cb crmcore.Callback) error {
	if !crmcore.ValidID(cb.ID) || !crmcore.ValidID(cb.InteractionID) || cb.CallID == "" {
		return fmt.Errorf("callbacks: keep: %w", crmcore.ErrInvalid)
	}
	_, err := s.pool.Exec(ctx, `insert into callbacks (id, interaction_id, call_id, number, queue, contact_id, agent_id,
		note, source, route, requested_at, due_at, state, created_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8, 'ivr', $9, $10, $10, 'queued', $11)
		on conflict (call_id) do nothing`,
		cb.ID, cb.InteractionID, cb.CallID, cb.Number, cb.Queue, nullID(cb.ContactID), nullID(cb.AgentID), cb.Note,
		nullJSON(cb.Route), cb.RequestedAt.UTC(), s.now().UTC())
	return mapErr("keep", err)
}

// Schedule stores a callback to make at in.At and its due job in one
// transaction, after the dial plan's check of the number.
func (s *Service) Schedule(ctx context.Context, in crmcore.CallbackInput, by string) (crmcore.Callback, error) {
	cb, err := crmcore.NewScheduledCallback(in, by, s.now())
	if err != nil {
		return crmcore.Callback{}, err
	}
	if s.check != nil {
		n, err := s.check(cb.Number)
		if err != nil {
			return crmcore.Callback{}, &crmcore.FieldError{Field: "number", Reason: err.Error()}
		}
		cb.Number = n
	}
	client, err := s.jobs.Client()
	if err != nil {
		return crmcore.Callback{}, fmt.Errorf("callbacks: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `insert into callbacks (id, interaction_id, call_id, number, queue, contact_id, agent_id,
			note, source, requested_at, due_at, state, created_by, created_at)
			values ($1, $2, $3, $4, $5, $6, $7, $8, 'scheduled', $9, $9, 'scheduled', $10, $11)`,
			cb.ID, cb.InteractionID, cb.CallID, cb.Number, cb.Queue, nullID(cb.ContactID), nullID(cb.AgentID), cb.Note,
			cb.DueAt, nullID(by), cb.CreatedAt)
		if err != nil {
			return err
		}
		_, err = client.InsertTx(ctx, tx, dueArgs{CallbackID: cb.ID}, &river.InsertOpts{Queue: Queue, ScheduledAt: cb.DueAt})
		return err
	})
	if err != nil {
		return crmcore.Callback{}, mapErr("schedule", err)
	}
	return cb, nil
}

// Cancel cancels a callback not yet done: a scheduled one is not called,
// a queued one is not queued again by a new routing node (the one that
// queued it may still call; the caller of the routing engine ends it).
func (s *Service) Cancel(ctx context.Context, id string) (crmcore.Callback, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Callback{}, fmt.Errorf("callbacks: cancel: %w", crmcore.ErrNotFound)
	}
	cb, err := s.Get(ctx, id)
	if err != nil {
		return crmcore.Callback{}, err
	}
	if cb.State == crmcore.CallbackStateDone || cb.State == crmcore.CallbackStateCancelled {
		return crmcore.Callback{}, fmt.Errorf("callbacks: cancel: %w: the callback is %s", crmcore.ErrConflict, cb.State)
	}
	if _, err := s.pool.Exec(ctx, `update callbacks set state = 'cancelled' where id = $1`, id); err != nil {
		return crmcore.Callback{}, mapErr("cancel", err)
	}
	cb.State = crmcore.CallbackStateCancelled
	return cb, nil
}

// selectCallbacks reads callbacks with their state (done from their
// interaction's outcome).
const selectCallbacks = `select c.id, c.interaction_id, c.call_id, c.number, c.queue, coalesce(c.contact_id::text, ''),
	coalesce(c.agent_id::text, ''), c.note, c.source, c.route, c.requested_at, c.due_at,
	case when c.state <> 'cancelled' and i.outcome is not null and i.outcome not in ('in-progress', 'callback-requested')
		then 'done' else c.state end,
	coalesce(i.outcome, ''), coalesce(c.created_by::text, ''), c.created_at
	from callbacks c left join interactions i on i.id = c.interaction_id`

func scan(r pgx.Row) (crmcore.Callback, error) {
	var cb crmcore.Callback
	var route []byte
	err := r.Scan(&cb.ID, &cb.InteractionID, &cb.CallID, &cb.Number, &cb.Queue, &cb.ContactID, &cb.AgentID, &cb.Note,
		&cb.Source, &route, &cb.RequestedAt, &cb.DueAt, &cb.State, &cb.Outcome, &cb.CreatedBy, &cb.CreatedAt)
	cb.Route = route
	cb.RequestedAt, cb.DueAt, cb.CreatedAt = cb.RequestedAt.UTC(), cb.DueAt.UTC(), cb.CreatedAt.UTC()
	return cb, err
}

// Get returns one callback.
func (s *Service) Get(ctx context.Context, id string) (crmcore.Callback, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Callback{}, fmt.Errorf("callbacks: get: %w", crmcore.ErrNotFound)
	}
	cb, err := scan(s.pool.QueryRow(ctx, selectCallbacks+` where c.id = $1`, id))
	return cb, mapErr("get", err)
}

// List returns the callbacks f selects.
func (s *Service) List(ctx context.Context, f crmcore.CallbackFilter) ([]crmcore.Callback, error) {
	switch f.State {
	case "", crmcore.CallbackStateScheduled, crmcore.CallbackStateQueued, crmcore.CallbackStateDone, crmcore.CallbackStateCancelled:
	default:
		return nil, &crmcore.FieldError{Field: "state", Reason: "want scheduled, queued, done or cancelled"}
	}
	for field, id := range map[string]string{"contact_id": f.ContactID, "agent_id": f.AgentID} {
		if id != "" && !crmcore.ValidID(id) {
			return nil, &crmcore.FieldError{Field: field, Reason: "not an id"}
		}
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 500
	}
	var from, to *time.Time
	if !f.From.IsZero() {
		from = &f.From
	}
	if !f.To.IsZero() {
		to = &f.To
	}
	rows, err := s.pool.Query(ctx, `select * from (`+selectCallbacks+`) l (id, interaction_id, call_id, number, queue,
		contact_id, agent_id, note, source, route, requested_at, due_at, state, outcome, created_by, created_at)
		where ($1 = '' or state = $1) and ($2 = '' or contact_id = $2) and ($3 = '' or agent_id = $3)
		and ($4::timestamptz is null or due_at >= $4) and ($5::timestamptz is null or due_at < $5)
		order by due_at, id limit $6`, f.State, f.ContactID, f.AgentID, from, to, f.Limit)
	if err != nil {
		return nil, mapErr("list", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.Callback, error) { return scan(r) })
	return out, mapErr("list", err)
}

// Owed returns the callbacks handed to a router and not yet done nor
// cancelled, oldest first: those a new routing node queues again.
func (s *Service) Owed(ctx context.Context) ([]crmcore.Callback, error) {
	rows, err := s.pool.Query(ctx, selectCallbacks+` where c.state = 'queued'
		and (i.outcome is null or i.outcome in ('in-progress', 'callback-requested'))
		order by c.requested_at, c.id`)
	if err != nil {
		return nil, mapErr("owed", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.Callback, error) { return scan(r) })
	return out, mapErr("owed", err)
}

// Requeue hands every owed callback to r (the routing node's, as it
// starts to lead) and returns how many it queued; one that r refuses is
// logged and left owed.
func (s *Service) Requeue(ctx context.Context, r Router) (int, error) {
	owed, err := s.Owed(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, cb := range owed {
		if err := r(ctx, cb); err != nil {
			s.log.Warn("callbacks: owed callback not queued again", "callback_id", cb.ID, "call_id", cb.CallID, "err", err)
			continue
		}
		n++
	}
	return n, nil
}

func nullID(id string) any {
	if id == "" {
		return nil
	}
	return id
}

func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
