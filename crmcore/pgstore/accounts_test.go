package pgstore

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"switchboard/crmcore"
)

// TestAccountOwner: an account is created and updated with an owner who
// must be an agent (else a field error on owner_id and nothing changes),
// is read and listed with it, and loses it when the agent is deleted.
func TestAccountOwner(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	ann, ben := testAgent(t, s, "ann"), testAgent(t, s, "ben")

	in, err := crmcore.NewAccount(crmcore.AccountInput{Name: "Acme", Domain: "Acme.Example", OwnerID: ann})
	if err != nil {
		t.Fatal(err)
	}
	created, err := s.CreateAccount(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	ignore := cmpopts.IgnoreFields(crmcore.Account{}, "CreatedAt")
	want := crmcore.Account{ID: created.ID, Name: "Acme", Domain: "acme.example", Segment: crmcore.SegmentStandard, OwnerID: ann}
	if diff := cmp.Diff(want, created, ignore); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}

	want.OwnerID = ben
	got, err := s.UpdateAccount(ctx, created.ID, want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("updated (-want +got):\n%s", diff)
	}

	unknown := "00000000-0000-4000-8000-000000000000"
	tests := []struct {
		name string
		do   func() error
	}{
		{"create", func() error {
			_, err := s.CreateAccount(ctx, crmcore.Account{Name: "Globex", OwnerID: unknown})
			return err
		}},
		{"update", func() error {
			a := want
			a.OwnerID = unknown
			_, err := s.UpdateAccount(ctx, created.ID, a)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run("unknown owner on "+tt.name, func(t *testing.T) {
			var fe *crmcore.FieldError
			if err := tt.do(); !errors.As(err, &fe) || fe.Field != "owner_id" {
				t.Errorf("err = %v, want a field error on owner_id", err)
			}
		})
	}
	if got, err := s.GetAccount(ctx, created.ID); err != nil || got.OwnerID != ben {
		t.Errorf("after the refused updates = %+v, %v; want ben the owner", got, err)
	}
	if _, err := s.UpdateAccount(ctx, unknown, want); !errors.Is(err, crmcore.ErrNotFound) {
		t.Errorf("update of a missing account: %v, want not found", err)
	}

	if err := s.DeleteAgent(ctx, ben); err != nil {
		t.Fatal(err)
	}
	as, err := s.ListAccounts(ctx)
	want.OwnerID = ""
	if err != nil || len(as) != 1 {
		t.Fatalf("list = %+v, %v; want one account", as, err)
	}
	if diff := cmp.Diff(want, as[0], ignore); diff != "" {
		t.Errorf("listed after the owner's deletion (-want +got):\n%s", diff)
	}
}

// testAgent creates an agent and returns its id.
func testAgent(t *testing.T, s *Store, login string) string {
	t.Helper()
	a, err := crmcore.NewAgent(crmcore.AgentInput{Login: login, Password: "pw12345"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if a, err = s.CreateAgent(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a.ID
}
