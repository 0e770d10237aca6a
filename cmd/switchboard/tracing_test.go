package main

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/acd/voice"
	"switchboard/crmcore"
)

// otlpReceiver is an OTLP/HTTP trace receiver on loopback: it keeps the
// resource spans of every export.
type otlpReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []*tracepb.ResourceSpans
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	r := &otlpReceiver{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 16<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var msg coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, msg.ResourceSpans...)
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	})
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *otlpReceiver) resourceSpans() []*tracepb.ResourceSpans {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}

// newTestTraces starts a trace export to recv as node-1, shut down with
// the test at the latest.
func newTestTraces(t *testing.T, recv *otlpReceiver) *traces {
	t.Helper()
	tr, err := newTraces(context.Background(), TracingConfig{OTLPEndpoint: recv.srv.URL, ServiceName: "sb-test", SampleRatio: 1},
		"node-1", slog.New(slog.DiscardHandler))
	if err != nil || tr == nil {
		t.Fatalf("newTraces = %v, %v", tr, err)
	}
	t.Cleanup(func() { _ = tr.shutdown(context.Background()) })
	return tr
}

// nextRing returns the engine's next ring attempt on phone.
func nextRing(t *testing.T, phone *acdtest.Phone) *acdtest.Ringing {
	t.Helper()
	select {
	case r := <-phone.Rings:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no ring attempt")
		return nil
	}
}

func attrsOf(kvs []*commonpb.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = v.IntValue
		default:
			m[kv.Key] = kv.Value.String()
		}
	}
	return m
}

const tracingACD = `
ring_timeout: 15s
missed_offers: 5
wrap_up: 10s
stats_interval: -1
queues:
  - name: sales
    skills: [{skill: sales, level: 1}]
`

