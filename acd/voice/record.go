package voice

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"switchboard/acd"
	"switchboard/crmcore"
)

// Arrival opens the interaction record of an inbound call the telephony
// side accepted, before it is answered: when Arrival returns the record
// (outcome in progress) is on stable storage, and Handle or Refused
// completes it under the same id. callID is the call's signalling id (the
// SIP Call-ID: Handle finds the record by the call's SIPCallID method when
// it has one, else by its ID). It blocks for the record's write.
func (x *Journey) Arrival(callID, ani, dnis string, at time.Time) {
	geo := x.resolve(ani)
	rec := x.openRecord(callID, ani, dnis, at, geo)
	x.arrivals.Store(callID, &arrival{rec: rec, caller: geo})
	x.write(context.Background(), rec)
}

// arrival is a call that arrived and is not yet handled: its open record
// and its caller's resolved number, carried on to Handle.
type arrival struct {
	rec    crmcore.Interaction
	caller acd.Geography
}

// openRecord is the record of an inbound call as it arrives. Its id
// comes from the call's signalling, so that another node handed the same
// call by the SIP edge writes the same record.
func (x *Journey) openRecord(callID, ani, dnis string, at time.Time, caller acd.Geography) crmcore.Interaction {
	return crmcore.Interaction{
		ID: crmcore.CallRecordID(callID, ani, dnis), CallID: callID, Direction: crmcore.Inbound, Channel: crmcore.ChannelPhone,
		ANI: cmp.Or(caller.E164, ani), DNIS: dnis, ArrivedAt: at.UTC(), Outcome: crmcore.OutcomeInProgress,
	}
}

// signalled is implemented by calls whose telephony side reports their
// Arrival (and Refusal) under a signalling id of their own, the SIP
// Call-ID, rather than under ID.
type signalled interface{ SIPCallID() string }

// arrivalKey is the id call's Arrival was reported under.
func arrivalKey(call Call) string {
	if s, ok := call.(signalled); ok && s.SIPCallID() != "" {
		return s.SIPCallID()
	}
	return call.ID()
}

// takeArrival returns (and forgets) the open record of callID and its
// caller's geography.
func (x *Journey) takeArrival(callID string) (crmcore.Interaction, acd.Geography, bool) {
	v, ok := x.arrivals.LoadAndDelete(callID)
	if !ok {
		return crmcore.Interaction{}, acd.Geography{}, false
	}
	a := v.(*arrival)
	return a.rec, a.caller, true
}

// callerEndings are the Refused reasons that are the caller's doing (a
// CANCEL while ringing, a BYE before the ACK): the call was abandoned.
var callerEndings = map[string]bool{"cancelled": true, "hung up": true}

// Refused completes the interaction record of an inbound call the
// telephony side turned away, or lost, before Handle (no capacity, no such
// number, an unusable offer, cancelled while ringing, never ACKed): outcome
// abandoned when the caller ended it, else failed, with the reason as its
// routing reason. A call without an Arrival gets its record here, arrived
// and ended at once. It blocks for the record's write.
func (x *Journey) Refused(callID, ani, dnis, reason string) {
	now := x.opts.Now().UTC()
	rec, _, ok := x.takeArrival(callID)
	if !ok {
		rec = x.openRecord(callID, ani, dnis, now, x.resolve(ani))
	}
	rec.EndedAt = &now
	rec.Outcome = crmcore.OutcomeFailed
	rec.RoutingReasons = []string{"refused: " + reason}
	if callerEndings[reason] {
		rec.Outcome = crmcore.OutcomeAbandoned
		rec.RoutingReasons = []string{"ended by the caller: " + reason}
	}
	x.write(context.Background(), rec)
}

// ticket opens a help-desk ticket for a call nobody answered (a voicemail,
// an abandoned call), requested by the caller's contact when the CRM knows
// the number, and links it to the call's record.
func (x *Journey) ticket(ctx context.Context, rec *crmcore.Interaction, subject, description, tag string) {
	in := crmcore.TicketInput{
		Subject: subject + cmp.Or(rec.ANI, "unknown caller"), Description: description,
		Priority: crmcore.PriorityNormal, Channel: crmcore.ChannelPhone, Group: cmp.Or(rec.Queue, x.opts.VoicemailTicketGroup),
		Tags: []string{tag},
	}
	if rec.ContactID != "" {
		in.RequesterID = rec.ContactID
	} else if rec.ANI != "" {
		if lookup, err := x.crm.LookupByPhone(ctx, rec.ANI); err == nil && lookup.Contact != nil {
			in.RequesterID = lookup.Contact.ID
			rec.ContactID = lookup.Contact.ID
		}
	}
	t, err := crmcore.NewTicket(in, x.crm.SLAPolicy(), x.opts.Now())
	if err == nil {
		t, err = x.crm.CreateTicket(ctx, "", t)
	}
	if err != nil {
		x.logger.Error("ticket for unanswered call", "call_id", rec.CallID, "tag", tag, "err", err)
		return
	}
	rec.TicketID = t.ID
}

// AttachTicket links a ticket to a call's interaction record; the agent's
// wrap-up calls it before the record is written.
func (x *Journey) AttachTicket(callID, ticketID string) {
	x.tickets.Store(acd.CallID(callID), ticketID)
}

