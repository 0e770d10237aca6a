package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"switchboard/acd"
	"switchboard/acd/voice"
	"switchboard/crmcore"
)

// TracingConfig is the optional OpenTelemetry export of every call's
// journey as a trace (OTLP over HTTP). With no endpoint nothing is traced.
type TracingConfig struct {
	// OTLPEndpoint is the collector's base URL (http://127.0.0.1:4318);
	// traces are posted to its /v1/traces. Empty: tracing is off.
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// ServiceName is the service.name of the traces (default switchboard).
	ServiceName string `yaml:"service_name"`
	// SampleRatio is the share of calls traced, 0 to 1 (default 1).
	SampleRatio float64 `yaml:"sample_ratio"`
}

// validate checks the tracing section; the key of a bad value and why.
func (t *TracingConfig) validate() (key, reason string) {
	if math.IsNaN(t.SampleRatio) || t.SampleRatio < 0 || t.SampleRatio > 1 {
		return "sample_ratio", fmt.Sprintf("tracing.sample_ratio %v must be between 0 and 1", t.SampleRatio)
	}
	if t.ServiceName == "" || len(t.ServiceName) > 128 || strings.ContainsFunc(t.ServiceName, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "service_name", "tracing.service_name must be 1–128 characters without control characters"
	}
	if t.OTLPEndpoint == "" {
		return "", ""
	}
	if _, err := tracesURL(t.OTLPEndpoint); err != nil {
		return "otlp_endpoint", err.Error()
	}
	return "", ""
}

// tracesURL is the OTLP/HTTP traces URL of a collector's base URL, as
// OTEL_EXPORTER_OTLP_ENDPOINT is read: the signal's path appended.
func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("tracing.otlp_endpoint %q must be an http or https URL without credentials, query or fragment", endpoint)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	u.RawPath = ""
	return u.String(), nil
}

// Bounds on what is kept of a call between its first offer and its
// completion: a call's events past them are left out of its trace.
const (
	traceMaxCalls     = 65536
	traceMaxOffers    = 32
	traceMaxTransfers = 16
	traceMaxIVRSteps  = 64
	// traceStaleAfter forgets a call with no event for this long when the
	// table is full: its completion was lost.
	traceStaleAfter = 24 * time.Hour
)

// traces is the process's one export of call traces (OTLP over HTTP):
// the routing node's engine follower (followEngine) and the voice
// journey's recorder on every node (recorder) share its provider, so
// each call is traced by the node that handled it and a process has one
// exporter whatever role it takes. It is read-only once made, so the
// journey's concurrent writes share it. A nil *traces traces nothing.
//
// A call's trace id is its interaction record's id: the 16 bytes of the
// UUID, so the trace of record 0192f1c4-6f1e-7c3a-9d2b-5e8f0a1b2c3d is
// 0192f1c46f1e7c3a9d2b5e8f0a1b2c3d. The spans of a call the engine
// routed, built once it is complete (after wrap-up) from the summary the
// engine publishes and the offers and transfers it announced before, so
// the engine itself does no tracing:
//
//	call     arrival → end; call and interaction ids, channel, queue, outcome, agent, node
//	├ ivr    arrival → queued; one event per node of the IVR path
//	├ queue  queued → answered or end
//	│ └ offer  per agent rung: offered → answered or failed (the cause)
//	└ talk   answered → end
//	  └ hold   each time the caller was held
//
// A call that ended before the engine (in the IVR, refused, failed) has
// the call span and, when its IVR ran, an ivr span from arrival to end.
//
// IVR events name the node and how many digits the caller entered, never
// the digits: they may be account numbers or PINs.
type traces struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	node   string
	ratio  float64
	log    *slog.Logger
}

