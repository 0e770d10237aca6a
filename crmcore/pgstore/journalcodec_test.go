package pgstore

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"switchboard/crmcore"
)

// fill sets every field of v (recursively) to a non-zero value, so that a
// field the codec forgets shows up as a difference after a round trip. A
// field of a kind it does not know fails the test: teach it, and the codec.
func fill(t *testing.T, v reflect.Value, seed *int) {
	t.Helper()
	*seed++
	switch {
	case v.Type() == reflect.TypeOf(time.Time{}):
		v.Set(reflect.ValueOf(time.Unix(int64(1_700_000_000+*seed), int64(*seed*1001)).UTC()))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + string(rune('a'+*seed%26)) + "ü\n")
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*seed) * 1_000_003)
	case reflect.Float64:
		v.SetFloat(float64(*seed) / 7)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), seed)
		v.Set(p)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(t, k, seed)
			k.SetString(fmt.Sprintf("q%d", i))
			fill(t, e, seed)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), seed)
		}
		v.Set(s)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i), seed)
		}
	default:
		t.Fatalf("fill: field of kind %s: extend fill and the journal codec", v.Kind())
	}
}

// TestJournalCodecCoversEveryField round-trips records with every field set
// (and with every optional field empty) through the journal format.
func TestJournalCodecCoversEveryField(t *testing.T) {
	seed := 0
	var full crmcore.Interaction
	fill(t, reflect.ValueOf(&full).Elem(), &seed)
	var wu crmcore.WrapUp
	fill(t, reflect.ValueOf(&wu).Elem(), &seed)
	var ev crmcore.AgentEvent
	fill(t, reflect.ValueOf(&ev).Elem(), &seed)
	neg := -3
	recs := []record{
		{I: &full},
		{W: &wu},
		{E: &ev},
		{E: &crmcore.AgentEvent{ID: crmcore.NewID()}},
		{I: &crmcore.Interaction{ID: crmcore.NewID(), ArrivedAt: time.Date(1969, 7, 20, 20, 17, 40, 5, time.UTC)}},
		{W: &crmcore.WrapUp{ID: crmcore.NewID(), SurveyScore: &neg}},
	}
	var b []byte
	for i := range recs {
		b = appendJournalRecord(b, &recs[i])
	}
	jr := &journalReader{ver: journalFormat, r: bufio.NewReader(bytes.NewReader(b))}
	for i, want := range recs {
		got, err := jr.next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if d := cmp.Diff(want, got, cmp.AllowUnexported(record{}), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("record %d round trip (-want +got):\n%s", i, d)
		}
	}
	if _, err := jr.next(); err == nil || err.Error() != "EOF" {
		t.Fatalf("after the last record: %v, want EOF", err)
	}

	// Every cut and every flipped byte is detected, never misread.
	for cut := 1; cut < len(b); cut++ {
		jr := &journalReader{ver: journalFormat, r: bufio.NewReader(bytes.NewReader(b[:cut]))}
		n := 0
		for {
			if _, err := jr.next(); err != nil {
				break
			}
			n++
		}
		if n > len(recs) {
			t.Fatalf("cut at %d: %d records", cut, n)
		}
	}
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x40
		jr := &journalReader{ver: journalFormat, r: bufio.NewReader(bytes.NewReader(bad))}
		for j := range recs {
			got, err := jr.next()
			if err != nil {
				break
			}
			if d := cmp.Diff(recs[j], got, cmp.AllowUnexported(record{}), cmpopts.EquateEmpty()); d != "" {
				t.Fatalf("byte %d flipped: record %d misread:\n%s", i, j, d)
			}
		}
	}
}

// journalFile is a journal file in format ver, with magic, as the
// version that wrote that format did.
func journalFile(magic []byte, ver int, recs []record) []byte {
	b := slices.Clone(magic)
	for i := range recs {
		b = appendRecordFormat(b, &recs[i], ver)
	}
	return b
}

// TestReadSegmentFormats reads a segment in each format the journal has
// had: a gob stream (no magic), format 2 (no surveys), 3 (no parties,
// holds or speech), 4 (no agent events), 5 (no campaign fields) and the
// current one.
func TestReadSegmentFormats(t *testing.T) {
	dir := t.TempDir()
	in := testInteraction(1, crmcore.NewID(), "")
	normalizeInteraction(&in)
	recs := []record{{I: &in}, {W: &crmcore.WrapUp{ID: crmcore.NewID(), InteractionID: in.ID, At: in.ArrivedAt, Notes: "n"}}}

	var gobFile bytes.Buffer
	enc := gob.NewEncoder(&gobFile)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	v4 := journalFile(journalMagicV4, 4, recs)
	ev := crmcore.AgentEvent{ID: crmcore.NewID(), At: in.ArrivedAt, Kind: crmcore.AgentEventLogin, AgentID: crmcore.NewID(),
		Presence: crmcore.AgentPresenceReady, Wait: 1500 * time.Millisecond}
	recs = append(recs, record{E: &ev})
	v5 := journalFile(journalMagicV5, 5, recs)
	dial := testInteraction(2, "", "")
	dial.Direction, dial.Campaign, dial.CampaignResult = crmcore.Outbound, "spring", "no-answer"
	normalizeInteraction(&dial)
	cur := journalFile(journalMagic, journalFormat, append(slices.Clone(recs), record{I: &dial}))
	v3 := journalFile(journalMagicV3, 3, recs[:2])
	v2 := journalFile(journalMagicV2, 2, recs[:2])
	for i, tc := range []struct {
		name string
		data []byte
		want []record
	}{{"gob", gobFile.Bytes(), recs[:2]}, {"v2", v2, recs[:2]}, {"v3", v3, recs[:2]}, {"v4", v4, recs[:2]},
		{"v5", v5, recs}, {"current", cur, append(slices.Clone(recs), record{I: &dial})}} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(segmentPath(dir, uint64(i+1)), tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := openSegment(dir, uint64(i+1))
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			var got []record
			for {
				rec, err := r.next(-1)
				if err != nil {
					break
				}
				got = append(got, rec)
			}
			if r.torn {
				t.Error("segment read as torn")
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(record{}), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("records (-want +got):\n%s", d)
			}
		})
	}
}
