package pgstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"time"

	"switchboard/crmcore"
)

// The journal's file format. Every record is written to the journal and
// read back from it on its way to PostgreSQL, so its codec is on the hot
// path. A journal segment is
//
//	magic "SBJ\x06\n", then per record:
//	len(payload) uint32 | payload | CRC-32C(payload) uint32 (big-endian)
//
// and a payload is a kind byte ('I' interaction, 'W' wrap-up, 'E' agent
// event) followed by the fields in declaration order: strings as uvarint
// length + bytes, times as varint Unix seconds + uvarint nanoseconds
// (UTC), optional values behind a 0/1 presence byte, slices as uvarint
// count + elements, a survey as uvarint count + (name, varint score) in
// name order; an interaction ends with its parties (agent, number, role,
// joined, left) and holds (agent, from, to), each as a slice, then its
// campaign and campaign result; an IVR step is its node, digits, speech
// and confidence (a big-endian float64); an agent event's wait is a
// varint of nanoseconds.
// A record cut short by a crash, or whose checksum fails, ends the file
// (it is reported as skipped). Files of format 5 (the same without the
// campaign fields), 4 (nor agent events), 3 (nor the parties, holds and
// speech), 2 (nor the surveys) and files without a magic (gob streams)
// are still read.
// TestJournalCodecCoversEveryField fails when a field is added to
// crmcore.Interaction, WrapUp, IVRStep or AgentEvent and not here.

var (
	journalMagic   = []byte("SBJ\x06\n")
	journalMagicV5 = []byte("SBJ\x05\n")
	journalMagicV4 = []byte("SBJ\x04\n")
	journalMagicV3 = []byte("SBJ\x03\n")
	journalMagicV2 = []byte("SBJ\x02\n")
)

// maxJournalRecord bounds a record's payload; a longer length prefix can
// only be a torn or corrupt file.
const maxJournalRecord = 16 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errJournalCorrupt = errors.New("pgstore: corrupt journal record")

// journalFormat is the format the journal writes (journalMagic's).
const journalFormat = 6

// appendJournalRecord appends r's frame to b.
func appendJournalRecord(b []byte, r *record) []byte { return appendRecordFormat(b, r, journalFormat) }

// appendRecordFormat appends r's frame to b in format ver: the journal
// writes the current one; the tests write older ones, as earlier versions
// did, to read them back.
func appendRecordFormat(b []byte, r *record, ver int) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0) // payload length, filled in below
	switch {
	case r.I != nil:
		b = appendInteraction(append(b, 'I'), r.I, ver)
	case r.W != nil:
		b = appendWrapUp(append(b, 'W'), r.W, ver)
	case r.E != nil && ver >= 5:
		b = appendAgentEvent(append(b, 'E'), r.E)
	default:
		return b[:at]
	}
	p := b[at+4:]
	binary.BigEndian.PutUint32(b[at:], uint32(len(p)))
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(p, castagnoli))
}

func appendInteraction(b []byte, in *crmcore.Interaction, ver int) []byte {
	b = appendStr(b, in.ID)
	b = appendStr(b, in.CallID)
	b = appendStr(b, string(in.Direction))
	b = appendStr(b, string(in.Channel))
	b = appendStr(b, in.ANI)
	b = appendStr(b, in.DNIS)
	b = appendStr(b, in.ContactID)
	b = binary.AppendUvarint(b, uint64(len(in.IVRPath)))
	for _, s := range in.IVRPath {
		b = appendStr(b, s.Node)
		b = appendStr(b, s.Digits)
		if ver >= 4 {
			b = appendStr(b, s.Speech)
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.Confidence))
		}
	}
	b = appendStr(b, in.Queue)
	b = appendStr(b, in.AgentID)
	b = appendJTime(b, in.ArrivedAt)
	for _, t := range [...]*time.Time{in.QueuedAt, in.OfferedAt, in.AnsweredAt, in.EndedAt} {
		if t == nil {
			b = append(b, 0)
		} else {
			b = appendJTime(append(b, 1), *t)
		}
	}
	b = binary.AppendVarint(b, int64(in.Hold))
	b = binary.AppendVarint(b, int64(in.WrapUp))
	b = appendStr(b, string(in.Outcome))
	b = binary.AppendUvarint(b, uint64(len(in.RoutingReasons)))
	for _, s := range in.RoutingReasons {
		b = appendStr(b, s)
	}
	b = appendStr(b, in.Recording)
	b = appendStr(b, in.Disposition)
	b = appendStr(b, in.Notes)
	b = appendStr(b, in.TicketID)
	b = appendOptInt(b, in.SurveyScore)
	if ver >= 3 {
		b = appendSurvey(b, in.Survey)
	}
	if ver < 4 {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(in.Parties)))
	for _, p := range in.Parties {
		b = appendStr(b, p.AgentID)
		b = appendStr(b, p.Number)
		b = appendStr(b, p.Role)
		b = appendJTime(b, p.Joined)
		b = appendJTime(b, p.Left)
	}
	b = binary.AppendUvarint(b, uint64(len(in.Holds)))
	for _, h := range in.Holds {
		b = appendStr(b, h.AgentID)
		b = appendJTime(b, h.From)
		b = appendJTime(b, h.To)
	}
	if ver < 6 {
		return b
	}
	b = appendStr(b, in.Campaign)
	return appendStr(b, in.CampaignResult)
}