// newTraces starts exporting call traces to the OTLP/HTTP collector of
// cfg as node; with no endpoint it starts nothing and returns nil. Stop
// it with shutdown.
func newTraces(ctx context.Context, cfg TracingConfig, node string, logger *slog.Logger) (*traces, error) {
	if cfg.OTLPEndpoint == "" {
		return nil, nil
	}
	endpoint, err := tracesURL(cfg.OTLPEndpoint)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		// Calls are sampled by interaction id before any span starts
		// (sampled); the SDK's samplers would read the UUIDs' fixed bits.
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithIDGenerator(interactionIDs{}),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", cfg.ServiceName),
			attribute.String("service.instance.id", node))),
	)
	logger.Info("tracing: exporting call traces", "endpoint", endpoint, "sample_ratio", cfg.SampleRatio)
	return &traces{tp: tp, tracer: tp.Tracer("switchboard"), node: node, ratio: cfg.SampleRatio, log: logger}, nil
}

// shutdown exports the spans not yet sent, within ctx's deadline, and
// stops the export; call it once nothing traces any more.
func (t *traces) shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// followEngine traces every call engine completes until ctx ends or stop
// is called; with t nil it starts nothing and stop does nothing. stop
// traces the interactions already completed, then flushes the exporter
// within its context's deadline (the export itself goes on: shutdown
// ends it).
func (t *traces) followEngine(ctx context.Context, engine *acd.Engine) (stop func(context.Context) error, err error) {
	if t == nil {
		return func(context.Context) error { return nil }, nil
	}
	sub, _, err := engine.Subscribe(ctx, acd.SubscribeOptions{Name: "tracing", Buffer: 16384, Records: true})
	if err != nil {
		return nil, fmt.Errorf("tracing: cannot follow the engine: %w", err)
	}
	ct := &callTracer{traces: t, calls: make(map[acd.CallID]*callTrace)}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer sub.Close()
		ct.follow(ctx, sub, quit, t.log)
	}()
	var quitOnce sync.Once
	return func(sctx context.Context) error {
		quitOnce.Do(func() { close(quit) })
		select {
		case <-done:
		case <-sctx.Done():
		}
		return t.tp.ForceFlush(sctx)
	}, nil
}

// callTracer turns the engine's events into traces. Only its goroutine
// (follow) uses it.
type callTracer struct {
	*traces
	calls map[acd.CallID]*callTrace
}

// callTrace is what a call's trace needs that its summary lacks.
type callTrace struct {
	last      time.Time // the call's latest event, to forget a call whose completion was lost
	offers    []offerSpan
	transfers []*acd.CallTransferred
}

// offerSpan is one ring of an agent; result is empty while it rings.
type offerSpan struct {
	agent    acd.AgentID
	attempt  int
	from, to time.Time
	result   string
}

// follow handles sub's events until ctx ends, the subscription ends, or
// quit is closed (then after the events already pending).
func (t *callTracer) follow(ctx context.Context, sub *acd.Subscription, quit <-chan struct{}, logger *slog.Logger) {
	var evs []acd.Event
	for {
		quitting := false
		select {
		case <-ctx.Done():
			return
		case <-quit:
			quitting = true
		case <-sub.Ready():
		}
		var open bool
		evs, open = sub.Take(evs[:0])
		for _, ev := range evs {
			if _, ok := ev.(*acd.ResyncRequired); ok {
				logger.Warn("tracing: fell behind the engine; some offers are missing from traces")
				_, _ = sub.Resync(ctx)
				continue
			}
			t.handle(ev)
		}
		if !open || quitting {
			return
		}
	}
}

// handle keeps what a call's trace will need from ev, and exports the
// trace when ev completes the call.
func (t *callTracer) handle(ev acd.Event) {
	at := ev.Header().At
	switch e := ev.(type) {
	case *acd.CallOffered:
		if c := t.call(e.Call.ID, at); c != nil && len(c.offers) < traceMaxOffers {
			c.offers = append(c.offers, offerSpan{agent: e.Agent, attempt: e.Attempt, from: at})
		}
	case *acd.OfferFailed:
		t.endOffer(e.CallID, e.Agent, at, e.Cause)
	case *acd.CallAnswered:
		t.endOffer(e.CallID, e.Agent, at, "answered")
	case *acd.CallTransferred:
		if c := t.call(e.CallID, at); c != nil && len(c.transfers) < traceMaxTransfers {
			c.transfers = append(c.transfers, e)
		}
	case *acd.InteractionCompleted:
		// A transferring agent's part is not the call's record: the
		// call's last part carries the whole journey.
		if e.Interaction.Continued {
			return
		}
		c := t.calls[e.Interaction.CallID]
		delete(t.calls, e.Interaction.CallID)
		id := interactionIDOf(e.Interaction)
		if sampled(id, t.ratio) {
			t.export(e.Interaction, id, c)
		}
	}
}

