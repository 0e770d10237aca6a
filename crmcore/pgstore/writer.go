package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/crmcore"
)

// ErrWriterClosed is returned by Write and AppendWrapUp after Close.
var ErrWriterClosed = errors.New("pgstore: interaction writer closed")

// Writer is the durable interaction write path (see the package doc). It is
// safe for concurrent use.
type Writer struct {
	pool       *pgxpool.Pool
	log        *slog.Logger
	m          *Metrics
	journal    *journal
	batchSize  int
	flushEvery time.Duration
	maxBackoff time.Duration

	mu     sync.RWMutex // guards closed and the send on ch
	closed bool
	ch     chan record

	abort     context.CancelFunc // ends retrying when Close's ctx expires
	runCtx    context.Context
	done      chan struct{}
	finalErr  error
	closeOnce sync.Once
}

// WriterOption configures a Writer.
type WriterOption func(*Writer)

// WithQueueSize sets the in-process queue capacity (default 65536); when it
// is full, writes spill to the journal.
func WithQueueSize(n int) WriterOption {
	return func(w *Writer) { w.ch = make(chan record, max(n, 1)) }
}

// WithBatchSize sets the maximum records per flush (default 8192); a large
// batch is split over two transactions on two connections.
func WithBatchSize(n int) WriterOption { return func(w *Writer) { w.batchSize = max(n, 1) } }

// WithFlushInterval sets how long a partial batch may wait (default 50 ms).
func WithFlushInterval(d time.Duration) WriterOption { return func(w *Writer) { w.flushEvery = d } }

// WithMaxBackoff caps the retry delay while PostgreSQL is unreachable (default 2 s).
func WithMaxBackoff(d time.Duration) WriterOption { return func(w *Writer) { w.maxBackoff = d } }

// WithWriterLogger sets the logger (default slog.Default()).
func WithWriterLogger(l *slog.Logger) WriterOption { return func(w *Writer) { w.log = l } }

// WithWriterMetrics sets the metrics (default: unregistered).
func WithWriterMetrics(m *Metrics) WriterOption { return func(w *Writer) { w.m = m } }

// NewWriter opens (creating) the journal under dataDir and starts the writer
// goroutine, which first replays whatever an earlier run left in the journal.
func NewWriter(pool *pgxpool.Pool, dataDir string, opts ...WriterOption) (*Writer, error) {
	w := &Writer{
		pool: pool, log: slog.Default(), batchSize: 8192, flushEvery: 50 * time.Millisecond,
		maxBackoff: 2 * time.Second, ch: make(chan record, 65536), done: make(chan struct{}),
	}
	for _, o := range opts {
		o(w)
	}
	if w.m == nil {
		w.m = NewMetrics(nil)
	}
	w.m.queueLen = func() int { return len(w.ch) }
	j, err := openJournal(dataDir)
	if err != nil {
		return nil, err
	}
	w.journal = j
	w.runCtx, w.abort = context.WithCancel(context.Background())
	go w.run()
	return w, nil
}

// Write queues an interaction for writing. It validates the record (an
// invalid one is refused with an error wrapping crmcore.ErrInvalid), never
// blocks on the database, and never drops an accepted record: when the queue
// is full the record goes to the journal. A nil error means accepted.
func (w *Writer) Write(ctx context.Context, in crmcore.Interaction) error {
	if err := in.Validate(); err != nil {
		return err
	}
	normalizeInteraction(&in)
	return w.enqueue(record{I: &in})
}

// AppendWrapUp queues after-call work for an interaction (disposition, notes,
// ticket link, survey score). It is stored as its own record and folded into
// the interaction, whichever of the two reaches the database first.
func (w *Writer) AppendWrapUp(ctx context.Context, wu crmcore.WrapUp) error {
	if wu.ID == "" {
		wu.ID = crmcore.NewID()
	}
	if err := wu.Validate(); err != nil {
		return err
	}
	wu.At = wu.At.UTC()
	return w.enqueue(record{W: &wu})
}

func (w *Writer) enqueue(r record) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrWriterClosed
	}
	select {
	case w.ch <- r:
		return nil
	default:
	}
	if err := w.journal.append(r); err != nil {
		return fmt.Errorf("pgstore: queue full and journal failed: %w", err)
	}
	w.m.Spilled.Inc()
	return nil
}

