package main

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/acd/voice"
	"switchboard/crmcore"
	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

// tracedRecords is a journey's recorder in memory; onWrite, when set,
// runs as a record is written and err is every write's result.
type tracedRecords struct {
	mu      sync.Mutex
	recs    []crmcore.Interaction
	onWrite func(crmcore.Interaction)
	err     error
}

func (m *tracedRecords) Write(_ context.Context, in crmcore.Interaction) error {
	if m.onWrite != nil {
		m.onWrite(in)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, in)
	return m.err
}

func (m *tracedRecords) AppendWrapUp(context.Context, crmcore.WrapUp) error { return m.err }

// completed returns the completed record of call id, if written.
func (m *tracedRecords) completed(callID string) (crmcore.Interaction, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.recs {
		if r.CallID == callID && r.Outcome != crmcore.OutcomeInProgress {
			return r, true
		}
	}
	return crmcore.Interaction{}, false
}

// journeyCall is an inbound call as the journey sees it: a scripted IVR
// session on a leg, its arrival reported under its SIP Call-ID.
type journeyCall struct {
	*ivrtest.Session
	*acdtest.Leg
	sipCallID string
}

func (c *journeyCall) SIPCallID() string        { return c.sipCallID }
func (c *journeyCall) ANI() string              { return "anonymous" } // no number: no CRM lookup
func (c *journeyCall) DNIS() string             { return "15550100" }
func (c *journeyCall) Context() context.Context { return c.Leg.Context() }

// tracedFlows offers a menu: 1 queues to sales, 2 (or nothing) says
// goodbye.
const tracedFlows = `
version: 1
default_language: en
languages: [en]
default_queue: sales
entry_points:
  - dnis: "15550100"
    flow: main
flows:
  main:
    start: menu
    nodes:
      menu:
        kind: menu
        prompts: [main_menu]
        options:
          "1": sales
          "2": bye
        default: bye
      sales:
        kind: queue
        queue: sales
      bye:
        kind: hangup
`

// oneFlowSet is a voice.FlowSource over one parsed set.
type oneFlowSet struct{ set *ivr.Set }

func (f oneFlowSet) ForDNIS(dnis string) (ivr.EntryPoint, bool, error) {
	for _, ep := range f.set.EntryPoints() {
		if ep.DNIS == dnis {
			return ep, true, nil
		}
	}
	return ivr.EntryPoint{}, false, nil
}

func (f oneFlowSet) ForWebRTC(string) (ivr.EntryPoint, bool, error) {
	return ivr.EntryPoint{}, false, nil
}
func (f oneFlowSet) Current() *ivr.Set { return f.set }

