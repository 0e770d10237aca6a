package ivr_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryReloadKeepsOldSetOnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "flows.yaml")
	copyFile(t, "testdata/demo.yaml", file)
	reg := prometheus.NewRegistry()
	m := ivr.NewMetrics(reg)
	r := ivr.NewRegistry(ivr.Options{PromptDir: "prompts", Queues: demoQueues, Logger: quiet}, m)

	if _, _, err := r.ForDNIS("+15550100"); !errors.Is(err, ivr.ErrNoFlows) {
		t.Errorf("ForDNIS before load: err = %v, want ErrNoFlows", err)
	}
	if _, err := r.Reload(file); err != nil {
		t.Fatalf("first reload: %v", err)
	}
	first := r.Current()
	ep, ok, err := r.ForDNIS("+15550100")
	if err != nil || !ok {
		t.Fatalf("ForDNIS = %v, %v", ok, err)
	}
	if web, ok, _ := r.ForWebRTC("web"); !ok || web.Flow != ep.Flow {
		t.Errorf("ForWebRTC(web) = %v, %v; want the main flow", web, ok)
	}

	// A broken file is rejected and the first set stays.
	copyFile(t, "testdata/invalid/bad_target.yaml", file)
	problems, err := r.Reload(file)
	if !errors.Is(err, ivr.ErrInvalid) || len(problems) == 0 {
		t.Errorf("reload of a broken file: %v, %d problems; want ErrInvalid with problems", err, len(problems))
	}
	if r.Current() != first {
		t.Error("broken reload replaced the current set")
	}
	// A missing file too.
	if _, err := r.Reload(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || r.Current() != first {
		t.Errorf("reload of a missing file: err %v, set replaced %v", err, r.Current() != first)
	}

	// A call that started on the first set keeps its flow across a good reload.
	copyFile(t, "testdata/demo.yaml", file)
	if _, err := r.Reload(file); err != nil {
		t.Fatal(err)
	}
	if r.Current() == first {
		t.Error("good reload did not swap the set")
	}
	sess := ivrtest.NewSession(ivrtest.Keys("1"))
	out := ivr.Run(t.Context(), sess, ep.Flow, ivr.Input{ANI: anyANI, Lookup: demoLookup(), Now: func() time.Time { return mondayMorning }, Logger: quiet})
	if out.Kind != ivr.OutcomeQueue || out.Queue != "sales" {
		t.Errorf("old flow after reload: %v %q", out.Kind, out.Queue)
	}
	if ep.Flow.Set() != first {
		t.Error("old flow no longer belongs to its own set")
	}

	if got := testutil.ToFloat64(m.ReloadCounter(true)); got != 2 {
		t.Errorf("ok reloads = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.ReloadCounter(false)); got != 2 {
		t.Errorf("failed reloads = %v, want 2", got)
	}
}

// TestRegistryConcurrentReload runs calls while the set is reloaded (run with -race).
func TestRegistryConcurrentReload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "flows.yaml")
	copyFile(t, "testdata/demo.yaml", file)
	r := ivr.NewRegistry(ivr.Options{PromptDir: "prompts", Logger: quiet}, nil)
	if _, err := r.Reload(file); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				ep, ok, err := r.ForDNIS("+15550100")
				if err != nil || !ok {
					t.Errorf("ForDNIS: %v %v", ok, err)
					return
				}
				out := ivr.Run(t.Context(), ivrtest.NewSession(ivrtest.Keys("3")), ep.Flow,
					ivr.Input{ANI: anyANI, Lookup: demoLookup(), Now: func() time.Time { return mondayMorning }, Logger: quiet})
				if out.Queue != "billing" {
					t.Errorf("queue = %q, want billing", out.Queue)
					return
				}
			}
		})
	}
	for range 20 {
		if _, err := r.Reload(file); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

func TestOutcomeStrings(t *testing.T) {
	for k, want := range map[ivr.OutcomeKind]string{
		ivr.OutcomeQueue: "queue", ivr.OutcomeHangup: "hangup", ivr.OutcomeTransfer: "transfer",
		ivr.OutcomeVoicemail: "voicemail", ivr.OutcomeCallback: "callback",
		ivr.OutcomeAbandoned: "abandoned", ivr.OutcomeError: "error", 0: "invalid", 99: "invalid",
	} {
		if got := k.String(); got != want {
			t.Errorf("OutcomeKind(%d) = %q, want %q", k, got, want)
		}
	}
	for k, want := range map[ivr.NodeKind]string{ivr.KindMenu: "menu", ivr.KindSurvey: "survey", 200: "invalid"} {
		if got := k.String(); got != want {
			t.Errorf("NodeKind(%d) = %q, want %q", k, got, want)
		}
	}
	p := ivr.Problem{File: "f.yaml", Line: 3, Flow: "main", Node: "menu", Reason: "bad"}
	if got, want := p.String(), "f.yaml:3: error: flow main node menu: bad"; got != want {
		t.Errorf("Problem.String() = %q, want %q", got, want)
	}
	p = ivr.Problem{File: "f.yaml", Severity: ivr.SeverityWarning, Reason: "meh"}
	if got, want := p.String(), "f.yaml: warning: meh"; got != want {
		t.Errorf("Problem.String() = %q, want %q", got, want)
	}
}