// Close stops intake and writes everything queued or journaled to the
// database. If ctx ends first (PostgreSQL still down), the remainder is kept
// in the journal for the next start and ctx's error is returned.
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		close(w.ch)
		w.mu.Unlock()
	})
	select {
	case <-w.done:
	case <-ctx.Done():
		w.abort()
		<-w.done
		if w.finalErr == nil {
			return fmt.Errorf("pgstore: writer close: %w (unwritten records kept in the journal)", ctx.Err())
		}
	}
	return w.finalErr
}

func (w *Writer) run() {
	defer close(w.done)
	defer func() {
		if err := w.journal.close(); err != nil && w.finalErr == nil {
			w.finalErr = err
		}
	}()
	if err := w.replay(); err != nil {
		w.finalErr = w.spillRest(nil, err)
		return
	}
	tick := time.NewTicker(w.flushEvery)
	defer tick.Stop()
	batch := make([]record, 0, w.batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := w.flushDurable(batch)
		if err != nil {
			return err
		}
		batch = batch[:0]
		if w.journal.hasPending() {
			return w.replay()
		}
		return nil
	}
	for {
		select {
		case r, ok := <-w.ch:
			if !ok {
				if err := flush(); err != nil {
					w.finalErr = w.spillRest(batch, err)
					return
				}
				if err := w.replay(); err != nil {
					w.finalErr = w.spillRest(nil, err)
				}
				return
			}
			batch = append(batch, r)
			if len(batch) >= w.batchSize {
				if err := flush(); err != nil {
					w.finalErr = w.spillRest(batch, err)
					return
				}
			}
		case <-tick.C:
			if err := w.journal.flush(); err != nil {
				w.log.Error("pgstore: journal flush failed", "err", err)
			}
			if err := flush(); err != nil {
				w.finalErr = w.spillRest(batch, err)
				return
			}
			if len(batch) == 0 && w.journal.hasPending() {
				if err := w.replay(); err != nil {
					w.finalErr = w.spillRest(nil, err)
					return
				}
			}
		}
	}
}

// spillRest runs when the writer is aborted: the unwritten batch and the
// rest of the queue go to the journal.
func (w *Writer) spillRest(batch []record, cause error) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	rest := append([]record(nil), batch...)
	// No send can start now that closed is set; take what is buffered.
drain:
	for {
		select {
		case r, ok := <-w.ch:
			if !ok {
				break drain
			}
			rest = append(rest, r)
		default:
			break drain
		}
	}
	if len(rest) > 0 {
		if err := w.journal.append(rest...); err != nil {
			return fmt.Errorf("pgstore: writer aborted (%v) and journal failed: %w", cause, err)
		}
	}
	w.log.Warn("pgstore: interaction writer stopped before the database caught up; records kept in the journal",
		"records", len(rest), "dir", w.journal.dir, "err", cause)
	return fmt.Errorf("pgstore: writer close: %w (unwritten records kept in the journal)", cause)
}

// replay writes every journal file waiting for replay and deletes it.
func (w *Writer) replay() error {
	files, err := w.journal.rotate()
	if err != nil {
		return err
	}
	for _, f := range files {
		skipped, err := readJournal(f, w.batchSize, func(recs []record) error {
			if err := w.flushDurable(recs); err != nil {
				return err
			}
			w.m.Replayed.Add(float64(len(recs)))
			return nil
		})
		if skipped > 0 {
			w.log.Warn("pgstore: skipped torn journal lines", "file", f, "lines", skipped)
		}
		if err != nil {
			return err
		}
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("pgstore: remove replayed journal: %w", err)
		}
	}
	return nil
}

// flushDurable writes recs, retrying transient failures with backoff until
// they succeed or the writer is aborted. Records the server rejects for
// their content are isolated by bisection and dead-lettered.
func (w *Writer) flushDurable(recs []record) error {
	err := w.flushRetry(recs)
	if err == nil || !permanent(err) {
		return err
	}
	if len(recs) == 1 {
		w.log.Error("pgstore: interaction rejected by the database, kept in the dead-letter file", "err", err)
		w.m.DeadLettered.Inc()
		return w.journal.deadLetter(recs, err)
	}
	half := len(recs) / 2
	if err := w.flushDurable(recs[:half]); err != nil {
		return err
	}
	return w.flushDurable(recs[half:])
}

