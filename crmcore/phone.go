package crmcore

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// MaxPhoneInputLen caps the length of a phone number as typed; longer input is
// rejected before parsing.
const MaxPhoneInputLen = 64

// Phone is a normalized phone number with what can be derived from it.
type Phone struct {
	// E164 is the canonical form, e.g. "+14155550123".
	E164 string `json:"e164"`
	// Country is the ISO 3166-1 alpha-2 region of the number, e.g. "US".
	Country string `json:"country"`
	// Region is the geographic area the number was assigned in (e.g.
	// "San Francisco, CA" or "London"), or the country name for mobiles.
	Region string `json:"region,omitempty"`
	// TimeZone is the IANA zone of the number when it maps to exactly one,
	// else the first of the candidates, else "".
	TimeZone string `json:"time_zone,omitempty"`
	// Type is the line type: "mobile", "fixed_line", "fixed_line_or_mobile",
	// "toll_free", "voip", … or "unknown".
	Type string `json:"type,omitempty"`
}

// PhoneError explains why a phone number was rejected. It wraps ErrInvalidPhone.
type PhoneError struct {
	Input  string // the input as given (truncated to MaxPhoneInputLen)
	Reason string // e.g. "too short", "invalid country code"
}

// Error implements error.
func (e *PhoneError) Error() string {
	return fmt.Sprintf("crmcore: invalid phone number %q: %s", e.Input, e.Reason)
}

// Unwrap returns ErrInvalidPhone.
func (e *PhoneError) Unwrap() error { return ErrInvalidPhone }

// NormalizePhone parses a phone number typed in any common format —
// international ("+44 20 7946 0018", "0044…"), or national ("(415) 555-0123",
// "020 7946 0018") interpreted in defaultRegion (ISO alpha-2, may be empty
// when the input is international) — validates it with
// phonenumbers.IsValidNumber and returns its E.164 form with the country,
// region and time zone derived from it. A rejected number yields a
// *PhoneError naming the reason.
func NormalizePhone(input, defaultRegion string) (p Phone, err error) {
	in := strings.TrimSpace(input)
	shown := in
	if len(shown) > MaxPhoneInputLen {
		shown = shown[:MaxPhoneInputLen]
	}
	fail := func(reason string) (Phone, error) {
		return Phone{}, &PhoneError{Input: shown, Reason: reason}
	}
	switch {
	case in == "":
		return fail("empty")
	case len(in) > MaxPhoneInputLen:
		return fail(fmt.Sprintf("longer than %d characters", MaxPhoneInputLen))
	case !utf8.ValidString(in):
		return fail("not valid UTF-8")
	}
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if region != "" && !isSupportedRegion(region) {
		return fail(fmt.Sprintf("unknown default region %q", defaultRegion))
	}
	// The library is a port and has had panics on odd input; never let one
	// escape to a request handler.
	defer func() {
		if r := recover(); r != nil {
			p, err = fail("unparsable")
		}
	}()
	num, perr := phonenumbers.Parse(in, region)
	if perr != nil {
		switch {
		case errors.Is(perr, phonenumbers.ErrInvalidCountryCode):
			if region == "" && !strings.HasPrefix(in, "+") && !strings.HasPrefix(in, "00") {
				return fail("no country code and no default region")
			}
			return fail("invalid country code")
		case errors.Is(perr, phonenumbers.ErrNotANumber):
			return fail("not a phone number")
		case errors.Is(perr, phonenumbers.ErrTooShortNSN), errors.Is(perr, phonenumbers.ErrTooShortAfterIDD):
			return fail("too short")
		case errors.Is(perr, phonenumbers.ErrNumTooLong):
			return fail("too long")
		default:
			return fail(perr.Error())
		}
	}
	if num.GetExtension() != "" {
		return fail("extensions are not supported")
	}
	if !phonenumbers.IsValidNumber(num) {
		switch phonenumbers.IsPossibleNumberWithReason(num) {
		case phonenumbers.INVALID_COUNTRY_CODE:
			return fail("invalid country code")
		case phonenumbers.TOO_SHORT:
			return fail("too short")
		case phonenumbers.TOO_LONG:
			return fail("too long")
		case phonenumbers.INVALID_LENGTH:
			return fail("invalid length for the country")
		case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
			return fail("local number without area code")
		default:
			cc := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
			if cc == "" || cc == "ZZ" || cc == "001" {
				cc = fmt.Sprintf("+%d", num.GetCountryCode())
			}
			return fail("not a valid number in " + cc)
		}
	}
	p.E164 = phonenumbers.Format(num, phonenumbers.E164)
	p.Country = phonenumbers.GetRegionCodeForNumber(num)
	p.Type = numberType(phonenumbers.GetNumberType(num))
	if tzs, err := phonenumbers.GetTimezonesForNumber(num); err == nil {
		for _, tz := range tzs {
			if tz != "" && tz != phonenumbers.UNKNOWN_TIMEZONE {
				p.TimeZone = tz
				break
			}
		}
	}
	if geo, err := phonenumbers.GetGeocodingForNumber(num, "en"); err == nil {
		p.Region = geo
	}
	return p, nil
}

// IsE164 reports whether s is already in canonical E.164 form and valid.
func IsE164(s string) bool {
	if len(s) < 3 || s[0] != '+' {
		return false
	}
	p, err := NormalizePhone(s, "")
	return err == nil && p.E164 == s
}

func isSupportedRegion(r string) bool {
	return phonenumbers.GetCountryCodeForRegion(r) != 0
}

func numberType(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.FIXED_LINE:
		return "fixed_line"
	case phonenumbers.MOBILE:
		return "mobile"
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return "fixed_line_or_mobile"
	case phonenumbers.TOLL_FREE:
		return "toll_free"
	case phonenumbers.PREMIUM_RATE:
		return "premium_rate"
	case phonenumbers.SHARED_COST:
		return "shared_cost"
	case phonenumbers.VOIP:
		return "voip"
	case phonenumbers.PERSONAL_NUMBER:
		return "personal_number"
	case phonenumbers.PAGER:
		return "pager"
	case phonenumbers.UAN:
		return "uan"
	case phonenumbers.VOICEMAIL:
		return "voicemail"
	default:
		return "unknown"
	}
}