// TestTracingCallsEndedBeforeEngine runs four calls through a real voice
// journey over a real engine, the journey's recorder wrapped as serve
// wraps it and the engine followed, all into one export to a real
// OTLP/HTTP receiver: a caller who says goodbye in the IVR, one who hangs
// up there, one the gateway refuses, and one routed to an agent. Each call
// has exactly one trace, its id the call's interaction id: the first
// three a call span (with an ivr span when the IVR ran) from their
// records, the routed one the engine's whole journey.
func TestTracingCallsEndedBeforeEngine(t *testing.T) {
	ctx := context.Background()
	recv := newOTLPReceiver(t)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock, phone := acdtest.NewClock(t0), acdtest.NewPhone()
	engine := tracingEngine(t, clock, phone)
	quiet := slog.New(slog.DiscardHandler)
	if err := engine.Login(ctx, acd.AgentSpec{ID: "a1", Endpoint: "sip:a1", Ready: true,
		Skills: []acd.SkillLevel{{Skill: "sales", Level: 3}}}); err != nil {
		t.Fatal(err)
	}
	set, _, err := ivr.Parse("flows.yaml", []byte(tracedFlows), ivr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := newTestTraces(t, recv)
	stopFollow, err := tr.followEngine(ctx, engine)
	if err != nil {
		t.Fatal(err)
	}
	rec := &tracedRecords{}
	x := voice.New(voice.EngineRouter(engine), oneFlowSet{set}, nil, tr.recorder(rec), voice.Options{Now: clock.Now, Logger: quiet})
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); _ = x.Run(runCtx) }()
	defer func() { stopRun(); <-ran }()

	call := func(id string, script ...ivrtest.Event) *journeyCall {
		x.Arrival(id+"@sip", "anonymous", "15550100", t0.Add(-30*time.Second))
		return &journeyCall{Session: ivrtest.NewSession(script...), Leg: acdtest.NewLeg(id), sipCallID: id + "@sip"}
	}
	x.Handle(call("goodbye", ivrtest.Keys("2")))
	x.Handle(call("hangup", ivrtest.Hangup()))
	x.Arrival("refused@sip", "anonymous", "15550100", t0.Add(-30*time.Second))
	x.Refused("refused@sip", "anonymous", "15550100", "call limit")
	routed := call("routed", ivrtest.Keys("1"))
	x.Handle(routed) // queued: it rings a1
	ring := nextRing(t, phone)
	clock.Advance(5 * time.Second)
	ring.Answer()
	waitAgentState(t, engine, "a1", acd.StateOnCall)
	clock.Advance(60 * time.Second)
	if err := engine.Hangup(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	waitAgentState(t, engine, "a1", acd.StateWrapUp)
	if err := engine.Wrap(ctx, "a1", "sale", ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := rec.completed("routed"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the routed call was never recorded")
		}
		time.Sleep(time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := stopFollow(sctx); err != nil {
		t.Fatalf("stop following: %v", err)
	}
	if err := tr.shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	type callTrace struct {
		Outcome string
		Spans   []string // names, sorted
		Steps   []string // the ivr span's events: node/digits entered
		Failed  bool
	}
	byTrace := map[string]*callTrace{}
	var calls []*tracepb.Span
	for _, r := range recv.resourceSpans() {
		for _, ss := range r.ScopeSpans {
			for _, s := range ss.Spans {
				id := hex.EncodeToString(s.TraceId)
				ct := byTrace[id]
				if ct == nil {
					ct = &callTrace{}
					byTrace[id] = ct
				}
				ct.Spans = append(ct.Spans, s.Name)
				switch s.Name {
				case "call":
					calls = append(calls, s)
					ct.Outcome = attrsOf(s.Attributes)["switchboard.outcome"].(string)
					ct.Failed = s.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR
				case "ivr":
					for _, ev := range s.Events {
						a := attrsOf(ev.Attributes)
						ct.Steps = append(ct.Steps, a["switchboard.ivr_node"].(string)+"/"+strings.Repeat("#", int(a["switchboard.ivr_digits"].(int64))))
					}
				}
			}
		}
	}
	for _, ct := range byTrace {
		slices.Sort(ct.Spans)
	}
	idOf := func(callID string) string {
		t.Helper()
		r, ok := rec.completed(callID)
		if !ok {
			t.Fatalf("no completed record of %s", callID)
		}
		return strings.ReplaceAll(r.ID, "-", "")
	}
	want := map[string]*callTrace{
		idOf("goodbye"):     {Outcome: "ivr-completed", Spans: []string{"call", "ivr"}, Steps: []string{"menu/#", "bye/"}},
		idOf("hangup"):      {Outcome: "abandoned", Spans: []string{"call", "ivr"}, Steps: []string{"menu/"}},
		idOf("refused@sip"): {Outcome: "failed", Spans: []string{"call"}, Failed: true},
		idOf("routed"): {Outcome: "answered", Spans: []string{"call", "ivr", "offer", "queue", "talk"},
			Steps: []string{"menu/#", "sales/"}},
	}
	if diff := cmp.Diff(want, byTrace); diff != "" {
		t.Errorf("traces by interaction id (-want +got):\n%s", diff)
	}
	for _, c := range calls {
		a := attrsOf(c.Attributes)
		if a["switchboard.outcome"] != "ivr-completed" {
			continue
		}
		wantAttrs := map[string]any{
			"switchboard.call_id": "goodbye", "switchboard.interaction_id": a["switchboard.interaction_id"], "switchboard.channel": "voice",
			"switchboard.outcome": "ivr-completed", "switchboard.node": "node-1", "switchboard.offers": int64(0),
		}
		if diff := cmp.Diff(wantAttrs, a); diff != "" {
			t.Errorf("call attributes of a call ended in the IVR (-want +got):\n%s", diff)
		}
		if got, want := [2]uint64{c.StartTimeUnixNano, c.EndTimeUnixNano},
			[2]uint64{uint64(t0.Add(-30 * time.Second).UnixNano()), uint64(t0.UnixNano())}; got != want {
			t.Errorf("call span from %d to %d, want arrival to end %d", got[0], got[1], want)
		}
	}
}

// TestTracingRecordFirst: the journey's recorder writes a record before
// its call is traced, returns the write's own error (the call is traced
// all the same), traces neither a record in progress nor one of a call
// the engine took, and follows the sample ratio.
func TestTracingRecordFirst(t *testing.T) {
	arrived := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ended, queued := arrived.Add(20*time.Second), arrived.Add(10*time.Second)
	ivrOnly := crmcore.Interaction{ID: crmcore.NewID(), CallID: "c1", Direction: crmcore.Inbound, Channel: crmcore.ChannelPhone,
		ArrivedAt: arrived, EndedAt: &ended, Outcome: crmcore.OutcomeFailed, IVRPath: []crmcore.IVRStep{{Node: "menu", Digits: "12"}}}
	open := ivrOnly
	open.EndedAt, open.Outcome = nil, crmcore.OutcomeInProgress
	routed := ivrOnly
	routed.QueuedAt, routed.Outcome = &queued, crmcore.OutcomeAbandoned
	writeErr := errors.New("journal full")
	tests := []struct {
		name  string
		in    crmcore.Interaction
		ratio float64
		err   error
		spans []string
	}{
		{"ended in the IVR", ivrOnly, 1, nil, []string{"ivr", "call"}},
		{"its write failed", ivrOnly, 1, writeErr, []string{"ivr", "call"}},
		{"in progress", open, 1, nil, nil},
		{"taken by the engine", routed, 1, nil, nil},
		{"not sampled", ivrOnly, 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithIDGenerator(interactionIDs{}))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			tr := &traces{tp: tp, tracer: tp.Tracer("test"), node: "n1", ratio: tt.ratio, log: slog.New(slog.DiscardHandler)}
			inner := &tracedRecords{err: tt.err}
			inner.onWrite = func(crmcore.Interaction) {
				if n := len(exp.GetSpans()); n != 0 {
					t.Errorf("%d spans exported before the record was written", n)
				}
			}
			if err := tr.recorder(inner).Write(context.Background(), tt.in); err != tt.err {
				t.Errorf("Write = %v, want the recorder's %v", err, tt.err)
			}
			if len(inner.recs) != 1 {
				t.Fatalf("%d records written, want 1", len(inner.recs))
			}
			var names []string
			for _, s := range exp.GetSpans() {
				names = append(names, s.Name)
				if got, want := s.SpanContext.TraceID(), traceIDOf(tt.in.ID); got != want {
					t.Errorf("%s trace id = %s, want %s", s.Name, got, want)
				}
				if s.Name == "call" && s.Status.Code != codes.Error {
					t.Errorf("call status = %v, want an error for a failed call", s.Status)
				}
				if s.Name == "ivr" && (!s.StartTime.Equal(arrived) || !s.EndTime.Equal(ended)) {
					t.Errorf("ivr span %v to %v, want arrival to end", s.StartTime, s.EndTime)
				}
			}
			if diff := cmp.Diff(tt.spans, names); diff != "" {
				t.Errorf("spans (-want +got):\n%s", diff)
			}
		})
	}
}