func (w *Writer) flushRetry(recs []record) error {
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		start := time.Now()
		err := w.flushOnce(w.runCtx, recs)
		if err == nil {
			w.m.FlushSeconds.Observe(time.Since(start).Seconds())
			if attempt > 0 {
				w.log.Info("pgstore: interaction writes resumed", "attempts", attempt+1)
			}
			return nil
		}
		if w.runCtx.Err() != nil {
			return w.runCtx.Err()
		}
		if permanent(err) {
			return err
		}
		w.m.Retries.Inc()
		if attempt == 0 || attempt%20 == 0 {
			w.log.Warn("pgstore: interaction batch failed, retrying", "records", len(recs), "attempt", attempt+1, "err", err)
		}
		d := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-time.After(d):
		case <-w.runCtx.Done():
			return w.runCtx.Err()
		}
		backoff = min(backoff*2, w.maxBackoff)
	}
}

// permanent reports whether err is the server refusing the data itself
// (data exception, integrity violation, syntax/undefined object), which a
// retry cannot fix.
func permanent(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) < 2 {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23", "42":
		return true
	}
	return false
}

var stageSQL = `
create temp table if not exists stage_interactions (like interactions including defaults) on commit delete rows;
create temp table if not exists stage_wrapups (like interaction_wrapups including defaults) on commit delete rows`

var interactionCopyCols = []string{"id", "call_id", "direction", "channel", "ani", "dnis", "contact_id", "ivr_path",
	"queue", "agent_id", "arrived_at", "queued_at", "offered_at", "answered_at", "ended_at", "wait_ms", "ring_ms",
	"talk_ms", "hold_ms", "wrapup_ms", "outcome", "routing_reasons", "recording", "disposition", "notes",
	"ticket_id", "survey_score"}

var wrapupCopyCols = []string{"id", "interaction_id", "agent_id", "at", "disposition", "notes", "ticket_id", "survey_score"}

// The staged rows are inserted with dangling references cleared (so one
// interaction naming a deleted contact cannot block the batch) and with ON
// CONFLICT DO NOTHING (so a retried batch is not duplicated).
const insertStagedInteractions = `
insert into interactions (id, call_id, direction, channel, ani, dnis, contact_id, ivr_path, queue, agent_id,
	arrived_at, queued_at, offered_at, answered_at, ended_at, wait_ms, ring_ms, talk_ms, hold_ms, wrapup_ms,
	outcome, routing_reasons, recording, disposition, notes, ticket_id, survey_score)
select distinct on (s.id) s.id, s.call_id, s.direction, s.channel, s.ani, s.dnis, c.id, s.ivr_path, s.queue, a.id,
	s.arrived_at, s.queued_at, s.offered_at, s.answered_at, s.ended_at, s.wait_ms, s.ring_ms, s.talk_ms, s.hold_ms,
	s.wrapup_ms, s.outcome, s.routing_reasons, s.recording, s.disposition, s.notes, t.id, s.survey_score
from stage_interactions s
left join contacts c on c.id = s.contact_id
left join agents a on a.id = s.agent_id
left join tickets t on t.id = s.ticket_id
on conflict (id) do nothing`

const insertStagedWrapups = `
insert into interaction_wrapups (id, interaction_id, agent_id, at, disposition, notes, ticket_id, survey_score)
select distinct on (id) id, interaction_id, agent_id, at, disposition, notes, ticket_id, survey_score from stage_wrapups
on conflict (id) do nothing`

