package crmapi

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"switchboard/crmcore"
)

// CSV import limits.
const (
	MaxImportRows    = 10000
	MaxImportColumns = 100
)

// ImportField is a contact field a CSV column can map to.
type ImportField string

// Import fields. FieldCustom columns land in Contact.Custom under their header.
const (
	FieldName      ImportField = "name"
	FieldFirstName ImportField = "first_name"
	FieldLastName  ImportField = "last_name"
	FieldEmail     ImportField = "email"
	FieldPhone     ImportField = "phone"
	FieldAccount   ImportField = "account"
	FieldSegment   ImportField = "segment"
	FieldLanguage  ImportField = "language"
	FieldCountry   ImportField = "country"
	FieldRegion    ImportField = "region"
	FieldTimeZone  ImportField = "time_zone"
	FieldTags      ImportField = "tags"
	FieldCustom    ImportField = "custom"
	FieldIgnore    ImportField = "ignore"
)

// headerSynonyms maps normalized header names to fields.
var headerSynonyms = map[string]ImportField{
	"name": FieldName, "full name": FieldName, "fullname": FieldName, "contact": FieldName, "contact name": FieldName,
	"first name": FieldFirstName, "firstname": FieldFirstName, "given name": FieldFirstName,
	"last name": FieldLastName, "lastname": FieldLastName, "surname": FieldLastName, "family name": FieldLastName,
	"email": FieldEmail, "e mail": FieldEmail, "emails": FieldEmail, "email address": FieldEmail, "mail": FieldEmail,
	"phone": FieldPhone, "phones": FieldPhone, "phone number": FieldPhone, "telephone": FieldPhone, "tel": FieldPhone,
	"mobile": FieldPhone, "cell": FieldPhone, "work phone": FieldPhone, "home phone": FieldPhone, "mobile phone": FieldPhone,
	"account": FieldAccount, "company": FieldAccount, "organization": FieldAccount, "organisation": FieldAccount,
	"segment": FieldSegment, "tier": FieldSegment,
	"language": FieldLanguage, "lang": FieldLanguage, "locale": FieldLanguage,
	"country": FieldCountry, "country code": FieldCountry,
	"region": FieldRegion, "state": FieldRegion, "province": FieldRegion,
	"time zone": FieldTimeZone, "timezone": FieldTimeZone, "tz": FieldTimeZone,
	"tags": FieldTags, "tag": FieldTags, "labels": FieldTags,
	"id": FieldIgnore, "account id": FieldIgnore, "created at": FieldIgnore, "updated at": FieldIgnore,
}

func normHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	h = strings.NewReplacer("_", " ", "-", " ", ".", " ").Replace(h)
	return strings.Join(strings.Fields(h), " ")
}

// ParseMapping parses an explicit header mapping "Header=field,Other=field"
// (as given in ?map=) that overrides the built-in synonyms.
func ParseMapping(s string) (map[string]ImportField, error) {
	m := map[string]ImportField{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("bad mapping %q (want Header=field)", truncate(pair, 64))
		}
		f := ImportField(strings.ToLower(strings.TrimSpace(v)))
		switch f {
		case FieldName, FieldFirstName, FieldLastName, FieldEmail, FieldPhone, FieldAccount, FieldSegment, FieldLanguage,
			FieldCountry, FieldRegion, FieldTimeZone, FieldTags, FieldCustom, FieldIgnore:
		default:
			return nil, fmt.Errorf("unknown field %q in mapping", truncate(string(f), 32))
		}
		m[normHeader(k)] = f
	}
	return m, nil
}

// ImportRow is one parsed CSV data row, before validation. Line is the
// 1-based line number in the file (the header is line 1).
type ImportRow struct {
	Line    int
	Input   crmcore.ContactInput
	Account string // account name, resolved by the caller
}

// RowError is a problem with one CSV row; the row is skipped.
type RowError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// ParsedCSV is the result of parsing an import file.
type ParsedCSV struct {
	Columns []ImportField // the field of each column
	Ignored []string      // headers not mapped to any field
	Rows    []ImportRow
	Errors  []RowError
}

