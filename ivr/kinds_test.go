package ivr_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

func TestKinds(t *testing.T) {
	set, _, err := ivr.Load("testdata/kinds.yaml", ivr.Options{PromptDir: "prompts", Queues: demoQueues})
	if err != nil {
		t.Fatal(err)
	}
	ep, ok := set.ForWebRTC("kinds")
	if !ok {
		t.Fatal("no kinds entry point")
	}
	cases := []struct {
		name    string
		dnis    string
		country string
		contact *ivr.Caller
		script  []ivrtest.Event
		kind    ivr.OutcomeKind
		queue   string
		skills  []ivr.Skill
		path    string
		flow    string
		check   func(t *testing.T, out ivr.Outcome, sess *ivrtest.Session)
	}{
		{
			name: "transfer", dnis: "transfer", kind: ivr.OutcomeTransfer, path: "route out", flow: "kinds",
			check: func(t *testing.T, out ivr.Outcome, _ *ivrtest.Session) {
				if out.TransferTarget != "+15557770000" {
					t.Errorf("transfer target = %q", out.TransferTarget)
				}
			},
		},
		{name: "goto another flow", dnis: "jump", kind: ivr.OutcomeHangup, path: "route jump hello done", flow: "other"},
		{
			name: "say currency, number, date, time", dnis: "amount", kind: ivr.OutcomeHangup, path: "route amount bye", flow: "kinds",
			check: func(t *testing.T, out ivr.Outcome, sess *ivrtest.Session) {
				got := promptNames(sess.Played()[0])
				want := strings.Fields("num_1 thousand num_2 hundred num_30 num_4 dollars and num_50 cents " +
					"num_1 thousand num_2 hundred num_30 num_4 euros and num_50 cents " +
					"num_40 num_2 day_1 month_11 num_20 num_3 num_3 oh num_4 pm")
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("played (-want +got):\n%s", diff)
				}
			},
		},
		{name: "gt", contact: &ivr.Caller{OpenTickets: 4}, kind: ivr.OutcomeQueue, queue: "support", path: "route many",
			skills: []ivr.Skill{{Name: "support", MinLevel: 3}}},
		{name: "ge with an empty templated skill", contact: &ivr.Caller{OpenTickets: 1}, kind: ivr.OutcomeQueue, queue: "support", path: "route some",
			skills: []ivr.Skill{{Name: "support", MinLevel: 1}}},
		{name: "in", country: "MX", kind: ivr.OutcomeQueue, queue: "operator", path: "route hola abroad"},
		{name: "not_equals", country: "FR", kind: ivr.OutcomeQueue, queue: "operator", path: "route abroad"},
		{
			name: "exists false, gather without terminator, goto loops back", country: "US",
			script: ev(ivrtest.Keys("12"), ivrtest.Timeout()),
			kind:   ivr.OutcomeHangup,
			path:   "route ask dtmf:1 dtmf:2 again route bye",
			check: func(t *testing.T, out ivr.Outcome, _ *ivrtest.Session) {
				if out.Vars["input.code"] != "12" {
					t.Errorf("input.code = %q", out.Vars["input.code"])
				}
			},
		},
		{
			name: "gather stops at max digits", country: "US",
			script: ev(ivrtest.Keys("1234")),
			kind:   ivr.OutcomeHangup,
			path:   "route ask dtmf:1 dtmf:2 dtmf:3 dtmf:4 again route bye",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lookup := &ivrtest.Lookup{}
			in := ivr.Input{Logger: quiet, DNIS: tc.dnis, Country: tc.country, ANI: "+15551112222", E164: "+15551112222", Lookup: lookup}
			flow := ep.Flow
			sess := ivrtest.NewSession(tc.script...)
			ctx, cancel := sess.Context(t.Context())
			defer cancel()
			if tc.contact != nil {
				// Contact variables normally come from a lookup node; set them through a
				// one-node lookup-free path: the branch reads vars, so seed via a lookup flow.
				lookup.Callers = map[string]ivr.Caller{"+15551112222": *tc.contact}
				flow = withCallerLookup(t, set)
			}
			out := ivr.Run(ctx, sess, flow, in)
			path := ivr.PathString(out.Path)
			if tc.contact != nil {
				path = strings.TrimPrefix(path, "who who:found ")
			}
			if path != tc.path {
				t.Errorf("path = %q, want %q", path, tc.path)
			}
			if out.Kind != tc.kind {
				t.Errorf("kind = %v, want %v (%v)", out.Kind, tc.kind, out.Err)
			}
			if out.Queue != tc.queue {
				t.Errorf("queue = %q, want %q", out.Queue, tc.queue)
			}
			if len(tc.skills) > 0 || len(out.Skills) > 0 {
				if diff := cmp.Diff(tc.skills, out.Skills); diff != "" {
					t.Errorf("skills (-want +got):\n%s", diff)
				}
			}
			if tc.flow != "" && out.Flow != tc.flow {
				t.Errorf("flow = %q, want %q", out.Flow, tc.flow)
			}
			if tc.check != nil {
				tc.check(t, out, sess)
			}
		})
	}
}

// withCallerLookup loads a copy of kinds.yaml whose start is a caller lookup, so branch
// conditions can test contact.* variables.
func withCallerLookup(t *testing.T, _ *ivr.Set) *ivr.Flow {
	t.Helper()
	set, _, err := ivr.Parse("kinds+lookup.yaml", []byte(kindsWithLookup), ivr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := set.Flow("kinds")
	return f
}

const kindsWithLookup = `
default_queue: operator
entry_points: [{webrtc: k, flow: kinds}]
flows:
  kinds:
    start: who
    nodes:
      who: {kind: lookup, lookup: caller, found: route, not_found: route, error: route}
      route:
        kind: branch
        conditions:
          - {var: contact.open_tickets, gt: 3, next: many}
          - {var: contact.open_tickets, ge: 1, next: some}
        default: many
      many: {kind: queue, queue: support, skills: {support: 3}, priority: 80}
      some: {kind: queue, queue: support, skills: {support: 1, "{call.lang_skill}": 2}}
`

func promptNames(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		f = f[strings.LastIndexByte(f, '/')+1:]
		out[i] = strings.TrimSuffix(f, ".wav")
	}
	return out
}

