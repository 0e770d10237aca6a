package crmcore

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewAccount(t *testing.T) {
	owner := "01a23000-0000-7000-8000-000000000001"
	tests := []struct {
		name  string
		in    AccountInput
		want  Account
		field string // the refused field, "" when valid
	}{
		{"defaults", AccountInput{Name: " Acme "}, Account{Name: "Acme", Segment: SegmentStandard}, ""},
		{"owner and domain", AccountInput{Name: "Acme", Domain: " Mail.ACME.example ", Segment: SegmentVIP, OwnerID: owner},
			Account{Name: "Acme", Domain: "mail.acme.example", Segment: SegmentVIP, OwnerID: owner}, ""},
		{"no name", AccountInput{Domain: "acme.example"}, Account{}, "name"},
		{"name with a newline", AccountInput{Name: "A\ncme"}, Account{}, "name"},
		{"one label", AccountInput{Name: "Acme", Domain: "localhost"}, Account{}, "domain"},
		{"empty label", AccountInput{Name: "Acme", Domain: "acme..example"}, Account{}, "domain"},
		{"hyphen at a label's edge", AccountInput{Name: "Acme", Domain: "-acme.example"}, Account{}, "domain"},
		{"an email, not a domain", AccountInput{Name: "Acme", Domain: "sales@acme.example"}, Account{}, "domain"},
		{"bad segment", AccountInput{Name: "Acme", Segment: "gold"}, Account{}, "segment"},
		{"owner not a UUID", AccountInput{Name: "Acme", OwnerID: "ann"}, Account{}, "owner_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewAccount(tt.in)
			var fe *FieldError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("NewAccount: %v", err)
			case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
				t.Fatalf("NewAccount err = %v, want a field error on %s", err, tt.field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NewAccount (-want +got):\n%s", diff)
			}
			if tt.field == "" {
				if back, err := NewAccount(got.Input()); err != nil || !cmp.Equal(back, got) {
					t.Errorf("NewAccount(Input()) = %+v, %v; want %+v", back, err, got)
				}
			}
		})
	}
}
