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
	"sort"
	"sync"
	"time"

	"switchboard/crmcore"
)

// record is one queued write: an interaction or a wrap-up. The journal
// stores records in its own binary format (journalcodec.go); the
// dead-letter file stores them as JSON lines for people to read.
type record struct {
	I *crmcore.Interaction `json:"i,omitempty"`
	W *crmcore.WrapUp      `json:"w,omitempty"`
}

const (
	journalName    = "interactions.journal"
	replaySuffix   = ".replay"
	deadLetterName = "interactions.rejected"
)

// journal is the append-only spill file. Appends go to journalName; to
// replay, the file is rotated to a numbered *.replay file, which is deleted
// once every record in it is in the database.
type journal struct {
	mu      sync.Mutex
	dir     string
	f       *os.File
	bw      *bufio.Writer
	buf     []byte // encoding scratch
	pending int    // records appended to the current file
	seq     int
}

func openJournal(dir string) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgstore: journal dir: %w", err)
	}
	j := &journal{dir: dir}
	// A journal left by a previous run is moved aside for replay before
	// anything is appended, so that new lines never follow a torn one.
	if st, err := os.Stat(filepath.Join(dir, journalName)); err == nil && st.Size() > 0 {
		dst := filepath.Join(dir, fmt.Sprintf("%s.%d-%06d%s", journalName, time.Now().UnixNano(), 0, replaySuffix))
		if err := os.Rename(filepath.Join(dir, journalName), dst); err != nil {
			return nil, fmt.Errorf("pgstore: journal rotate: %w", err)
		}
	}
	if err := j.open(); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *journal) open() error {
	f, err := os.OpenFile(filepath.Join(j.dir, journalName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgstore: open journal: %w", err)
	}
	j.f, j.bw = f, bufio.NewWriterSize(f, 256<<10)
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		j.bw.Write(journalMagic) // a write to a bufio.Writer fails only with the flush that follows
	}
	return nil
}

// append adds recs to the journal's buffer; flush (called by the writer
// every flush interval), rotate and close push it to the file.
func (j *journal) append(recs ...record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("pgstore: journal closed")
	}
	for i := range recs {
		j.buf = appendJournalRecord(j.buf[:0], &recs[i])
		if _, err := j.bw.Write(j.buf); err != nil {
			return fmt.Errorf("pgstore: journal write: %w", err)
		}
	}
	j.pending += len(recs)
	return nil
}

// flush writes buffered records to the file.
func (j *journal) flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	return j.bw.Flush()
}

// hasPending reports whether records were appended since the last rotation.
func (j *journal) hasPending() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.pending > 0
}

// rotate moves the current journal aside for replay (when it has records)
// and returns every replay file waiting, oldest first.
func (j *journal) rotate() ([]string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.pending > 0 && j.f != nil {
		if err := j.bw.Flush(); err != nil {
			return nil, fmt.Errorf("pgstore: journal flush: %w", err)
		}
		_ = j.f.Sync()
		j.f.Close()
		j.f = nil
		j.seq++
		dst := filepath.Join(j.dir, fmt.Sprintf("%s.%d-%06d%s", journalName, time.Now().UnixNano(), j.seq, replaySuffix))
		if err := os.Rename(filepath.Join(j.dir, journalName), dst); err != nil {
			return nil, fmt.Errorf("pgstore: journal rotate: %w", err)
		}
		if err := j.open(); err != nil {
			return nil, err
		}
		j.pending = 0
	}
	matches, err := filepath.Glob(filepath.Join(j.dir, journalName+".*"+replaySuffix))
	if err != nil {
		return nil, err
	}
	sort.Strings(matches)
	return matches, nil
}

// close flushes, syncs and closes the journal file.
func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.bw.Flush()
	if serr := j.f.Sync(); err == nil {
		err = serr
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	return err
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

// readJournal decodes a replay file and hands its records to fn in chunks of
// at most n. A torn tail (a crash mid-append) ends the file early and is
// reported as skipped = 1.
func readJournal(path string, n int, fn func([]record) error) (skipped int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	next := gobRecords(br)
	if head, err := br.Peek(len(journalMagic)); err == nil && bytes.Equal(head, journalMagic) {
		br.Discard(len(journalMagic))
		jr := &journalReader{r: br}
		next = jr.next
	}
	chunk := make([]record, 0, n)
	for {
		r, derr := next()
		if derr == nil && (r.I != nil || r.W != nil) {
			chunk = append(chunk, r)
		}
		if len(chunk) == n || (derr != nil && len(chunk) > 0) {
			if err := fn(chunk); err != nil {
				return skipped, err
			}
			chunk = make([]record, 0, n)
		}
		switch {
		case derr == io.EOF:
			return skipped, nil
		case derr != nil:
			return 1, nil
		}
	}
}

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
