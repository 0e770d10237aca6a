package crmapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"switchboard/crmcore"
)

// FakeCampaigns is a CampaignRunner that keeps campaigns in memory and
// records what it is handed: the configurations, the contacts and the
// CSV bytes. It checks a configuration as far as the API's tests need
// (a queue and a known mode) and counts a number as callable when it is
// E.164.
type FakeCampaigns struct {
	mu       sync.Mutex
	camps    map[string]crmcore.CampaignInfo
	Configs  []json.RawMessage
	Contacts map[string][]crmcore.CampaignContact
	Batches  int // calls of AddCampaignContacts
	CSV      map[string][]byte
}

var _ CampaignRunner = (*FakeCampaigns)(nil)

// NewFakeCampaigns returns a runner holding camps.
func NewFakeCampaigns(camps ...crmcore.CampaignInfo) *FakeCampaigns {
	f := &FakeCampaigns{camps: map[string]crmcore.CampaignInfo{}, Contacts: map[string][]crmcore.CampaignContact{},
		CSV: map[string][]byte{}}
	for _, c := range camps {
		f.camps[c.ID] = c
	}
	return f
}

// CreateCampaign implements CampaignRunner.
func (f *FakeCampaigns) CreateCampaign(_ context.Context, config json.RawMessage, by string) (crmcore.CampaignInfo, error) {
	var c struct{ ID, Name, Queue, Mode string }
	if err := json.Unmarshal(config, &c); err != nil {
		return crmcore.CampaignInfo{}, fmt.Errorf("fake: %w", crmcore.ErrInvalid)
	}
	if c.Queue == "" {
		return crmcore.CampaignInfo{}, &crmcore.FieldError{Field: "queue", Reason: "is required"}
	}
	if c.Mode != "preview" && c.Mode != "progressive" && c.Mode != "predictive" {
		return crmcore.CampaignInfo{}, &crmcore.FieldError{Field: "mode", Reason: "is not preview, progressive or predictive"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.camps[c.ID]; ok {
		return crmcore.CampaignInfo{}, fmt.Errorf("fake: campaign %q: %w", c.ID, crmcore.ErrConflict)
	}
	f.Configs = append(f.Configs, config)
	info := crmcore.CampaignInfo{ID: c.ID, Name: c.Name, Queue: c.Queue, Mode: c.Mode, State: crmcore.CampaignPaused,
		Config: config, CreatedBy: by, CreatedAt: time.Now().UTC()}
	f.camps[c.ID] = info
	return info, nil
}

// AddCampaignContacts implements CampaignRunner.
func (f *FakeCampaigns) AddCampaignContacts(_ context.Context, id string, contacts []crmcore.CampaignContact) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.camps[id]; !ok {
		return 0, crmcore.ErrNotFound
	}
	f.Batches++
	f.Contacts[id] = append(f.Contacts[id], contacts...)
	n := 0
	for _, c := range contacts {
		if strings.HasPrefix(c.Number, "+") {
			n++
		}
	}
	return n, nil
}

// ImportCampaignCSV implements CampaignRunner: a row starting with
// "bad" is skipped, the others are added.
func (f *FakeCampaigns) ImportCampaignCSV(_ context.Context, id string, csv io.Reader) (int, []string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.camps[id]; !ok {
		return 0, nil, crmcore.ErrNotFound
	}
	b, err := io.ReadAll(csv)
	if err != nil {
		return 0, nil, err
	}
	f.CSV[id] = b
	added, skipped := 0, []string{}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		if strings.HasPrefix(line, "bad") {
			skipped = append(skipped, fmt.Sprintf("line %d: not a phone number", i+2))
		} else {
			added++
		}
	}
	return added, skipped, nil
}

// Campaigns implements CampaignRunner.
func (f *FakeCampaigns) Campaigns(context.Context) ([]crmcore.CampaignInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []crmcore.CampaignInfo
	for _, c := range f.camps {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b crmcore.CampaignInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Campaign implements CampaignRunner.
func (f *FakeCampaigns) Campaign(_ context.Context, id string) (crmcore.CampaignInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.camps[id]
	if !ok {
		return crmcore.CampaignInfo{}, crmcore.ErrNotFound
	}
	return c, nil
}

// SetCampaignState implements CampaignRunner.
func (f *FakeCampaigns) SetCampaignState(_ context.Context, id string, st crmcore.CampaignState) (crmcore.CampaignInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.camps[id]
	if !ok {
		return crmcore.CampaignInfo{}, crmcore.ErrNotFound
	}
	if c.State == crmcore.CampaignStopped {
		return crmcore.CampaignInfo{}, fmt.Errorf("fake: campaign %q is stopped: %w", id, crmcore.ErrInvalid)
	}
	c.State = st
	f.camps[id] = c
	return c, nil
}