// tracingEngine is an engine on tracingACD over phone and clock, closed
// at the end of t.
func tracingEngine(t *testing.T, clock *acdtest.Clock, phone *acdtest.Phone) *acd.Engine {
	t.Helper()
	cfg, err := acd.ParseConfig([]byte(tracingACD))
	if err != nil {
		t.Fatal(err)
	}
	engine, err := acd.New(cfg, phone, phone, acd.WithClock(clock), acd.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	return engine
}

// TestTracingCallJourney drives a call through a real engine (IVR
// arrival, a rejected offer, an answered one, a hold, the agent's
// hang-up and wrap-up) and checks the trace a real OTLP/HTTP receiver
// gets: one span per stage, their parents, times and attributes.
func TestTracingCallJourney(t *testing.T) {
	ctx := context.Background()
	recv := newOTLPReceiver(t)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock, phone := acdtest.NewClock(t0), acdtest.NewPhone()
	engine := tracingEngine(t, clock, phone)
	tr := newTestTraces(t, recv)
	stop, err := tr.followEngine(ctx, engine)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = stop(ctx)
		}
	})
	settle := func() {
		t.Helper()
		if _, err := engine.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
	}
	advance := func(d time.Duration) { t.Helper(); settle(); clock.Advance(d); settle() }
	waitState := func(agent acd.AgentID, want acd.AgentState) {
		t.Helper()
		waitAgentState(t, engine, string(agent), want)
	}
	ring := func() *acdtest.Ringing { t.Helper(); return nextRing(t, phone) }

	for _, id := range []acd.AgentID{"a1", "a2"} {
		if err := engine.Login(ctx, acd.AgentSpec{ID: id, Endpoint: "sip:" + string(id), Ready: true,
			Skills: []acd.SkillLevel{{Skill: "sales", Level: 3}}}); err != nil {
			t.Fatal(err)
		}
	}
	interactionID := crmcore.NewID()
	pop := &voice.Pop{InteractionID: interactionID, IVR: []crmcore.IVRStep{{Node: "menu", Digits: "4111"}, {Node: "sales"}}}
	if _, err := engine.Enqueue(ctx, acd.CallRequest{ID: "c1", Queue: "sales", Arrived: t0.Add(-30 * time.Second), Data: pop},
		acdtest.NewLeg("c1")); err != nil {
		t.Fatal(err)
	}
	first := ring()
	advance(2 * time.Second)
	first.Fail(acd.ErrRejected)
	second := ring()
	advance(3 * time.Second)
	agent := second.Offer.Agent
	second.Answer()
	waitState(agent, acd.StateOnCall)
	advance(10 * time.Second)
	if err := engine.Hold(ctx, agent, true); err != nil {
		t.Fatal(err)
	}
	advance(20 * time.Second)
	if err := engine.Hold(ctx, agent, false); err != nil {
		t.Fatal(err)
	}
	advance(30 * time.Second)
	if err := engine.Hangup(ctx, agent); err != nil {
		t.Fatal(err)
	}
	waitState(agent, acd.StateWrapUp)
	if err := engine.Wrap(ctx, agent, "sale", ""); err != nil {
		t.Fatal(err)
	}
	waitState(agent, acd.StateIdle)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stopped = true
	if err := stop(sctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := tr.shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	rs := recv.resourceSpans()
	if len(rs) == 0 {
		t.Fatal("the receiver got no spans")
	}
	res := attrsOf(rs[0].Resource.Attributes)
	if res["service.name"] != "sb-test" || res["service.instance.id"] != "node-1" {
		t.Errorf("resource = %v, want service sb-test on node-1", res)
	}
	spans := map[string][]*tracepb.Span{}
	for _, r := range rs {
		for _, ss := range r.ScopeSpans {
			for _, s := range ss.Spans {
				spans[s.Name] = append(spans[s.Name], s)
			}
		}
	}
	counts := map[string]int{}
	for name, ss := range spans {
		counts[name] = len(ss)
	}
	if diff := cmp.Diff(map[string]int{"call": 1, "ivr": 1, "queue": 1, "offer": 2, "talk": 1, "hold": 1}, counts); diff != "" {
		t.Fatalf("spans by name (-want +got):\n%s", diff)
	}
	wantTrace := strings.ReplaceAll(interactionID, "-", "")
	at := func(d time.Duration) uint64 { return uint64(t0.Add(d).UnixNano()) }
	type stage struct {
		parent     string
		start, end uint64
	}
	call, queue, talk := spans["call"][0], spans["queue"][0], spans["talk"][0]
	id := func(s *tracepb.Span) string { return hex.EncodeToString(s.SpanId) }
	byID := map[string]string{"": "", id(call): "call", id(queue): "queue", id(talk): "talk"}
	got := map[string]stage{}
	for name, ss := range spans {
		for _, s := range ss {
			if tid := hex.EncodeToString(s.TraceId); tid != wantTrace {
				t.Errorf("%s trace id = %s, want the interaction id %s", name, tid, wantTrace)
			}
			key := name
			if name == "offer" {
				key = name + "-" + attrsOf(s.Attributes)["switchboard.result"].(string)
			}
			got[key] = stage{parent: byID[hex.EncodeToString(s.ParentSpanId)], start: s.StartTimeUnixNano, end: s.EndTimeUnixNano}
		}
	}
	want := map[string]stage{
		"call":           {"", at(-30 * time.Second), at(65 * time.Second)},
		"ivr":            {"call", at(-30 * time.Second), at(0)},
		"queue":          {"call", at(0), at(5 * time.Second)},
		"offer-rejected": {"queue", at(0), at(2 * time.Second)},
		"offer-answered": {"queue", at(2 * time.Second), at(5 * time.Second)},
		"talk":           {"call", at(5 * time.Second), at(65 * time.Second)},
		"hold":           {"talk", at(15 * time.Second), at(35 * time.Second)},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(stage{})); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}

	wantCall := map[string]any{
		"switchboard.call_id": "c1", "switchboard.interaction_id": interactionID, "switchboard.channel": "voice",
		"switchboard.queue": "sales", "switchboard.outcome": "answered", "switchboard.agent_id": string(agent),
		"switchboard.node": "node-1", "switchboard.offers": int64(2),
	}
	if diff := cmp.Diff(wantCall, attrsOf(call.Attributes)); diff != "" {
		t.Errorf("call attributes (-want +got):\n%s", diff)
	}
	for _, o := range spans["offer"] {
		a := attrsOf(o.Attributes)
		wantAgent := string(agent)
		if a["switchboard.result"] == "rejected" {
			wantAgent = string(first.Offer.Agent)
		}
		if a["switchboard.agent_id"] != wantAgent {
			t.Errorf("%v offer agent = %v, want %s", a["switchboard.result"], a["switchboard.agent_id"], wantAgent)
		}
	}
	var steps []map[string]any
	for _, ev := range spans["ivr"][0].Events {
		steps = append(steps, attrsOf(ev.Attributes))
	}
	wantSteps := []map[string]any{
		{"switchboard.ivr_node": "menu", "switchboard.ivr_digits": int64(4)},
		{"switchboard.ivr_node": "sales", "switchboard.ivr_digits": int64(0)},
	}
	if diff := cmp.Diff(wantSteps, steps); diff != "" {
		t.Errorf("IVR events (-want +got):\n%s", diff)
	}
}