func appendAgentEvent(b []byte, e *crmcore.AgentEvent) []byte {
	b = appendStr(b, e.ID)
	b = appendJTime(b, e.At)
	b = appendStr(b, string(e.Kind))
	for _, s := range [...]string{e.AgentID, e.Queue, e.Channel, e.TaskID, e.InteractionID, e.Presence, e.Reason,
		e.State, e.Node} {
		b = appendStr(b, s)
	}
	return binary.AppendVarint(b, int64(e.Wait))
}

func appendWrapUp(b []byte, w *crmcore.WrapUp, ver int) []byte {
	b = appendStr(b, w.ID)
	b = appendStr(b, w.InteractionID)
	b = appendStr(b, w.AgentID)
	b = appendJTime(b, w.At)
	b = appendStr(b, w.Disposition)
	b = appendStr(b, w.Notes)
	b = appendStr(b, w.TicketID)
	b = appendOptInt(b, w.SurveyScore)
	if ver < 3 {
		return b
	}
	return appendSurvey(b, w.Survey)
}

// appendSurvey writes the answers in name order, so that equal surveys
// encode alike.
func appendSurvey(b []byte, s map[string]int) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	if len(s) == 0 {
		return b
	}
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		b = appendStr(b, n)
		b = binary.AppendVarint(b, int64(s[n]))
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendJTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func appendOptInt(b []byte, v *int) []byte {
	if v == nil {
		return append(b, 0)
	}
	return binary.AppendVarint(append(b, 1), int64(*v))
}

// journalReader reads the records of a journal file in format ver (6,
// or an older 5, 4, 3 or 2).
type journalReader struct {
	r        *bufio.Reader
	buf      []byte
	ver      int
	consumed int64 // bytes of the records returned so far
}

// next returns the next record, io.EOF at a clean end of file, or
// errJournalCorrupt for a torn or damaged record.
func (jr *journalReader) next() (record, error) {
	var hdr [4]byte
	switch _, err := io.ReadFull(jr.r, hdr[:]); {
	case err == io.EOF:
		return record{}, io.EOF
	case err != nil:
		return record{}, errJournalCorrupt
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxJournalRecord {
		return record{}, errJournalCorrupt
	}
	if cap(jr.buf) < int(n)+4 {
		jr.buf = make([]byte, int(n)+4)
	}
	frame := jr.buf[:n+4]
	if _, err := io.ReadFull(jr.r, frame); err != nil {
		return record{}, errJournalCorrupt
	}
	p := frame[:n]
	if crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(frame[n:]) {
		return record{}, errJournalCorrupt
	}
	d := decoder{b: p[1:], ver: jr.ver}
	var r record
	switch p[0] {
	case 'I':
		r.I = d.interaction()
	case 'W':
		r.W = d.wrapUp()
	case 'E':
		if jr.ver < 5 {
			return record{}, errJournalCorrupt
		}
		r.E = d.agentEvent()
	default:
		return record{}, errJournalCorrupt
	}
	if d.bad || len(d.b) != 0 {
		return record{}, errJournalCorrupt
	}
	jr.consumed += int64(n) + 8
	return r, nil
}

// decoder reads payload fields; a short or malformed payload sets bad.
// ver is the file's format: 2 has no surveys, 3 no parties or holds, 4
// no agent events, 5 no campaign fields.
type decoder struct {
	b   []byte
	bad bool
	ver int
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.bad = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.bad, d.b = true, nil
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// count reads a slice length, bounded by what is left (every element
// takes at least one byte).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return 0
	}
	return int(n)
}

