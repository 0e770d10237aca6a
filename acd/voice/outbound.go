package voice

import (
	"context"
	"fmt"
	"time"

	"switchboard/acd"
	"switchboard/crmcore"
)

// OutboundCall is a person who answered an outbound campaign's dial.
type OutboundCall struct {
	// InteractionID is the dial's record, opened before the dial.
	InteractionID string
	Campaign      string
	Queue         string
	// Number is the number dialled (E.164); Name the list's name for it.
	Number, Name string
	// Dialed is when the dial started, Answered when the person answered.
	Dialed, Answered time.Time
	// Detection is answering-machine detection's verdict.
	Detection string
}

// PopCampaign is what the screen pop and the record know of a campaign
// call.
type PopCampaign struct {
	ID   string
	Name string
	// Detection is answering-machine detection's verdict.
	Detection string
	// Preview marks a call an agent dialled from a preview campaign (the
	// agent first, then the customer).
	Preview bool
}

// campaignPriority puts a person who answered a campaign's dial ahead of
// every inbound call of the queue: the grace the rules give before they
// count the call abandoned is two seconds.
const campaignPriority = 1 << 20

// Dialed queues call, a person who answered campaign dial c, on the
// campaign's queue ahead of the inbound calls, with a screen pop of the
// contact the number belongs to. The engine's record of the call
// completes interaction c.InteractionID, marked with the campaign and
// what became of the dial.
func (x *Journey) Dialed(ctx context.Context, call Call, c OutboundCall) error {
	pop, geo := x.campaignPop(ctx, c)
	req := acd.CallRequest{ID: acd.CallID(call.ID()), Queue: c.Queue, ANI: c.Number, Priority: campaignPriority,
		Arrived: c.Dialed, Data: pop, Caller: geo}
	x.ids.Store(req.ID, pop.InteractionID)
	if _, err := x.engine.Enqueue(ctx, req, call); err != nil {
		x.ids.Delete(req.ID)
		return fmt.Errorf("voice: campaign call: %w", err)
	}
	return nil
}

// PreviewPop is the screen pop, and the record's attachment
// (acd.CallInfo.Data), of preview dial c an agent is about to place: the
// engine's record of the agent's call completes interaction
// c.InteractionID.
func (x *Journey) PreviewPop(ctx context.Context, c OutboundCall) *Pop {
	pop, _ := x.campaignPop(ctx, c)
	pop.Campaign.Preview = true
	return pop
}

// campaignPop is the pop of campaign dial c, with the CRM's record of
// its number, and the number's geography.
func (x *Journey) campaignPop(ctx context.Context, c OutboundCall) (*Pop, acd.Geography) {
	geo := x.resolve(c.Number)
	pop := &Pop{InteractionID: c.InteractionID, DNIS: c.Number,
		Campaign: &PopCampaign{ID: c.Campaign, Name: c.Name, Detection: c.Detection}}
	if geo.E164 != "" {
		lookups := &ivrLookup{crm: x.crm, resolve: x.resolve, ani: c.Number, caller: geo}
		lookup, err := lookups.own(ctx)
		if err != nil {
			x.logger.Warn("campaign call lookup failed; no CRM data in the pop", "number", c.Number, "err", err)
		}
		// The pop shows the CRM's data; routing stays the campaign's
		// (no segment bonus, no preferred agent to wait for).
		fillPop(pop, &acd.CallRequest{}, lookup)
	}
	return pop, geo
}

// campaignRecord marks rec, the record of a campaign call the engine
// completed, with its campaign and what became of the dial: why the
// customer of a preview was not reached, if they were not; connected
// once the customer and an agent talked; else failed for a preview (the
// agent's own call failed), abandoned for the others (the person who
// answered waited for an agent in vain).
func campaignRecord(rec *crmcore.Interaction, in acd.Interaction, pc *PopCampaign) {
	rec.Direction = crmcore.Outbound
	rec.Campaign = pc.ID
	switch {
	case in.Unreached != "":
		rec.CampaignResult = in.Unreached
	case !in.Answered.IsZero():
		rec.CampaignResult = "connected"
	case pc.Preview:
		rec.CampaignResult = "failed"
	default:
		rec.CampaignResult = "abandoned"
	}
	if pc.Detection != "" {
		rec.RoutingReasons = append(rec.RoutingReasons, "amd: "+pc.Detection)
	}
}