// ParseContactsCSV reads a contacts CSV: a header row whose names are mapped
// to fields by mapping (normalized header → field), else by the built-in
// synonyms ("Full Name", "E-mail", "Mobile", "Company", …); several phone or
// email columns are allowed and a cell may hold several values separated by
// ";" or "|". Headers prefixed "custom." or "custom:" become custom fields;
// other unknown headers are ignored and listed. Malformed rows are reported
// in Errors and skipped; only a missing or unusable header (or an I/O error)
// fails the whole parse.
func ParseContactsCSV(r io.Reader, mapping map[string]ImportField) (*ParsedCSV, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty file: a header row is required")
	}
	if err != nil {
		return nil, fmt.Errorf("header row: %w", err)
	}
	if len(header) > MaxImportColumns {
		return nil, fmt.Errorf("more than %d columns", MaxImportColumns)
	}
	out := &ParsedCSV{}
	customKey := make([]string, len(header))
	hasName := false
	for i, h := range header {
		n := normHeader(h)
		f, ok := mapping[n]
		if !ok {
			f, ok = headerSynonyms[n]
		}
		if !ok {
			raw := strings.TrimSpace(h)
			low := strings.ToLower(raw)
			if strings.HasPrefix(low, "custom.") || strings.HasPrefix(low, "custom:") {
				f, ok = FieldCustom, true
				customKey[i] = strings.TrimSpace(raw[len("custom."):])
			}
		} else if f == FieldCustom {
			customKey[i] = strings.TrimSpace(h)
		}
		if !ok {
			f = FieldIgnore
			out.Ignored = append(out.Ignored, truncate(strings.TrimSpace(h), 64))
		}
		if f == FieldName || f == FieldFirstName || f == FieldLastName {
			hasName = true
		}
		out.Columns = append(out.Columns, f)
	}
	if !hasName {
		return nil, errors.New("no name column (want a header such as name, full name, or first name/last name)")
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				out.Errors = append(out.Errors, RowError{Line: pe.Line, Message: "malformed CSV: " + pe.Err.Error()})
				if len(out.Errors) > MaxImportRows {
					return nil, errors.New("too many malformed rows")
				}
				// encoding/csv cannot resynchronise after a bare quote in
				// some cases; keep reading until it does or the file ends.
				continue
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(out.Rows)+len(out.Errors) >= MaxImportRows {
			return nil, fmt.Errorf("more than %d rows", MaxImportRows)
		}
		if allEmpty(rec) {
			continue
		}
		if len(rec) > len(header) {
			out.Errors = append(out.Errors, RowError{Line: line, Message: fmt.Sprintf("%d fields, header has %d", len(rec), len(header))})
			continue
		}
		row := ImportRow{Line: line}
		var first, last string
		for i, v := range rec {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			in := &row.Input
			switch out.Columns[i] {
			case FieldName:
				in.Name = v
			case FieldFirstName:
				first = v
			case FieldLastName:
				last = v
			case FieldEmail:
				in.Emails = append(in.Emails, splitMulti(v)...)
			case FieldPhone:
				for _, p := range splitMulti(v) {
					in.Phones = append(in.Phones, crmcore.PhoneInput{Number: p, Label: phoneLabel(header[i])})
				}
			case FieldAccount:
				row.Account = v
			case FieldSegment:
				in.Segment = crmcore.Segment(strings.ToLower(v))
			case FieldLanguage:
				in.Language = v
			case FieldCountry:
				in.Country = v
			case FieldRegion:
				in.Region = v
			case FieldTimeZone:
				in.TimeZone = v
			case FieldTags:
				in.Tags = append(in.Tags, splitMulti(v)...)
			case FieldCustom:
				if in.Custom == nil {
					in.Custom = map[string]string{}
				}
				in.Custom[customKey[i]] = v
			}
		}
		if row.Input.Name == "" {
			row.Input.Name = strings.TrimSpace(first + " " + last)
		}
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

func allEmpty(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func splitMulti(v string) []string {
	var out []string
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' }) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func phoneLabel(header string) string {
	switch n := normHeader(header); n {
	case "mobile", "cell", "mobile phone":
		return "mobile"
	case "work phone":
		return "work"
	case "home phone":
		return "home"
	}
	return ""
}

// ImportResult reports a CSV import.
type ImportResult struct {
	Created    int        `json:"created"`
	Duplicates int        `json:"duplicates"` // rows skipped because the phone or email already exists
	Failed     int        `json:"failed"`
	Errors     []RowError `json:"errors"`
	Ignored    []string   `json:"ignored_columns,omitempty"`
	IDs        []string   `json:"created_ids"`
}

func (h *Handler) importContacts(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "text/csv" && mt != "application/csv" && mt != "text/plain") {
			h.fail(w, r, &badRequest{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", msg: "want Content-Type: text/csv"})
			return
		}
	}
	mapping, err := ParseMapping(r.URL.Query().Get("map"))
	if err != nil {
		h.fail(w, r, bad("map", err.Error()))
		return
	}
	region := h.region(r)
	parsed, err := ParseContactsCSV(http.MaxBytesReader(w, r.Body, h.maxImport), mapping)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.fail(w, r, err)
			return
		}
		h.fail(w, r, bad("file", "cannot import: "+err.Error()))
		return
	}
	accounts := map[string]string{}
	if as, err := h.d.Contacts.ListAccounts(r.Context()); err == nil {
		for _, a := range as {
			accounts[strings.ToLower(a.Name)] = a.ID
		}
	} else {
		h.fail(w, r, err)
		return
	}
	res := ImportResult{Errors: append([]RowError{}, parsed.Errors...), Ignored: parsed.Ignored, IDs: []string{}}
	res.Failed = len(parsed.Errors)
	seen := map[string]int{} // phone/email → line that claimed it in this file
	rc := http.NewResponseController(w)
	for _, row := range parsed.Rows {
		// A long import answers when it is done: each row gives the reply
		// a fresh write deadline, past the server's overall write timeout.
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteWait))
		fail := func(field, msg string) {
			res.Failed++
			res.Errors = append(res.Errors, RowError{Line: row.Line, Field: field, Message: msg})
		}
		if row.Account != "" {
			id, ok := accounts[strings.ToLower(row.Account)]
			if !ok {
				fail("account", fmt.Sprintf("unknown account %q", truncate(row.Account, 64)))
				continue
			}
			row.Input.AccountID = id
		}
		c, err := crmcore.NewContact(row.Input, region)
		if err != nil {
			var fe *crmcore.FieldError
			if errors.As(err, &fe) {
				fail(fe.Field, fe.Reason)
			} else {
				fail("", trimPrefixes(err.Error()))
			}
			continue
		}
		keys := make([]string, 0, len(c.Phones)+len(c.Emails))
		phones := make([]string, len(c.Phones))
		for i, ph := range c.Phones {
			phones[i] = ph.E164
			keys = append(keys, ph.E164)
		}
		keys = append(keys, c.Emails...)
		dupLine := 0
		for _, k := range keys {
			if l, ok := seen[k]; ok {
				dupLine = l
				break
			}
		}
		if dupLine > 0 {
			res.Duplicates++
			res.Errors = append(res.Errors, RowError{Line: row.Line, Message: fmt.Sprintf("duplicate of line %d (same phone or email); skipped", dupLine)})
			continue
		}
		ids, err := h.d.Contacts.FindContactIDs(r.Context(), phones, c.Emails)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, k := range keys {
			seen[k] = row.Line
		}
		if len(ids) > 0 {
			res.Duplicates++
			res.Errors = append(res.Errors, RowError{Line: row.Line, Message: "matches existing contact " + ids[0] + " (same phone or email); skipped"})
			continue
		}
		c, err = h.d.Contacts.CreateContact(r.Context(), c)
		if err != nil {
			if errors.Is(err, crmcore.ErrConflict) {
				res.Duplicates++
				res.Errors = append(res.Errors, RowError{Line: row.Line, Message: "phone number already belongs to another contact; skipped"})
				continue
			}
			var fe *crmcore.FieldError
			if errors.As(err, &fe) || errors.Is(err, crmcore.ErrInvalid) {
				fail("", trimPrefixes(err.Error()))
				continue
			}
			h.fail(w, r, err)
			return
		}
		res.Created++
		res.IDs = append(res.IDs, c.ID)
	}
	h.log.Info("crmapi: contacts imported", "created", res.Created, "duplicates", res.Duplicates, "failed", res.Failed, "by", p.Login)
	writeJSON(w, http.StatusOK, res)
}

