package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/crmcore"
)

func newCampaign(t *testing.T, s *Store, id, by string) crmcore.CampaignInfo {
	t.Helper()
	c, err := s.CreateCampaign(context.Background(), crmcore.CampaignInfo{ID: id, Name: "Spring " + id, Queue: "sales",
		Mode: "predictive", Config: json.RawMessage(`{"id":"` + id + `","mode":"predictive"}`), CreatedBy: by})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCampaignsCreateListState(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	sam := testAgent(t, s, "sam")
	a := newCampaign(t, s, "spring", sam)
	if a.State != crmcore.CampaignPaused || a.CreatedBy != sam || a.CreatedAt.IsZero() || a.Mode != "predictive" {
		t.Errorf("created = %+v, want paused, by sam", a)
	}
	b := newCampaign(t, s, "b.2_x-y", crmcore.NewID()) // a creator who is no agent is not recorded
	if b.CreatedBy != "" {
		t.Errorf("created by %q, want none", b.CreatedBy)
	}
	if _, err := s.CreateCampaign(ctx, a); !errors.Is(err, crmcore.ErrConflict) {
		t.Errorf("same id again = %v, want ErrConflict", err)
	}
	for name, c := range map[string]crmcore.CampaignInfo{
		"id":     {ID: "a b", Mode: "preview", Config: json.RawMessage(`{}`)},
		"mode":   {ID: "x", Mode: "blast", Config: json.RawMessage(`{}`)},
		"config": {ID: "x", Mode: "preview", Config: json.RawMessage(`[1]`)},
		"state":  {ID: "x", Mode: "preview", Config: json.RawMessage(`{}`), State: "dialing"},
	} {
		var fe *crmcore.FieldError
		if _, err := s.CreateCampaign(ctx, c); !errors.As(err, &fe) || fe.Field != name {
			t.Errorf("create with a bad %s = %v, want a FieldError on it", name, err)
		}
	}

	if err := s.SetCampaignState(ctx, a.ID, crmcore.CampaignRunning); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCampaignState(ctx, "nope", crmcore.CampaignRunning); !errors.Is(err, crmcore.ErrNotFound) {
		t.Errorf("state of an unknown campaign = %v, want ErrNotFound", err)
	}
	if err := s.SetCampaignState(ctx, b.ID, crmcore.CampaignStopped); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCampaignState(ctx, b.ID, crmcore.CampaignRunning); !errors.Is(err, crmcore.ErrInvalid) {
		t.Errorf("running a stopped campaign = %v, want ErrInvalid", err)
	}
	list, err := s.Campaigns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.State, b.State = crmcore.CampaignRunning, crmcore.CampaignStopped
	if d := cmp.Diff([]crmcore.CampaignInfo{a, b}, list); d != "" {
		t.Errorf("campaigns (-want +got):\n%s", d)
	}
}

func TestCampaignContacts(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	c := newCampaign(t, s, "spring", "")
	if got, err := s.CampaignContacts(ctx, c.ID); err != nil || len(got) != 0 {
		t.Fatalf("empty list = %v, %v", got, err)
	}
	if _, err := s.CampaignContacts(ctx, "nope"); !errors.Is(err, crmcore.ErrNotFound) {
		t.Errorf("list of an unknown campaign = %v, want ErrNotFound", err)
	}
	if _, err := s.AddCampaignContacts(ctx, "nope", []crmcore.CampaignContact{{Number: "+14155550100"}}); !errors.Is(err, crmcore.ErrNotFound) {
		t.Errorf("append to an unknown campaign = %v, want ErrNotFound", err)
	}
	if _, err := s.AddCampaignContacts(ctx, c.ID, []crmcore.CampaignContact{{Number: "+1"}, {Number: ""}}); !errors.Is(err, crmcore.ErrInvalid) {
		t.Errorf("append without a number = %v, want ErrInvalid", err)
	}
	ct, err := crmcore.NewContact(crmcore.ContactInput{Name: "Ann"}, "US")
	if err != nil {
		t.Fatal(err)
	}
	if ct, err = s.CreateContact(ctx, ct); err != nil {
		t.Fatal(err)
	}
	gone := crmcore.NewID()
	added, err := s.AddCampaignContacts(ctx, c.ID, []crmcore.CampaignContact{
		{Number: "+14155550100", Name: "Ann", ContactID: ct.ID, TimeZone: "America/Los_Angeles"},
		{Number: "+442079460018", ContactID: gone, Done: true}, // no such contact; not done yet
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []crmcore.CampaignContact{{Position: 0, Number: "+14155550100", Name: "Ann", ContactID: ct.ID, TimeZone: "America/Los_Angeles"},
		{Position: 1, Number: "+442079460018"}}
	if d := cmp.Diff(want, added); d != "" {
		t.Errorf("added (-want +got):\n%s", d)
	}

	// Two appends at once take distinct positions, each a run of its own.
	const n = 50
	var wg sync.WaitGroup
	runs := make([][]crmcore.CampaignContact, 2)
	errs := make([]error, 2)
	for g := range 2 {
		wg.Go(func() {
			cs := make([]crmcore.CampaignContact, n)
			for i := range cs {
				cs[i] = crmcore.CampaignContact{Number: "+1212555" + string(rune('0'+g)) + string(rune('0'+i/10)) + string(rune('0'+i%10))}
			}
			runs[g], errs[g] = s.AddCampaignContacts(ctx, c.ID, cs)
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Fatalf("append %d: %v", g, err)
		}
	}
	for _, run := range runs {
		for i := range run {
			if run[i].Position != run[0].Position+i {
				t.Fatalf("append not contiguous: %d after %d", run[i].Position, run[0].Position)
			}
		}
	}
	if min(runs[0][0].Position, runs[1][0].Position) != 2 || max(runs[0][0].Position, runs[1][0].Position) != 2+n {
		t.Fatalf("runs start at %d and %d, want 2 and %d", runs[0][0].Position, runs[1][0].Position, 2+n)
	}

	if err := s.FinishCampaignContacts(ctx, c.ID, []int{1, 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishCampaignContacts(ctx, c.ID, []int{1, 3, 9999}); err != nil { // again: no change
		t.Fatal(err)
	}
	if err := s.FinishCampaignContacts(ctx, "nope", []int{1}); !errors.Is(err, crmcore.ErrNotFound) {
		t.Errorf("finish in an unknown campaign = %v, want ErrNotFound", err)
	}
	// A deleted contact leaves its entry on the list, without the reference.
	if err := s.DeleteContact(ctx, ct.ID); err != nil {
		t.Fatal(err)
	}
	list, err := s.CampaignContacts(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2+2*n {
		t.Fatalf("list has %d contacts, want %d", len(list), 2+2*n)
	}
	var done []int
	for i, e := range list {
		if e.Position != i {
			t.Fatalf("list[%d] at position %d", i, e.Position)
		}
		if e.Done {
			done = append(done, i)
		}
	}
	if !slices.Equal(done, []int{1, 3}) || list[0].ContactID != "" || list[0].Name != "Ann" {
		t.Errorf("done = %v, first = %+v; want [1 3] and Ann without a contact", done, list[0])
	}
}

func TestDNC(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t), WithClock(func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.FixedZone("", 3600)) }))
	sam := testAgent(t, s, "sam")
	e, err := s.AddDNC(ctx, crmcore.DNCEntry{Number: "+44 20 7946 0018", Reason: "asked on the phone", AddedBy: sam})
	if err != nil {
		t.Fatal(err)
	}
	want := crmcore.DNCEntry{Number: "+442079460018", Reason: "asked on the phone", AddedBy: sam, AddedAt: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	if d := cmp.Diff(want, e); d != "" {
		t.Errorf("added (-want +got):\n%s", d)
	}
	// Again: the reason is updated, the number listed once.
	if e, err = s.AddDNC(ctx, crmcore.DNCEntry{Number: "+442079460018", Reason: "complaint"}); err != nil || e.Reason != "complaint" || e.AddedBy != "" {
		t.Fatalf("added again = %+v, %v", e, err)
	}
	for _, n := range []string{"+14155550123", "+12125550100"} {
		if _, err := s.AddDNC(ctx, crmcore.DNCEntry{Number: n}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddDNC(ctx, crmcore.DNCEntry{Number: "(415) 555-0123"}); !errors.Is(err, crmcore.ErrInvalidPhone) {
		t.Errorf("national number = %v, want ErrInvalidPhone", err)
	}

	var got []string
	for after := ""; ; {
		page, err := s.ListDNC(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			got = append(got, e.Number)
		}
		after = page[len(page)-1].Number
	}
	if want := []string{"+12125550100", "+14155550123", "+442079460018"}; !slices.Equal(got, want) {
		t.Errorf("paged list = %v, want %v", got, want)
	}

	for number, want := range map[string]bool{"+14155550123": true, "+14155550124": false, "+442079460018": true} {
		if b, err := s.Blocked(ctx, number); err != nil || b != want {
			t.Errorf("Blocked(%s) = %v, %v; want %v", number, b, err, want)
		}
	}
	if err := s.RemoveDNC(ctx, "+1 415 555 0123"); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Blocked(ctx, "+14155550123"); err != nil || b {
		t.Errorf("Blocked after removal = %v, %v", b, err)
	}
	for _, n := range []string{"+14155550123", "not a number"} {
		if err := s.RemoveDNC(ctx, n); !errors.Is(err, crmcore.ErrNotFound) {
			t.Errorf("RemoveDNC(%q) = %v, want ErrNotFound", n, err)
		}
	}
}

// TestCampaignInteractionRoundTrip: a dial's record, with its campaign and
// result, goes through the durable writer (journal, COPY, and the upsert
// of a completion) and reads back whole, and the list filters by campaign.
func TestCampaignInteractionRoundTrip(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	w, err := NewWriter(pool, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dial := testInteraction(1, "", "")
	dial.Direction, dial.Campaign = crmcore.Outbound, "spring"
	opened := dial
	opened.Outcome, opened.AnsweredAt, opened.EndedAt = crmcore.OutcomeInProgress, nil, nil
	dial.CampaignResult = "connected"
	machine := testInteraction(2, "", "")
	machine.Direction, machine.Campaign, machine.CampaignResult = crmcore.Outbound, "spring", "machine"
	other := testInteraction(3, "", "")
	other.Direction, other.Campaign, other.CampaignResult = crmcore.Outbound, "autumn", "busy"
	inbound := testInteraction(4, "", "")
	for _, in := range []crmcore.Interaction{opened, other, inbound} {
		if err := w.Write(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	waitRow(t, s, opened.ID, crmcore.OutcomeInProgress)
	for _, in := range []crmcore.Interaction{dial, machine} { // the completion is upserted over the opening
		if err := w.Write(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetInteraction(ctx, dial.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Campaign != "spring" || got.CampaignResult != "connected" || got.Outcome != crmcore.OutcomeAnswered {
		t.Errorf("read back campaign %q, result %q, outcome %s", got.Campaign, got.CampaignResult, got.Outcome)
	}
	if got, err := s.GetInteraction(ctx, inbound.ID); err != nil || got.Campaign != "" || got.CampaignResult != "" {
		t.Errorf("inbound read back with campaign %q/%q, %v", got.Campaign, got.CampaignResult, err)
	}
	list, err := s.ListInteractions(ctx, crmcore.InteractionFilter{Campaign: "spring"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range list {
		ids = append(ids, in.ID+" "+in.CampaignResult)
	}
	if want := []string{machine.ID + " machine", dial.ID + " connected"}; !slices.Equal(ids, want) {
		t.Errorf("campaign spring lists %v, want %v", ids, want)
	}
}