// call returns the kept state of id, made on its first event; nil when
// the table is full.
func (t *callTracer) call(id acd.CallID, at time.Time) *callTrace {
	c, ok := t.calls[id]
	if !ok {
		if len(t.calls) >= traceMaxCalls {
			for k, v := range t.calls {
				if at.Sub(v.last) > traceStaleAfter {
					delete(t.calls, k)
				}
			}
			if len(t.calls) >= traceMaxCalls {
				return nil
			}
		}
		c = &callTrace{}
		t.calls[id] = c
	}
	c.last = at
	return c
}

// endOffer ends the ringing offer of call id to agent.
func (t *callTracer) endOffer(id acd.CallID, agent acd.AgentID, at time.Time, result string) {
	c := t.calls[id]
	if c == nil {
		return
	}
	c.last = at
	for i := len(c.offers) - 1; i >= 0; i-- {
		if o := &c.offers[i]; o.agent == agent && o.result == "" {
			o.to, o.result = at, result
			return
		}
	}
}

// interactionIDOf is the id of the interaction record of it: the voice
// journey's, else the call's own id (other channels record under it).
func interactionIDOf(it acd.Interaction) string {
	if pop, ok := it.Data.(*voice.Pop); ok && pop.InteractionID != "" {
		return pop.InteractionID
	}
	return string(it.CallID)
}

// traceIDOf is the trace id of an interaction: its UUID's bytes, or for
// an id that is not a UUID the first 16 bytes of its SHA-256.
func traceIDOf(id string) trace.TraceID {
	if u, err := uuid.Parse(id); err == nil {
		return trace.TraceID(u)
	}
	sum := sha256.Sum256([]byte(id))
	return trace.TraceID(sum[:16])
}

// sampled decides from the interaction id alone, so every node and every
// restart makes the same decision for a call.
func sampled(id string, ratio float64) bool {
	if ratio >= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return float64(h.Sum64()>>11)/(1<<53) < ratio
}

// export builds and ends the spans of one completed call; c (possibly
// nil) holds its offers and transfers.
func (t *callTracer) export(it acd.Interaction, id string, c *callTrace) {
	if c == nil {
		c = &callTrace{}
	}
	start := firstTime(it.Arrived, it.Queued, it.Offered, it.Answered, it.Ended, it.Completed)
	end := firstTime(it.Ended, it.Completed)
	root, rootSpan := t.startCall(id, start, callSummary{callID: string(it.CallID), channel: it.Channel,
		outcome: string(it.Outcome), failed: it.Outcome == acd.OutcomeFailed, offers: it.Offers, queue: it.Queue, agent: string(it.Agent)})
	for _, x := range c.transfers {
		rootSpan.AddEvent("transfer", trace.WithTimestamp(x.At), trace.WithAttributes(
			attribute.String("switchboard.agent_id", string(x.From)), attribute.String("switchboard.target", transferTarget(x.To))))
	}
	if !it.Queued.IsZero() && it.Arrived.Before(it.Queued) {
		_, s := t.span(root, "ivr", it.Arrived)
		if pop, ok := it.Data.(*voice.Pop); ok {
			ivrEvents(s, it.Arrived, pop.IVR)
		}
		endSpan(s, it.Arrived, it.Queued)
	}
	offerParent := root
	if !it.Queued.IsZero() {
		queueEnd := firstTime(it.Answered, end)
		var s trace.Span
		offerParent, s = t.span(root, "queue", it.Queued)
		defer endSpan(s, it.Queued, queueEnd)
	}
	for _, o := range c.offers {
		_, s := t.span(offerParent, "offer", o.from, attribute.String("switchboard.agent_id", string(o.agent)),
			attribute.Int("switchboard.attempt", o.attempt), attribute.String("switchboard.result", cmp.Or(o.result, "ended")))
		endSpan(s, o.from, firstTime(o.to, it.Answered, end))
	}
	if !it.Answered.IsZero() {
		talk, s := t.span(root, "talk", it.Answered, attribute.String("switchboard.agent_id", string(it.Agent)))
		for _, h := range it.Holds {
			_, hs := t.span(talk, "hold", h.From, attribute.String("switchboard.agent_id", string(h.Agent)))
			endSpan(hs, h.From, firstTime(h.To, end))
		}
		endSpan(s, it.Answered, end)
	}
	endSpan(rootSpan, start, end)
}

