package crmcore

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Segment classifies a contact for routing and reporting.
type Segment string

// Segments.
const (
	SegmentStandard Segment = "standard"
	SegmentVIP      Segment = "vip"
)

// Valid reports whether s is a known segment.
func (s Segment) Valid() bool { return s == SegmentStandard || s == SegmentVIP }

// ContactPhone is one of a contact's numbers, stored as E.164.
type ContactPhone struct {
	Phone
	Label string `json:"label,omitempty"` // "mobile", "work", …
}

// Contact is a person who calls or writes in.
type Contact struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Emails    []string          `json:"emails"`
	Phones    []ContactPhone    `json:"phones"`
	AccountID string            `json:"account_id,omitempty"`
	Segment   Segment           `json:"segment"`
	Language  string            `json:"language,omitempty"` // BCP 47, e.g. "en", "es-MX"
	Country   string            `json:"country,omitempty"`  // ISO alpha-2
	Region    string            `json:"region,omitempty"`
	TimeZone  string            `json:"time_zone,omitempty"` // IANA
	Tags      []string          `json:"tags"`
	Custom    map[string]string `json:"custom"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// ContactInput is a contact as submitted: phone numbers in any format.
type ContactInput struct {
	Name      string            `json:"name"`
	Emails    []string          `json:"emails"`
	Phones    []PhoneInput      `json:"phones"`
	AccountID string            `json:"account_id"`
	Segment   Segment           `json:"segment"`
	Language  string            `json:"language"`
	Country   string            `json:"country"`
	Region    string            `json:"region"`
	TimeZone  string            `json:"time_zone"`
	Tags      []string          `json:"tags"`
	Custom    map[string]string `json:"custom"`
}

// PhoneInput is a phone number as typed with an optional label.
type PhoneInput struct {
	Number string `json:"number"`
	Label  string `json:"label"`
}

// Limits on contact fields.
const (
	MaxNameLen     = 200
	MaxEmails      = 10
	MaxPhones      = 10
	MaxCustom      = 50
	MaxCustomLen   = 1000
	MaxLanguageLen = 35
)

// NewContact validates in and builds a contact. Phone numbers are normalized
// with defaultRegion (ISO alpha-2) for national formats; country, region and
// time zone come from the first number unless given. Emails are lower-cased
// and de-duplicated, tags normalized.
func NewContact(in ContactInput, defaultRegion string) (Contact, error) {
	c := Contact{
		Name: strings.TrimSpace(in.Name), AccountID: strings.TrimSpace(in.AccountID),
		Segment: in.Segment, Language: strings.TrimSpace(in.Language),
		Country: strings.ToUpper(strings.TrimSpace(in.Country)), Region: strings.TrimSpace(in.Region),
		TimeZone: strings.TrimSpace(in.TimeZone), Custom: in.Custom,
	}
	if c.Segment == "" {
		c.Segment = SegmentStandard
	}
	if c.Custom == nil {
		c.Custom = map[string]string{}
	}
	switch {
	case c.Name == "":
		return Contact{}, invalid("name", "required")
	case len(c.Name) > MaxNameLen || !validLine(c.Name):
		return Contact{}, invalid("name", fmt.Sprintf("longer than %d bytes or invalid characters", MaxNameLen))
	case !c.Segment.Valid():
		return Contact{}, invalid("segment", "want standard or vip")
	case len(c.Language) > MaxLanguageLen || !validLine(c.Language):
		return Contact{}, invalid("language", "bad language tag")
	case c.Country != "" && !isSupportedRegion(c.Country):
		return Contact{}, invalid("country", fmt.Sprintf("unknown country %q", truncate(c.Country, 8)))
	case len(c.Region) > MaxNameLen || !validLine(c.Region):
		return Contact{}, invalid("region", "too long or invalid characters")
	case c.AccountID != "" && !ValidID(c.AccountID):
		return Contact{}, invalid("account_id", "not a UUID")
	case len(in.Emails) > MaxEmails:
		return Contact{}, invalid("emails", fmt.Sprintf("more than %d", MaxEmails))
	case len(in.Phones) > MaxPhones:
		return Contact{}, invalid("phones", fmt.Sprintf("more than %d", MaxPhones))
	case len(c.Custom) > MaxCustom:
		return Contact{}, invalid("custom", fmt.Sprintf("more than %d fields", MaxCustom))
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil || len(c.TimeZone) > 64 || strings.ContainsAny(c.TimeZone, "\\.") {
			return Contact{}, invalid("time_zone", fmt.Sprintf("unknown time zone %q", truncate(c.TimeZone, 64)))
		}
	}
	for k, v := range c.Custom {
		if k == "" || len(k) > MaxTagLen || !validLine(k) || len(v) > MaxCustomLen || !validText(v) {
			return Contact{}, invalid("custom", fmt.Sprintf("bad field %q", truncate(k, 32)))
		}
	}
	for i, e := range in.Emails {
		n, err := NormalizeEmail(e)
		if err != nil {
			return Contact{}, &FieldError{Field: fmt.Sprintf("emails[%d]", i), Reason: err.Error()}
		}
		if !slices.Contains(c.Emails, n) {
			c.Emails = append(c.Emails, n)
		}
	}
	if c.Emails == nil {
		c.Emails = []string{}
	}
	c.Phones = []ContactPhone{}
	for i, pi := range in.Phones {
		p, err := NormalizePhone(pi.Number, defaultRegion)
		if err != nil {
			var pe *PhoneError
			reason := err.Error()
			if asPhoneError(err, &pe) {
				reason = pe.Reason
			}
			return Contact{}, &FieldError{Field: fmt.Sprintf("phones[%d]", i), Reason: reason, Err: ErrInvalidPhone}
		}
		label := strings.ToLower(strings.TrimSpace(pi.Label))
		if len(label) > MaxTagLen || !validLine(label) {
			return Contact{}, invalid(fmt.Sprintf("phones[%d].label", i), "too long or invalid characters")
		}
		if slices.ContainsFunc(c.Phones, func(cp ContactPhone) bool { return cp.E164 == p.E164 }) {
			continue
		}
		c.Phones = append(c.Phones, ContactPhone{Phone: p, Label: label})
	}
	tags, err := NormalizeTags(in.Tags)
	if err != nil {
		return Contact{}, err
	}
	c.Tags = tags
	if len(c.Phones) > 0 {
		p := c.Phones[0]
		if c.Country == "" {
			c.Country = p.Country
		}
		if c.Region == "" {
			c.Region = p.Region
		}
		if c.TimeZone == "" {
			c.TimeZone = p.TimeZone
		}
	}
	return c, nil
}

func asPhoneError(err error, pe **PhoneError) bool {
	p, ok := err.(*PhoneError)
	if ok {
		*pe = p
	}
	return ok
}

// NormalizeEmail checks a bare address ("ana@example.com", no display name)
// and lower-cases it.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty email")
	}
	if len(s) > 254 {
		return "", fmt.Errorf("email longer than 254 characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s, "@") || strings.ContainsAny(s, " <>\"") {
		return "", fmt.Errorf("not a valid email address %q", truncate(s, 64))
	}
	return strings.ToLower(s), nil
}

// Input returns the contact as an input (phones in E.164), for updates that
// merge a patch into an existing contact.
func (c Contact) Input() ContactInput {
	in := ContactInput{
		Name: c.Name, Emails: slices.Clone(c.Emails), AccountID: c.AccountID, Segment: c.Segment,
		Language: c.Language, Country: c.Country, Region: c.Region, TimeZone: c.TimeZone,
		Tags: slices.Clone(c.Tags), Custom: map[string]string{},
	}
	for k, v := range c.Custom {
		in.Custom[k] = v
	}
	for _, p := range c.Phones {
		in.Phones = append(in.Phones, PhoneInput{Number: p.E164, Label: p.Label})
	}
	return in
}

// ContactQuery searches contacts. Non-empty fields are ANDed.
type ContactQuery struct {
	Text   string // matches name (substring, case-insensitive)
	Phone  string // E.164 (normalize the typed form first)
	Email  string // exact, case-insensitive
	Tag    string
	Limit  int // default 50, max 500
	Offset int
}
