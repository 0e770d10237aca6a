package pgstore

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/crmcore"
)

// record is one write: an interaction, a wrap-up or an agent event. The
// journal stores records in its own binary format (journalcodec.go); the
// dead-letter file stores them as JSON lines for people to read.
type record struct {
	I *crmcore.Interaction `json:"i,omitempty"`
	W *crmcore.WrapUp      `json:"w,omitempty"`
	E *crmcore.AgentEvent  `json:"e,omitempty"`
}

const (
	segmentPrefix  = "wal-"
	segmentSuffix  = ".journal"
	deadLetterName = "interactions.rejected"
	// Files left by versions without segments: the spill file and the
	// files rotated aside for replay. They are renamed to segments at open.
	legacyJournalName  = "interactions.journal"
	legacyReplaySuffix = ".replay"
)

// A segment is deleted once all its records are committed, and only
// after the journal has moved on to the next one: the journal starts a new
// segment past defaultSegmentSize, or for the first write after segmentAge,
// so that under light load committed records do not linger (and are not
// applied again after a crash).
const (
	defaultSegmentSize = 64 << 20
	segmentAge         = 10 * time.Second
)

// errJournalClosed is returned by appends after the journal is closed.
var errJournalClosed = errors.New("pgstore: journal closed")

// journal is the write-ahead log of the interaction writer: numbered
// segment files, appended to by one syncer goroutine that writes and
// fsyncs everything appended since its last fsync as one group (group
// commit). An append returns the group it joined; the group is done when
// the fsync that covers it has returned. The writer's collector tails the
// segments up to the durable position (durable), and a segment is deleted
// once every record in it is committed to PostgreSQL.
type journal struct {
	dir     string
	segSize int64
	syncs   prometheus.Observer // seconds per write + fsync

	mu     sync.Mutex // guards buf, grp, closed and the dead-letter file
	buf    []byte     // frames appended since the last write
	grp    *syncGroup // the group the next fsync completes
	closed bool
	wake   chan struct{} // 1-buffered: the syncer has work
	done   chan struct{} // closed when the syncer has exited

	// Owned by the syncer.
	f       *os.File
	seg     uint64    // the segment being appended to
	size    int64     // its size
	started time.Time // when it was created
	bad     bool      // the last write failed: start a new segment first

	pmu     sync.Mutex    // guards durable
	durable position      // everything before it is on stable storage
	notify  chan struct{} // 1-buffered: durable moved

	first uint64 // the first segment of this run; earlier ones are from earlier runs
}

// position is a place in the journal: segment seg up to byte off. Every
// segment before seg is complete (sealed). sealed is set when the journal
// is closed: seg itself is complete too.
type position struct {
	seg    uint64
	off    int64
	sealed bool
}

// syncGroup is the records appended between two fsyncs; done is closed
// once they are on stable storage (or err says why not).
type syncGroup struct {
	done chan struct{}
	err  error
}

func segmentPath(dir string, n uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%s%016d%s", segmentPrefix, n, segmentSuffix))
}

// listSegments returns the numbers of the segments in dir, in order.
func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("pgstore: journal dir: %w", err)
	}
	var segs []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, segmentPrefix) || !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix), 10, 64)
		if err == nil {
			segs = append(segs, n)
		}
	}
	slices.Sort(segs)
	return segs, nil
}

// openJournal opens the journal in dir (creating it), renames files left by
// earlier versions to segments, and starts a new segment after the last
// one: records of earlier runs are never appended to, so a torn tail ends
// only its own segment. It returns the segments of earlier runs, oldest
// first, for replay.
func openJournal(dir string, segSize int64, syncs prometheus.Observer) (*journal, []uint64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("pgstore: journal dir: %w", err)
	}
	if err := adoptLegacy(dir); err != nil {
		return nil, nil, err
	}
	old, err := listSegments(dir)
	if err != nil {
		return nil, nil, err
	}
	j := &journal{dir: dir, segSize: segSize, syncs: syncs, grp: &syncGroup{done: make(chan struct{})},
		wake: make(chan struct{}, 1), done: make(chan struct{}), notify: make(chan struct{}, 1)}
	j.first = 1
	if len(old) > 0 {
		j.first = old[len(old)-1] + 1
	}
	if err := j.startSegment(j.first); err != nil {
		return nil, nil, err
	}
	j.durable = position{seg: j.seg, off: j.size}
	go j.syncer()
	return j, old, nil
}

