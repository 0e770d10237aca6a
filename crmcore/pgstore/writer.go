package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/crmcore"
)

// ErrWriterClosed is returned by Write, AppendWrapUp and WriteEvents after
// Close.
var ErrWriterClosed = errors.New("pgstore: interaction writer closed")

// ErrNotStored is wrapped by the error of a Write or AppendWrapUp whose
// record the journal could not put on stable storage: it was not
// accepted.
var ErrNotStored = errors.New("pgstore: record not stored")

// Writer is the durable interaction write path (see the package doc). It is
// safe for concurrent use.
type Writer struct {
	pool       *pgxpool.Pool
	log        *slog.Logger
	m          *Metrics
	journal    *journal
	old        []uint64 // journal segments of earlier runs, replayed first
	node       string
	batchSize  int
	segSize    int64
	maxBackoff time.Duration

	segMu sync.Mutex          // guards segs and every segment's fields
	segs  map[uint64]*segment // segments being read or written
	oldWG sync.WaitGroup      // the earlier runs' segments not yet written

	// opened holds the ids of the records the collector has seen opened
	// (in progress) and not yet completed: their completion is an upsert.
	// Only the collector's goroutine uses it.
	opened map[[16]byte]struct{}

	abort     context.CancelFunc // ends retrying when Close's ctx expires
	runCtx    context.Context
	done      chan struct{}
	finalErr  error
	closeOnce sync.Once
}

// WriterOption configures a Writer.
type WriterOption func(*Writer)

// WithBatchSize sets the maximum records per transaction (default 8192);
// two transactions run at once.
func WithBatchSize(n int) WriterOption { return func(w *Writer) { w.batchSize = max(n, 1) } }

// WithSegmentSize sets the size past which the journal starts a new
// segment file (default 64 MiB).
func WithSegmentSize(n int64) WriterOption {
	return func(w *Writer) { w.segSize = max(n, int64(len(journalMagic))+1) }
}

// WithMaxBackoff caps the retry delay while PostgreSQL is unreachable (default 2 s).
func WithMaxBackoff(d time.Duration) WriterOption { return func(w *Writer) { w.maxBackoff = d } }

// WithNodeID names the process writing (default ""): every record is
// stored with it, and at start the writer closes as interrupted the
// records still in progress under this name, which only an earlier run of
// the same node can have left. Nodes sharing a database need distinct ids.
func WithNodeID(id string) WriterOption { return func(w *Writer) { w.node = id } }

// WithWriterLogger sets the logger (default slog.Default()).
func WithWriterLogger(l *slog.Logger) WriterOption { return func(w *Writer) { w.log = l } }

// WithWriterMetrics sets the metrics (default: unregistered).
func WithWriterMetrics(m *Metrics) WriterOption { return func(w *Writer) { w.m = m } }

// NewWriter opens (creating) the journal under dataDir and starts the
// writer's goroutines, which first write what earlier runs left in the
// journal, then close the records they left in progress, then follow the
// journal as it grows.
func NewWriter(pool *pgxpool.Pool, dataDir string, opts ...WriterOption) (*Writer, error) {
	w := &Writer{
		pool: pool, log: slog.Default(), batchSize: 8192, segSize: defaultSegmentSize,
		maxBackoff: 2 * time.Second, done: make(chan struct{}),
		segs: map[uint64]*segment{}, opened: map[[16]byte]struct{}{},
	}
	for _, o := range opts {
		o(w)
	}
	if w.m == nil {
		w.m = NewMetrics(nil)
	}
	w.m.segments = func() int {
		w.segMu.Lock()
		defer w.segMu.Unlock()
		return len(w.segs)
	}
	j, old, err := openJournal(dataDir, w.segSize, w.m.SyncSeconds)
	if err != nil {
		return nil, err
	}
	w.journal, w.old = j, old
	w.runCtx, w.abort = context.WithCancel(context.Background())
	go w.run()
	return w, nil
}

// Write stores an interaction. It validates the record (an invalid one is
// refused with an error wrapping crmcore.ErrInvalid), appends it to the
// journal and returns once the fsync that covers it has returned: a nil
// error means the record is on stable storage and will reach PostgreSQL,
// whatever happens to the process or the database. It never waits for the
// database. Writing a record again under the same ID replaces the one in
// progress (outcome crmcore.OutcomeInProgress), or says a callback was
// requested (the callback's call completes it); a completed record is
// kept.
// When ctx ends first the error wraps ctx's: the record may still be
// stored.
func (w *Writer) Write(ctx context.Context, in crmcore.Interaction) error {
	if err := in.Validate(); err != nil {
		return err
	}
	normalizeInteraction(&in)
	return w.append(ctx, record{I: &in})
}

