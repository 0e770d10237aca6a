package campaign

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Contact is one entry of a campaign's list.
type Contact struct {
	// ID is the contact's CRM identity, if known.
	ID string
	// Number is the number to call, E.164.
	Number string
	// Name is shown to the agent.
	Name string
	// TimeZone, an IANA name, overrides the zones the number's prefix
	// gives (needed where the prefix gives none).
	TimeZone string
}

// ErrCSV is wrapped by the errors that stop ParseCSV.
var ErrCSV = errors.New("campaign: bad contact list")

// RowError is a row ParseCSV skipped.
type RowError struct {
	// Line is the line of the file the row starts on (the header is
	// line 1).
	Line int
	Err  error
}

// Error returns the line and the problem.
func (e RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the problem.
func (e RowError) Unwrap() error { return e.Err }

// Limits of ParseCSV: a list is a file of at most maxCSV bytes and
// maxRows rows; more than maxRowErrors bad rows means the file is not a
// contact list at all.
const (
	maxCSV       = 64 << 20
	maxRows      = 1_000_000
	maxRowErrors = 1000
	maxNumber    = 32
	maxName      = 256
	maxContactID = 128
	maxZone      = 64
)

// columns are the header names ParseCSV knows.
var columns = []string{"number", "name", "contact_id", "timezone"}

// ParseCSV reads a contact list: a header naming the columns (number,
// required; name, contact_id and timezone, optional; in any order) and
// one contact a row. A number is E.164 ("+14155550123"; spaces and
// dashes are ignored) and must be a valid number; a timezone is an IANA
// name. A bad row (unreadable, invalid number or zone, a number or
// contact id seen on an earlier row, a field too long or with control
// characters) is skipped and reported with its line. The error is set,
// and nothing returned, when the input is larger than 64 MiB or 1 000 000
// rows, has no usable header, or has more than 1000 bad rows.
func ParseCSV(r io.Reader) ([]Contact, []RowError, error) { return parseCSV(r, maxCSV) }

// parseCSV is ParseCSV with a size cap of limit bytes.
func parseCSV(r io.Reader, limit int64) ([]Contact, []RowError, error) {
	cr := csv.NewReader(&capReader{r: r, left: limit})
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: header: %w", ErrCSV, err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(columns, h) {
			return nil, nil, fmt.Errorf("%w: header: unknown column %.32q (want number, name, contact_id, timezone)", ErrCSV, h)
		}
		if _, dup := col[h]; dup {
			return nil, nil, fmt.Errorf("%w: header: column %q twice", ErrCSV, h)
		}
		col[h] = i
	}
	if _, ok := col["number"]; !ok {
		return nil, nil, fmt.Errorf("%w: header: no number column", ErrCSV)
	}
	cr.FieldsPerRecord = len(head)
	var (
		out     []Contact
		bad     []RowError
		numbers = map[string]int{}
		ids     = map[string]int{}
		zones   = map[string]error{}
	)
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for rows := 0; ; rows++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return nil, nil, fmt.Errorf("%w: %w", ErrCSV, err)
		}
		if rows >= maxRows {
			return nil, nil, fmt.Errorf("%w: more than %d rows", ErrCSV, maxRows)
		}
		var line int
		if err != nil {
			line, err = pe.StartLine, pe.Err
		} else {
			line, _ = cr.FieldPos(0)
			var c Contact
			c, err = contactOf(field(rec, "number"), field(rec, "name"), field(rec, "contact_id"), field(rec, "timezone"), zones)
			if err == nil {
				if first, dup := numbers[c.Number]; dup {
					err = fmt.Errorf("number %s already on line %d", c.Number, first)
				} else if first, dup := ids[c.ID]; dup && c.ID != "" {
					err = fmt.Errorf("contact_id %q already on line %d", c.ID, first)
				} else {
					numbers[c.Number] = line
					if c.ID != "" {
						ids[c.ID] = line
					}
					out = append(out, c)
				}
			}
		}
		if err != nil {
			if len(bad) == maxRowErrors {
				return nil, nil, fmt.Errorf("%w: more than %d bad rows", ErrCSV, maxRowErrors)
			}
			bad = append(bad, RowError{Line: line, Err: err})
		}
	}
	return out, bad, nil
}

// contactOf checks one row's fields and returns its contact. zones
// caches the verdict on each time zone name.
func contactOf(number, name, id, zone string, zones map[string]error) (Contact, error) {
	switch {
	case number == "":
		return Contact{}, errors.New("empty number")
	case len(number) > maxNumber:
		return Contact{}, fmt.Errorf("number longer than %d bytes", maxNumber)
	case len(name) > maxName:
		return Contact{}, fmt.Errorf("name longer than %d bytes", maxName)
	case len(id) > maxContactID:
		return Contact{}, fmt.Errorf("contact_id longer than %d bytes", maxContactID)
	case len(zone) > maxZone:
		return Contact{}, fmt.Errorf("timezone longer than %d bytes", maxZone)
	case !printable(name) || !printable(id):
		return Contact{}, errors.New("name or contact_id is not printable UTF-8")
	}
	e164, err := normalize(number)
	if err != nil {
		return Contact{}, err
	}
	if zone != "" {
		err, seen := zones[zone]
		if !seen {
			_, err = loadZone(zone)
			zones[zone] = err
		}
		if err != nil {
			return Contact{}, err
		}
	}
	return Contact{ID: id, Number: e164, Name: name, TimeZone: zone}, nil
}

// normalize returns number, which must be E.164 ("+" and the country
// code) and valid, in E.164 form.
func normalize(number string) (string, error) {
	_, e164, err := parseNumber(number)
	return e164, err
}

// parseNumber parses number, which must be E.164 and valid, and returns
// it parsed and in E.164 form.
func parseNumber(number string) (*phonenumbers.PhoneNumber, string, error) {
	if !strings.HasPrefix(number, "+") || len(number) > maxNumber {
		return nil, "", fmt.Errorf("number %.32q is not E.164 (+ and the country code)", number)
	}
	num, err := phonenumbers.Parse(number, "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return nil, "", fmt.Errorf("number %.32q is not a valid phone number", number)
	}
	return num, phonenumbers.Format(num, phonenumbers.E164), nil
}

// loadZone loads an IANA zone by name. "Local" (this server's zone) is
// refused: a contact's zone is never the server's by default.
func loadZone(name string) (*time.Location, error) {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '_' || c == '-' || c == '+') {
			return nil, fmt.Errorf("timezone %.64q is not an IANA zone name", name)
		}
	}
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("timezone %q is not an IANA zone name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("timezone %q is not a known IANA zone", name)
	}
	return loc, nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// capReader fails once more than left bytes were read.
type capReader struct {
	r    io.Reader
	left int64
}

// errTooLarge is returned by a capReader past its cap.
var errTooLarge = errors.New("input too large")

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errTooLarge
	}
	return n, err
}
