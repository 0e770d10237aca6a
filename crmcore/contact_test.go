package crmcore

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewContactDerivesFromPhone(t *testing.T) {
	c, err := NewContact(ContactInput{
		Name:   "Ana García",
		Emails: []string{"Ana@Example.com", "ana@example.com"},
		Phones: []PhoneInput{{Number: "912 34 56 78", Label: "Work"}, {Number: "+34 912 34 56 78"}},
		Tags:   []string{"VIP", " vip "},
	}, "ES")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ana@example.com"}, c.Emails); diff != "" {
		t.Errorf("emails (-want +got):\n%s", diff)
	}
	if len(c.Phones) != 1 || c.Phones[0].E164 != "+34912345678" || c.Phones[0].Label != "work" {
		t.Errorf("phones = %+v", c.Phones)
	}
	if c.Country != "ES" || c.TimeZone != "Europe/Madrid" || c.Segment != SegmentStandard {
		t.Errorf("derived = %s %s %s", c.Country, c.TimeZone, c.Segment)
	}
}

func TestNewContactErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    ContactInput
		field string
		phone bool
	}{
		{"no name", ContactInput{}, "name", false},
		{"bad phone", ContactInput{Name: "X", Phones: []PhoneInput{{Number: "12"}}}, "phones[0]", true},
		{"bad email", ContactInput{Name: "X", Emails: []string{"nope"}}, "emails[0]", false},
		{"bad segment", ContactInput{Name: "X", Segment: "gold"}, "segment", false},
		{"bad tz", ContactInput{Name: "X", TimeZone: "../../etc/passwd"}, "time_zone", false},
		{"newline in name", ContactInput{Name: "X\nY"}, "name", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewContact(tt.in, "US")
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err = %v, want field %s", err, tt.field)
			}
			if got := errors.Is(err, ErrInvalidPhone); got != tt.phone {
				t.Errorf("Is(ErrInvalidPhone) = %v", got)
			}
		})
	}
}

func TestInteractionDurations(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	at := func(s int) *time.Time { v := t0.Add(time.Duration(s) * time.Second); return &v }
	in := Interaction{ArrivedAt: t0, QueuedAt: at(20), OfferedAt: at(50), AnsweredAt: at(56), EndedAt: at(356), Hold: 30 * time.Second}
	got := in.Durations()
	want := Durations{Wait: 36 * time.Second, Ring: 6 * time.Second, Talk: 270 * time.Second, Hold: 30 * time.Second, Total: 356 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answered (-want +got):\n%s", diff)
	}
	ab := Interaction{ArrivedAt: t0, QueuedAt: at(10), EndedAt: at(40)}
	if d := ab.Durations(); d.Wait != 30*time.Second || d.Talk != 0 {
		t.Errorf("abandoned = %+v", d)
	}
}

func TestInteractionValidate(t *testing.T) {
	good := Interaction{ID: NewID(), Direction: Inbound, Channel: ChannelPhone, Outcome: OutcomeAnswered, ArrivedAt: time.Now()}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.Notes = "a\x00b"
	if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("NUL in notes: %v", err)
	}
	bad = good
	bad.Outcome = "exploded"
	if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad outcome: %v", err)
	}
}

func TestInteractionJSONRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	a, e := t0.Add(10*time.Second), t0.Add(70*time.Second)
	in := Interaction{ID: NewID(), Direction: Inbound, Channel: ChannelPhone, Outcome: OutcomeAnswered, ArrivedAt: t0,
		AnsweredAt: &a, EndedAt: &e, Hold: 1500 * time.Millisecond, WrapUp: 30 * time.Second, IVRPath: []IVRStep{}, RoutingReasons: []string{}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"hold_ms":1500`, `"wrapup_ms":30000`, `"talk_ms":58500`, `"wait_ms":10000`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	var back Interaction
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
