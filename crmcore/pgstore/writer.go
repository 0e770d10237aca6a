package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
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

	filesMu   sync.Mutex
	replaying map[string]*replayFile // journal files whose chunks are being written

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

// WithBatchSize sets the maximum records per transaction (default 8192);
// two transactions run at once.
func WithBatchSize(n int) WriterOption { return func(w *Writer) { w.batchSize = max(n, 1) } }

// WithFlushInterval sets how often the journal's buffer is written to its
// file and checked for records to replay (default 50 ms). A partial batch
// does not wait for it: it is written as soon as a connection is free.
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
		replaying: map[string]*replayFile{},
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

// flushers is how many transactions the writer runs at once, each on its
// own connection. Two keep both of the server's cores busy; more only add
// contention (raw COPY of 1M rows was slower over three connections than
// over two).
const flushers = 2

// run is the writer's collector: it turns the queue and the journal into
// chunks of at most batchSize records, encoding each record for COPY as it
// arrives, and hands full chunks to the flushers. While the flushers write,
// the next chunk fills: a partial chunk goes out as soon as the flushers can
// take it (one chunk may wait ready for them), so under light load records
// wait for nothing, and under heavy load chunks grow to batchSize.
func (w *Writer) run() {
	defer close(w.done)
	defer func() {
		if err := w.journal.close(); err != nil && w.finalErr == nil {
			w.finalErr = err
		}
	}()
	p := w.startFlushers()
	cur, err := w.collect(p)
	if perr := p.stop(); err == nil {
		err = perr
	}
	if err != nil {
		var rest []record
		if cur != nil {
			rest = cur.recs
		}
		w.finalErr = w.spillRest(rest, err)
	}
}

