package agentdesk

import (
	"context"
	"errors"
	"fmt"
	"unicode"

	"switchboard/crmcore"
)

// CampaignDesk serves preview campaigns to agents (the dialer, acd/outbound, wired in cmd).
type CampaignDesk interface {
	// Preview hands agent the next contact of a running preview campaign: of campaign when not empty,
	// else of any preview campaign whose queue the agent serves. The contact is held for the agent
	// until dialled or for a while (the dialer's rule). An agent already holding one gets it again.
	// Errors: wrapping crmcore.ErrNotFound when there is nothing to call now.
	Preview(ctx context.Context, agent, campaign string) (PreviewContact, error)
	// DialPreview dials the held contact dialID for agent (click-to-dial: the agent's endpoint rings first).
	// Errors: crmcore.ErrNotFound (no such held contact for this agent), the engine's (agent busy, dial plan).
	DialPreview(ctx context.Context, agent, dialID string) (callID string, err error)
}

// PreviewContact is a contact handed to an agent in preview.
type PreviewContact struct {
	DialID       string `json:"dial_id"`
	CampaignID   string `json:"campaign_id"`
	CampaignName string `json:"campaign_name,omitempty"`
	Number       string `json:"number"`
	Name         string `json:"name,omitempty"`
	ContactID    string `json:"contact_id,omitempty"`
	// Attempt counts the contact's dials, this one included.
	Attempt int `json:"attempt"`
	// CRM is the CRM record of the number (the same object as the screen pop's "crm"), or nil.
	CRM any `json:"crm,omitempty"`
}

// CampaignPreview is the data of "campaign.preview": the campaign to take
// the next contact from, or any preview campaign of the agent's queues
// when CampaignID is empty (the data may then be omitted).
type CampaignPreview struct {
	CampaignID string `json:"campaign_id,omitempty"`
}

// CampaignDial is the data of "campaign.dial": the contact held for the
// agent, by the DialID "campaign.preview" gave.
type CampaignDial struct {
	DialID string `json:"dial_id"`
}

// Limits of the campaign commands' fields: a campaign id is a name or a
// UUID; a dial id is the dialer's opaque handle.
const (
	maxCampaignIDLen = 64
	maxDialIDLen     = 160
)

func vCampaignPreview(v any) *ProtocolError {
	id := v.(*CampaignPreview).CampaignID
	if len(id) > maxCampaignIDLen {
		return bad("data.campaign_id", fmt.Sprintf("longer than %d bytes", maxCampaignIDLen))
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return bad("data.campaign_id", "letters, digits, '.', '_' and '-' only")
		}
	}
	return nil
}

func vCampaignDial(v any) *ProtocolError {
	id := v.(*CampaignDial).DialID
	switch {
	case id == "":
		return missing("data.dial_id")
	case len(id) > maxDialIDLen:
		return bad("data.dial_id", fmt.Sprintf("longer than %d bytes", maxDialIDLen))
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return bad("data.dial_id", "printable characters only")
		}
	}
	return nil
}

// campaignCommand runs a campaign command of the agent c is bound to. A
// preview goes to c as a "campaign.preview" event as well as in the ok
// reply, as webrtc.answer does, for integrations that follow events.
func (h *Hub) campaignCommand(ctx context.Context, c *client, cmd Command) (any, error) {
	if h.cfg.Campaigns == nil {
		return nil, ErrUnsupported
	}
	agent := c.id.AgentID
	switch cmd.Type {
	case CmdPreview:
		p, err := h.cfg.Campaigns.Preview(ctx, agent, cmd.Data.(*CampaignPreview).CampaignID)
		if errors.Is(err, crmcore.ErrNotFound) || errors.Is(err, ErrNotFound) {
			return nil, &ProtocolError{ErrorData: ErrorData{Code: CodeNoContact, Message: "nothing to call right now"}}
		}
		if err != nil {
			return nil, acdErr(err)
		}
		c.sendEvent(EvPreview, cmd.ID, p)
		return p, nil
	case CmdPreviewDial:
		id, err := h.cfg.Campaigns.DialPreview(ctx, agent, cmd.Data.(*CampaignDial).DialID)
		if err != nil {
			// The dial id is what the agent gave: a contact no longer held
			// or a number no route leads to is reported on it.
			e := errorData(acdErr(err))
			if e.Code == CodeNotFound || e.Code == CodeUnreachable {
				e.Field = "data.dial_id"
			}
			return nil, &ProtocolError{ErrorData: e}
		}
		return map[string]string{"call_id": id}, nil
	}
	return nil, ErrUnsupported
}
