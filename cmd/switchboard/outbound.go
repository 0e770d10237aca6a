package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"switchboard/acd"
	"switchboard/acd/outbound"
	"switchboard/acd/voice"
	"switchboard/agentdesk"
	"switchboard/crmcore/crmapi"
	"switchboard/sip"
	"switchboard/sip/media"
)

// campaignPhone places campaign calls on this process's gateway.
type campaignPhone struct {
	agents  *sip.Agents
	prompts string
	ring    time.Duration
}

var _ outbound.Phone = campaignPhone{}

// Dial implements outbound.Phone with answering-machine detection.
func (p campaignPhone) Dial(ctx context.Context, number string, call acd.CallInfo) (outbound.Answer, error) {
	c, res, err := p.agents.DialDetect(ctx, number, call, p.ring, media.AMDConfig{})
	switch {
	case errors.Is(err, sip.ErrBusy):
		return outbound.Answer{}, fmt.Errorf("%w: %w", outbound.ErrBusy, err)
	case errors.Is(err, sip.ErrNoAnswer):
		return outbound.Answer{}, fmt.Errorf("%w: %w", outbound.ErrNoAnswer, err)
	case err != nil:
		if c != nil {
			_ = c.Hangup(context.WithoutCancel(ctx))
		}
		return outbound.Answer{}, err
	}
	return outbound.Answer{Leg: c, Machine: res.Status == media.AMDMachine, Detection: res.String()}, nil
}

// Play implements outbound.Phone.
func (p campaignPhone) Play(ctx context.Context, leg acd.Leg, prompt string) error {
	return p.agents.PlayTo(ctx, leg, promptFiles(p.prompts, prompt))
}

// journeyConnector queues the people who answer, and pops preview
// calls, on the process's voice journey.
type journeyConnector struct{ journey func() *voice.Journey }

func outboundCall(c outbound.Connect) voice.OutboundCall {
	return voice.OutboundCall{InteractionID: c.InteractionID, Campaign: c.Campaign, Queue: c.Queue,
		Number: c.Number, Name: c.Name, Dialed: c.Dialed, Answered: c.Answered, Detection: c.Detection}
}

// Connect implements outbound.Connector.
func (j journeyConnector) Connect(ctx context.Context, leg acd.Leg, c outbound.Connect) error {
	call, ok := leg.(voice.Call)
	if !ok {
		return fmt.Errorf("campaign leg %T is not a call", leg)
	}
	return j.journey().Dialed(ctx, call, outboundCall(c))
}

// Pop implements outbound.Connector.
func (j journeyConnector) Pop(ctx context.Context, c outbound.Connect) any {
	return j.journey().PreviewPop(ctx, outboundCall(c))
}

// newCampaigns builds the dialer over engine (nil without a journey to
// queue the people who answer). In a cluster it runs on the leader and
// dials from the leader's own gateway.
func newCampaigns(d routingDeps, engine *acd.Engine) (*outbound.Manager, error) {
	if d.journey == nil {
		return nil, nil
	}
	phone := campaignPhone{agents: d.agents, prompts: d.cfg.IVR.Prompts, ring: d.cfg.SIP.CampaignRing.D()}
	m, err := outbound.New(engine, phone, journeyConnector{d.journey}, d.store, outbound.Options{
		Plan: d.plan, Records: d.traces.recorder(d.writer), Logger: d.log})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return m, m.Restore(ctx)
}

var _ crmapi.CampaignRunner = (*outbound.Manager)(nil)

// campaignDesk serves preview campaigns to the desks.
type campaignDesk struct{ m *outbound.Manager }

var _ agentdesk.CampaignDesk = campaignDesk{}

// deskCampaigns is the desks' view of m (nil without a dialer).
func deskCampaigns(m *outbound.Manager) agentdesk.CampaignDesk {
	if m == nil {
		return nil
	}
	return campaignDesk{m}
}

// Preview implements agentdesk.CampaignDesk.
func (c campaignDesk) Preview(ctx context.Context, agent, campaign string) (agentdesk.PreviewContact, error) {
	p, err := c.m.Preview(ctx, acd.AgentID(agent), campaign)
	if err != nil {
		return agentdesk.PreviewContact{}, err
	}
	return agentdesk.PreviewContact{DialID: p.DialID, CampaignID: p.Campaign, CampaignName: p.CampaignName, Number: p.Number,
		Name: p.Name, ContactID: p.ContactID, Attempt: p.Attempt, CRM: crmPop(p.Pop)}, nil
}

// DialPreview implements agentdesk.CampaignDesk.
func (c campaignDesk) DialPreview(ctx context.Context, agent, dialID string) (string, error) {
	id, err := c.m.DialPreview(ctx, acd.AgentID(agent), dialID)
	return string(id), err
}