// Run records every interaction the engine completes — the CRM record
// through the durable writer, tickets for voicemails and (optionally)
// abandoned calls — and drives the announcements and music of waiting
// callers, until ctx ends. It then records what the engine has already
// handed over before returning: stop with acd.Engine.Shutdown first, then
// cancel ctx, and nothing is lost.
func (x *Journey) Run(ctx context.Context) error {
	followed := make(chan struct{})
	go func() { defer close(followed); x.follow(ctx) }()
	for {
		if x.recordBatch(context.WithoutCancel(ctx)) {
			continue
		}
		select {
		case <-x.wake:
		case <-ctx.Done():
			<-followed // it hands over the last interactions first
			for x.recordBatch(context.WithoutCancel(ctx)) {
			}
			return ctx.Err()
		}
	}
}

// recordBatch records what the engine has handed over, the interactions
// at once (each write waits for its record's fsync; together they share
// it), and reports whether there was anything.
func (x *Journey) recordBatch(ctx context.Context) bool {
	batch := x.takeInteractions()
	var wg sync.WaitGroup
	for _, it := range batch {
		wg.Go(func() { x.record(ctx, it) })
	}
	wg.Wait()
	return len(batch) > 0
}

// record writes one completed interaction to the CRM.
func (x *Journey) record(ctx context.Context, it acd.Interaction) {
	rec := toCRMInteraction(it)
	if it.Continued {
		// An agent's part before a transfer: one record per call, written
		// at its end (with its recording); this part adds the agent's
		// wrap-up to it.
		if t, ok := x.tickets.LoadAndDelete(it.CallID); ok {
			rec.TicketID = t.(string)
		}
		if rec.Disposition != "" || rec.Notes != "" || rec.TicketID != "" {
			wu := crmcore.WrapUp{ID: crmcore.NewID(), InteractionID: rec.ID, AgentID: rec.AgentID, At: x.opts.Now().UTC(),
				Disposition: rec.Disposition, Notes: rec.Notes, TicketID: rec.TicketID}
			if err := x.rec.AppendWrapUp(context.WithoutCancel(ctx), wu); err != nil {
				x.logger.Error("interaction wrap-up of a transferred part", "call_id", rec.CallID, "err", err)
			}
		}
		return
	}
	x.ids.Delete(it.CallID)
	if rec.Recording == "" && x.opts.Recordings != nil {
		rec.Recording = x.opts.Recordings.Recording(rec.CallID)
	}
	switch {
	case rec.Outcome == crmcore.OutcomeVoicemail && rec.TicketID == "": // queue overflow to voicemail
		x.ticket(ctx, &rec, "Voicemail from ", "Voicemail left in queue "+rec.Queue+". Recording: "+rec.Recording, "voicemail")
	case rec.Outcome == crmcore.OutcomeAbandoned && x.opts.TicketAbandoned:
		x.ticket(ctx, &rec, "Missed call from ", "The caller hung up after waiting in queue "+rec.Queue+"; call them back.", "abandoned")
	}
	if t, ok := x.tickets.LoadAndDelete(it.CallID); ok {
		rec.TicketID = t.(string)
	}
	x.write(ctx, rec)
}

// toCRMInteraction maps the engine's summary of a call to the CRM record.
func toCRMInteraction(in acd.Interaction) crmcore.Interaction {
	out := crmcore.Interaction{
		ID: crmcore.NewID(), CallID: string(in.CallID), Direction: crmcore.Outbound, Channel: crmcore.ChannelPhone,
		ANI: cmp.Or(in.E164, in.ANI), Queue: in.Queue, AgentID: string(in.Agent),
		ArrivedAt: in.Arrived.UTC(), QueuedAt: timePtr(in.Queued), OfferedAt: timePtr(in.Offered),
		AnsweredAt: timePtr(in.Answered), EndedAt: timePtr(in.Ended),
		Hold: in.Hold, WrapUp: in.WrapUp, Outcome: crmOutcome(in.Outcome), Recording: in.Recording,
		Disposition: in.Disposition, Notes: in.Notes,
	}
	if in.Direction == acd.Inbound {
		out.Direction = crmcore.Inbound
	}
	for _, p := range in.Parties {
		out.Parties = append(out.Parties, crmcore.InteractionParty{AgentID: string(p.Agent), Number: p.Number, Role: p.Role,
			Joined: p.Joined, Left: p.Left})
	}
	for _, h := range in.Holds {
		out.Holds = append(out.Holds, crmcore.InteractionHold{AgentID: string(h.Agent), From: h.From, To: h.To})
	}
	for _, r := range in.Reasons {
		out.RoutingReasons = append(out.RoutingReasons, fmt.Sprintf("%s=%.3g (%+.3g)", r.Factor, r.Value, r.Contribution))
	}
	if pop, ok := in.Data.(*Pop); ok {
		out.ID = pop.InteractionID
		out.DNIS = pop.DNIS
		out.IVRPath = pop.IVR
		if pop.Contact != nil {
			out.ContactID = pop.Contact.ID
		}
		if pop.Web != nil && pop.Web.E164 != "" {
			out.ANI = pop.Web.E164
		}
		if pop.Campaign != nil {
			campaignRecord(&out, in, pop.Campaign)
		}
	}
	return out
}

func crmOutcome(o acd.Outcome) crmcore.Outcome {
	switch o {
	case acd.OutcomeShortAbandoned:
		return crmcore.OutcomeShortAbandon
	case acd.OutcomeCallback:
		return crmcore.OutcomeCallbackRequested
	case acd.OutcomeOverflow:
		return crmcore.OutcomeTransferred
	}
	return crmcore.Outcome(o)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
