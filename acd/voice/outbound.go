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
	geo := x.resolve(c.Number)
	pop := &Pop{InteractionID: c.InteractionID, DNIS: c.Number,
		Campaign: &PopCampaign{ID: c.Campaign, Name: c.Name, Detection: c.Detection}}
	req := acd.CallRequest{ID: acd.CallID(call.ID()), Queue: c.Queue, ANI: c.Number, Priority: campaignPriority,
		Arrived: c.Dialed, Data: pop, Caller: geo}
	if geo.E164 != "" {
		lookups := &ivrLookup{crm: x.crm, resolve: x.resolve, ani: c.Number, caller: geo}
		lookup, err := lookups.own(ctx)
		if err != nil {
			x.logger.Warn("campaign call lookup failed; routing without CRM data", "call_id", call.ID(), "err", err)
		}
		// The pop shows the CRM's data; routing stays the campaign's
		// (no segment bonus, no preferred agent to wait for).
		fillPop(pop, &acd.CallRequest{}, lookup)
	}
	x.ids.Store(req.ID, pop.InteractionID)
	if _, err := x.engine.Enqueue(ctx, req, call); err != nil {
		x.ids.Delete(req.ID)
		return fmt.Errorf("voice: campaign call: %w", err)
	}
	return nil
}

// campaignRecord marks rec, the record of a campaign call the engine
// completed, with its campaign and what became of the dial.
func campaignRecord(rec *crmcore.Interaction, in acd.Interaction, pc *PopCampaign) {
	rec.Direction = crmcore.Outbound
	rec.Campaign = pc.ID
	rec.CampaignResult = "abandoned"
	if !in.Answered.IsZero() {
		rec.CampaignResult = "connected"
	}
	if pc.Detection != "" {
		rec.RoutingReasons = append(rec.RoutingReasons, "amd: "+pc.Detection)
	}
}