// foldWrapups recomputes the wrap-up summary columns of every interaction
// touched by this batch from the append-only wrap-up rows: latest
// disposition, ticket and survey score win; notes accumulate in order.
const foldWrapups = `
update interactions i set
	disposition = coalesce(w.disposition, i.disposition),
	wrapup_notes = coalesce(w.notes, ''),
	ticket_id = coalesce((select id from tickets where id = w.ticket_id), i.ticket_id),
	survey_score = coalesce(w.survey_score, i.survey_score)
from (
	select interaction_id,
		(array_agg(disposition order by at desc, id desc) filter (where disposition <> ''))[1] as disposition,
		string_agg(notes, E'\n' order by at, id) filter (where notes <> '') as notes,
		(array_agg(ticket_id order by at desc, id desc) filter (where ticket_id is not null))[1] as ticket_id,
		(array_agg(survey_score order by at desc, id desc) filter (where survey_score is not null))[1] as survey_score
	from interaction_wrapups
	where interaction_id = any($1)
	group by interaction_id
) w
where i.id = w.interaction_id`

// flushOnce writes recs in one transaction per half, the two halves on two
// connections at once (the database does most of the work; this keeps both
// of its cores busy).
func (w *Writer) flushOnce(ctx context.Context, recs []record) error {
	if len(recs) < 2*minParallelBatch {
		return w.flushTx(ctx, recs)
	}
	half := len(recs) / 2
	errc := make(chan error, 1)
	go func() { errc <- w.flushTx(ctx, recs[half:]) }()
	err1 := w.flushTx(ctx, recs[:half])
	err2 := <-errc
	if err1 != nil {
		return err1
	}
	return err2
}

// minParallelBatch is the smallest half worth a second connection.
const minParallelBatch = 512

// wrapupLock orders transactions that add wrap-ups (exclusive) against
// those that add interactions (shared), so that the fold of a wrap-up and
// the insert of its interaction can never miss each other under READ
// COMMITTED.
const wrapupLock = int64(0x5b1e7a9)

// flushTx writes recs in one transaction. Interactions go straight in with
// COPY after their references are resolved (resolveRefs); if the COPY fails
// on a duplicate key (a batch retried after its commit was in fact applied,
// or the same interaction written twice), the batch is written again
// through a temporary staging table with INSERT … ON CONFLICT DO NOTHING,
// so the outcome is the same set of rows, exactly once.
func (w *Writer) flushTx(ctx context.Context, recs []record) error {
	var ins, wus [][]any
	for _, r := range recs {
		if r.I != nil {
			ins = append(ins, interactionRow(r.I))
		}
		if r.W != nil {
			wus = append(wus, wrapupRow(r.W))
		}
	}
	err := w.writeTx(ctx, ins, wus, false)
	if isRowConflict(err) {
		err = w.writeTx(ctx, ins, wus, true)
	}
	if err != nil {
		return err
	}
	w.m.Written.WithLabelValues("interaction").Add(float64(len(ins)))
	w.m.Written.WithLabelValues("wrapup").Add(float64(len(wus)))
	return nil
}

func isRowConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "23503")
}