func TestMaxStepsRoutesToDefaultQueue(t *testing.T) {
	set, _, err := ivr.Load("testdata/kinds.yaml", ivr.Options{PromptDir: "prompts"})
	if err != nil {
		t.Fatal(err)
	}
	ep, _ := set.ForDNIS("999")
	var script []ivrtest.Event
	for range 30 {
		script = append(script, ivrtest.Timeout())
	}
	sess := ivrtest.NewSession(script...)
	reg := prometheus.NewRegistry()
	m := ivr.NewMetrics(reg)
	out := ivr.Run(t.Context(), sess, ep.Flow, ivr.Input{Metrics: m, Logger: quiet})
	if out.Kind != ivr.OutcomeError || out.Queue != "operator" {
		t.Errorf("outcome = %v to %q, want error to operator", out.Kind, out.Queue)
	}
	if !errors.Is(out.Err, ivr.ErrMaxSteps) {
		t.Errorf("err = %v, want ErrMaxSteps", out.Err)
	}
	// 20 visits of spin, each with one timeout and max_retries, then the limit event.
	if got, want := strings.Count(ivr.PathString(out.Path), "spin:timeout"), 20; got != want {
		t.Errorf("%d timeouts in path, want %d", got, want)
	}
	if last := out.Path[len(out.Path)-1]; last.Event != "max_steps" {
		t.Errorf("last step = %v, want max_steps", last)
	}
	if got := testutil.ToFloat64(m.StepLimitCounter()); got != 1 {
		t.Errorf("step limit counter = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.OutcomeCounter(ivr.OutcomeError)); got != 1 {
		t.Errorf("error outcomes = %v, want 1", got)
	}
}

func TestLookupTimeoutTakesErrorBranch(t *testing.T) {
	set, _, err := ivr.Parse("t.yaml", []byte(`
default_queue: operator
entry_points: [{webrtc: k, flow: f}]
flows:
  f:
    start: who
    nodes:
      who: {kind: lookup, lookup: caller, timeout: 100ms, found: a, not_found: a, error: b}
      a: {kind: queue, queue: sales}
      b: {kind: queue, queue: operator}
`), ivr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := set.Flow("f")
	out := ivr.Run(t.Context(), ivrtest.NewSession(), f, ivr.Input{ANI: "1", Lookup: &ivrtest.Lookup{Block: true}, Logger: quiet, Now: func() time.Time { return time.Unix(0, 0) }})
	if got, want := ivr.PathString(out.Path), "who who:error b"; got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
	if out.Queue != "operator" {
		t.Errorf("queue = %q, want operator", out.Queue)
	}
	// Without a Lookup, the error branch too.
	out = ivr.Run(t.Context(), ivrtest.NewSession(), f, ivr.Input{ANI: "1"})
	if got, want := ivr.PathString(out.Path), "who who:error b"; got != want {
		t.Errorf("nil lookup: path = %q, want %q", got, want)
	}
}

func TestLookupAndDurationMetrics(t *testing.T) {
	set, _, err := ivr.Parse("t.yaml", []byte(`
default_queue: operator
entry_points: [{webrtc: k, flow: f}]
flows:
  f:
    start: who
    nodes:
      who: {kind: lookup, lookup: caller, found: a, not_found: b, error: b}
      a: {kind: queue, queue: sales}
      b: {kind: queue, queue: operator}
`), ivr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := set.Flow("f")
	// Each reading of the clock is a second after the last.
	clock := time.Unix(0, 0)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	reg := prometheus.NewRegistry()
	m := ivr.NewMetrics(reg)
	lookup := &ivrtest.Lookup{Callers: map[string]ivr.Caller{"+15550001": {ContactID: "c1"}}}
	for _, ani := range []string{"+15550001", "+15550002"} {
		ivr.Run(t.Context(), ivrtest.NewSession(), f, ivr.Input{ANI: ani, E164: ani, Lookup: lookup, Metrics: m, Logger: quiet, Now: now})
	}
	ivr.Run(t.Context(), ivrtest.NewSession(), f, ivr.Input{ANI: "+15550003", E164: "+15550003", Lookup: &ivrtest.Lookup{Err: errors.New("down")}, Metrics: m, Logger: quiet, Now: now})
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fams {
		for _, mt := range f.Metric {
			if h := mt.GetHistogram(); h != nil {
				var labels []string
				for _, l := range mt.Label {
					labels = append(labels, l.GetValue())
				}
				got[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = fmt.Sprintf("%d/%gs", h.GetSampleCount(), h.GetSampleSum())
			}
		}
	}
	for k, want := range map[string]string{
		// One second between the clock readings before and after the dip.
		"switchboard_ivr_lookup_seconds{caller,found}":     "1/1s",
		"switchboard_ivr_lookup_seconds{caller,not_found}": "1/1s",
		"switchboard_ivr_lookup_seconds{caller,error}":     "1/1s",
		"switchboard_ivr_duration_seconds{queue}":          "3/",
	} {
		if !strings.HasPrefix(got[k], want) {
			t.Errorf("%s = %q, want %q…", k, got[k], want)
		}
	}
	if d := got["switchboard_ivr_duration_seconds{queue}"]; d == "3/0s" {
		t.Errorf("duration = %q, want more than 0 s", d)
	}
}
