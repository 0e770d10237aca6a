package outbound

import (
	"context"
	"errors"
	"fmt"
	"time"

	"switchboard/acd"
	"switchboard/acd/campaign"
	"switchboard/crmcore"
)

// previewHold is how long a contact handed to an agent in preview stays
// theirs without being dialled; then it goes back to the list.
const previewHold = 10 * time.Minute

// Preview is a contact of a preview campaign handed to an agent.
type Preview struct {
	DialID       string
	Campaign     string
	CampaignName string
	Number       string
	Name         string
	ContactID    string
	// Attempt counts the contact's dials, this one included.
	Attempt int
	// Pop is the screen pop of the number (the Connector's).
	Pop any
}

// held is a preview contact an agent holds until they dial it.
type held struct {
	r     *run
	d     campaign.Dial
	rec   string // the interaction id the dial will have
	pop   any
	timer *time.Timer
}

// Preview hands agent the next contact of a running preview campaign:
// campaign id when given, else of the first one running. An agent who
// holds a contact gets it again. Nothing to call now: an error wrapping
// crmcore.ErrNotFound.
func (m *Manager) Preview(ctx context.Context, agent acd.AgentID, id string) (Preview, error) {
	m.pmu.Lock()
	defer m.pmu.Unlock()
	if h := m.previews[agent]; h != nil {
		return h.preview(), nil
	}
	for _, r := range m.previewRuns(id) {
		d, ok, err := r.c.Next(ctx, m.opts.Now())
		r.flush(ctx)
		if err != nil {
			return Preview{}, err
		}
		if !ok {
			continue
		}
		h := &held{r: r, d: d, rec: crmcore.NewID()}
		h.pop = m.conn.Pop(ctx, Connect{InteractionID: h.rec, Campaign: r.cfg.ID, Queue: r.cfg.Queue, Number: d.Number,
			Name: d.Contact.Name})
		h.timer = time.AfterFunc(previewHold, func() { m.expire(agent, h) })
		if m.previews == nil {
			m.previews = map[acd.AgentID]*held{}
		}
		m.previews[agent] = h
		return h.preview(), nil
	}
	return Preview{}, fmt.Errorf("%w: no contact to call now", crmcore.ErrNotFound)
}

func (h *held) preview() Preview {
	return Preview{DialID: h.d.ID, Campaign: h.r.cfg.ID, CampaignName: h.r.cfg.Name, Number: h.d.Number,
		Name: h.d.Contact.Name, ContactID: h.d.Contact.ID, Attempt: h.d.Attempt, Pop: h.pop}
}

// previewRuns are the running preview campaigns: id alone when given.
func (m *Manager) previewRuns(id string) []*run {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*run
	for _, rid := range m.ids {
		r := m.runs[rid]
		if (id == "" || rid == id) && r.cfg.Mode == campaign.Preview && r.state() == crmcore.CampaignRunning {
			out = append(out, r)
		}
	}
	return out
}

// expire gives a contact an agent did not dial back to its list: it is
// due again at once, its attempts unchanged.
func (m *Manager) expire(agent acd.AgentID, h *held) {
	m.pmu.Lock()
	if m.previews[agent] != h {
		m.pmu.Unlock()
		return
	}
	delete(m.previews, agent)
	m.pmu.Unlock()
	_ = h.r.c.Finish(h.d.ID, campaign.ResultOutOfWindow, m.opts.Now())
	h.r.flush(context.Background())
}

// DialPreview dials the contact dialID agent holds: the agent's endpoint
// rings first, then the number (the engine's click-to-dial). An agent
// who is busy keeps the contact; any other refusal ends the dial as
// failed.
func (m *Manager) DialPreview(ctx context.Context, agent acd.AgentID, dialID string) (acd.CallID, error) {
	m.pmu.Lock()
	h := m.previews[agent]
	if h == nil || h.d.ID != dialID {
		m.pmu.Unlock()
		return "", fmt.Errorf("%w: %s holds no contact %q", crmcore.ErrNotFound, agent, dialID)
	}
	delete(m.previews, agent)
	h.timer.Stop()
	m.pmu.Unlock()
	r, now := h.r, m.opts.Now()
	rec := crmcore.Interaction{ID: h.rec, CallID: h.d.ID, Direction: crmcore.Outbound, Channel: crmcore.ChannelPhone,
		ANI: h.d.Number, DNIS: h.d.Number, Queue: r.cfg.Queue, AgentID: string(agent), ArrivedAt: now.UTC(),
		Outcome: crmcore.OutcomeInProgress, Campaign: r.cfg.ID, RoutingReasons: []string{}}
	if err := m.opts.Records.Write(context.WithoutCancel(ctx), rec); err != nil {
		m.restore1(agent, h)
		return "", fmt.Errorf("outbound: the dial's record: %w", err)
	}
	// The line is known before the call exists, so that no event of it
	// is missed; it is filed under the call's id once there is one.
	l := &line{r: r, dial: h.d, preview: true}
	id, err := m.eng.DialWith(ctx, agent, h.d.Number, h.pop)
	switch {
	case errors.Is(err, acd.ErrAgentBusy):
		m.restore1(agent, h)
		return "", err
	case err != nil:
		r.finish(ctx, h.d, rec, campaign.ResultFailed, err.Error())
		return "", err
	}
	l.call = id
	m.lines.Store(id, l)
	m.replay(id)
	return id, nil
}

// restore1 gives agent back the contact h they could not dial yet.
func (m *Manager) restore1(agent acd.AgentID, h *held) {
	m.pmu.Lock()
	defer m.pmu.Unlock()
	if m.previews == nil {
		m.previews = map[acd.AgentID]*held{}
	}
	m.previews[agent] = h
	h.timer.Reset(previewHold)
}