// csvSafe neutralises cells a spreadsheet would run as a formula, leaving
// phone numbers such as "+14155550100" alone.
func csvSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '@', '\t', '\r':
		return "'" + s
	case '+', '-':
		if _, err := strconv.ParseInt(strings.TrimLeft(s[1:], " "), 10, 64); err == nil {
			return s
		}
		return "'" + s
	}
	return s
}

var contactCSVHeader = []string{"id", "name", "emails", "phones", "account_id", "segment", "language", "country",
	"region", "time_zone", "tags", "created_at"}

func (h *Handler) exportContacts(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="contacts.csv"`)
	cw := csv.NewWriter(stream(w))
	cw.Write(contactCSVHeader)
	err := h.d.Contacts.EachContact(r.Context(), func(c crmcore.Contact) error {
		phones := make([]string, len(c.Phones))
		for i, ph := range c.Phones {
			phones[i] = ph.E164
		}
		rec := []string{c.ID, c.Name, strings.Join(c.Emails, ";"), strings.Join(phones, ";"), c.AccountID, string(c.Segment),
			c.Language, c.Country, c.Region, c.TimeZone, strings.Join(c.Tags, ";"), c.CreatedAt.UTC().Format(time.RFC3339)}
		for i := range rec {
			rec[i] = csvSafe(rec[i])
		}
		return cw.Write(rec)
	})
	cw.Flush()
	if err != nil {
		h.log.Error("crmapi: contact export failed midway", "err", err)
	}
}

var interactionCSVHeader = []string{"id", "call_id", "direction", "channel", "ani", "dnis", "contact_id", "queue",
	"agent_id", "arrived_at", "answered_at", "ended_at", "wait_s", "ring_s", "talk_s", "hold_s", "wrapup_s", "outcome",
	"disposition", "ticket_id", "survey_score", "campaign", "campaign_result"}

func (h *Handler) exportInteractions(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	f, err := h.interactionFilter(r, p, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="interactions.csv"`)
	cw := csv.NewWriter(stream(w))
	cw.Write(interactionCSVHeader)
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) }
	err = h.d.Interactions.EachInteraction(r.Context(), f, func(in crmcore.Interaction) error {
		d := in.Durations()
		score := ""
		if in.SurveyScore != nil {
			score = strconv.Itoa(*in.SurveyScore)
		}
		rec := []string{in.ID, in.CallID, string(in.Direction), string(in.Channel), in.ANI, in.DNIS, in.ContactID, in.Queue,
			in.AgentID, in.ArrivedAt.UTC().Format(time.RFC3339), ts(in.AnsweredAt), ts(in.EndedAt), secs(d.Wait), secs(d.Ring),
			secs(d.Talk), secs(d.Hold), secs(d.WrapUp), string(in.Outcome), in.Disposition, in.TicketID, score,
			in.Campaign, in.CampaignResult}
		for i := range rec {
			rec[i] = csvSafe(rec[i])
		}
		return cw.Write(rec)
	})
	cw.Flush()
	if err != nil {
		h.log.Error("crmapi: interaction export failed midway", "err", err)
	}
}
