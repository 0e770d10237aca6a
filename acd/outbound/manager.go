package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"switchboard/acd"
	"switchboard/acd/campaign"
	"switchboard/crmcore"
)

// Options tune a Manager. Plan is required.
type Options struct {
	// Plan vets every number before it is dialled (role campaign).
	Plan campaign.DialPlan
	// Records receives the record of every dial (the durable writer).
	Records crmcore.InteractionRecorder
	// Step is how often a running campaign paces (default 500 ms); the
	// end of a dial or a call paces at once.
	Step time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Manager runs the outbound campaigns; it implements the CRM API's
// campaign runner.
type Manager struct {
	eng   Engine
	phone Phone
	conn  Connector
	store Store
	opts  Options
	log   *slog.Logger

	mu   sync.Mutex
	runs map[string]*run
	ids  []string // creation order
	// ctx is Run's, nil before it: campaigns created before Run start
	// their goroutine when it begins.
	ctx context.Context
	wg  sync.WaitGroup

	// lines are the campaigns' calls in the engine, by its call id,
	// until they end; recent the events of calls not (yet) among them.
	lines     sync.Map
	rmu       sync.Mutex
	recent    map[acd.CallID][]acd.Event
	recentIDs []acd.CallID

	// previews are the contacts agents hold in preview.
	pmu      sync.Mutex
	previews map[acd.AgentID]*held
}

// New returns a manager dialling with phone, queuing people who answer
// with conn, keeping campaigns in store.
func New(eng Engine, phone Phone, conn Connector, store Store, opts Options) (*Manager, error) {
	if opts.Plan == nil || opts.Records == nil {
		return nil, errors.New("outbound: a dial plan and a record writer are required")
	}
	if opts.Step <= 0 {
		opts.Step = 500 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{eng: eng, phone: phone, conn: conn, store: store, opts: opts, log: log, runs: map[string]*run{}}, nil
}

// Run follows the engine's events and runs every campaign until ctx
// ends; then it waits for the dials in progress to end.
func (m *Manager) Run(ctx context.Context) error {
	sub, _, err := m.eng.Subscribe(ctx, acd.SubscribeOptions{Name: "outbound", Buffer: 1 << 16})
	if err != nil {
		return fmt.Errorf("outbound: %w", err)
	}
	m.mu.Lock()
	m.ctx = ctx
	for _, id := range m.ids {
		m.start(m.runs[id])
	}
	m.mu.Unlock()
	m.follow(ctx, sub)
	m.wg.Wait()
	return ctx.Err()
}

// start runs r's goroutine (m.mu held, Run started).
func (m *Manager) start(r *run) {
	m.wg.Go(func() { r.loop(m.ctx) })
}

// Restore rebuilds the campaigns kept in the store, with the contacts
// they have not finished, before Run and before the API serves them.
func (m *Manager) Restore(ctx context.Context) error {
	infos, err := m.store.Campaigns(ctx)
	if err != nil {
		return fmt.Errorf("outbound: campaigns: %w", err)
	}
	for _, info := range infos {
		cfg, err := parseConfig(info.Config)
		if err != nil {
			m.log.Error("outbound: a kept campaign's config no longer parses; it is not run", "campaign", info.ID, "err", err)
			continue
		}
		r, err := m.newRun(cfg, info)
		if err != nil {
			m.log.Error("outbound: a kept campaign cannot run", "campaign", info.ID, "err", err)
			continue
		}
		list, err := m.store.CampaignContacts(ctx, info.ID)
		if err != nil {
			return fmt.Errorf("outbound: campaign %s contacts: %w", info.ID, err)
		}
		var open []crmcore.CampaignContact
		for _, c := range list {
			if !c.Done {
				open = append(open, c)
			}
		}
		r.add(open)
		m.mu.Lock()
		m.runs[info.ID] = r
		m.ids = append(m.ids, info.ID)
		m.mu.Unlock()
	}
	return nil
}

// parseConfig reads a campaign configuration (JSON, or YAML) strictly:
// an unknown field is an error.
func parseConfig(raw []byte) (campaign.Config, error) {
	var cfg campaign.Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return cfg, nil
}

func invalid(field, reason string) error {
	return &crmcore.FieldError{Field: field, Reason: reason}
}

// CreateCampaign checks config, keeps it and returns the campaign,
// paused. A config without an id gets a new one.
func (m *Manager) CreateCampaign(ctx context.Context, config json.RawMessage, by string) (crmcore.CampaignInfo, error) {
	var fields map[string]any
	if err := json.Unmarshal(config, &fields); err != nil || fields == nil {
		return crmcore.CampaignInfo{}, invalid("config", "must be a JSON object")
	}
	if id, _ := fields["id"].(string); id == "" {
		fields["id"] = crmcore.NewID()
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return crmcore.CampaignInfo{}, invalid("config", err.Error())
	}
	cfg, err := parseConfig(raw)
	if err != nil {
		return crmcore.CampaignInfo{}, invalid("config", err.Error())
	}
	if err := cfg.Validate(); err != nil {
		return crmcore.CampaignInfo{}, invalid("config", strings.TrimPrefix(err.Error(), campaign.ErrConfig.Error()+": "))
	}
	if _, err := m.eng.QueueStaff(ctx, cfg.Queue); err != nil {
		return crmcore.CampaignInfo{}, invalid("queue", err.Error())
	}
	info := crmcore.CampaignInfo{ID: cfg.ID, Name: cfg.Name, Queue: cfg.Queue, Mode: string(cfg.Mode),
		State: crmcore.CampaignPaused, Config: raw, CreatedBy: by}
	r, err := m.newRun(cfg, info)
	if err != nil {
		return crmcore.CampaignInfo{}, invalid("config", err.Error())
	}
	m.mu.Lock()
	_, taken := m.runs[cfg.ID]
	m.mu.Unlock()
	if taken {
		return crmcore.CampaignInfo{}, fmt.Errorf("%w: campaign %q exists", crmcore.ErrConflict, cfg.ID)
	}
	kept, err := m.store.CreateCampaign(ctx, info)
	if err != nil {
		return crmcore.CampaignInfo{}, err
	}
	r.info = kept
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, taken := m.runs[cfg.ID]; taken {
		return crmcore.CampaignInfo{}, fmt.Errorf("%w: campaign %q exists", crmcore.ErrConflict, cfg.ID)
	}
	m.runs[cfg.ID] = r
	m.ids = append(m.ids, cfg.ID)
	if m.ctx != nil {
		m.start(r)
	}
	return r.snapshot(), nil
}

func (m *Manager) run(id string) (*run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.runs[id]
	if r == nil {
		return nil, fmt.Errorf("%w: campaign %q", crmcore.ErrNotFound, id)
	}
	return r, nil
}

// AddCampaignContacts appends contacts to campaign id's list and returns
// how many are callable.
func (m *Manager) AddCampaignContacts(ctx context.Context, id string, contacts []crmcore.CampaignContact) (int, error) {
	r, err := m.run(id)
	if err != nil {
		return 0, err
	}
	if r.state() == crmcore.CampaignStopped {
		return 0, invalid("state", "the campaign is stopped")
	}
	// One append at a time per campaign: the list's positions and the
	// campaign's places follow the same order.
	r.addMu.Lock()
	defer r.addMu.Unlock()
	kept, err := m.store.AddCampaignContacts(ctx, id, contacts)
	if err != nil {
		return 0, err
	}
	n := r.add(kept)
	r.poke()
	return n, nil
}

// ImportCampaignCSV appends the contacts of a CSV list (header
// number,name,contact_id,timezone) to campaign id's list; it returns how
// many are callable and the rows it skipped.
func (m *Manager) ImportCampaignCSV(ctx context.Context, id string, csv io.Reader) (int, []string, error) {
	if _, err := m.run(id); err != nil {
		return 0, nil, err
	}
	list, bad, err := campaign.ParseCSV(csv)
	if err != nil {
		// The reader's own error (a body over the API's size cap) stays
		// in the chain for the API to tell.
		return 0, nil, &crmcore.FieldError{Field: "csv", Reason: strings.TrimPrefix(err.Error(), campaign.ErrCSV.Error()+": "),
			Err: errors.Join(crmcore.ErrInvalid, err)}
	}
	skipped := make([]string, 0, len(bad))
	for _, b := range bad {
		skipped = append(skipped, b.Error())
	}
	contacts := make([]crmcore.CampaignContact, 0, len(list))
	for _, c := range list {
		contacts = append(contacts, crmcore.CampaignContact{ContactID: c.ID, Number: c.Number, Name: c.Name, TimeZone: c.TimeZone})
	}
	n, err := m.AddCampaignContacts(ctx, id, contacts)
	return n, skipped, err
}

// Campaigns returns every campaign with its figures, oldest first.
func (m *Manager) Campaigns(context.Context) ([]crmcore.CampaignInfo, error) {
	m.mu.Lock()
	runs := make([]*run, 0, len(m.ids))
	for _, id := range m.ids {
		runs = append(runs, m.runs[id])
	}
	m.mu.Unlock()
	out := make([]crmcore.CampaignInfo, 0, len(runs))
	for _, r := range runs {
		out = append(out, r.snapshot())
	}
	return out, nil
}

// Campaign returns campaign id with its figures.
func (m *Manager) Campaign(_ context.Context, id string) (crmcore.CampaignInfo, error) {
	r, err := m.run(id)
	if err != nil {
		return crmcore.CampaignInfo{}, err
	}
	return r.snapshot(), nil
}

// SetCampaignState runs, pauses or stops campaign id. Stopped is final;
// pausing or stopping lets the dials in progress end.
func (m *Manager) SetCampaignState(ctx context.Context, id string, st crmcore.CampaignState) (crmcore.CampaignInfo, error) {
	if !st.Valid() {
		return crmcore.CampaignInfo{}, invalid("state", "must be running, paused or stopped")
	}
	r, err := m.run(id)
	if err != nil {
		return crmcore.CampaignInfo{}, err
	}
	r.addMu.Lock()
	defer r.addMu.Unlock()
	if cur := r.state(); cur == crmcore.CampaignStopped && st != cur {
		return crmcore.CampaignInfo{}, invalid("state", "the campaign is stopped")
	}
	if err := m.store.SetCampaignState(ctx, id, st); err != nil {
		return crmcore.CampaignInfo{}, err
	}
	r.setState(st)
	return r.snapshot(), nil
}
