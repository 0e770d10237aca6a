package campaign

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func decode(t *testing.T, s string) Config {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(s))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigDefaults(t *testing.T) {
	c := decode(t, "id: spring\nqueue: sales\nmode: predictive\n")
	got, err := c.effective()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{ID: "spring", Queue: "sales", Mode: Predictive,
		Window:  Window{Start: 9 * 60, End: 21 * 60, Days: []Day{1, 2, 3, 4, 5, 6}},
		Abandon: Abandon{Cap: 0.03, Target: 0.015, Window: 24 * time.Hour, Grace: 2 * time.Second},
		Retry: Retries{Busy: &RetryRule{15 * time.Minute, 3}, NoAnswer: &RetryRule{time.Hour, 3},
			Machine: &RetryRule{4 * time.Hour, 3}, Abandoned: &RetryRule{72 * time.Hour, 3}, Failed: &RetryRule{}},
		MaxAttempts:      3,
		AMD:              Drop,
		Prompts:          Prompts{Abandon: "campaign_abandon", Machine: "campaign_machine"},
		MaxLinesPerAgent: 3, InitialRatio: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	// Leaving a message on machines makes a second call pointless.
	c.AMD = Message
	got, _ = c.effective()
	if r := got.Retry.Machine; r.Attempts > 1 {
		t.Errorf("machine retry with treatment message = %+v, want none", r)
	}
}

func TestConfigYAML(t *testing.T) {
	c := decode(t, `
id: spring-2026
name: Spring renewals
queue: renewals
mode: progressive
window: {start: "08:30", end: "24:00", days: [mon, Tuesday, SAT]}
abandon: {cap: 0.03, window: 720h, grace: 2s}
retry:
  busy: {after: 10m, attempts: 5}
  failed: {after: 1h, attempts: 2}
max_attempts: 6
amd: message
prompts: {abandon: outbound/sorry, machine: outbound/renewal}
max_lines_per_agent: 2.5
initial_ratio: 1.5
`)
	got, err := c.effective()
	if err != nil {
		t.Fatal(err)
	}
	if got.Window.Start != 8*60+30 || got.Window.End != 24*60 || !cmp.Equal(got.Window.Days, []Day{1, 2, 6}) {
		t.Errorf("window = %+v", got.Window)
	}
	if got.Abandon.Window != 720*time.Hour || *got.Retry.Busy != (RetryRule{10 * time.Minute, 5}) ||
		got.AMD != Message || got.Prompts.Abandon != "outbound/sorry" {
		t.Errorf("config = %+v", got)
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if back := decode(t, string(out)); !cmp.Equal(back, c) {
		t.Errorf("round trip changed the config:\n%s", out)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, field string
	}{
		{"no id", "queue: q\nmode: preview", "id"},
		{"id with space", "id: a b\nqueue: q\nmode: preview", "id"},
		{"no queue", "id: a\nmode: preview", "queue"},
		{"no mode", "id: a\nqueue: q", "mode"},
		{"bad mode", "id: a\nqueue: q\nmode: blast", "mode"},
		{"end before start", "id: a\nqueue: q\nmode: preview\nwindow: {start: \"21:00\", end: \"09:00\"}", "window"},
		{"only start", "id: a\nqueue: q\nmode: preview\nwindow: {start: \"10:00\"}", "window"},
		{"cap too high", "id: a\nqueue: q\nmode: preview\nabandon: {cap: 0.9}", "abandon.cap"},
		{"target over cap", "id: a\nqueue: q\nmode: preview\nabandon: {cap: 0.03, target: 0.05}", "abandon.target"},
		{"short window", "id: a\nqueue: q\nmode: preview\nabandon: {window: 10m}", "abandon.window"},
		{"long grace", "id: a\nqueue: q\nmode: preview\nabandon: {grace: 30s}", "abandon.grace"},
		{"retry too soon", "id: a\nqueue: q\nmode: preview\nretry: {busy: {after: 1s, attempts: 3}}", "retry.busy.after"},
		{"retry attempts", "id: a\nqueue: q\nmode: preview\nretry: {no_answer: {after: 1h, attempts: 99}}", "retry.no_answer.attempts"},
		{"max attempts", "id: a\nqueue: q\nmode: preview\nmax_attempts: 50", "max_attempts"},
		{"treatment", "id: a\nqueue: q\nmode: preview\namd: voicemail", "amd"},
		{"prompt path", "id: a\nqueue: q\nmode: preview\nprompts: {abandon: ../etc/passwd}", "prompts.abandon"},
		{"lines", "id: a\nqueue: q\nmode: preview\nmax_lines_per_agent: 0.5", "max_lines_per_agent"},
		{"ratio over lines", "id: a\nqueue: q\nmode: preview\ninitial_ratio: 4", "initial_ratio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := decode(t, tc.yaml)
			err := c.Validate()
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field+":") {
				t.Errorf("Validate = %v, want ErrConfig naming %s", err, tc.field)
			}
		})
	}
	for _, bad := range []string{"window: {start: \"9:00\"}", "window: {start: \"25:00\"}", "window: {days: [someday]}",
		"window: {end: \"24:30\"}"} {
		var c Config
		if err := yaml.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%s: decoded without error", bad)
		}
	}
}
