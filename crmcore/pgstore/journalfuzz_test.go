package pgstore

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"switchboard/crmcore"
)

// FuzzJournalReader: whatever a journal file holds (torn, damaged, of
// any format), reading it never panics, and every record it yields
// encodes back to a frame that reads as the same record.
func FuzzJournalReader(f *testing.F) {
	in := testInteraction(1, crmcore.NewID(), "")
	normalizeInteraction(&in)
	ev := crmcore.AgentEvent{ID: crmcore.NewID(), At: time.Unix(1_700_000_000, 5).UTC(), Kind: crmcore.AgentEventPresence,
		AgentID: crmcore.NewID(), Presence: crmcore.AgentPresenceNotReady, Reason: "break", Wait: time.Second}
	recs := []record{{I: &in}, {E: &ev}, {W: &crmcore.WrapUp{ID: crmcore.NewID(), InteractionID: in.ID, Notes: "n"}}}
	for ver := 2; ver <= journalFormat; ver++ {
		var b []byte
		for i := range recs {
			b = appendRecordFormat(b, &recs[i], ver)
		}
		f.Add(ver, b)
	}
	f.Fuzz(func(t *testing.T, ver int, data []byte) {
		ver = 2 + (ver&0xff)%(journalFormat-1)
		jr := &journalReader{ver: ver, r: bufio.NewReader(bytes.NewReader(data))}
		for {
			r, err := jr.next()
			if err != nil {
				return
			}
			frame := appendRecordFormat(nil, &r, ver)
			again, err := (&journalReader{ver: ver, r: bufio.NewReader(bytes.NewReader(frame))}).next()
			if err != nil {
				t.Fatalf("a record read back does not read again: %v", err)
			}
			if d := cmp.Diff(r, again, cmp.AllowUnexported(record{}), cmpopts.EquateEmpty(), cmpopts.EquateNaNs()); d != "" {
				t.Fatalf("record changed by a round trip:\n%s", d)
			}
		}
	})
}
