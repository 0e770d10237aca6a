package crmcore

import (
	"errors"
	"testing"
	"time"
)

// TestLeadTransitions walks every edge of the lead status machine: the
// table's edges are allowed, every other pair is refused.
func TestLeadTransitions(t *testing.T) {
	all := []LeadStatus{LeadNew, LeadWorking, LeadQualified, LeadConverted, LeadDisqualified}
	allowed := map[[2]LeadStatus]bool{
		{LeadNew, LeadWorking}: true, {LeadNew, LeadDisqualified}: true,
		{LeadWorking, LeadQualified}: true, {LeadWorking, LeadDisqualified}: true,
		{LeadQualified, LeadConverted}: true, {LeadQualified, LeadDisqualified}: true,
	}
	for _, from := range all {
		for _, to := range append(all, "reopened") {
			err := from.To(to)
			if want := allowed[[2]LeadStatus{from, to}]; want != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidTransition)) {
				t.Errorf("%s → %s: %v, want allowed=%v", from, to, err, want)
			}
		}
	}
	if !LeadNew.Open() || !LeadWorking.Open() || LeadQualified.Open() || LeadStatus("x").Valid() {
		t.Error("Open/Valid disagree with the machine")
	}
}

func TestNewLead(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l, err := NewLead(LeadInput{Name: " Ada ", Company: "Acme", Email: "Ada@Example.com", Phone: "(415) 555-0123", Language: "ES"}, "US", now)
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "Ada" || l.Status != LeadNew || l.Priority != PriorityNormal || l.Phone != "+14155550123" || l.Country != "US" ||
		l.Language != "es" || l.Email != "ada@example.com" || !l.CreatedAt.Equal(now) {
		t.Errorf("lead = %+v", l)
	}
	bad := map[string]LeadInput{
		"name":     {},
		"phone":    {Name: "x", Phone: "12"},
		"email":    {Name: "x", Email: "not an email"},
		"owner_id": {Name: "x", OwnerID: "bob"},
		"country":  {Name: "x", Country: "QQ"},
		"priority": {Name: "x", Priority: 9},
	}
	for field, in := range bad {
		t.Run(field, func(t *testing.T) {
			_, err := NewLead(in, "US", now)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != field {
				t.Errorf("err = %v, want a field error on %s", err, field)
			}
		})
	}
}

// FuzzNewLead: any submitted lead is refused with a field error or
// accepted in the shape the store's table allows.
func FuzzNewLead(f *testing.F) {
	f.Add("Ada", "Acme", "ada@example.com", "+14155550123", "en", "US")
	f.Add("", "\x00", "@", "12", "ES\r\n", "qq")
	f.Fuzz(func(t *testing.T, name, company, email, phone, lang, country string) {
		l, err := NewLead(LeadInput{Name: name, Company: company, Email: email, Phone: phone, Language: lang, Country: country}, "US", time.Now())
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError", err)
			}
			return
		}
		if l.Name == "" || len(l.Name) > MaxNameLen || l.Status != LeadNew || !l.Priority.Valid() ||
			(l.Country != "" && len(l.Country) != 2) || (l.Phone != "" && l.Phone[0] != '+') {
			t.Fatalf("accepted %+v", l)
		}
	})
}