// AppendWrapUp stores after-call work for an interaction (disposition,
// notes, ticket link, survey) as Write stores an interaction. It is kept
// as its own record and folded into the interaction, whichever of the two
// reaches the database first.
func (w *Writer) AppendWrapUp(ctx context.Context, wu crmcore.WrapUp) error {
	if wu.ID == "" {
		wu.ID = crmcore.NewID()
	}
	if err := wu.Validate(); err != nil {
		return err
	}
	wu.At = wu.At.UTC()
	return w.append(ctx, record{W: &wu})
}

// WriteEvents stores agent events (the event log) as Write stores an
// interaction: it validates every event (one invalid event refuses them
// all, with an error wrapping crmcore.ErrInvalid), journals them together
// and returns once the fsync that covers them has returned. An event
// written again under the same ID is stored once.
func (w *Writer) WriteEvents(ctx context.Context, evs ...crmcore.AgentEvent) error {
	if len(evs) == 0 {
		return nil
	}
	for i := range evs {
		if err := evs[i].Validate(); err != nil {
			return err
		}
	}
	utc := slices.Clone(evs) // the caller's events are left as they are
	recs := make([]record, len(utc))
	for i := range utc {
		utc[i].At = utc[i].At.UTC()
		recs[i].E = &utc[i]
	}
	return w.append(ctx, recs...)
}

