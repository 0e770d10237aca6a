package pgstore

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"

	"switchboard/crmcore"
)

// The durable writer sends interactions to PostgreSQL in COPY's binary
// format, encoded here by hand: pgx's generic CopyFrom boxes every value in
// an interface and looks up an encode plan for each of them, which cost as
// much CPU as the server spent storing the rows (the machine has two cores
// for both). The layout is PostgreSQL's "Binary Format" of COPY: a header,
// then per row a 16-bit field count and per field a 32-bit length (-1 for
// NULL) followed by the value in the type's binary send format.
// TestCopyEncodingMatchesPgx checks the encoding against pgx's.

// interactionCopyCols are the columns of interactionRow and
// appendInteractionRow, in order.
var interactionCopyCols = []string{"id", "call_id", "direction", "channel", "ani", "dnis", "contact_id", "ivr_path",
	"queue", "agent_id", "arrived_at", "queued_at", "offered_at", "answered_at", "ended_at", "wait_ms", "ring_ms",
	"talk_ms", "hold_ms", "wrapup_ms", "outcome", "routing_reasons", "recording", "disposition", "notes",
	"ticket_id", "survey_score", "node", "survey", "parties", "holds", "campaign", "campaign_result"}

// copySQL returns the COPY … FROM STDIN (FORMAT binary) statement for
// interactionCopyCols into table.
func copySQL(table string) string {
	var b bytes.Buffer
	b.WriteString("copy " + table + " (")
	for i, c := range interactionCopyCols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c)
	}
	b.WriteString(") from stdin (format binary)")
	return b.String()
}

var (
	copyInteractionsSQL = copySQL("interactions")
	copyStageSQL        = copySQL("stage_interactions")
)

// copyHeader starts a binary COPY stream: signature, flags, no extension.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// copyTrailer ends it: a field count of -1.
var copyTrailer = []byte{0xff, 0xff}

// parseUUID decodes a canonical (validated) UUID string; "" and anything
// malformed give Valid false, NULL.
func parseUUID(s string) pgtype.UUID {
	var u pgtype.UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u
	}
	var src [32]byte
	copy(src[0:8], s[0:8])
	copy(src[8:12], s[9:13])
	copy(src[12:16], s[14:18])
	copy(src[16:20], s[19:23])
	copy(src[20:32], s[24:36])
	if _, err := hex.Decode(u.Bytes[:], src[:]); err != nil {
		return pgtype.UUID{}
	}
	u.Valid = true
	return u
}

// refCleared says which references of a row were found dangling and are
// written as NULL instead.
type refCleared struct{ contact, agent, ticket bool }

// appendInteractionRow appends in, written by node, as one binary COPY
// tuple of interactionCopyCols. in must be valid and normalised (Write
// does both).
func appendInteractionRow(b []byte, in *crmcore.Interaction, clear refCleared, node string) []byte {
	d := in.Durations()
	b = binary.BigEndian.AppendUint16(b, uint16(len(interactionCopyCols)))
	b = appendUUID(b, parseUUID(in.ID))
	b = appendText(b, in.CallID)
	b = appendText(b, string(in.Direction))
	b = appendText(b, string(in.Channel))
	b = appendText(b, in.ANI)
	b = appendText(b, in.DNIS)
	b = appendRef(b, in.ContactID, clear.contact)
	b = appendIVRPath(b, in.IVRPath)
	b = appendText(b, in.Queue)
	b = appendRef(b, in.AgentID, clear.agent)
	b = appendTime(b, &in.ArrivedAt)
	b = appendTime(b, in.QueuedAt)
	b = appendTime(b, in.OfferedAt)
	b = appendTime(b, in.AnsweredAt)
	b = appendTime(b, in.EndedAt)
	for _, v := range [...]time.Duration{d.Wait, d.Ring, d.Talk, d.Hold, d.WrapUp} {
		b = binary.BigEndian.AppendUint32(b, 8)
		b = binary.BigEndian.AppendUint64(b, uint64(v.Milliseconds()))
	}
	b = appendText(b, string(in.Outcome))
	b = appendTextArray(b, in.RoutingReasons)
	b = appendText(b, in.Recording)
	b = appendText(b, in.Disposition)
	b = appendText(b, in.Notes)
	b = appendRef(b, in.TicketID, clear.ticket)
	if in.SurveyScore == nil {
		b = appendNull(b)
	} else {
		b = binary.BigEndian.AppendUint32(b, 4)
		b = binary.BigEndian.AppendUint32(b, uint32(int32(*in.SurveyScore)))
	}
	b = appendText(b, node)
	b = appendSurveyJSON(b, in.Survey)
	b = appendJSONB(b, len(in.Parties), in.Parties)
	b = appendJSONB(b, len(in.Holds), in.Holds)
	b = appendOptText(b, in.Campaign)
	return appendOptText(b, in.CampaignResult)
}

