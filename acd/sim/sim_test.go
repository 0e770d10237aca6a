package sim

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"switchboard/acd/stats"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func load(t *testing.T, name string) *Scenario {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc, err := ParseScenario(f)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestSingleSkillMatchesErlangC runs the M/M/10 scenario through the real
// engine and compares the measured service level with Erlang C's.
func TestSingleSkillMatchesErlangC(t *testing.T) {
	sc := load(t, "single-skill.yaml")
	if testing.Short() {
		t.Skip("long simulation")
	}
	opt, minCalls := Options{}, 40000
	if raceBuild {
		opt.Duration, minCalls = 60*time.Hour, 8000
	}
	res, err := Run(sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	q := res.Queues[0]
	t.Logf("calls %d, SL %.2f%%, Erlang C %.2f%% (realized traffic %.2f%%), ASA %v (Erlang C %.1fs), occupancy %.1f%%",
		q.Offered, 100*q.ServiceLevel, 100*q.ErlangC, 100*q.ErlangCRealized, q.ASA, stats.ASA(10, 160.0/3600, 180), 100*q.Occupancy)
	if q.Offered < minCalls {
		t.Fatalf("only %d calls measured", q.Offered)
	}
	if diff := math.Abs(q.ServiceLevel - q.ErlangC); diff > 0.03 {
		t.Errorf("SL %.2f%% vs Erlang C %.2f%%: off by %.2f points (> 3)", 100*q.ServiceLevel, 100*q.ErlangC, 100*diff)
	}
	// The same prediction for the traffic actually generated (arrival
	// rate and handle times as drawn) removes most sampling noise.
	if diff := math.Abs(q.ServiceLevel - q.ErlangCRealized); diff > 0.03 {
		t.Errorf("SL %.2f%% vs Erlang C on realized traffic %.2f%%: off by %.2f points (> 3)", 100*q.ServiceLevel, 100*q.ErlangCRealized, 100*diff)
	}
	if q.Abandoned != 0 {
		t.Errorf("abandoned = %d with infinite patience", q.Abandoned)
	}
	if math.Abs(q.Occupancy-0.8) > 0.03 {
		t.Errorf("occupancy %.3f, want ≈ 0.8 (8 Erlangs on 10 agents)", q.Occupancy)
	}
}

func TestVIPWaitLess(t *testing.T) {
	sc := load(t, "vip-priority.yaml")
	res, err := Run(sc, Options{Duration: 8 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var std, vip QueueResult
	for _, q := range res.Queues {
		switch q.Queue {
		case "sales":
			std = q
		case "sales/vip":
			vip = q
		}
	}
	if vip.Offered == 0 || std.Offered == 0 {
		t.Fatalf("results = %+v", res.Queues)
	}
	if !(vip.ASA < std.ASA && vip.ServiceLevel > std.ServiceLevel) {
		t.Errorf("VIP ASA %v SL %.2f vs standard ASA %v SL %.2f", vip.ASA, vip.ServiceLevel, std.ASA, std.ServiceLevel)
	}
}

func TestMainMultiSkill(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"--scenario", "testdata/multi-skill.yaml", "--strategy", "top-skill", "--duration", "3h", "--seed", "5"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"top-skill", "sales", "billing", "tech", "SL", "occupancy"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if code := Main([]string{"--strategy", "x"}, &out, &errb); code != 2 {
		t.Errorf("missing scenario exit = %d, want 2", code)
	}
	if code := Main([]string{"--scenario", "testdata/multi-skill.yaml", "--strategy", "random"}, &out, &errb); code != 1 {
		t.Errorf("bad strategy exit = %d, want 1", code)
	}
}

func TestDeterministic(t *testing.T) {
	sc := load(t, "multi-skill.yaml")
	a, err := Run(sc, Options{Duration: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(sc, Options{Duration: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if a.Tasks != b.Tasks || a.Queues[0].Offered != b.Queues[0].Offered {
		t.Errorf("runs differ: %d vs %d calls", a.Tasks, b.Tasks)
	}
}

func FuzzParseScenario(f *testing.F) {
	for _, n := range []string{"single-skill.yaml", "multi-skill.yaml", "vip-priority.yaml", "multi-channel.yaml", "predictive.yaml"} {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("duration: 1h\narrivals: [{queue: q, rate: 1e400}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, err := ParseScenario(bytes.NewReader(b))
		if err != nil {
			return
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("parsed scenario fails Validate: %v", err)
		}
	})
}
