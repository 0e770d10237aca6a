package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/acd/dialplan"
	"switchboard/ivr"
)

// TestReloadOnSIGHUP sends the process real SIGHUPs: a changed flows
// file, dial plan and queue parameter apply; a queue added to the file
// waits for a restart; an invalid flows file and an invalid configuration
// file are refused with everything kept as it was.
func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	flowsFile := filepath.Join(dir, "flows.yaml")
	cfgFile := filepath.Join(dir, "switchboard.yaml")
	demoFlows, err := os.ReadFile("../../ivr/testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	baseCfg := strings.NewReplacer("flows: ivr/testdata/demo.yaml", "flows: "+flowsFile,
		"prompts: ivr/prompts", "prompts: ../../ivr/prompts").Replace(string(demoConfig))
	writeFile(flowsFile, string(demoFlows))
	writeFile(cfgFile, baseCfg)

	cfg, err := loadConfig(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	ivrMetrics := ivr.NewMetrics(reg)
	flows := ivr.NewRegistry(ivr.Options{PromptDir: cfg.IVR.Prompts, Queues: queueNames(&cfg.ACD), Logger: quiet}, ivrMetrics)
	if _, err := flows.Reload(cfg.IVR.Flows); err != nil {
		t.Fatal(err)
	}
	phone := acdtest.NewPhone()
	engine, err := acd.New(&cfg.ACD, phone, phone)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	plan, err := dialplan.New(cfg.DialPlan)
	if err != nil {
		t.Fatal(err)
	}
	r := newReloader(cfg, flows, engine, plan, quiet, reg)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	results := make(chan error, 1)
	watchHangup(ctx, func() { results <- r.reload(ctx) })
	hangup := func() error {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-results:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("SIGHUP did not reload")
			return nil
		}
	}
	const newLine, national = "+15550199", "+14155550101"
	if _, ok, _ := flows.ForDNIS(newLine); ok {
		t.Fatalf("%s is served before the reload", newLine)
	}

	// 1. A new entry point, a denied prefix and a queue parameter.
	writeFile(flowsFile, strings.Replace(string(demoFlows), "entry_points:\n",
		"entry_points:\n  - dnis: \""+newLine+"\"\n    flow: main\n", 1))
	changed := strings.NewReplacer("  allow: [", "  deny_prefixes: [\"+1415\"]\n  allow: [",
		"      strategy: least-occupied\n", "      strategy: least-occupied\n      max_length: 1\n").Replace(baseCfg)
	writeFile(cfgFile, changed)
	if _, err := engine.Enqueue(ctx, acd.CallRequest{ID: "b1", Queue: "billing"}, acdtest.NewLeg("b1")); err != nil {
		t.Fatal(err)
	}
	if err := hangup(); err != nil {
		t.Fatalf("valid reload refused: %v", err)
	}
	applied := flows.Current()
	if ep, ok, err := flows.ForDNIS(newLine); err != nil || !ok || ep.Flow.Name() != "main" {
		t.Errorf("after the reload %s = %v, %v; want the main flow", newLine, ok, err)
	}
	if _, err := plan.Check(dialplan.RoleCallback, national); !errors.Is(err, dialplan.ErrDenied) {
		t.Errorf("the reloaded deny prefix is not applied: %v", err)
	}
	if _, err := engine.Enqueue(ctx, acd.CallRequest{ID: "b2", Queue: "billing"}, acdtest.NewLeg("b2")); !errors.Is(err, acd.ErrQueueFull) {
		t.Errorf("second call into billing = %v, want ErrQueueFull (max_length 1 reloaded)", err)
	}

	// 2. A queue added: the rest applies, the queue waits for a restart.
	writeFile(cfgFile, strings.Replace(changed, "  queues:\n", "  queues:\n    - {name: returns, skills: [], strategy: longest-idle}\n", 1))
	if err := hangup(); err != nil {
		t.Fatalf("reload with a queue added: %v", err)
	}
	if _, err := engine.Enqueue(ctx, acd.CallRequest{ID: "r1", Queue: "returns"}, acdtest.NewLeg("r1")); !errors.Is(err, acd.ErrUnknownQueue) {
		t.Errorf("enqueue to the added queue = %v, want ErrUnknownQueue until a restart", err)
	}
	applied = flows.Current()

	// 3. An invalid flows file: nothing changes, the dial plan included.
	writeFile(flowsFile, strings.Replace(string(demoFlows), "default: operator_queue", "default: nowhere", 1))
	writeFile(cfgFile, baseCfg)
	if err := hangup(); !errors.Is(err, errReloadRefused) || !errors.Is(err, ivr.ErrInvalid) {
		t.Errorf("invalid flows: %v, want errReloadRefused wrapping ivr.ErrInvalid", err)
	}
	if flows.Current() != applied {
		t.Error("invalid flows replaced the served set")
	}
	if _, err := plan.Check(dialplan.RoleCallback, national); !errors.Is(err, dialplan.ErrDenied) {
		t.Errorf("a refused reload changed the dial plan: %v", err)
	}

	// 4. An invalid configuration file.
	writeFile(flowsFile, string(demoFlows))
	writeFile(cfgFile, baseCfg+"dialplan_typo: {}\n")
	if err := hangup(); !errors.Is(err, errReloadRefused) {
		t.Errorf("invalid config: %v, want errReloadRefused", err)
	}
	if flows.Current() != applied {
		t.Error("an invalid config replaced the served flows")
	}

	for _, m := range []struct {
		name      string
		got, want float64
	}{
		{"config reloads ok", testutil.ToFloat64(r.reloads.WithLabelValues("ok")), 2},
		{"config reloads invalid", testutil.ToFloat64(r.reloads.WithLabelValues("invalid")), 2},
		{"ivr reloads ok", testutil.ToFloat64(ivrMetrics.ReloadCounter(true)), 3},
		{"ivr reloads invalid", testutil.ToFloat64(ivrMetrics.ReloadCounter(false)), 1},
	} {
		if m.got != m.want {
			t.Errorf("%s = %v, want %v", m.name, m.got, m.want)
		}
	}
}