// appendJSONB writes v as jsonb (a version byte, then the document
// encoding/json makes of it), NULL when it has no elements: parties and
// holds are rare enough that the generic encoder costs nothing that
// matters.
func appendJSONB(b []byte, n int, v any) []byte {
	if n == 0 {
		return appendNull(b)
	}
	js, err := json.Marshal(v)
	if err != nil {
		return appendNull(b)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(js)+1))
	b = append(b, 1)
	return append(b, js...)
}

// appendSurveyJSON writes the answers as a jsonb object in name order (the
// document encoding/json makes of the map), NULL when there are none.
func appendSurveyJSON(b []byte, s map[string]int) []byte {
	if len(s) == 0 {
		return appendNull(b)
	}
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	slices.Sort(names)
	lenAt := len(b)
	b = append(b, 0, 0, 0, 0, 1, '{') // length (filled in below), jsonb version, the object
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, n)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(s[n]), 10)
	}
	b = append(b, '}')
	binary.BigEndian.PutUint32(b[lenAt:], uint32(len(b)-lenAt-4))
	return b
}

func appendNull(b []byte) []byte { return binary.BigEndian.AppendUint32(b, 0xffffffff) }

func appendUUID(b []byte, u pgtype.UUID) []byte {
	if !u.Valid {
		return appendNull(b)
	}
	b = binary.BigEndian.AppendUint32(b, 16)
	return append(b, u.Bytes[:]...)
}

func appendRef(b []byte, id string, cleared bool) []byte {
	if cleared {
		return appendNull(b)
	}
	return appendUUID(b, parseUUID(id))
}

// appendOptText writes s as text, NULL when it is empty: the columns of
// fields most records leave empty (the campaign ones) hold NULL there, so
// that their partial indexes skip those rows.
func appendOptText(b []byte, s string) []byte {
	if s == "" {
		return appendNull(b)
	}
	return appendText(b, s)
}

func appendText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// pgEpoch is PostgreSQL's timestamp epoch, 2000-01-01 UTC, in Unix microseconds.
const pgEpoch = 946_684_800 * 1_000_000

func appendTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return appendNull(b)
	}
	b = binary.BigEndian.AppendUint32(b, 8)
	us := t.Unix()*1_000_000 + int64(t.Nanosecond())/1000 - pgEpoch
	return binary.BigEndian.AppendUint64(b, uint64(us))
}