func (d *decoder) time() time.Time {
	s := d.varint()
	ns := d.uvarint()
	if ns >= 1e9 {
		d.bad = true
		return time.Time{}
	}
	return time.Unix(s, int64(ns)).UTC()
}

func (d *decoder) optTime() *time.Time {
	if d.byte() == 0 {
		return nil
	}
	t := d.time()
	return &t
}

func (d *decoder) optInt() *int {
	if d.byte() == 0 {
		return nil
	}
	v := int(d.varint())
	return &v
}

func (d *decoder) survey() map[string]int {
	if d.ver == 2 {
		return nil
	}
	n := d.count()
	if n == 0 {
		return nil
	}
	s := make(map[string]int, n)
	for range n {
		name := d.str()
		s[name] = int(d.varint())
	}
	return s
}

func (d *decoder) interaction() *crmcore.Interaction {
	in := &crmcore.Interaction{}
	in.ID = d.str()
	in.CallID = d.str()
	in.Direction = crmcore.Direction(d.str())
	in.Channel = crmcore.Channel(d.str())
	in.ANI = d.str()
	in.DNIS = d.str()
	in.ContactID = d.str()
	in.IVRPath = make([]crmcore.IVRStep, d.count())
	for i := range in.IVRPath {
		in.IVRPath[i].Node = d.str()
		in.IVRPath[i].Digits = d.str()
		if d.ver >= 4 {
			in.IVRPath[i].Speech = d.str()
			in.IVRPath[i].Confidence = math.Float64frombits(d.uint64())
		}
	}
	in.Queue = d.str()
	in.AgentID = d.str()
	in.ArrivedAt = d.time()
	in.QueuedAt = d.optTime()
	in.OfferedAt = d.optTime()
	in.AnsweredAt = d.optTime()
	in.EndedAt = d.optTime()
	in.Hold = time.Duration(d.varint())
	in.WrapUp = time.Duration(d.varint())
	in.Outcome = crmcore.Outcome(d.str())
	in.RoutingReasons = make([]string, d.count())
	for i := range in.RoutingReasons {
		in.RoutingReasons[i] = d.str()
	}
	in.Recording = d.str()
	in.Disposition = d.str()
	in.Notes = d.str()
	in.TicketID = d.str()
	in.SurveyScore = d.optInt()
	in.Survey = d.survey()
	if d.ver < 4 {
		return in
	}
	if n := d.count(); n > 0 {
		in.Parties = make([]crmcore.InteractionParty, n)
		for i := range in.Parties {
			p := &in.Parties[i]
			p.AgentID, p.Number, p.Role = d.str(), d.str(), d.str()
			p.Joined, p.Left = d.time(), d.time()
		}
	}
	if n := d.count(); n > 0 {
		in.Holds = make([]crmcore.InteractionHold, n)
		for i := range in.Holds {
			h := &in.Holds[i]
			h.AgentID = d.str()
			h.From, h.To = d.time(), d.time()
		}
	}
	if d.ver >= 6 {
		in.Campaign, in.CampaignResult = d.str(), d.str()
	}
	return in
}

func (d *decoder) agentEvent() *crmcore.AgentEvent {
	e := &crmcore.AgentEvent{}
	e.ID = d.str()
	e.At = d.time()
	e.Kind = crmcore.AgentEventKind(d.str())
	for _, p := range [...]*string{&e.AgentID, &e.Queue, &e.Channel, &e.TaskID, &e.InteractionID, &e.Presence,
		&e.Reason, &e.State, &e.Node} {
		*p = d.str()
	}
	e.Wait = time.Duration(d.varint())
	return e
}

func (d *decoder) wrapUp() *crmcore.WrapUp {
	w := &crmcore.WrapUp{}
	w.ID = d.str()
	w.InteractionID = d.str()
	w.AgentID = d.str()
	w.At = d.time()
	w.Disposition = d.str()
	w.Notes = d.str()
	w.TicketID = d.str()
	w.SurveyScore = d.optInt()
	w.Survey = d.survey()
	return w
}
