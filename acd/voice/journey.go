package voice

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"switchboard/acd"
	"switchboard/crmcore"
	"switchboard/ivr"
)

// Call is a new inbound call as the journey needs it: the IVR's
// media session plus the engine's leg, with the numbers it was placed with.
type Call interface {
	ivr.Session
	acd.Leg
	ANI() string
	DNIS() string
}

// Router is the routing engine as a call's journey uses it: the engine
// itself in one process (EngineRouter), or a cluster node's link to the
// leader's engine.
type Router interface {
	// Enqueue queues a call that finished the IVR (acd.Engine.Enqueue).
	Enqueue(ctx context.Context, req acd.CallRequest, leg acd.Leg) (acd.CallID, error)
	// Follow returns the engine's events about the journey's calls from
	// now on, every completed interaction exactly once.
	Follow() (Feed, error)
}

// Feed is the engine's events as the journey takes them
// (*acd.Subscription in one process).
type Feed interface {
	Ready() <-chan struct{}
	Take(buf []acd.Event) ([]acd.Event, bool)
	Resync(ctx context.Context) (acd.Snapshot, error)
	Close()
}

// EngineRouter is the journey's Router over an engine in this process.
func EngineRouter(e *acd.Engine) Router { return engineRouter{e} }

type engineRouter struct{ *acd.Engine }

// Follow subscribes to the engine with undroppable records.
func (r engineRouter) Follow() (Feed, error) {
	sub, _, err := r.Subscribe(context.Background(), acd.SubscribeOptions{Name: "voice", Buffer: 4096, Records: true})
	if err != nil {
		return nil, err
	}
	return sub, nil
}

// FlowSource finds the IVR entry point for a dialled number and the current
// flow set (its prompts speak the queue announcements); *ivr.Registry
// satisfies it.
type FlowSource interface {
	ForDNIS(dnis string) (ivr.EntryPoint, bool, error)
	ForWebRTC(name string) (ivr.EntryPoint, bool, error)
	Current() *ivr.Set
}

