package acd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"switchboard/crmcore"
	"switchboard/ivr"
)

// EntryCall is a new inbound call as the entry code needs it: the IVR's
// media session plus the engine's leg, with the numbers it was placed with.
type EntryCall interface {
	ivr.Session
	Leg
	ANI() string
	DNIS() string
}

// FlowSource finds the IVR entry point for a dialled number and the current
// flow set (its prompts speak the queue announcements); *ivr.Registry
// satisfies it.
type FlowSource interface {
	ForDNIS(dnis string) (ivr.EntryPoint, bool, error)
	Current() *ivr.Set
}

// Directory is what a call's journey needs from the CRM: the caller lookup
// for routing and the screen pop, ticket status for the IVR, and ticket
// creation (under the CRM's SLA policy) for voicemails.
type Directory interface {
	crmcore.CallerLookuper
	GetTicket(ctx context.Context, number int64) (crmcore.Ticket, error)
	CreateTicket(ctx context.Context, actorID string, t crmcore.Ticket) (crmcore.Ticket, error)
	SLAPolicy() crmcore.SLAPolicy
}

// Pop is the entry code's attachment to a queued call (CallRequest.Data):
// the CRM record shown in the screen pop, and what the interaction record
// needs when the call ends.
//
// Its JSON is the screen pop's "crm" object (agentdesk/PROTOCOL.md).
type Pop struct {
	// Known is false for a caller the CRM does not know.
	Known bool `json:"known"`
	// Contact, Account, OpenTickets, LastInteractions and LastAgent are the
	// CRM lookup by the caller's number.
	Contact          *crmcore.Contact      `json:"contact,omitempty"`
	Account          *crmcore.Account      `json:"account,omitempty"`
	Segment          string                `json:"segment,omitempty"`
	OpenTickets      []crmcore.Ticket      `json:"open_tickets"`
	LastInteractions []crmcore.Interaction `json:"last_interactions"`
	LastAgent        *crmcore.LastAgent    `json:"last_agent,omitempty"`
	// IVR is the caller's path through the IVR, digits included.
	IVR []crmcore.IVRStep `json:"ivr"`
	// InteractionID is the id the call's interaction record will have.
	InteractionID string `json:"interaction_id"`
	// DNIS is the number dialled.
	DNIS string `json:"dnis"`
}

// Entry runs the first part of every inbound call's journey: the IVR flow of
// its dialled number, the CRM lookup, then the queue (or voicemail, or a
// hang-up), and writes the interaction record of every call. The record is
// opened (outcome in progress) when the call arrives — by Arrival, or by
// Handle when no arrival was reported — and completed under the same id
// when the call ends: by Refused for a call turned away or lost before
// Handle, directly for calls that end before a queue, from
// InteractionCompleted for the others. A record left open by a process
// that died is closed at the next start by the recorder.
type Entry struct {
	engine  *Engine
	flows   FlowSource
	crm     Directory
	rec     crmcore.InteractionRecorder
	opts    EntryOptions
	logger  *slog.Logger
	metrics *ivr.Metrics

	tickets  sync.Map // CallID → ticket id linked at wrap-up, merged into the record
	arrivals sync.Map // CallID → the open record of a call that arrived and is not yet handled

	imu     sync.Mutex
	pending []Interaction // completed by the engine, not yet recorded
	wake    chan struct{}
	ids     sync.Map // CallID → interaction id of a queued call (for the survey)
	holds   sync.Map // CallID → *hold of a caller waiting in queue
}

// hold is what a waiting caller hears: position and expected-wait
// announcements, then music on hold, until an agent is offered the call.
type hold struct {
	call EntryCall
	lang string

	mu     sync.Mutex
	cancel context.CancelFunc // stops what is playing
}

