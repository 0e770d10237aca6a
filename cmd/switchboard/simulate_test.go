package main

import (
	"bytes"
	"regexp"
	"testing"
)

// TestSimulateMultiChannel runs "switchboard simulate" on the
// multi-channel scenario: the report has service level per channel and
// occupancy per agent.
func TestSimulateMultiChannel(t *testing.T) {
	var out, errb bytes.Buffer
	code := runMain([]string{"simulate", "--scenario", "../../acd/sim/testdata/multi-channel.yaml",
		"--rules", "chat3-total3", "--duration", "2h", "--per-agent"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		`(?m)^\s+configured\s+chat3-total3\s+voice\s+\d+\s+[\d.]+%`,
		`(?m)^\s+configured\s+chat3-total3\s+chat\s+\d+\s+[\d.]+%`,
		`(?m)^\s+configured\s+chat3-total3\s+email\s+\d+\s+[\d.]+%`,
		`(?m)^\s+configured\s+chat3-total3\s+blended-000\s+1\s+[\d.]+%`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("output lacks %s:\n%s", want, out.String())
		}
	}
}