// collect runs until the queue is closed and drained and the journal
// replayed (nil), or until the pipeline fails; it then returns the chunk
// it was filling, whose records are not written yet.
func (w *Writer) collect(p *pipeline) (*chunk, error) {
	if err := w.replay(p); err != nil {
		return nil, err
	}
	tick := time.NewTicker(w.flushEvery)
	defer tick.Stop()
	cur := w.newChunk()
	add := func(r record, ok bool) (closed bool) {
		if ok {
			cur.add(r)
		}
		return !ok
	}
	for {
		// Take what is queued, up to a full chunk, without waiting.
		closed := false
	fill:
		for !closed && len(cur.recs) < w.batchSize {
			select {
			case r, ok := <-w.ch:
				closed = add(r, ok)
			default:
				break fill
			}
		}
		if !closed && len(cur.recs) < w.batchSize {
			// The queue is empty: give a partial chunk to the flushers
			// if they can take it, or wait for more records.
			var idle chan<- *chunk
			if len(cur.recs) > 0 {
				idle = p.work
			}
			select {
			case r, ok := <-w.ch:
				closed = add(r, ok)
			case idle <- cur:
				cur = w.newChunk()
			case <-tick.C:
				if err := w.journal.flush(); err != nil {
					w.log.Error("pgstore: journal flush failed", "err", err)
				}
				if w.journal.hasPending() {
					if err := w.replay(p); err != nil {
						return cur, err
					}
				}
			case <-p.failed:
				return cur, p.err()
			}
		}
		if closed || len(cur.recs) >= w.batchSize {
			if len(cur.recs) > 0 {
				if err := p.submit(cur); err != nil {
					return cur, err
				}
				cur = w.newChunk()
			}
			if closed || w.journal.hasPending() {
				if err := w.replay(p); err != nil {
					return cur, err
				}
			}
			if closed {
				return nil, nil
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

// replayFile is a journal file being replayed: it is deleted once every
// chunk read from it is in the database.
type replayFile struct {
	path    string
	pending int  // chunks handed to the flushers and not written yet
	sealed  bool // the whole file has been read
	failed  bool // a chunk could not be written: keep the file
}

// replay hands every journal file waiting for replay to the flushers, one
// chunk at a time; a file whose chunks are still being written (from an
// earlier call) is skipped.
func (w *Writer) replay(p *pipeline) error {
	files, err := w.journal.rotate()
	if err != nil {
		return err
	}
	for _, path := range files {
		w.filesMu.Lock()
		_, busy := w.replaying[path]
		f := &replayFile{path: path, pending: 1} // the reader's own hold, released by seal
		if !busy {
			w.replaying[path] = f
		}
		w.filesMu.Unlock()
		if busy {
			continue
		}
		skipped, err := readJournal(path, w.batchSize, func(recs []record) error {
			c := w.newChunk()
			for _, r := range recs {
				c.add(r)
			}
			c.file = f
			w.filesMu.Lock()
			f.pending++
			w.filesMu.Unlock()
			if err := p.submit(c); err != nil {
				w.fileDone(f, err)
				return err
			}
			return nil
		})
		if skipped > 0 {
			w.log.Warn("pgstore: skipped torn journal lines", "file", path, "lines", skipped)
		}
		if errors.Is(err, os.ErrNotExist) {
			err = nil // replayed and deleted since rotate listed it
		}
		w.filesMu.Lock()
		f.sealed = true
		w.filesMu.Unlock()
		if derr := w.fileDone(f, err); err == nil {
			err = derr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fileDone records that one chunk of f (or the reader's hold on it) is
// finished, with err; the last one to finish deletes the file if every
// chunk was written. The deletion happens under filesMu, so replay never
// sees a file that is out of replaying but still on disk.
func (w *Writer) fileDone(f *replayFile, err error) error {
	w.filesMu.Lock()
	defer w.filesMu.Unlock()
	f.pending--
	if err != nil {
		f.failed = true
	}
	if !f.sealed || f.pending > 0 {
		return nil
	}
	delete(w.replaying, f.path)
	if f.failed {
		return nil
	}
	if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pgstore: remove replayed journal: %w", err)
	}
	return nil
}

// pipeline is the flushers' side: chunks are handed over on work, and the
// first fatal error (the writer aborted, or the disk failing under the
// journal) closes failed.
type pipeline struct {
	w      *Writer
	work   chan *chunk
	wg     sync.WaitGroup
	failed chan struct{}

	mu       sync.Mutex
	firstErr error
}

func (w *Writer) startFlushers() *pipeline {
	p := &pipeline{w: w, work: make(chan *chunk, 1), failed: make(chan struct{})}
	for range flushers {
		p.wg.Go(p.flusher)
	}
	return p
}

// submit hands c to a flusher, waiting for one to be free; it fails (and c
// stays with the caller) once the pipeline has failed.
func (p *pipeline) submit(c *chunk) error {
	select {
	case p.work <- c:
		return nil
	case <-p.failed:
		return p.err()
	}
}

// stop waits for the flushers to finish what they were given.
func (p *pipeline) stop() error {
	close(p.work)
	p.wg.Wait()
	return p.err()
}

func (p *pipeline) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.firstErr
}

func (p *pipeline) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.firstErr == nil {
		p.firstErr = err
		close(p.failed)
	}
}

// flusher writes chunks until work is closed. A chunk it cannot write (the
// writer was aborted) goes back to the journal if it came from the queue;
// one read from a journal file is still in that file, which is kept.
func (p *pipeline) flusher() {
	w := p.w
	for c := range p.work {
		err := p.err()
		if err == nil {
			err = w.flushDurable(c)
		}
		if err != nil {
			p.fail(err)
			if c.file == nil {
				if jerr := w.journal.append(c.recs...); jerr != nil {
					p.fail(fmt.Errorf("pgstore: writer aborted (%v) and journal failed: %w", err, jerr))
				}
			}
		}
		if c.file != nil {
			if err == nil {
				w.m.Replayed.Add(float64(len(c.recs)))
			}
			if rerr := w.fileDone(c.file, err); rerr != nil {
				p.fail(rerr)
			}
		}
		c.release()
	}
}

// chunk is one transaction's worth of records, with its interactions
// already encoded for COPY and their references collected.
type chunk struct {
	recs         []record
	rows         []byte        // the interactions as binary COPY tuples
	ids          []pgtype.UUID // the interactions' ids, in order
	minID, maxID pgtype.UUID   // the smallest and largest of ids
	refs         [3]refSet     // distinct contact, agent and ticket ids they name
	wus          [][]any       // the wrap-ups as COPY rows
	file         *replayFile   // the journal file the records were read from; nil: the queue
}

// refSet is the distinct ids of one kind of reference, in first-seen order.
type refSet struct {
	ids  []pgtype.UUID
	seen map[[16]byte]struct{}
}

func (s *refSet) add(id string) {
	u := parseUUID(id)
	if !u.Valid {
		return
	}
	if _, ok := s.seen[u.Bytes]; ok {
		return
	}
	if s.seen == nil {
		s.seen = make(map[[16]byte]struct{})
	}
	s.seen[u.Bytes] = struct{}{}
	s.ids = append(s.ids, u)
}

// refTables are the tables of chunk.refs, in order.
var refTables = [3]string{"contacts", "agents", "tickets"}

func (w *Writer) newChunk() *chunk {
	c := &chunk{recs: make([]record, 0, min(w.batchSize, 1024))}
	if b, ok := rowBufs.Get().(*[]byte); ok {
		c.rows = (*b)[:0]
	}
	return c
}

// rowBufs recycles the chunks' COPY buffers (a megabyte or two each under
// load).
var rowBufs sync.Pool

// release recycles c's buffer once c is written or given up.
func (c *chunk) release() {
	if cap(c.rows) > 0 {
		b := c.rows[:0]
		c.rows = nil
		rowBufs.Put(&b)
	}
}

func chunkOf(recs []record) *chunk {
	c := &chunk{recs: make([]record, 0, len(recs))}
	for _, r := range recs {
		c.add(r)
	}
	return c
}

func (c *chunk) add(r record) {
	c.recs = append(c.recs, r)
	if in := r.I; in != nil {
		c.rows = appendInteractionRow(c.rows, in, refCleared{})
		id := parseUUID(in.ID)
		c.ids = append(c.ids, id)
		if !c.minID.Valid || bytes.Compare(id.Bytes[:], c.minID.Bytes[:]) < 0 {
			c.minID = id
		}
		if !c.maxID.Valid || bytes.Compare(id.Bytes[:], c.maxID.Bytes[:]) > 0 {
			c.maxID = id
		}
		c.refs[0].add(in.ContactID)
		c.refs[1].add(in.AgentID)
		c.refs[2].add(in.TicketID)
	}
	if r.W != nil {
		c.wus = append(c.wus, wrapupRow(r.W))
	}
}

// flushDurable writes c, retrying transient failures with backoff until
// it succeeds or the writer is aborted. Records the server rejects for
// their content are isolated by bisection and dead-lettered.
func (w *Writer) flushDurable(c *chunk) error {
	err := w.flushRetry(c)
	if err == nil || !permanent(err) {
		return err
	}
	if len(c.recs) == 1 {
		w.log.Error("pgstore: interaction rejected by the database, kept in the dead-letter file", "err", err)
		w.m.DeadLettered.Inc()
		return w.journal.deadLetter(c.recs, err)
	}
	half := len(c.recs) / 2
	if err := w.flushDurable(chunkOf(c.recs[:half])); err != nil {
		return err
	}
	return w.flushDurable(chunkOf(c.recs[half:]))
}

func (w *Writer) flushRetry(c *chunk) error {
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		start := time.Now()
		err := w.flushTx(w.runCtx, c)
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
			w.log.Warn("pgstore: interaction batch failed, retrying", "records", len(c.recs), "attempt", attempt+1, "err", err)
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

// wrapupLock orders transactions that add wrap-ups (exclusive) against
// those that add interactions (shared), so that the fold of a wrap-up and
// the insert of its interaction can never miss each other under READ
// COMMITTED.
const wrapupLock = int64(0x5b1e7a9)

// flushTx writes c in one transaction. Interactions go straight in with
// COPY after their references are resolved; if the COPY fails on a
// duplicate key (a batch retried after its commit was in fact applied, or
// the same interaction written twice), the chunk is written again through
// a temporary staging table with INSERT … ON CONFLICT DO NOTHING, so the
// outcome is the same set of rows, exactly once.
func (w *Writer) flushTx(ctx context.Context, c *chunk) error {
	err := w.writeTx(ctx, c, false)
	if isRowConflict(err) {
		err = w.writeTx(ctx, c, true)
	}
	if err != nil {
		return err
	}
	w.m.Written.WithLabelValues("interaction").Add(float64(len(c.ids)))
	w.m.Written.WithLabelValues("wrapup").Add(float64(len(c.wus)))
	return nil
}

func isRowConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "23503")
}

// writeTx is one attempt at c's transaction. Everything that comes before
// the COPY (the advisory lock, the reference lookups, the check for
// wrap-ups that overtook their interaction) travels in one round trip.
func (w *Writer) writeTx(ctx context.Context, c *chunk, staged bool) error {
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		if len(c.wus) > 0 {
			b.Queue("select pg_advisory_xact_lock($1)", wrapupLock)
		} else {
			b.Queue("select pg_advisory_xact_lock_shared($1)", wrapupLock)
		}
		resolve := len(c.ids) > 0 && !staged
		if resolve {
			for i, ref := range c.refs {
				if len(ref.ids) > 0 {
					b.Queue("select id from "+refTables[i]+" where id = any($1) for key share", ref.ids)
				}
			}
		}
		// Wrap-ups that arrived before their interaction are folded after
		// the insert (a chunk with wrap-ups of its own folds anyway).
		checkPending := len(c.ids) > 0 && len(c.wus) == 0
		if checkPending {
			b.Queue(wrapupsInRange, c.minID, c.maxID)
		}
		br := tx.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
		var dangling [3]map[[16]byte]bool
		anyDangling := false
		if resolve {
			for i, ref := range c.refs {
				if len(ref.ids) == 0 {
					continue
				}
				rs, err := br.Query()
				if err != nil {
					br.Close()
					return err
				}
				found, err := pgx.CollectRows(rs, pgx.RowTo[pgtype.UUID])
				if err != nil {
					br.Close()
					return err
				}
				if len(found) < len(ref.ids) {
					dangling[i] = missing(ref.ids, found)
					anyDangling = true
				}
			}
		}
		var pending bool
		if checkPending {
			if err := br.QueryRow().Scan(&pending); err != nil {
				br.Close()
				return err
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		if pending {
			// Wrap-ups exist in the chunk's id range: are any of them
			// for the chunk's own interactions?
			if err := tx.QueryRow(ctx, wrapupsForIDs, c.ids).Scan(&pending); err != nil {
				return err
			}
		}

		if len(c.ids) > 0 {
			rows := c.rows
			if anyDangling {
				rows = c.encodeClearing(dangling)
			}
			pgc := tx.Conn().PgConn()
			if !staged {
				if _, err := pgc.CopyFrom(ctx, copyStream(rows), copyInteractionsSQL); err != nil {
					return err
				}
			} else {
				if _, err := tx.Exec(ctx, stageSQL); err != nil {
					return err
				}
				if _, err := pgc.CopyFrom(ctx, copyStream(rows), copyStageSQL); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, insertStagedInteractions); err != nil {
					return err
				}
			}
		}
		if len(c.wus) > 0 {
			if _, err := tx.Exec(ctx, stageSQL); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_wrapups"}, wrapupCopyCols, pgx.CopyFromRows(c.wus)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, insertStagedWrapups); err != nil {
				return err
			}
			ids := slices.Clone(c.ids)
			for _, r := range c.wus {
				ids = append(ids, r[1].(pgtype.UUID))
			}
			_, err := tx.Exec(ctx, foldWrapups, ids)
			return err
		}
		if pending {
			_, err := tx.Exec(ctx, foldWrapups, c.ids)
			return err
		}
		return nil
	})
}

// Wrap-ups that overtook their interaction are found in two steps: a
// single index probe for any wrap-up in the range of the chunk's ids
// (interaction ids are UUIDv7, ordered by time, and wrap-ups normally
// follow their interaction, so this is almost always empty), and only
// then the exact test, one index probe per id.
const (
	wrapupsInRange = `select exists (select 1 from interaction_wrapups where interaction_id between $1 and $2)`
	wrapupsForIDs  = `select exists (select 1 from interaction_wrapups where interaction_id = any($1))`
)

// missing returns the ids of want that are not in found.
func missing(want, found []pgtype.UUID) map[[16]byte]bool {
	m := make(map[[16]byte]bool, len(want))
	for _, u := range want {
		m[u.Bytes] = true
	}
	for _, u := range found {
		delete(m, u.Bytes)
	}
	return m
}

// encodeClearing re-encodes c's interactions with the dangling references
// (contact, agent, ticket) written as NULL. This is what a foreign key
// would enforce, at a fraction of the cost: the distinct rows a chunk
// refers to are looked up once and locked FOR KEY SHARE until commit (so
// they cannot be deleted under it), and references to rows that do not
// exist are cleared.
func (c *chunk) encodeClearing(dangling [3]map[[16]byte]bool) []byte {
	rows := make([]byte, 0, len(c.rows))
	for _, r := range c.recs {
		in := r.I
		if in == nil {
			continue
		}
		isDangling := func(i int, id string) bool {
			u := parseUUID(id)
			return u.Valid && dangling[i][u.Bytes]
		}
		rows = appendInteractionRow(rows, in, refCleared{
			contact: isDangling(0, in.ContactID),
			agent:   isDangling(1, in.AgentID),
			ticket:  isDangling(2, in.TicketID),
		})
	}
	return rows
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

func wrapupRow(wu *crmcore.WrapUp) []any {
	return []any{pgUUID(wu.ID), pgUUID(wu.InteractionID), pgUUID(wu.AgentID), wu.At, wu.Disposition, wu.Notes,
		pgUUID(wu.TicketID), wu.SurveyScore}
}

// pgUUID converts a canonical UUID string (validated earlier) to its binary
// form; "" is NULL.
func pgUUID(s string) pgtype.UUID { return parseUUID(s) }

var _ crmcore.InteractionRecorder = (*Writer)(nil)
