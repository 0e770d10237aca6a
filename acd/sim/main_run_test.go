package sim

import (
	"os"
	"testing"
)

func TestPrintScenario(t *testing.T) {
	f := os.Getenv("SIM_SCENARIO")
	if f == "" {
		t.Skip("set SIM_SCENARIO to print a scenario's results")
	}
	args := []string{"--scenario", f}
	if s := os.Getenv("SIM_STRATEGY"); s != "" {
		args = append(args, "--strategy", s)
	}
	if d := os.Getenv("SIM_DURATION"); d != "" {
		args = append(args, "--duration", d)
	}
	if code := Main(args, os.Stdout, os.Stderr); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