func (w *Writer) writeTx(ctx context.Context, ins, wus [][]any, staged bool) error {
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		lock := "select pg_advisory_xact_lock_shared($1)"
		if len(wus) > 0 {
			lock = "select pg_advisory_xact_lock($1)"
		}
		if _, err := tx.Exec(ctx, lock, wrapupLock); err != nil {
			return err
		}
		if len(ins) > 0 {
			if !staged {
				if err := resolveRefs(ctx, tx, ins); err != nil {
					return err
				}
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"interactions"}, interactionCopyCols, pgx.CopyFromRows(ins)); err != nil {
					return err
				}
			} else {
				if _, err := tx.Exec(ctx, stageSQL); err != nil {
					return err
				}
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_interactions"}, interactionCopyCols, pgx.CopyFromRows(ins)); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, insertStagedInteractions); err != nil {
					return err
				}
			}
		}
		if len(wus) > 0 {
			if _, err := tx.Exec(ctx, stageSQL); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_wrapups"}, wrapupCopyCols, pgx.CopyFromRows(wus)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, insertStagedWrapups); err != nil {
				return err
			}
			ids := make([]pgtype.UUID, 0, len(ins)+len(wus))
			for _, r := range ins {
				ids = append(ids, r[0].(pgtype.UUID))
			}
			for _, r := range wus {
				ids = append(ids, r[1].(pgtype.UUID))
			}
			_, err := tx.Exec(ctx, foldWrapups, ids)
			return err
		}
		// Wrap-ups that arrived before their interaction are folded now.
		ids := make([]pgtype.UUID, len(ins))
		for i, r := range ins {
			ids[i] = r[0].(pgtype.UUID)
		}
		var pending bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from interaction_wrapups where interaction_id = any($1))`, ids).Scan(&pending); err != nil {
			return err
		}
		if pending {
			_, err := tx.Exec(ctx, foldWrapups, ids)
			return err
		}
		return nil
	})
}

// Column positions of the references in interactionRow.
const (
	colContact = 6
	colAgent   = 9
	colTicket  = 25
)

// resolveRefs gives the interactions table what a foreign key would, at a
// fraction of the cost: the distinct contacts, agents and tickets a batch
// refers to are looked up once and locked FOR KEY SHARE until commit (so
// they cannot be deleted under it), and references to rows that do not
// exist are cleared in the batch before it is copied.
func resolveRefs(ctx context.Context, tx pgx.Tx, rows [][]any) error {
	for _, ref := range []struct {
		col   int
		table string
	}{{colContact, "contacts"}, {colAgent, "agents"}, {colTicket, "tickets"}} {
		seen := map[pgtype.UUID]bool{}
		var ids []pgtype.UUID
		for _, r := range rows {
			if u := r[ref.col].(pgtype.UUID); u.Valid && !seen[u] {
				seen[u] = true
				ids = append(ids, u)
			}
		}
		if len(ids) == 0 {
			continue
		}
		rs, err := tx.Query(ctx, "select id from "+ref.table+" where id = any($1) for key share", ids)
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rs, pgx.RowTo[pgtype.UUID])
		if err != nil {
			return err
		}
		if len(found) == len(ids) {
			continue
		}
		exists := make(map[pgtype.UUID]bool, len(found))
		for _, u := range found {
			exists[u] = true
		}
		for _, r := range rows {
			if u := r[ref.col].(pgtype.UUID); u.Valid && !exists[u] {
				r[ref.col] = pgtype.UUID{}
			}
		}
	}
	return nil
}

func normalizeInteraction(in *crmcore.Interaction) {
	in.ArrivedAt = in.ArrivedAt.UTC()
	in.QueuedAt, in.OfferedAt, in.AnsweredAt, in.EndedAt = utcPtr(in.QueuedAt), utcPtr(in.OfferedAt), utcPtr(in.AnsweredAt), utcPtr(in.EndedAt)
	if in.IVRPath == nil {
		in.IVRPath = []crmcore.IVRStep{}
	}
	if in.RoutingReasons == nil {
		in.RoutingReasons = []string{}
	}
}

func interactionRow(in *crmcore.Interaction) []any {
	normalizeInteraction(in)
	d := in.Durations()
	return []any{pgUUID(in.ID), in.CallID, string(in.Direction), string(in.Channel), in.ANI, in.DNIS,
		pgUUID(in.ContactID), in.IVRPath, in.Queue, pgUUID(in.AgentID), in.ArrivedAt, in.QueuedAt, in.OfferedAt,
		in.AnsweredAt, in.EndedAt, d.Wait.Milliseconds(), d.Ring.Milliseconds(), d.Talk.Milliseconds(),
		d.Hold.Milliseconds(), d.WrapUp.Milliseconds(), string(in.Outcome), in.RoutingReasons, in.Recording,
		in.Disposition, in.Notes, pgUUID(in.TicketID), in.SurveyScore}
}

func wrapupRow(wu *crmcore.WrapUp) []any {
	return []any{pgUUID(wu.ID), pgUUID(wu.InteractionID), pgUUID(wu.AgentID), wu.At, wu.Disposition, wu.Notes,
		pgUUID(wu.TicketID), wu.SurveyScore}
}

// pgUUID converts a canonical UUID string (validated earlier) to its binary
// form; "" is NULL.
func pgUUID(s string) pgtype.UUID {
	var u pgtype.UUID
	if s == "" || u.Scan(s) != nil {
		return pgtype.UUID{}
	}
	return u
}

var _ crmcore.InteractionRecorder = (*Writer)(nil)