// frameBufs recycles the encoding buffers of appends.
var frameBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// append journals recs and waits for the group commit that covers them.
func (w *Writer) append(ctx context.Context, recs ...record) error {
	bp := frameBufs.Get().(*[]byte)
	frame := (*bp)[:0]
	for i := range recs {
		frame = appendJournalRecord(frame, &recs[i])
	}
	g, err := w.journal.append(frame)
	*bp = frame
	frameBufs.Put(bp)
	if errors.Is(err, errJournalClosed) {
		return ErrWriterClosed
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotStored, err)
	}
	select {
	case <-g.done:
		if g.err != nil {
			return fmt.Errorf("%w: %w", ErrNotStored, g.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pgstore: record not confirmed stored: %w", ctx.Err())
	}
}

// Close stops intake and writes everything journaled to the database. If
// ctx ends first (PostgreSQL still down), the rest stays in the journal
// for the next start and an error wrapping ctx's is returned.
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(w.journal.close)
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

// run is the writer's collector: it reads the journal's records as they
// become durable, encodes them into chunks of at most batchSize records
// and hands the chunks to the flushers.
func (w *Writer) run() {
	defer close(w.done)
	p := w.startFlushers()
	err := w.collect(p)
	if perr := p.stop(); err == nil {
		err = perr
	}
	if err != nil {
		w.finalErr = fmt.Errorf("pgstore: writer close: %w (unwritten records kept in the journal)", err)
		w.log.Warn("pgstore: interaction writer stopped before the database caught up; records kept in the journal",
			"dir", w.journal.dir, "err", err)
	}
}

// collect writes the segments of earlier runs, closes the records they
// left in progress, then follows this run's segments until the journal is
// closed and read to its end (nil), or until the pipeline fails.
func (w *Writer) collect(p *pipeline) error {
	cur := w.newChunk()
	defer func() { w.dropChunk(cur, errAborted) }()
	for _, n := range w.old {
		if _, err := w.readSegment(p, n, true, &cur); err != nil {
			return err
		}
	}
	if err := w.closeInterrupted(p); err != nil {
		return err
	}
	clear(w.opened) // what earlier runs opened is closed now
	for n := w.journal.first; ; n++ {
		last, err := w.readSegment(p, n, false, &cur)
		if err != nil || last {
			return err
		}
	}
}

// errAborted marks a chunk the collector built but never handed over.
var errAborted = errors.New("pgstore: writer aborted")

// segment is one journal segment being read or written. It is deleted when
// it has been read to its end and every chunk drawn from it is committed.
type segment struct {
	n       uint64
	old     bool // left by an earlier run
	pending int  // chunks not yet written, plus the reader's hold until the end is read
	failed  bool // a chunk could not be written: keep the file
}

// readSegment hands the records of segment n to the flushers as the
// journal makes them durable, until the segment is complete (the journal
// moved on to the next one, or was closed: then last is true). A segment
// of an earlier run is complete as it is.
func (w *Writer) readSegment(p *pipeline, n uint64, old bool, cur **chunk) (last bool, err error) {
	seg := &segment{n: n, old: old, pending: 1}
	w.segMu.Lock()
	w.segs[n] = seg
	w.segMu.Unlock()
	if old {
		w.oldWG.Add(1)
	}
	r, err := openSegment(w.journal.dir, n)
	if err != nil {
		w.segmentDone(seg, err)
		if old && errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("pgstore: journal: %w", err)
	}
	defer r.close()
	for {
		limit := int64(-1)
		pos := w.journal.position()
		complete := old || pos.seg > n || pos.sealed
		if !complete {
			limit = pos.off
		}
		for {
			rec, err := r.next(limit)
			if err == io.EOF {
				break
			}
			if old {
				w.m.Replayed.Inc()
			}
			if (*cur).seg == nil {
				(*cur).seg = w.holdSegment(seg)
			}
			w.add(*cur, rec)
			if len((*cur).recs) >= w.batchSize {
				if err := p.submit(*cur); err != nil {
					return false, err
				}
				*cur = w.newChunk()
			}
		}
		if complete {
			if r.torn {
				w.log.Warn("pgstore: journal segment ends in a torn record", "segment", n)
			}
			if len((*cur).recs) > 0 {
				if err := p.submit(*cur); err != nil {
					return false, err
				}
				*cur = w.newChunk()
			}
			w.segmentDone(seg, nil) // the reader's hold
			return !old && pos.sealed && pos.seg == n, nil
		}
		// Wait for more; meanwhile a partial chunk goes to a flusher as
		// soon as one is free, so under light load a record waits for
		// nothing and under heavy load chunks grow to full size.
		var idle chan<- *chunk
		if len((*cur).recs) > 0 {
			idle = p.work
		}
		select {
		case <-w.journal.notify:
		case idle <- *cur:
			*cur = w.newChunk()
		case <-p.failed:
			return false, p.err()
		}
	}
}

// holdSegment counts one more chunk drawn from s.
func (w *Writer) holdSegment(s *segment) *segment {
	w.segMu.Lock()
	s.pending++
	w.segMu.Unlock()
	return s
}

// segmentDone records that one chunk of s (or the reader's hold on it) is
// finished, with err; the last one deletes the segment if every chunk was
// written.
func (w *Writer) segmentDone(s *segment, err error) {
	w.segMu.Lock()
	s.pending--
	if err != nil {
		s.failed = true
	}
	last := s.pending == 0
	if last {
		delete(w.segs, s.n)
	}
	w.segMu.Unlock()
	if !last {
		return
	}
	if !s.failed {
		if rerr := w.journal.remove(s.n); rerr != nil {
			w.log.Error("pgstore: journal segment written but not removed", "segment", s.n, "err", rerr)
		}
	}
	if s.old {
		w.oldWG.Done()
	}
}

// dropChunk releases a chunk that will not be written.
func (w *Writer) dropChunk(c *chunk, err error) {
	if c.seg != nil {
		w.segmentDone(c.seg, err)
		c.seg = nil
	}
	c.release()
}

// closeInProgressSQL closes as failed the records node $1 left in
// progress, adding the routing reason $2 (why they were left). The end of
// such a call is unknown, so ended_at stays NULL. A record is closed once:
// a closed record no longer matches.
const closeInProgressSQL = `update interactions set outcome = 'failed',
	routing_reasons = routing_reasons || $2::text
	where node = $1 and outcome = 'in-progress'`

// closeInterrupted waits until every record of earlier runs is committed,
// then closes the records still in progress under this node's id: no
// record of this run has been handed to the flushers yet, so all of them
// were opened by a process that is gone. It retries while PostgreSQL is
// unreachable.
func (w *Writer) closeInterrupted(p *pipeline) error {
	written := make(chan struct{})
	go func() { w.oldWG.Wait(); close(written) }()
	select {
	case <-written:
	case <-p.failed:
		return p.err()
	}
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		tag, err := w.pool.Exec(w.runCtx, closeInProgressSQL, w.node, crmcore.ReasonInterrupted)
		if err == nil {
			if n := tag.RowsAffected(); n > 0 {
				w.m.Interrupted.Add(float64(n))
				w.log.Warn("pgstore: interactions left in progress by an earlier run closed as failed",
					"records", n, "reason", crmcore.ReasonInterrupted, "node", w.node)
			}
			return nil
		}
		if w.runCtx.Err() != nil {
			return w.runCtx.Err()
		}
		if permanent(err) {
			return fmt.Errorf("pgstore: close interrupted interactions: %w", err)
		}
		if attempt == 0 || attempt%20 == 0 {
			w.log.Warn("pgstore: closing interrupted interactions failed, retrying", "attempt", attempt+1, "err", err)
		}
		select {
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		case <-w.runCtx.Done():
			return w.runCtx.Err()
		}
		backoff = min(backoff*2, w.maxBackoff)
	}
}

// add puts r into c, deciding how its interaction is written: an
// interaction completing one this writer saw opened is an upsert, anything
// else a plain COPY (a conflict there sends the whole chunk through the
// upsert).
func (w *Writer) add(c *chunk, r record) {
	upsert := false
	if in := r.I; in != nil {
		id := parseUUID(in.ID).Bytes
		if in.Outcome == crmcore.OutcomeInProgress {
			w.opened[id] = struct{}{}
		} else if _, ok := w.opened[id]; ok {
			delete(w.opened, id)
			upsert = true
		}
	}
	c.add(r, upsert)
}

var _ crmcore.InteractionRecorder = (*Writer)(nil)
