package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/acd/dialplan"
	"switchboard/crmcore"
)

// keptCampaigns is a Store that keeps campaigns in memory: what the
// manager's checks need (the dialling itself is tested over SIP and
// PostgreSQL in cmd/switchboard).
type keptCampaigns struct {
	Store
	created []crmcore.CampaignInfo
}

func (k *keptCampaigns) CreateCampaign(_ context.Context, c crmcore.CampaignInfo) (crmcore.CampaignInfo, error) {
	k.created = append(k.created, c)
	return c, nil
}

func newManager(t *testing.T) (*Manager, *keptCampaigns) {
	t.Helper()
	cfg, err := acd.ParseConfig([]byte("queues:\n  - name: sales\n    skills: [{skill: sales, level: 1}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	phone := acdtest.NewPhone()
	e, err := acd.New(cfg, phone, phone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	plan, err := dialplan.New(dialplan.Config{HomeCountry: "US"})
	if err != nil {
		t.Fatal(err)
	}
	store := &keptCampaigns{}
	m, err := New(e, nil, nil, store, Options{Plan: plan, Records: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	return m, store
}

type discard struct{}

func (discard) Write(context.Context, crmcore.Interaction) error   { return nil }
func (discard) AppendWrapUp(context.Context, crmcore.WrapUp) error { return nil }

// TestCreateCampaignChecks: a campaign's configuration is read strictly
// and checked before it is kept: an unknown field, a bad mode or an
// unknown queue is a field error; a good one is kept paused, with an id
// given when it had none, and its id may not be taken twice.
func TestCreateCampaignChecks(t *testing.T) {
	m, store := newManager(t)
	ctx := context.Background()
	for name, cfg := range map[string]string{
		"unknown field": `{"name": "x", "queue": "sales", "mode": "progressive", "pace": 3}`,
		"bad mode":      `{"name": "x", "queue": "sales", "mode": "aggressive"}`,
		"unknown queue": `{"name": "x", "queue": "nowhere", "mode": "progressive"}`,
		"not an object": `[1, 2]`,
	} {
		if _, err := m.CreateCampaign(ctx, json.RawMessage(cfg), ""); !errors.Is(err, crmcore.ErrInvalid) {
			t.Errorf("%s: %v, want a field error", name, err)
		}
	}
	if len(store.created) != 0 {
		t.Fatalf("refused configurations were kept: %+v", store.created)
	}
	info, err := m.CreateCampaign(ctx, json.RawMessage(`{"name": "Renewals", "queue": "sales", "mode": "preview"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if !crmcore.ValidCampaignID(info.ID) || info.State != crmcore.CampaignPaused || info.Mode != "preview" || len(store.created) != 1 {
		t.Fatalf("created %+v, want a paused preview campaign with an id of its own", info)
	}
	again := `{"id": "` + info.ID + `", "name": "Again", "queue": "sales", "mode": "progressive"}`
	if _, err := m.CreateCampaign(ctx, json.RawMessage(again), ""); !errors.Is(err, crmcore.ErrConflict) {
		t.Errorf("the same id again: %v, want ErrConflict", err)
	}
	if _, err := m.Preview(ctx, "a1", info.ID); !errors.Is(err, crmcore.ErrNotFound) {
		t.Errorf("preview of a paused campaign: %v, want nothing to call", err)
	}
}

// TestImportCSVKeepsTheReaderError: a CSV list the API cut at its size
// cap is a field error that still says so (the API answers 413).
func TestImportCSVKeepsTheReaderError(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	info, err := m.CreateCampaign(ctx, json.RawMessage(`{"name": "List", "queue": "sales", "mode": "progressive"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	body := http.MaxBytesReader(nil, io.NopCloser(strings.NewReader("number,name\n+14155550100,Ann\n")), 8)
	_, _, err = m.ImportCampaignCSV(ctx, info.ID, body)
	var mbe *http.MaxBytesError
	if !errors.Is(err, crmcore.ErrInvalid) || !errors.As(err, &mbe) {
		t.Errorf("cut list: %v, want a field error carrying the size cap", err)
	}
}