// WebCall is implemented by calls that may come from a web page: a web
// caller's call names the flows' webrtc entry point it called, which the
// journey runs instead of the dialled number's, and who the caller said
// they are, for the pop.
type WebCall interface {
	WebEntry() string
	WebCaller() (name, email, phone string, verified bool)
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

// Pop is the journey's attachment to a queued call (acd.CallRequest.Data):
// the CRM record shown in the screen pop, and what the interaction record
// needs when the call ends.
//
// The CTI adapter shows it as the screen pop's "crm" object.
type Pop struct {
	// Known is false for a caller the CRM does not know.
	Known bool
	// Contact, Account, OpenTickets, LastInteractions and LastAgent are the
	// CRM lookup by the caller's number, or by a web caller's contact.
	Contact          *crmcore.Contact
	Account          *crmcore.Account
	Segment          string
	OpenTickets      []crmcore.Ticket
	LastInteractions []crmcore.Interaction
	LastAgent        *crmcore.LastAgent
	// IVR is the caller's path through the IVR, digits included.
	IVR []crmcore.IVRStep
	// InteractionID is the id the call's interaction record will have.
	InteractionID string
	// DNIS is the number dialled.
	DNIS string
	// Web is who a web caller said they are (the page's form, or a host
	// site's signed token when Verified); nil for a phone call.
	Web *WebCaller
	// Campaign is the outbound campaign that dialled the customer; nil
	// for an inbound call.
	Campaign *PopCampaign `json:",omitempty"`
}

// WebCaller is the identity a web caller gave.
type WebCaller struct {
	Name, Email, Phone string
	Verified           bool
	// E164 is Phone in E.164 when it parses: the number on the call's
	// interaction record.
	E164 string
}

// Journey runs the first part of every inbound call's journey: the IVR flow of
// its dialled number, the CRM lookup, then the queue (or voicemail, or a
// hang-up), and writes the interaction record of every call. The record is
// opened (outcome in progress) when the call arrives — by Arrival, or by
// Handle when no arrival was reported — and completed under the same id
// when the call ends: by Refused for a call turned away or lost before
// Handle, directly for calls that end before a queue, from
// InteractionCompleted for the others. A record left open by a process
// that died is closed at the next start by the recorder.
type Journey struct {
	engine  Router
	flows   FlowSource
	crm     Directory
	rec     crmcore.InteractionRecorder
	opts    Options
	logger  *slog.Logger
	metrics *ivr.Metrics
	// resolve is acd.ResolveNumber in the default region, called once per
	// call where it enters the journey (Arrival, else Handle or Refused).
	resolve func(ani string) acd.Geography

	tickets  sync.Map // acd.CallID → ticket id linked at wrap-up, merged into the record
	arrivals sync.Map // signalling id → *arrival: a call that arrived and is not yet handled

	// sub hands over the engine's events: every completed interaction
	// (Records), and what drives the waiting callers' announcements.
	sub     Feed
	imu     sync.Mutex
	pending []acd.Interaction // completed by the engine, not yet recorded
	wake    chan struct{}
	ids     sync.Map // acd.CallID → interaction id of a queued call (for the survey)
	holds   sync.Map // acd.CallID → *hold of a caller waiting in queue
}

// Options configures a Journey.
type Options struct {
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
	// DialPlan vets the callback numbers callers enter in the IVR; it
	// should be the engine's (WithDialPlan). Nil accepts any number.
	DialPlan acd.DialPlan
	// Callbacks keeps the callbacks callers ask for in the IVR, before
	// they are queued, so that a new router queues them again
	// (QueueCallback) if this one stops before calling back (nil: not
	// kept).
	Callbacks CallbackKeeper
	// Recordings gives the recording of a call's conversation, if the
	// telephony side made one (nil: none).
	Recordings interface{ Recording(callID string) string }
	// Logger and IVRMetrics are optional.
	Logger     *slog.Logger
	IVRMetrics *ivr.Metrics
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// New returns a Journey feeding engine.
func New(engine Router, flows FlowSource, crm Directory, rec crmcore.InteractionRecorder, opts Options) *Journey {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	x := &Journey{engine: engine, flows: flows, crm: crm, rec: rec, opts: opts, logger: logger, metrics: opts.IVRMetrics,
		wake: make(chan struct{}, 1)}
	x.resolve = func(ani string) acd.Geography { return acd.ResolveNumber(ani, opts.DefaultRegion) }
	// Subscribed here, not in Run: no interaction completed in between is
	// missed.
	sub, err := engine.Follow()
	if err != nil {
		logger.Error("voice: journey cannot receive interactions", "err", err)
	}
	x.sub = sub
	return x
}

// pushInteraction queues a completed interaction for Run's recorder
// without a bound (dropping a record is not an option).
func (x *Journey) pushInteraction(it acd.Interaction) {
	x.imu.Lock()
	x.pending = append(x.pending, it)
	x.imu.Unlock()
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

func (x *Journey) takeInteractions() []acd.Interaction {
	x.imu.Lock()
	defer x.imu.Unlock()
	p := x.pending
	x.pending = nil
	return p
}

// Handle runs call through its journey until it is queued or has ended. It
// runs on the gateway's goroutine for the call and returns promptly when the
// caller hangs up.
func (x *Journey) Handle(call Call) {
	ctx := call.Context()
	rec, geo, ok := x.takeArrival(arrivalKey(call))
	if !ok {
		geo = x.resolve(call.ANI())
		rec = x.openRecord(call.ID(), call.ANI(), call.DNIS(), x.opts.Now(), geo)
		x.write(ctx, rec)
	}
	rec.CallID = call.ID() // the id the engine completes the record under
	log := x.logger.With("call_id", call.ID())

	ep, ok, err := x.flows.ForDNIS(call.DNIS())
	if w, web := call.(WebCall); web && w.WebEntry() != "" {
		ep, ok, err = x.flows.ForWebRTC(w.WebEntry())
	}
	if err != nil || !ok {
		log.Warn("no IVR flow for the dialled number or web entry", "dnis", call.DNIS(), "err", err)
		x.finish(ctx, call, rec, crmcore.OutcomeFailed)
		return
	}
	web, contact := x.webCustomer(ctx, call, &rec)
	lookups := &ivrLookup{crm: x.crm, resolve: x.resolve, ani: call.ANI(), caller: geo, contact: contact}
	out := ivr.Run(ctx, call, ep.Flow, ivr.Input{
		CallID: call.ID(), ANI: call.ANI(), DNIS: call.DNIS(), E164: geo.E164, Country: geo.Country,
		Language: ep.Language, Now: x.opts.Now, Lookup: lookups, Callbacks: x.callbacks(),
		RecordingDir: x.opts.RecordingDir, Logger: log, Metrics: x.metrics, Hours: x.opts.Hours,
	})
	rec.IVRPath = ivrSteps(out.Path)
	log.Info("voice: call left the IVR", "interaction_id", rec.ID, "outcome", out.Kind.String(), "queue", out.Queue, "path", ivr.PathString(out.Path), "err", out.Err)

	switch out.Kind {
	case ivr.OutcomeQueue, ivr.OutcomeError, ivr.OutcomeCallback:
		x.enqueue(ctx, call, rec, out, geo, lookups, web)
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

func (x *Journey) enqueue(ctx context.Context, call Call, rec crmcore.Interaction, out ivr.Outcome, geo acd.Geography, lookups *ivrLookup, web *WebCaller) {
	pop := &Pop{IVR: rec.IVRPath, InteractionID: rec.ID, DNIS: call.DNIS(), Web: web}
	ani := rec.ANI
	if web != nil {
		// The call's own number: the one a web caller typed is on the
		// record only (webCustomer).
		ani = cmp.Or(geo.E164, call.ANI())
	}
	req := acd.CallRequest{
		ID: acd.CallID(call.ID()), Queue: out.Queue, ANI: ani, DNIS: call.DNIS(),
		Priority: out.Priority, Language: out.Language, IVRPath: pathStrings(out.Path), Vars: out.Vars,
		Arrived: rec.ArrivedAt, Data: pop, Callback: out.CallbackNumber, Caller: geo,
	}
	for _, s := range out.Skills {
		req.Skills = append(req.Skills, acd.SkillLevel{Skill: s.Name, Level: s.MinLevel})
	}
	if geo.E164 != "" || lookups.contact != "" {
		lookup, err := lookups.own(ctx)
		if err != nil {
			x.logger.Warn("caller lookup failed; routing without CRM data", "call_id", call.ID(), "err", err)
		}
		routed := &req
		if web != nil && !web.Verified {
			// An unverified web caller's word fills the pop, not the
			// routing: no segment priority, no preferred agent.
			routed = &acd.CallRequest{}
		}
		fillPop(pop, routed, lookup)
	}
	if req.Callback == "" {
		x.holds.Store(req.ID, &hold{call: call, lang: out.Language})
		x.ids.Store(req.ID, pop.InteractionID)
	} else {
		x.keepCallback(ctx, req, pop)
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
func (x *Journey) voicemail(ctx context.Context, call Call, rec crmcore.Interaction, out ivr.Outcome) {
	rec.Recording = out.VoicemailFile
	rec.Queue = out.Queue
	x.ticket(context.WithoutCancel(ctx), &rec, "Voicemail from ",
		fmt.Sprintf("Voicemail of %s left on %s. Recording: %s", out.VoicemailLength.Round(time.Second), call.DNIS(), out.VoicemailFile), "voicemail")
	x.finish(ctx, call, rec, crmcore.OutcomeVoicemail)
}

// finish hangs up a call that ends before any queue and completes its record.
func (x *Journey) finish(ctx context.Context, call Call, rec crmcore.Interaction, outcome crmcore.Outcome) {
	_ = call.Hangup(context.WithoutCancel(ctx))
	ended := x.opts.Now().UTC()
	rec.EndedAt = &ended
	rec.Outcome = outcome
	x.write(ctx, rec)
}

// write stores rec through the durable recorder; it returns once rec is on
// stable storage (or the write failed, which is logged: there is no one
// to hand the error to).
func (x *Journey) write(ctx context.Context, rec crmcore.Interaction) {
	if err := x.rec.Write(context.WithoutCancel(ctx), rec); err != nil {
		x.logger.Error("interaction write", "call_id", rec.CallID, "outcome", string(rec.Outcome), "err", err)
	}
}

// ivrSteps folds an IVR path into the CRM's form: one step per node, with
// the digits keyed there and what the caller was heard say.
func ivrSteps(path []ivr.Step) []crmcore.IVRStep {
	var steps []crmcore.IVRStep
	for _, s := range path {
		switch {
		case s.Digit != 0 && len(steps) > 0:
			steps[len(steps)-1].Digits += string(s.Digit)
		case s.Event == "speech" && len(steps) > 0:
			steps[len(steps)-1].Speech, steps[len(steps)-1].Confidence = crmcore.CutText(s.Speech, crmcore.MaxShortField), s.Confidence
		case s.Digit == 0 && s.Event == "":
			steps = append(steps, crmcore.IVRStep{Node: s.Node})
		}
	}
	return steps
}

func pathStrings(path []ivr.Step) []string {
	out := make([]string, len(path))
	for i, s := range path {
		out[i] = s.String()
	}
	return out
}