// EntryOptions configures an Entry.
type EntryOptions struct {
	// DefaultRegion parses caller numbers written without "+" (ISO alpha-2).
	DefaultRegion string
	// RecordingDir is where voicemails are recorded.
	RecordingDir string
	// VoicemailTicketGroup is the ticket group of voicemail tickets.
	VoicemailTicketGroup string
	// Hours overrides the IVR's business hours (ivr.HoursOpen, HoursClosed).
	Hours ivr.HoursOverride
	// SurveyFlow is the flow run on callers still on the line after the
	// agent hung up ("": none); its first answered question's score is
	// stored on the interaction.
	SurveyFlow string
	// TicketAbandoned opens a ticket for every caller who hung up while
	// waiting in queue (short abandons excepted), so someone calls back.
	TicketAbandoned bool
	// MusicOnHold is the WAV looped to callers waiting in queue ("": silence).
	MusicOnHold string
	// Recordings gives the recording of a call's conversation, if the
	// telephony side made one (nil: none).
	Recordings interface{ Recording(callID string) string }
	// Logger and IVRMetrics are optional.
	Logger     *slog.Logger
	IVRMetrics *ivr.Metrics
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// NewEntry returns an Entry feeding engine.
func NewEntry(engine *Engine, flows FlowSource, crm Directory, rec crmcore.InteractionRecorder, opts EntryOptions) *Entry {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	x := &Entry{engine: engine, flows: flows, crm: crm, rec: rec, opts: opts, logger: logger, metrics: opts.IVRMetrics,
		wake: make(chan struct{}, 1)}
	if err := engine.SetInteractionSink(context.Background(), x.pushInteraction); err != nil {
		logger.Error("acd: entry cannot receive interactions", "err", err)
	}
	return x
}

// pushInteraction is the engine's interaction sink: it queues without
// blocking the engine and without a bound (Run writes the queue out;
// dropping a record is not an option).
func (x *Entry) pushInteraction(it Interaction) {
	x.imu.Lock()
	x.pending = append(x.pending, it)
	x.imu.Unlock()
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

func (x *Entry) takeInteractions() []Interaction {
	x.imu.Lock()
	defer x.imu.Unlock()
	p := x.pending
	x.pending = nil
	return p
}

// Handle runs call through its journey until it is queued or has ended. It
// runs on the gateway's goroutine for the call and returns promptly when the
// caller hangs up.
func (x *Entry) Handle(call EntryCall) {
	ctx := call.Context()
	geo := ResolveNumber(call.ANI(), x.opts.DefaultRegion)
	rec, ok := x.takeArrival(arrivalKey(call))
	if !ok {
		rec = x.openRecord(call.ID(), call.ANI(), call.DNIS(), x.opts.Now())
		x.write(ctx, rec)
	}
	rec.CallID = call.ID() // the id the engine completes the record under
	log := x.logger.With("call_id", call.ID())

	ep, ok, err := x.flows.ForDNIS(call.DNIS())
	if err != nil || !ok {
		log.Warn("no IVR flow for the dialled number", "dnis", call.DNIS(), "err", err)
		x.finish(ctx, call, rec, crmcore.OutcomeFailed)
		return
	}
	lookups := &ivrLookup{crm: x.crm, region: x.opts.DefaultRegion}
	out := ivr.Run(ctx, call, ep.Flow, ivr.Input{
		CallID: call.ID(), ANI: call.ANI(), DNIS: call.DNIS(), E164: geo.E164, Country: geo.Country,
		Language: ep.Language, Now: x.opts.Now, Lookup: lookups, Callbacks: x.engine.callbacks(),
		RecordingDir: x.opts.RecordingDir, Logger: log, Metrics: x.metrics, Hours: x.opts.Hours,
	})
	rec.IVRPath = ivrSteps(out.Path)
	log.Info("acd: call left the IVR", "outcome", out.Kind.String(), "queue", out.Queue, "path", ivr.PathString(out.Path), "err", out.Err)

	switch out.Kind {
	case ivr.OutcomeQueue, ivr.OutcomeError, ivr.OutcomeCallback:
		x.enqueue(ctx, call, rec, out, geo, lookups)
	case ivr.OutcomeVoicemail:
		x.voicemail(ctx, call, rec, out)
	case ivr.OutcomeTransfer:
		x.finish(ctx, call, rec, crmcore.OutcomeTransferred)
	case ivr.OutcomeAbandoned:
		x.finish(ctx, call, rec, crmcore.OutcomeAbandoned)
	case ivr.OutcomeHangup:
		x.finish(ctx, call, rec, crmcore.OutcomeIVRCompleted)
	default:
		x.finish(ctx, call, rec, crmcore.OutcomeFailed)
	}
}

func (x *Entry) enqueue(ctx context.Context, call EntryCall, rec crmcore.Interaction, out ivr.Outcome, geo Geography, lookups *ivrLookup) {
	pop := &Pop{IVR: rec.IVRPath, InteractionID: rec.ID, DNIS: call.DNIS()}
	req := CallRequest{
		ID: CallID(call.ID()), Queue: out.Queue, ANI: rec.ANI, DNIS: call.DNIS(),
		Priority: out.Priority, Language: out.Language, IVRPath: pathStrings(out.Path), Vars: out.Vars,
		Arrived: rec.ArrivedAt, Data: pop, Callback: out.CallbackNumber,
	}
	for _, s := range out.Skills {
		req.Skills = append(req.Skills, SkillLevel{Skill: s.Name, Level: s.MinLevel})
	}
	if geo.E164 != "" {
		lookup, err := lookups.byPhone(ctx, geo.E164)
		if err != nil {
			x.logger.Warn("caller lookup failed; routing without CRM data", "call_id", call.ID(), "err", err)
		}
		pop.Known, pop.Contact, pop.Account = lookup.Known, lookup.Contact, lookup.Account
		pop.OpenTickets, pop.LastInteractions, pop.LastAgent = lookup.OpenTickets, lookup.Recent, lookup.LastAgent
		if lookup.Contact != nil {
			pop.Segment = string(lookup.Contact.Segment)
			req.Segment = pop.Segment
		}
		if lookup.LastAgent != nil {
			req.PreferredAgent = AgentID(lookup.LastAgent.ID)
		}
	}
	if req.Callback == "" {
		x.holds.Store(req.ID, &hold{call: call, lang: out.Language})
		x.ids.Store(req.ID, pop.InteractionID)
	}
	if _, err := x.engine.Enqueue(ctx, req, call); err != nil {
		x.holds.Delete(req.ID)
		x.ids.Delete(req.ID)
		if ctx.Err() != nil { // the caller hung up on the way into the queue
			x.finish(ctx, call, rec, crmcore.OutcomeAbandoned)
			return
		}
		x.logger.Error("enqueue failed", "call_id", call.ID(), "queue", out.Queue, "err", err)
		x.finish(ctx, call, rec, crmcore.OutcomeFailed)
	}
}

// voicemail turns a recorded message into a ticket and records the call.
func (x *Entry) voicemail(ctx context.Context, call EntryCall, rec crmcore.Interaction, out ivr.Outcome) {
	rec.Recording = out.VoicemailFile
	rec.Queue = out.Queue
	x.ticket(context.WithoutCancel(ctx), &rec, "Voicemail from ",
		fmt.Sprintf("Voicemail of %s left on %s. Recording: %s", out.VoicemailLength.Round(time.Second), call.DNIS(), out.VoicemailFile), "voicemail")
	x.finish(ctx, call, rec, crmcore.OutcomeVoicemail)
}

// ticket opens a help-desk ticket for a call nobody answered (a voicemail,
// an abandoned call), requested by the caller's contact when the CRM knows
// the number, and links it to the call's record.
func (x *Entry) ticket(ctx context.Context, rec *crmcore.Interaction, subject, description, tag string) {
	in := crmcore.TicketInput{
		Subject: subject + firstNonEmpty(rec.ANI, "unknown caller"), Description: description,
		Priority: crmcore.PriorityNormal, Channel: crmcore.ChannelPhone, Group: firstNonEmpty(rec.Queue, x.opts.VoicemailTicketGroup),
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
func (x *Entry) AttachTicket(callID, ticketID string) {
	x.tickets.Store(CallID(callID), ticketID)
}

// Arrival opens the interaction record of an inbound call the telephony
// side accepted, before it is answered: when Arrival returns the record
// (outcome in progress) is on stable storage, and Handle or Refused
// completes it under the same id. callID is the call's signalling id (the
// SIP Call-ID: Handle finds the record by the call's SIPCallID method when
// it has one, else by its ID). It blocks for the record's write.
func (x *Entry) Arrival(callID, ani, dnis string, at time.Time) {
	rec := x.openRecord(callID, ani, dnis, at)
	x.arrivals.Store(callID, rec)
	x.write(context.Background(), rec)
}

// openRecord is the record of an inbound call as it arrives.
func (x *Entry) openRecord(callID, ani, dnis string, at time.Time) crmcore.Interaction {
	geo := ResolveNumber(ani, x.opts.DefaultRegion)
	return crmcore.Interaction{
		ID: crmcore.NewID(), CallID: callID, Direction: crmcore.Inbound, Channel: crmcore.ChannelPhone,
		ANI: firstNonEmpty(geo.E164, ani), DNIS: dnis, ArrivedAt: at.UTC(), Outcome: crmcore.OutcomeInProgress,
	}
}

// signalled is implemented by calls whose telephony side reports their
// Arrival (and Refusal) under a signalling id of their own, the SIP
// Call-ID, rather than under ID.
type signalled interface{ SIPCallID() string }

// arrivalKey is the id call's Arrival was reported under.
func arrivalKey(call EntryCall) string {
	if s, ok := call.(signalled); ok && s.SIPCallID() != "" {
		return s.SIPCallID()
	}
	return call.ID()
}

// takeArrival returns (and forgets) the open record of callID.
func (x *Entry) takeArrival(callID string) (crmcore.Interaction, bool) {
	v, ok := x.arrivals.LoadAndDelete(callID)
	if !ok {
		return crmcore.Interaction{}, false
	}
	return v.(crmcore.Interaction), true
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
func (x *Entry) Refused(callID, ani, dnis, reason string) {
	now := x.opts.Now().UTC()
	rec, ok := x.takeArrival(callID)
	if !ok {
		rec = x.openRecord(callID, ani, dnis, now)
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

// finish hangs up a call that ends before any queue and completes its record.
func (x *Entry) finish(ctx context.Context, call EntryCall, rec crmcore.Interaction, outcome crmcore.Outcome) {
	_ = call.Hangup(context.WithoutCancel(ctx))
	ended := x.opts.Now().UTC()
	rec.EndedAt = &ended
	rec.Outcome = outcome
	x.write(ctx, rec)
}

// write stores rec through the durable recorder; it returns once rec is on
// stable storage (or the write failed, which is logged: there is no one
// to hand the error to).
func (x *Entry) write(ctx context.Context, rec crmcore.Interaction) {
	if err := x.rec.Write(context.WithoutCancel(ctx), rec); err != nil {
		x.logger.Error("interaction write", "call_id", rec.CallID, "outcome", string(rec.Outcome), "err", err)
	}
}

// Run records every interaction the engine completes — the CRM record
// through the durable writer, tickets for voicemails and (optionally)
// abandoned calls — and drives the announcements and music of waiting
// callers, until ctx ends. It then records what the engine has already
// handed over before returning: stop with Engine.Shutdown first, then
// cancel ctx, and nothing is lost.
func (x *Entry) Run(ctx context.Context) error {
	holds := make(chan struct{})
	go func() { defer close(holds); x.runHolds(ctx) }()
	for {
		if x.recordBatch(context.WithoutCancel(ctx)) {
			continue
		}
		select {
		case <-x.wake:
		case <-ctx.Done():
			for x.recordBatch(context.WithoutCancel(ctx)) {
			}
			<-holds
			return ctx.Err()
		}
	}
}

// recordBatch records what the engine has handed over, the interactions
// at once (each write waits for its record's fsync; together they share
// it), and reports whether there was anything.
func (x *Entry) recordBatch(ctx context.Context) bool {
	batch := x.takeInteractions()
	var wg sync.WaitGroup
	for _, it := range batch {
		wg.Go(func() { x.record(ctx, it) })
	}
	wg.Wait()
	return len(batch) > 0
}

// runHolds follows the engine's events for the waiting callers.
func (x *Entry) runHolds(ctx context.Context) {
	for {
		events, _, cancel, err := x.engine.Subscribe(ctx, 4096)
		if err != nil {
			return
		}
		stop := context.AfterFunc(ctx, cancel) // ends the range below
		for ev := range events {
			x.onHoldEvent(ev)
		}
		stop()
		cancel()
		if ctx.Err() != nil {
			return
		}
	}
}

// record writes one completed interaction to the CRM.
func (x *Entry) record(ctx context.Context, it Interaction) {
	x.ids.Delete(it.CallID)
	rec := toCRMInteraction(it)
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

// AfterCall is the engine's hook (WithAfterCall) for a caller still on the
// line when the agent hung up: it runs the survey flow, stores every answer
// (and the headline score) on the call's interaction and hangs up. It
// reports false when there is no survey to run.
func (x *Entry) AfterCall(id CallID, caller Leg) bool {
	v, ok := x.ids.LoadAndDelete(id)
	call, isCall := caller.(EntryCall)
	set := x.flows.Current()
	if !ok || !isCall || x.opts.SurveyFlow == "" || set == nil {
		return false
	}
	flow, ok := set.Flow(x.opts.SurveyFlow)
	if !ok {
		return false
	}
	interactionID := v.(string)
	go func() {
		ctx := call.Context()
		defer call.Hangup(context.WithoutCancel(ctx))
		scores, _ := ivr.RunSurvey(ctx, call, flow, ivr.Input{
			CallID: string(id), ANI: call.ANI(), DNIS: call.DNIS(), Now: x.opts.Now, Logger: x.logger, Metrics: x.metrics,
		})
		answers := x.surveyAnswers(string(id), scores)
		score, ok := surveyScore(answers)
		if !ok {
			return
		}
		wu := crmcore.WrapUp{ID: crmcore.NewID(), InteractionID: interactionID, At: x.opts.Now().UTC(), SurveyScore: &score,
			Survey: answers}
		if err := x.rec.AppendWrapUp(context.WithoutCancel(ctx), wu); err != nil {
			x.logger.Error("survey score", "call_id", string(id), "err", err)
		}
	}()
	return true
}

// surveyAnswers keeps the answers that can be stored (crmcore.ValidSurveyAnswer)
// and logs the others.
func (x *Entry) surveyAnswers(callID string, scores map[string]int) map[string]int {
	answers := make(map[string]int, len(scores))
	for name, v := range scores {
		if !crmcore.ValidSurveyAnswer(name, v) {
			x.logger.Warn("survey answer not stored", "call_id", callID, "question", name, "score", v)
			continue
		}
		answers[name] = v
	}
	if len(answers) > crmcore.MaxSurveyAnswers {
		x.logger.Warn("survey answers not stored: too many questions", "call_id", callID, "answers", len(answers))
		return nil
	}
	return answers
}

// surveyScore picks the headline score stored on the interaction: CSAT,
// else NPS, else the first question by name.
func surveyScore(scores map[string]int) (int, bool) {
	for _, name := range []string{"csat", "nps"} {
		if v, ok := scores[name]; ok {
			return v, true
		}
	}
	names := make([]string, 0, len(scores))
	for n := range scores {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return 0, false
	}
	return scores[names[0]], true
}

// onHoldEvent drives the waiting callers' announcements and music: they
// start when the call is queued (again, after a failed offer), restart with
// each position announcement, and stop as soon as an agent is offered the
// call.
func (x *Entry) onHoldEvent(ev Event) {
	switch e := ev.(type) {
	case *CallQueued:
		x.play(e.Call.ID, e.Position, e.EWT)
	case *CallPosition:
		x.play(e.CallID, e.Position, e.EWT)
	case *CallOffered:
		x.silence(e.Call.ID, false)
	case *CallAnswered:
		x.silence(e.CallID, true)
	case *CallEnded:
		x.silence(e.CallID, true)
	}
}

// play announces position and expected wait (when position > 0), then
// loops the music on hold, replacing whatever the caller was hearing.
func (x *Entry) play(id CallID, position int, ewt EWT) {
	v, ok := x.holds.Load(id)
	if !ok {
		return
	}
	h := v.(*hold)
	var announce []string
	if set := x.flows.Current(); set != nil && position > 0 {
		announce = set.Prompts().QueuePosition(h.lang, position)
		if ewt.Known {
			announce = append(announce, set.Prompts().EstimatedWait(h.lang, ewt.Expected)...)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cancel != nil {
		h.cancel()
	}
	ctx, cancel := context.WithCancel(h.call.Context())
	h.cancel = cancel
	go func() {
		if len(announce) > 0 && h.call.Play(ctx, announce, false) != nil {
			return
		}
		for x.opts.MusicOnHold != "" && ctx.Err() == nil {
			if h.call.Play(ctx, []string{x.opts.MusicOnHold}, false) != nil {
				return
			}
		}
	}()
}

// silence stops what a waiting caller hears; forget drops the caller.
func (x *Entry) silence(id CallID, forget bool) {
	v, ok := x.holds.Load(id)
	if !ok {
		return
	}
	if forget {
		x.holds.Delete(id)
	}
	h := v.(*hold)
	h.mu.Lock()
	if h.cancel != nil {
		h.cancel()
		h.cancel = nil
	}
	h.mu.Unlock()
}

// toCRMInteraction maps the engine's summary of a call to the CRM record.
func toCRMInteraction(in Interaction) crmcore.Interaction {
	out := crmcore.Interaction{
		ID: crmcore.NewID(), CallID: string(in.CallID), Direction: crmcore.Outbound, Channel: crmcore.ChannelPhone,
		ANI: firstNonEmpty(in.E164, in.ANI), Queue: in.Queue, AgentID: string(in.Agent),
		ArrivedAt: in.Arrived.UTC(), QueuedAt: timePtr(in.Queued), OfferedAt: timePtr(in.Offered),
		AnsweredAt: timePtr(in.Answered), EndedAt: timePtr(in.Ended),
		Hold: in.Hold, WrapUp: in.WrapUp, Outcome: crmOutcome(in.Outcome), Recording: in.Recording,
		Disposition: in.Disposition, Notes: in.Notes,
	}
	if in.Direction == Inbound {
		out.Direction = crmcore.Inbound
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
	}
	return out
}

func crmOutcome(o Outcome) crmcore.Outcome {
	switch o {
	case OutcomeShortAbandoned:
		return crmcore.OutcomeShortAbandon
	case OutcomeCallback:
		return crmcore.OutcomeCallbackRequested
	case OutcomeOverflow:
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

// ivrSteps folds an IVR path into the CRM's form: one step per node, with
// the digits keyed there.
func ivrSteps(path []ivr.Step) []crmcore.IVRStep {
	var steps []crmcore.IVRStep
	for _, s := range path {
		switch {
		case s.Digit != 0 && len(steps) > 0:
			steps[len(steps)-1].Digits += string(s.Digit)
		case s.Digit == 0 && s.Event == "":
			steps = append(steps, crmcore.IVRStep{Node: s.Node})
		}
	}
	return steps
}

func pathStrings(path []ivr.Step) []string {
	out := make([]string, 0, len(path))
	for _, s := range path {
		switch {
		case s.Digit != 0:
			out = append(out, "dtmf:"+string(s.Digit))
		case s.Event != "":
			out = append(out, s.Node+":"+s.Event)
		default:
			out = append(out, s.Node)
		}
	}
	return out
}

// ivrLookup adapts the CRM to one call's IVR data dips. It keeps the last
// caller lookup that succeeded, which the queue's screen pop reuses: one
// round trip to the CRM per call instead of two (the IVR runs seconds
// before the queue; the pop shows the record as the IVR saw it). A call's
// IVR and entry code run on one goroutine, so it needs no lock.
type ivrLookup struct {
	crm    Directory
	region string

	e164   string // the number of last
	last   crmcore.CallerLookup
	cached bool
}

// byPhone is the CRM's LookupByPhone, answered from the call's last
// successful lookup of the same number when there is one.
func (l *ivrLookup) byPhone(ctx context.Context, e164 string) (crmcore.CallerLookup, error) {
	if l.cached && l.e164 == e164 {
		return l.last, nil
	}
	res, err := l.crm.LookupByPhone(ctx, e164)
	if err == nil {
		l.e164, l.last, l.cached = e164, res, true
	}
	return res, err
}

// LookupCaller implements ivr.Lookup: the CRM contact owning ani.
func (l *ivrLookup) LookupCaller(ctx context.Context, ani string) (ivr.Caller, bool, error) {
	geo := ResolveNumber(ani, l.region)
	if geo.E164 == "" {
		return ivr.Caller{}, false, nil
	}
	res, err := l.byPhone(ctx, geo.E164)
	if err != nil {
		return ivr.Caller{}, false, err
	}
	if !res.Known || res.Contact == nil {
		return ivr.Caller{}, false, nil
	}
	return ivr.Caller{ContactID: res.Contact.ID, Name: res.Contact.Name, Segment: string(res.Contact.Segment), OpenTickets: len(res.OpenTickets)}, true, nil
}

// LookupTicket implements ivr.Lookup: the ticket numbered number.
func (l *ivrLookup) LookupTicket(ctx context.Context, number string) (ivr.Ticket, bool, error) {
	n, err := crmcore.ParseTicketNumber(number)
	if err != nil {
		return ivr.Ticket{}, false, nil
	}
	t, err := l.crm.GetTicket(ctx, n)
	if errors.Is(err, crmcore.ErrNotFound) {
		return ivr.Ticket{}, false, nil
	}
	if err != nil {
		return ivr.Ticket{}, false, err
	}
	return ivr.Ticket{Number: t.Number, Status: t.Status.String(), Subject: t.Subject}, true, nil
}
