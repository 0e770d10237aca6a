package crmcore

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizePhoneValid(t *testing.T) {
	tests := []struct {
		name, in, region string
		wantE164         string
		wantCountry      string
		wantTZ           string
	}{
		{"US international", "+1 415-555-2671", "", "+14155552671", "US", "America/Los_Angeles"},
		{"US national with default region", "(415) 555-2671", "US", "+14155552671", "US", "America/Los_Angeles"},
		{"US national lower-case region", "415.555.2671", "us", "+14155552671", "US", "America/Los_Angeles"},
		{"GB national", "020 7946 0018", "GB", "+442079460018", "GB", "Europe/London"},
		{"GB with 00 prefix from DE", "0044 20 7946 0018", "DE", "+442079460018", "GB", "Europe/London"},
		{"DE national", "030 901820", "DE", "+4930901820", "DE", "Europe/Berlin"},
		{"FR mobile", "06 12 34 56 78", "FR", "+33612345678", "FR", "Europe/Paris"},
		{"ES", "+34 912 34 56 78", "", "+34912345678", "ES", "Europe/Madrid"},
		{"MX", "+52 55 1234 5678", "", "+525512345678", "MX", "America/Mexico_City"},
		{"IN mobile", "+91 98765 43210", "", "+919876543210", "IN", "Asia/Calcutta"},
		{"AU national", "(02) 9374 4000", "AU", "+61293744000", "AU", "Australia/Sydney"},
		{"international ignores default region", "+33 1 42 68 53 00", "US", "+33142685300", "FR", "Europe/Paris"},
		{"tel-like punctuation", "  +1 (212) 555-0199  ", "", "+12125550199", "US", "America/New_York"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NormalizePhone(tt.in, tt.region)
			if err != nil {
				t.Fatalf("NormalizePhone(%q, %q) error: %v", tt.in, tt.region, err)
			}
			if p.E164 != tt.wantE164 || p.Country != tt.wantCountry {
				t.Errorf("got %s/%s, want %s/%s", p.E164, p.Country, tt.wantE164, tt.wantCountry)
			}
			if p.TimeZone != tt.wantTZ {
				t.Errorf("time zone = %q, want %q", p.TimeZone, tt.wantTZ)
			}
			if p.Region == "" {
				t.Errorf("no region derived for %s", p.E164)
			}
			if !IsE164(p.E164) {
				t.Errorf("IsE164(%q) = false", p.E164)
			}
		})
	}
}

func TestNormalizePhoneInvalid(t *testing.T) {
	tests := []struct {
		name, in, region, reason string
	}{
		{"empty", "  ", "US", "empty"},
		{"letters", "call me maybe", "US", "not a phone number"},
		{"no region", "415 555 2671", "", "no country code"},
		{"too short", "+1 415", "", "too short"},
		{"bad country code", "+999 1234 5678", "", "invalid country code"},
		{"too long", "+1 415 555 2671 2671 2671", "", "too long"},
		{"invalid US area code", "+1 099 555 2671", "", "not a valid number in"},
		{"unknown default region", "555 2671", "XX", "unknown default region"},
		{"over length cap", "+1" + strings.Repeat("5", 70), "", "longer than"},
		{"extension", "+1 415 555 2671 ext. 12", "", "extensions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NormalizePhone(tt.in, tt.region)
			if err == nil {
				t.Fatalf("NormalizePhone(%q, %q) = %+v, want error", tt.in, tt.region, p)
			}
			if !errors.Is(err, ErrInvalidPhone) {
				t.Fatalf("error %v does not wrap ErrInvalidPhone", err)
			}
			var pe *PhoneError
			if !errors.As(err, &pe) || !strings.Contains(pe.Reason, tt.reason) {
				t.Errorf("reason = %q, want it to contain %q", pe.Reason, tt.reason)
			}
		})
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+14155552671", "(415) 555-2671", "020 7946 0018", "0044 20 7946 0018",
		"+999", "++1", "+1 415 555 2671 ext. 12", "tel:+1-415-555-2671", "*#06#", "+٤٤٢٠٧٩٤٦٠٠١٨", "0"} {
		f.Add(s, "US")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, in, region string) {
		p, err := NormalizePhone(in, region)
		if err != nil {
			if !errors.Is(err, ErrInvalidPhone) {
				t.Fatalf("error %v does not wrap ErrInvalidPhone", err)
			}
			if !utf8.ValidString(err.Error()) && utf8.ValidString(in) {
				t.Fatalf("error message not UTF-8: %q", err)
			}
			return
		}
		if !strings.HasPrefix(p.E164, "+") || len(p.E164) > 16 || p.Country == "" {
			t.Fatalf("bad result %+v for %q", p, in)
		}
		// Normalizing the canonical form is a fixed point.
		q, err := NormalizePhone(p.E164, "")
		if err != nil || q.E164 != p.E164 {
			t.Fatalf("E.164 %q does not round-trip: %+v, %v", p.E164, q, err)
		}
	})
}