// adoptLegacy renames the spill and replay files of versions without
// segments to segments numbered before any new one, oldest first.
func adoptLegacy(dir string) error {
	replays, err := filepath.Glob(filepath.Join(dir, legacyJournalName+".*"+legacyReplaySuffix))
	if err != nil {
		return err
	}
	slices.Sort(replays)
	files := replays
	if st, err := os.Stat(filepath.Join(dir, legacyJournalName)); err == nil && st.Size() > 0 {
		files = append(files, filepath.Join(dir, legacyJournalName))
	}
	if len(files) == 0 {
		return nil
	}
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	next := uint64(1)
	if len(segs) > 0 {
		next = segs[len(segs)-1] + 1
	}
	for _, f := range files {
		if err := os.Rename(f, segmentPath(dir, next)); err != nil {
			return fmt.Errorf("pgstore: journal: adopt %s: %w", filepath.Base(f), err)
		}
		next++
	}
	return syncDir(dir)
}

// startSegment creates segment n with its magic, synced with its directory
// entry, and makes it the one appended to.
func (j *journal) startSegment(n uint64) error {
	path := segmentPath(j.dir, n)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("pgstore: journal: new segment: %w", err)
	}
	_, err = f.Write(journalMagic)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(j.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(path) // a later attempt creates it again
		return fmt.Errorf("pgstore: journal: new segment: %w", err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, j.seg, j.size, j.bad, j.started = f, n, int64(len(journalMagic)), false, time.Now()
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("pgstore: journal dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("pgstore: journal dir sync: %w", err)
	}
	return nil
}

// append adds one encoded record frame and returns the group whose fsync
// will cover it.
func (j *journal) append(frame []byte) (*syncGroup, error) {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil, errJournalClosed
	}
	j.buf = append(j.buf, frame...)
	g := j.grp
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return g, nil
}

// syncer writes and fsyncs what was appended, one group at a time, until
// the journal is closed and everything appended is written.
func (j *journal) syncer() {
	defer close(j.done)
	var spare []byte
	for {
		j.mu.Lock()
		for len(j.buf) == 0 && !j.closed {
			j.mu.Unlock()
			<-j.wake
			j.mu.Lock()
		}
		data, g, closing := j.buf, j.grp, j.closed
		j.buf, j.grp = spare[:0], &syncGroup{done: make(chan struct{})}
		j.mu.Unlock()

		if len(data) > 0 {
			g.err = j.write(data)
		}
		close(g.done)
		spare = data
		if closing { // no append can follow: everything is written
			j.finish()
			return
		}
	}
}

// write puts one group on stable storage: a new segment first when the
// current one is full or a write to it failed, then write and fdatasync.
func (j *journal) write(data []byte) error {
	full := j.size > int64(len(journalMagic)) && (j.size+int64(len(data)) > j.segSize || time.Since(j.started) > segmentAge)
	if j.bad || full {
		if err := j.startSegment(j.seg + 1); err != nil {
			return err
		}
		j.publish(position{seg: j.seg, off: j.size})
	}
	start := time.Now()
	if _, err := j.f.Write(data); err != nil {
		j.bad = true
		return fmt.Errorf("pgstore: journal write: %w", err)
	}
	if err := fdatasync(j.f); err != nil {
		j.bad = true
		return fmt.Errorf("pgstore: journal sync: %w", err)
	}
	j.syncs.Observe(time.Since(start).Seconds())
	j.size += int64(len(data))
	j.publish(position{seg: j.seg, off: j.size})
	return nil
}