// appendIVRPath writes the steps as a jsonb array: a format version byte,
// then JSON text, the same document encoding/json makes of them
// (TestCopyEncodingMatchesPgx compares the two).
func appendIVRPath(b []byte, steps []crmcore.IVRStep) []byte {
	lenAt := len(b)
	b = append(b, 0, 0, 0, 0, 1, '[') // length (filled in below), jsonb version, the array
	for i, s := range steps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"node":`...)
		b = appendJSONString(b, s.Node)
		if s.Digits != "" {
			b = append(b, `,"digits":`...)
			b = appendJSONString(b, s.Digits)
		}
		if s.Speech != "" {
			b = append(b, `,"speech":`...)
			b = appendJSONString(b, s.Speech)
		}
		if s.Confidence != 0 {
			// As encoding/json writes a float64 between 1e-6 and 1e21.
			b = append(b, `,"confidence":`...)
			b = strconv.AppendFloat(b, s.Confidence, 'f', -1, 64)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	binary.BigEndian.PutUint32(b[lenAt:], uint32(len(b)-lenAt-4))
	return b
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 (which
// validation keeps out) is left to encoding/json, which replaces it.
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		js, _ := json.Marshal(s) // a string always marshals
		return append(b, js...)
	}
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// textOID is the type OID of text, the element type of a text[].
const textOID = 25

// appendTextArray writes a one-dimensional text[] (empty: zero dimensions).
func appendTextArray(b []byte, ss []string) []byte {
	lenAt := len(b)
	b = binary.BigEndian.AppendUint32(b, 0) // length, filled in below
	if len(ss) == 0 {
		b = binary.BigEndian.AppendUint32(b, 0) // dimensions
		b = binary.BigEndian.AppendUint32(b, 0) // has NULLs
		b = binary.BigEndian.AppendUint32(b, textOID)
	} else {
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint32(b, textOID)
		b = binary.BigEndian.AppendUint32(b, uint32(len(ss))) // dimension size
		b = binary.BigEndian.AppendUint32(b, 1)               // lower bound
		for _, s := range ss {
			b = appendText(b, s)
		}
	}
	binary.BigEndian.PutUint32(b[lenAt:], uint32(len(b)-lenAt-4))
	return b
}

// copyStream is a binary COPY stream over rows encoded by appendInteractionRow.
func copyStream(rows []byte) io.Reader {
	return io.MultiReader(bytes.NewReader(copyHeader), bytes.NewReader(rows), bytes.NewReader(copyTrailer))
}

// insertInteractionSQL inserts one interactionRow.
var insertInteractionSQL = func() string {
	var b bytes.Buffer
	b.WriteString("insert into interactions (" + strings.Join(interactionCopyCols, ", ") + ") values (")
	for i := range interactionCopyCols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i+1))
	}
	b.WriteString(")")
	return b.String()
}()

// interactionRow is in, written by node, as pgx values for
// interactionCopyCols, for statements with parameters (the demo seed) and
// as the reference the binary encoding is tested against.
func interactionRow(in *crmcore.Interaction, node string) []any {
	normalizeInteraction(in)
	d := in.Durations()
	return []any{pgUUID(in.ID), in.CallID, string(in.Direction), string(in.Channel), in.ANI, in.DNIS,
		pgUUID(in.ContactID), in.IVRPath, in.Queue, pgUUID(in.AgentID), in.ArrivedAt, in.QueuedAt, in.OfferedAt,
		in.AnsweredAt, in.EndedAt, d.Wait.Milliseconds(), d.Ring.Milliseconds(), d.Talk.Milliseconds(),
		d.Hold.Milliseconds(), d.WrapUp.Milliseconds(), string(in.Outcome), in.RoutingReasons, in.Recording,
		in.Disposition, in.Notes, pgUUID(in.TicketID), in.SurveyScore, node, surveyValue(in.Survey),
		jsonbValue(len(in.Parties), in.Parties), jsonbValue(len(in.Holds), in.Holds), optText(in.Campaign),
		optText(in.CampaignResult)}
}

// optText is s as a pgx value: NULL when it is empty (appendOptText).
func optText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// jsonbValue is v as a pgx jsonb value: NULL when it has no elements.
func jsonbValue(n int, v any) any {
	if n == 0 {
		return nil
	}
	return v
}

// surveyValue is a survey as a pgx value: NULL when it has no answers.
func surveyValue(s map[string]int) any {
	if len(s) == 0 {
		return nil
	}
	return s
}
