package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/acd/campaign"
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

// endsFirst is an engine whose Release lets the follower see the call's
// end before Release returns, as happens when the engine's event is
// taken at once.
type endsFirst struct {
	Engine
	m *Manager
}

func (e endsFirst) Release(_ context.Context, id acd.CallID, _ string) error {
	e.m.ended(&acd.CallEnded{CallID: id})
	return nil
}

// playedTo is a Phone that records the prompts it played.
type playedTo struct {
	mu      sync.Mutex
	prompts []string
}

func (p *playedTo) Dial(context.Context, string, acd.CallInfo) (Answer, error) {
	return Answer{}, errors.New("not dialling")
}

func (p *playedTo) Play(_ context.Context, _ acd.Leg, prompt string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prompts = append(p.prompts, prompt)
	return nil
}

// TestGraceEndReleasesThePerson: a person nobody took within the grace
// hears the abandon message and is hung up, even when the follower
// settled the line from the call's end before the release returned.
func TestGraceEndReleasesThePerson(t *testing.T) {
	plan, err := dialplan.New(dialplan.Config{HomeCountry: "US"})
	if err != nil {
		t.Fatal(err)
	}
	phone := &playedTo{}
	eng := &endsFirst{}
	m, err := New(eng, phone, nil, &keptCampaigns{}, Options{Plan: plan, Records: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	eng.m = m
	r, err := m.newRun(campaign.Config{ID: "c1", Queue: "sales", Mode: campaign.Predictive}, crmcore.CampaignInfo{ID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	leg := acdtest.NewLeg("person")
	l := &line{r: r, dial: campaign.Dial{ID: "c1-1"}, call: acd.CallID(leg.ID()), leg: leg}
	m.lines.Store(l.call, l)
	l.graceOver()
	m.wg.Wait()
	if want := []string{"campaign_abandon"}; !slices.Equal(phone.prompts, want) {
		t.Errorf("played %v, want %v", phone.prompts, want)
	}
	if leg.HungUp() != 1 {
		t.Errorf("the person's leg was hung up %d times, want once", leg.HungUp())
	}
}