// finish closes the segment file and publishes the journal as sealed.
func (j *journal) finish() {
	j.f.Close()
	j.f = nil
	j.publish(position{seg: j.seg, off: j.size, sealed: true})
}

func (j *journal) publish(p position) {
	j.pmu.Lock()
	j.durable = p
	j.pmu.Unlock()
	select {
	case j.notify <- struct{}{}:
	default:
	}
}

// position returns how far the journal is on stable storage.
func (j *journal) position() position {
	j.pmu.Lock()
	defer j.pmu.Unlock()
	return j.durable
}

// close stops appends and returns once everything appended is written and
// synced (or failed).
func (j *journal) close() {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	<-j.done
}

// remove deletes segment n, which holds nothing left to write.
func (j *journal) remove(n uint64) error {
	if err := os.Remove(segmentPath(j.dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pgstore: journal: remove segment: %w", err)
	}
	return nil
}

// deadLetter appends rejected records with the reason to the dead-letter file.
func (j *journal) deadLetter(recs []record, reason error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(j.dir, deadLetterName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, r := range recs {
		b, _ := json.Marshal(struct {
			record
			Error string `json:"error"`
		}{r, reason.Error()})
		if _, err := f.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return f.Sync()
}

// segReader reads the records of one segment as the journal makes them
// durable: up to a limit that grows, or to the end of a sealed segment.
type segReader struct {
	n    uint64
	f    *os.File
	br   *bufio.Reader
	jr   journalReader
	off  int64                  // file offset of the next unread record
	gob  func() (record, error) // a gob stream of an earlier version
	torn bool                   // a torn or damaged record ended the segment
}

// openSegment opens segment n and reads its magic (a file from an earlier
// version may have none: a gob stream).
func openSegment(dir string, n uint64) (*segReader, error) {
	f, err := os.Open(segmentPath(dir, n))
	if err != nil {
		return nil, err
	}
	r := &segReader{n: n, f: f, br: bufio.NewReaderSize(f, 256<<10)}
	head, _ := r.br.Peek(len(journalMagic))
	switch {
	case bytes.Equal(head, journalMagic):
		r.jr.ver = journalFormat
	case bytes.Equal(head, journalMagicV5):
		r.jr.ver = 5
	case bytes.Equal(head, journalMagicV4):
		r.jr.ver = 4
	case bytes.Equal(head, journalMagicV3):
		r.jr.ver = 3
	case bytes.Equal(head, journalMagicV2):
		r.jr.ver = 2
	case len(head) == 0:
		return r, nil // empty: nothing to read
	default:
		r.gob = gobRecords(r.br)
		return r, nil
	}
	r.br.Discard(len(journalMagic))
	r.off = int64(len(journalMagic))
	r.jr.r = r.br
	return r, nil
}

// next returns the next record before limit (-1: the end of the file), or
// io.EOF when there is none (yet). A torn record ends the segment.
func (r *segReader) next(limit int64) (record, error) {
	if r.torn {
		return record{}, io.EOF
	}
	if r.gob != nil {
		rec, err := r.gob()
		if err != nil {
			r.torn = err != io.EOF
			return record{}, io.EOF
		}
		return rec, nil
	}
	if r.jr.r == nil || (limit >= 0 && r.off >= limit) {
		return record{}, io.EOF
	}
	before := r.jr.consumed
	rec, err := r.jr.next()
	if err != nil {
		r.torn = err != io.EOF
		return record{}, io.EOF
	}
	r.off += r.jr.consumed - before
	return rec, nil
}

func (r *segReader) close() { r.f.Close() }

// gobRecords reads a journal written by an earlier version: a gob stream
// of records.
func gobRecords(r io.Reader) func() (record, error) {
	dec := gob.NewDecoder(r)
	return func() (record, error) {
		var rec record
		err := dec.Decode(&rec)
		return rec, err
	}
}
