package crmcore

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateWebhookURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://hooks.example.com/switchboard?x=1", true},
		{"http://127.0.0.1:8080/hook", true},
		{"http://[::1]:8080/hook", true},
		{"", false},
		{"ftp://example.com/hook", false},
		{"file:///etc/passwd", false},
		{"javascript:alert(1)", false},
		{"gopher://example.com", false},
		{"//example.com/hook", false},
		{"http:///hook", false},
		{"https://user:pw@example.com/hook", false},
		{"https://example.com/hook#frag", false},
		{"https://example.com/a b", false},
		{"https://example.com/a\r\nX-Injected: 1", false},
		{"https://example.com/" + strings.Repeat("a", MaxWebhookURL), false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			err := ValidateWebhookURL(tc.url)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			var fe *FieldError
			if err != nil && (!errors.As(err, &fe) || fe.Field != "url") {
				t.Errorf("error %v does not name the url field", err)
			}
		})
	}
}

func TestWebhookSubscriptionValidate(t *testing.T) {
	s := WebhookSubscription{URL: "https://example.com/h", EventTypes: []string{EventTicketUpdated, EventTicketCreated, EventTicketUpdated}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{EventTicketCreated, EventTicketUpdated}, s.EventTypes); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	for _, types := range [][]string{nil, {"ticket.eaten"}, {EventTicketCreated, ""}} {
		s := WebhookSubscription{URL: "https://example.com/h", EventTypes: types}
		if err := s.Validate(); err == nil {
			t.Errorf("types %q accepted", types)
		}
	}
	active := false
	p := WebhookPatch{Active: &active}
	if err := p.Apply(&s); err != nil || s.Active || s.Wants(EventTicketCreated) {
		t.Errorf("patch: %v, %+v", err, s)
	}
}

// FuzzValidateWebhookURL: whatever an admin sends, an accepted URL is
// http or https, on one line, within the size cap.
func FuzzValidateWebhookURL(f *testing.F) {
	for _, s := range []string{"https://example.com/h", "http://127.0.0.1:1/", "javascript:x", "http://a@b/", "HTTP://X/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateWebhookURL(s) != nil {
			return
		}
		if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
			t.Fatalf("accepted %q", s)
		}
		if len(s) > MaxWebhookURL || strings.ContainsAny(s, "\r\n\t ") {
			t.Fatalf("accepted %q", s)
		}
	})
}
