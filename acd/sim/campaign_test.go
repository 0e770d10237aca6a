package sim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/acd/campaign"
)

// predictive loads the predictive campaign scenario and the options of
// a run of d (of an hour under the race detector, with the list cut to
// what an hour dials: reading a list parses every number).
func predictive(t *testing.T, d time.Duration) (*Scenario, Options) {
	t.Helper()
	sc := load(t, "predictive.yaml")
	if !raceBuild {
		return sc, Options{Duration: d}
	}
	sc.Campaigns = append([]Campaign(nil), sc.Campaigns...)
	sc.Campaigns[0].List.Size = 8000
	return sc, Options{Duration: time.Hour}
}

// TestPredictiveCampaignCap runs the predictive campaign at 20, 50 and
// 100 agents: abandonment stays under the cap, over the run and over the
// rolling window at every hour's end, while calls are connected.
func TestPredictiveCampaignCap(t *testing.T) {
	sc, opt := predictive(t, 4*time.Hour)
	for _, n := range []int{20, 50, 100} {
		t.Run(fmt.Sprintf("%d agents", n), func(t *testing.T) {
			opt.Agents = n
			res, err := Run(sc, opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Campaigns) != 1 {
				t.Fatalf("campaigns = %+v", res.Campaigns)
			}
			c := res.Campaigns[0]
			t.Logf("dials %d, connects %d, abandoned %d (%.2f%%, rolling max %.2f%%), occupancy %.1f%%",
				c.Dials, c.Connects, c.Abandoned, 100*c.AbandonRate, 100*c.MaxRolling, 100*c.Occupancy)
			if c.Agents != n || len(res.Agents) != n {
				t.Errorf("agents = %d in the queue, %d in all; want %d", c.Agents, len(res.Agents), n)
			}
			if c.Connects == 0 || c.Dials < c.Connects+c.Abandoned+c.Machines {
				t.Errorf("dials %d, connects %d, abandoned %d, machines %d", c.Dials, c.Connects, c.Abandoned, c.Machines)
			}
			if c.AbandonRate > c.Cap || c.MaxRolling > c.Cap {
				t.Errorf("abandonment %.4f over the run, %.4f at most over the window: over the cap %v", c.AbandonRate, c.MaxRolling, c.Cap)
			}
		})
	}
}

// TestPredictiveBusierThanProgressive: dialling ahead keeps agents
// busier than one line per idle agent, which abandons nobody.
func TestPredictiveBusierThanProgressive(t *testing.T) {
	sc, opt := predictive(t, 3*time.Hour)
	opt.Agents = 20
	pred, err := Run(sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	prog := *sc
	prog.Campaigns = append([]Campaign(nil), sc.Campaigns...)
	prog.Campaigns[0].Campaign.Mode = campaign.Progressive
	res, err := Run(&prog, opt)
	if err != nil {
		t.Fatal(err)
	}
	p, q := pred.Campaigns[0], res.Campaigns[0]
	if q.Abandoned != 0 {
		t.Errorf("progressive abandoned %d calls", q.Abandoned)
	}
	if !(p.Occupancy > q.Occupancy && p.Connects > q.Connects) {
		t.Errorf("predictive: occupancy %.3f, %d connects; progressive: %.3f, %d", p.Occupancy, p.Connects, q.Occupancy, q.Connects)
	}
}

func TestMainCampaign(t *testing.T) {
	file := filepath.Join(t.TempDir(), "campaign.yaml")
	err := os.WriteFile(file, []byte(`
name: small
start: 2026-01-06T15:00:00Z
duration: 30m
acd:
  queues: [{name: out}]
agents: [{name: a, count: 4}]
campaigns:
  - campaign: {id: small, queue: out, mode: predictive}
    list: {size: 2000, prefixes: ["+1212555"], digits: 4}
    human: 0.3
    answer: {mean: 10s}
    handle: {mean: 60s}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"--scenario", file, "--agents", "5,10"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"campaigns", "small", "predictive", "max rolling", "  5  ", "  10  "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if code := Main([]string{"--scenario", file, "--agents", "5,x"}, &out, &errb); code != 2 {
		t.Errorf("bad --agents exit = %d, want 2", code)
	}
}

func TestCampaignScenarioErrors(t *testing.T) {
	base := `
duration: 1h
acd:
  queues: [{name: out}]
agents: [{name: a, count: 1}]
campaigns:
  - campaign: {id: c, queue: %s, mode: %s}
    list: {size: %d, prefixes: [%s], digits: 2}
    human: %v
    answer: {mean: 10s}
    handle: {mean: 60s}
`
	for _, tc := range []struct {
		name, queue, mode string
		size              int
		prefix            string
		human             float64
		field             string
	}{
		{"unknown queue", "in", "predictive", 10, "+1212555", 0.3, "campaign.queue"},
		{"preview", "out", "preview", 10, "+1212555", 0.3, "campaign.mode"},
		{"bad campaign", "out", "blast", 10, "+1212555", 0.3, "campaign"},
		{"list too long", "out", "predictive", 101, "+1212555", 0.3, "list.size"},
		{"bad prefix", "out", "predictive", 10, "1212555", 0.3, "list.prefixes"},
		{"nobody answers", "out", "predictive", 10, "+1212555", 0, "human"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario(strings.NewReader(fmt.Sprintf(base, tc.queue, tc.mode, tc.size, tc.prefix, tc.human)))
			if !errors.Is(err, ErrScenario) || !strings.Contains(err.Error(), "campaigns[0]."+tc.field) {
				t.Errorf("ParseScenario = %v, want ErrScenario naming campaigns[0].%s", err, tc.field)
			}
		})
	}
}

func TestScalePools(t *testing.T) {
	pools := []Pool{{Name: "a", Count: 3}, {Name: "b", Count: 1}}
	for _, tc := range []struct{ n, a, b int }{{8, 6, 2}, {5, 4, 1}, {2, 2, 0}, {7, 5, 2}} {
		got := scalePools(pools, tc.n)
		if got[0].Count != tc.a || got[1].Count != tc.b {
			t.Errorf("scale to %d: %d + %d, want %d + %d", tc.n, got[0].Count, got[1].Count, tc.a, tc.b)
		}
	}
	if pools[0].Count != 3 {
		t.Error("the scenario's pools changed")
	}
}
