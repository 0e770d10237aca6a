package pgstore

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"switchboard/crmcore"
)

// flushers is how many transactions the writer runs at once, each on its
// own connection. Two keep both of the server's cores busy; more only add
// contention (raw COPY of 1M rows was slower over three connections than
// over two).
const flushers = 2

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
// writer was aborted) stays in its journal segment, which is kept.
func (p *pipeline) flusher() {
	w := p.w
	for c := range p.work {
		err := p.err()
		if err == nil {
			err = w.flushDurable(c)
		}
		if err != nil {
			p.fail(err)
		}
		w.dropChunk(c, err)
	}
}

// chunk is one transaction's worth of records, with its interactions
// already encoded for COPY and their references collected.
type chunk struct {
	recs         []record
	rows         []byte        // the interactions to COPY in, as binary COPY tuples
	ups          []byte        // the interactions that complete an open record, to upsert
	upsert       []bool        // per interaction, in order: is it in ups?
	ids          []pgtype.UUID // the interactions' ids, in order
	minID, maxID pgtype.UUID   // the smallest and largest of ids
	refs         [3]refSet     // distinct contact, agent and ticket ids they name
	wus          [][]any       // the wrap-ups as COPY rows
	evs          []byte        // the agent events, as binary COPY tuples
	nevs         int           // how many
	node         string        // the node the interactions are stored under
	seg          *segment      // the journal segment the records were read from
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
	c := &chunk{recs: make([]record, 0, min(w.batchSize, 1024)), node: w.node}
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

// chunkOf makes a chunk of part of c's records (bisection), all of them
// to COPY: a conflict sends it through the upsert.
func chunkOf(c *chunk, recs []record) *chunk {
	d := &chunk{recs: make([]record, 0, len(recs)), node: c.node}
	for _, r := range recs {
		d.add(r, false)
	}
	return d
}

// add appends r; upsert says that r's interaction completes an open record.
func (c *chunk) add(r record, upsert bool) {
	c.recs = append(c.recs, r)
	if in := r.I; in != nil {
		if upsert {
			c.ups = appendInteractionRow(c.ups, in, refCleared{}, c.node)
		} else {
			c.rows = appendInteractionRow(c.rows, in, refCleared{}, c.node)
		}
		c.upsert = append(c.upsert, upsert)
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
	if r.E != nil {
		c.evs = appendAgentEventRow(c.evs, r.E)
		c.nevs++
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
	if err := w.flushDurable(chunkOf(c, c.recs[:half])); err != nil {
		return err
	}
	return w.flushDurable(chunkOf(c, c.recs[half:]))
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

var wrapupCopyCols = []string{"id", "interaction_id", "agent_id", "at", "disposition", "notes", "ticket_id", "survey_score", "survey"}

// upsertStagedInteractions writes the staged rows with dangling references
// cleared (so one interaction naming a deleted contact cannot block the
// batch), one row per id: a completed record wins over one in progress,
// in the stage and in the table, and a completed row is never replaced (a
// retried or replayed batch changes nothing) but for a callback requested,
// which the record of the callback's call completes (a restarted router
// calls back the callers its predecessor owed), and for a call a node
// turned away or lost before answering it (voice.Journey.Refused: one
// routing reason, "refused: …" or "ended by the caller: …"): an inbound
// call's record id comes from its signalling, and the SIP edge may have
// handed the same call to another node, whose record is the call's.
// Summary columns that
// wrap-ups may have folded in already keep their value when the new row
// has none; the fold that follows recomputes them anyway.
const upsertStagedInteractions = `
insert into interactions (id, call_id, direction, channel, ani, dnis, contact_id, ivr_path, queue, agent_id,
	arrived_at, queued_at, offered_at, answered_at, ended_at, wait_ms, ring_ms, talk_ms, hold_ms, wrapup_ms,
	outcome, routing_reasons, recording, disposition, notes, ticket_id, survey_score, node, survey, parties, holds,
	campaign, campaign_result)
select distinct on (s.id) s.id, s.call_id, s.direction, s.channel, s.ani, s.dnis, c.id, s.ivr_path, s.queue, a.id,
	s.arrived_at, s.queued_at, s.offered_at, s.answered_at, s.ended_at, s.wait_ms, s.ring_ms, s.talk_ms, s.hold_ms,
	s.wrapup_ms, s.outcome, s.routing_reasons, s.recording, s.disposition, s.notes, t.id, s.survey_score, s.node, s.survey,
	s.parties, s.holds, s.campaign, s.campaign_result
from stage_interactions s
left join contacts c on c.id = s.contact_id
left join agents a on a.id = s.agent_id
left join tickets t on t.id = s.ticket_id
order by s.id, s.outcome = 'in-progress'
on conflict (id) do update set call_id = excluded.call_id, direction = excluded.direction,
	channel = excluded.channel, ani = excluded.ani, dnis = excluded.dnis, contact_id = excluded.contact_id,
	ivr_path = excluded.ivr_path, queue = excluded.queue, agent_id = excluded.agent_id,
	arrived_at = excluded.arrived_at, queued_at = excluded.queued_at, offered_at = excluded.offered_at,
	answered_at = excluded.answered_at, ended_at = excluded.ended_at, wait_ms = excluded.wait_ms,
	ring_ms = excluded.ring_ms, talk_ms = excluded.talk_ms, hold_ms = excluded.hold_ms,
	wrapup_ms = excluded.wrapup_ms, outcome = excluded.outcome, routing_reasons = excluded.routing_reasons,
	recording = excluded.recording, notes = excluded.notes, node = excluded.node,
	parties = excluded.parties, holds = excluded.holds, campaign = excluded.campaign,
	campaign_result = excluded.campaign_result,
	disposition = coalesce(nullif(excluded.disposition, ''), interactions.disposition),
	ticket_id = coalesce(excluded.ticket_id, interactions.ticket_id),
	survey_score = coalesce(excluded.survey_score, interactions.survey_score),
	survey = coalesce(excluded.survey, interactions.survey)
where interactions.outcome = 'in-progress'
	or (interactions.outcome = 'callback-requested' and excluded.outcome <> 'in-progress')
	or (interactions.answered_at is null and interactions.queued_at is null and cardinality(interactions.routing_reasons) = 1
		and (interactions.routing_reasons[1] like 'refused: %' or interactions.routing_reasons[1] like 'ended by the caller: %'))`

const insertStagedWrapups = `
insert into interaction_wrapups (id, interaction_id, agent_id, at, disposition, notes, ticket_id, survey_score, survey)
select distinct on (id) id, interaction_id, agent_id, at, disposition, notes, ticket_id, survey_score, survey from stage_wrapups
on conflict (id) do nothing`

// foldWrapups recomputes the wrap-up summary columns of every interaction
// touched by this batch from the append-only wrap-up rows: latest
// disposition, ticket, survey score and survey win; notes accumulate in
// order.
const foldWrapups = `
update interactions i set
	disposition = coalesce(w.disposition, i.disposition),
	wrapup_notes = coalesce(w.notes, ''),
	ticket_id = coalesce((select id from tickets where id = w.ticket_id), i.ticket_id),
	survey_score = coalesce(w.survey_score, i.survey_score),
	survey = coalesce(w.survey, i.survey)
from (
	select interaction_id,
		(array_agg(disposition order by at desc, id desc) filter (where disposition <> ''))[1] as disposition,
		string_agg(notes, E'\n' order by at, id) filter (where notes <> '') as notes,
		(array_agg(ticket_id order by at desc, id desc) filter (where ticket_id is not null))[1] as ticket_id,
		(array_agg(survey_score order by at desc, id desc) filter (where survey_score is not null))[1] as survey_score,
		(array_agg(survey order by at desc, id desc) filter (where survey is not null))[1] as survey
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
// COPY after their references are resolved, except those completing a
// record opened earlier, which are upserted through a temporary staging
// table (COPY cannot update). If the COPY fails on a duplicate key (a
// batch retried after its commit was in fact applied, a journal segment
// replayed after a crash, a record completed before its opening reached
// the database), the whole chunk is written again through the staging
// table, so the outcome is one row per interaction.
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
	w.m.Written.WithLabelValues("event").Add(float64(c.nevs))
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

		if err := enqueueRecordEvents(ctx, tx, c.recs); err != nil {
			return err
		}
		if err := c.copyEvents(ctx, tx, staged); err != nil {
			return err
		}
		if len(c.ids) > 0 {
			rows, ups := c.rows, c.ups
			if anyDangling {
				rows, ups = c.encodeClearing(dangling)
			}
			if staged {
				rows, ups = nil, slices.Concat(rows, ups)
			}
			pgc := tx.Conn().PgConn()
			if len(rows) > 0 {
				if _, err := pgc.CopyFrom(ctx, copyStream(rows), copyInteractionsSQL); err != nil {
					return err
				}
			}
			if len(ups) > 0 {
				if _, err := tx.Exec(ctx, stageSQL); err != nil {
					return err
				}
				if _, err := pgc.CopyFrom(ctx, copyStream(ups), copyStageSQL); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, upsertStagedInteractions); err != nil {
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

// encodeClearing re-encodes c's interactions (to COPY and to upsert) with
// the dangling references (contact, agent, ticket) written as NULL. This
// is what a foreign key would enforce, at a fraction of the cost: the
// distinct rows a chunk refers to are looked up once and locked FOR KEY
// SHARE until commit (so they cannot be deleted under it), and references
// to rows that do not exist are cleared.
func (c *chunk) encodeClearing(dangling [3]map[[16]byte]bool) (rows, ups []byte) {
	rows = make([]byte, 0, len(c.rows))
	ups = make([]byte, 0, len(c.ups))
	k := 0
	for _, r := range c.recs {
		in := r.I
		if in == nil {
			continue
		}
		isDangling := func(i int, id string) bool {
			u := parseUUID(id)
			return u.Valid && dangling[i][u.Bytes]
		}
		clear := refCleared{
			contact: isDangling(0, in.ContactID),
			agent:   isDangling(1, in.AgentID),
			ticket:  isDangling(2, in.TicketID),
		}
		if c.upsert[k] {
			ups = appendInteractionRow(ups, in, clear, c.node)
		} else {
			rows = appendInteractionRow(rows, in, clear, c.node)
		}
		k++
	}
	return rows, ups
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
		pgUUID(wu.TicketID), wu.SurveyScore, surveyValue(wu.Survey)}
}

// pgUUID converts a canonical UUID string (validated earlier) to its binary
// form; "" is NULL.
func pgUUID(s string) pgtype.UUID { return parseUUID(s) }
