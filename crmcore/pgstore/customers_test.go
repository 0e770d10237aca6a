package pgstore

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"switchboard/crmcore"
)

// TestContactForCustomer: a customer is the contact with their email, else
// the one with their phone (written any way E.164 parses); one who named
// themselves or gave an email and matches nobody gets a new contact, which
// the same email finds again; an anonymous one, or one with only a phone
// nobody has, gets none.
func TestContactForCustomer(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if _, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	olivia, err := s.SearchContacts(ctx, crmcore.ContactQuery{Phone: "+14155550100"})
	if err != nil || len(olivia) != 1 {
		t.Fatalf("seed contact of +14155550100: %v, %v", olivia, err)
	}
	mailed, err := s.CreateContact(ctx, crmcore.Contact{Name: "Bea Mail", Emails: []string{"bea@example.org"}, Segment: crmcore.SegmentStandard,
		Tags: []string{}, Custom: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	contacts := func() int {
		var n int
		if err := pool.QueryRow(ctx, `select count(*) from contacts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	for _, tc := range []struct {
		name, who, email, phone, want string
	}{
		{name: "by email", who: "Someone Else", email: "Bea@Example.org", want: mailed.ID},
		{name: "email before phone", email: "bea@example.org", phone: "+14155550100", want: mailed.ID},
		{name: "by phone", who: "Olivia", phone: "+1 (415) 555-0100", want: olivia[0].ID},
		{name: "unknown email, known phone", email: "olivia.new@example.org", phone: "+14155550100", want: olivia[0].ID},
		{name: "anonymous", want: ""},
		{name: "unknown phone only", phone: "+14155559999", want: ""},
		{name: "unparsable phone only", phone: "12", want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := contacts()
			got, err := s.ContactForCustomer(ctx, tc.who, tc.email, tc.phone)
			if err != nil || got != tc.want {
				t.Errorf("ContactForCustomer(%q, %q, %q) = %q, %v; want %q", tc.who, tc.email, tc.phone, got, err, tc.want)
			}
			if n := contacts(); n != before {
				t.Errorf("contacts %d → %d: a match created one", before, n)
			}
		})
	}

	t.Run("created", func(t *testing.T) {
		for _, tc := range []struct {
			name, who, email, phone, wantName string
			wantEmails                        []string
		}{
			{name: "name and email", who: "  Ana Lima ", email: "Ana.Lima@Example.com", phone: "+14155559998", wantName: "Ana Lima", wantEmails: []string{"ana.lima@example.com"}},
			{name: "email only", email: "carl@example.net", wantName: "carl", wantEmails: []string{"carl@example.net"}},
			{name: "name and unknown phone", who: "Dan", phone: "+14155559997", wantName: "Dan", wantEmails: []string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id, err := s.ContactForCustomer(ctx, tc.who, tc.email, tc.phone)
				if err != nil || id == "" {
					t.Fatalf("ContactForCustomer = %q, %v; want a new contact", id, err)
				}
				c, err := s.GetContact(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if c.Name != tc.wantName || !cmp.Equal(c.Emails, tc.wantEmails) || len(c.Phones) != 0 {
					t.Errorf("contact = %q %v %v, want %q %v and no phone", c.Name, c.Emails, c.Phones, tc.wantName, tc.wantEmails)
				}
				if tc.email == "" {
					return
				}
				again, err := s.ContactForCustomer(ctx, "Another Name", tc.email, "")
				if err != nil || again != id {
					t.Errorf("the same email again = %q, %v; want %q", again, err, id)
				}
			})
		}
	})

	t.Run("bad email", func(t *testing.T) {
		_, err := s.ContactForCustomer(ctx, "Eve", "not an address", "")
		var fe *crmcore.FieldError
		if !errors.As(err, &fe) || fe.Field != "email" {
			t.Errorf("err = %v, want a FieldError on email", err)
		}
	})
}

// TestLookupByContact: the lookup by a contact is the lookup by their
// number; a contact without a phone is known all the same, and an unknown
// or malformed id is an unknown caller.
func TestLookupByContact(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if _, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	byPhone, err := s.LookupByPhone(ctx, "+14155550100")
	if err != nil || !byPhone.Known || byPhone.LastAgent == nil || len(byPhone.OpenTickets) == 0 {
		t.Fatalf("LookupByPhone = %+v, %v; want a known caller with tickets and a last agent", byPhone, err)
	}
	got, err := s.LookupByContact(ctx, byPhone.Contact.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phone.E164 == "" || len(got.Contact.Phones) != 1 || got.Contact.Phones[0].E164 != got.Phone.E164 {
		t.Errorf("phone = %+v, contact phones %+v; want the contact's first phone in both", got.Phone, got.Contact.Phones)
	}
	got.Phone, got.Contact.Phones = byPhone.Phone, byPhone.Contact.Phones // the contact may have another number first
	if diff := cmp.Diff(byPhone, got); diff != "" {
		t.Errorf("LookupByContact differs from LookupByPhone (-phone +contact):\n%s", diff)
	}

	id, err := s.ContactForCustomer(ctx, "Fay", "fay@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	fay, err := s.LookupByContact(ctx, id)
	if err != nil || !fay.Known || fay.Contact.Name != "Fay" || fay.Contact.Phones != nil || fay.Phone.E164 != "" ||
		fay.Account != nil || len(fay.OpenTickets) != 0 || len(fay.Recent) != 0 || fay.LastAgent != nil {
		t.Errorf("contact without a phone = %+v, %v; want known, nothing else", fay, err)
	}

	for _, unknown := range []string{crmcore.NewID(), "not-a-uuid", ""} {
		res, err := s.LookupByContact(ctx, unknown)
		if err != nil || res.Known || res.Contact != nil || res.OpenTickets == nil || res.Recent == nil {
			t.Errorf("LookupByContact(%q) = %+v, %v; want an unknown caller", unknown, res, err)
		}
	}
}