// callSummary is what the root span of a call's trace says of the call.
type callSummary struct {
	callID  string
	channel acd.Channel
	outcome string
	failed  bool
	offers  int
	queue   string // empty: none
	agent   string // empty: none
}

// startCall starts at start the root span of the trace of interaction
// id, its trace id taken from id.
func (t *traces) startCall(id string, start time.Time, c callSummary) (context.Context, trace.Span) {
	ctx := context.WithValue(context.Background(), traceIDKey{}, traceIDOf(id))
	attrs := []attribute.KeyValue{
		attribute.String("switchboard.call_id", c.callID),
		attribute.String("switchboard.interaction_id", id),
		attribute.String("switchboard.channel", string(c.channel)),
		attribute.String("switchboard.outcome", c.outcome),
		attribute.String("switchboard.node", t.node),
		attribute.Int("switchboard.offers", c.offers),
	}
	if c.queue != "" {
		attrs = append(attrs, attribute.String("switchboard.queue", c.queue))
	}
	if c.agent != "" {
		attrs = append(attrs, attribute.String("switchboard.agent_id", c.agent))
	}
	ctx, s := t.span(ctx, "call", start, attrs...)
	if c.failed {
		s.SetStatus(codes.Error, "call failed")
	}
	return ctx, s
}

// ivrEvents adds to s one event at at per step of an IVR path (at most
// traceMaxIVRSteps): the node and how many digits were entered there.
func ivrEvents(s trace.Span, at time.Time, steps []crmcore.IVRStep) {
	for _, step := range steps[:min(len(steps), traceMaxIVRSteps)] {
		s.AddEvent("ivr.node", trace.WithTimestamp(at), trace.WithAttributes(
			attribute.String("switchboard.ivr_node", step.Node), attribute.Int("switchboard.ivr_digits", len(step.Digits))))
	}
}

// span starts a span at from under ctx.
func (t *traces) span(ctx context.Context, name string, from time.Time, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, name, trace.WithTimestamp(from), trace.WithAttributes(attrs...))
}

// endSpan ends s at to, or at from when to is earlier (a clock step).
func endSpan(s trace.Span, from, to time.Time) {
	s.End(trace.WithTimestamp(maxTime(from, to)))
}

func maxTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return a
	}
	return b
}

// firstTime returns the first of ts that is set.
func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// transferTarget names a transfer's target without the customer number
// a number target would show.
func transferTarget(to acd.TransferTarget) string {
	switch {
	case to.Agent != "":
		return "agent " + string(to.Agent)
	case to.Queue != "":
		return "queue " + to.Queue
	}
	return "number"
}

// traceIDKey carries, in a root span's context, the trace id
// interactionIDs gives it.
type traceIDKey struct{}

// interactionIDs is the tracer provider's id generator: a root span's
// trace id comes from its context (the interaction's), span ids are
// random.
type interactionIDs struct{}

var _ sdktrace.IDGenerator = interactionIDs{}

// NewIDs returns the trace id carried by ctx (random if none) and a
// random span id.
func (g interactionIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	tid, ok := ctx.Value(traceIDKey{}).(trace.TraceID)
	if !ok || !tid.IsValid() {
		binary.BigEndian.PutUint64(tid[:8], rand.Uint64())
		binary.BigEndian.PutUint64(tid[8:], rand.Uint64()|1)
	}
	return tid, g.NewSpanID(ctx, tid)
}

// NewSpanID returns a random, valid span id.
func (interactionIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	binary.BigEndian.PutUint64(sid[:], rand.Uint64()|1)
	return sid
}