// TestTracingOffByDefault: the default configuration has no endpoint, and
// with none nothing is started: no export, the engine untouched, the
// journey's recorder itself.
func TestTracingOffByDefault(t *testing.T) {
	ctx := context.Background()
	cfg, err := parseConfig("c.yaml", []byte("log:\n  level: info\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (TracingConfig{ServiceName: "switchboard", SampleRatio: 1}); cfg.Tracing != want {
		t.Fatalf("default tracing = %+v, want %+v", cfg.Tracing, want)
	}
	tr, err := newTraces(ctx, cfg.Tracing, "n", slog.New(slog.DiscardHandler))
	if err != nil || tr != nil {
		t.Fatalf("newTraces = %v, %v; want nothing started", tr, err)
	}
	stop, err := tr.followEngine(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(ctx); err != nil {
		t.Errorf("stop = %v", err)
	}
	rec := &tracedRecords{}
	if got := tr.recorder(rec); got != crmcore.InteractionRecorder(rec) {
		t.Errorf("recorder = %T, want the journey's own", got)
	}
	if err := tr.shutdown(ctx); err != nil {
		t.Errorf("shutdown = %v", err)
	}
}

func TestTracingConfigErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"ratio above 1", "tracing:\n  sample_ratio: 1.5\n", "bad.yaml:2: tracing.sample_ratio 1.5 must be between 0 and 1"},
		{"negative ratio", "tracing:\n  sample_ratio: -0.1\n", "tracing.sample_ratio"},
		{"no scheme", "tracing:\n  otlp_endpoint: 127.0.0.1:4318\n", "bad.yaml:2: tracing.otlp_endpoint"},
		{"grpc scheme", "tracing:\n  otlp_endpoint: grpc://collector:4317\n", "tracing.otlp_endpoint"},
		{"credentials", "tracing:\n  otlp_endpoint: http://u:p@collector:4318\n", "without credentials"},
		{"empty service", "tracing:\n  service_name: \"\"\n", "tracing.service_name"},
		{"service with newline", "tracing:\n  service_name: \"a\\nb\"\n", "tracing.service_name"},
		{"unknown key", "tracing:\n  endpoint: http://x\n", "bad.yaml:2: field endpoint not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig("bad.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestTracingURLAndIDs(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4318":       "http://127.0.0.1:4318/v1/traces",
		"https://otel.example.com/":   "https://otel.example.com/v1/traces",
		"http://collector:4318/otlp":  "http://collector:4318/otlp/v1/traces",
		"http://collector:4318/otlp/": "http://collector:4318/otlp/v1/traces",
	} {
		if got, err := tracesURL(in); err != nil || got != want {
			t.Errorf("tracesURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got, want := traceIDOf("0192f1c4-6f1e-7c3a-9d2b-5e8f0a1b2c3d").String(), "0192f1c46f1e7c3a9d2b5e8f0a1b2c3d"; got != want {
		t.Errorf("trace id of a UUID = %s, want %s", got, want)
	}
	if a, b := traceIDOf("chat-1"), traceIDOf("chat-1"); a != b || !a.IsValid() {
		t.Errorf("trace ids of a non-UUID id: %s, %s; want one valid id", a, b)
	}
	if !sampled("x", 1) || sampled("x", 0) {
		t.Error("ratio 1 must trace every call and 0 none")
	}
	n := 0
	for range 1000 {
		if sampled(crmcore.NewID(), 0.25) {
			n++
		}
	}
	if n < 150 || n > 350 {
		t.Errorf("ratio 0.25 traced %d of 1000 calls", n)
	}
}
