package stats

import (
	"math"
	"testing"
	"time"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestErlang(t *testing.T) {
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"B(1,1)", ErlangB(1, 1), 0.5},
		{"C(1,0.5) = rho", ErlangC(1, 0.5), 0.5},
		{"C(2,1) = 2rho^2/(1+rho)", ErlangC(2, 1), 1.0 / 3},
		{"C(10,8)", ErlangC(10, 8), 0.409},
		{"C overloaded", ErlangC(3, 3), 1},
		{"C no traffic", ErlangC(3, 0), 0},
		{"SL(1 agent, T=0) = 1-rho", ServiceLevel(1, 0.5/60, 60, 0), 0.5},
		{"ASA M/M/1", ASA(1, 0.5/60, 60), 60}, // rho/(mu(1-rho)) = 0.5*60/0.5
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !near(tt.got, tt.want, 1e-3) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestAgentsNeeded(t *testing.T) {
	lambda, aht, thr, target := 100.0/1800, 180.0, 20.0, 0.8
	c := AgentsNeeded(lambda, aht, thr, target)
	if ServiceLevel(c, lambda, aht, thr) < target {
		t.Errorf("SL(%d) = %v < %v", c, ServiceLevel(c, lambda, aht, thr), target)
	}
	if ServiceLevel(c-1, lambda, aht, thr) >= target {
		t.Errorf("SL(%d) already meets target; %d is not minimal", c-1, c)
	}
	if AgentsNeeded(0, aht, thr, target) != 0 {
		t.Error("no traffic needs agents")
	}
}

func TestErlangA(t *testing.T) {
	// With (almost) infinite patience Erlang A is Erlang C.
	r := ErlangA(10, 8.0/180, 180, math.Inf(1))
	if !near(r.PWait, ErlangC(10, 8), 1e-6) {
		t.Errorf("PWait = %v, want Erlang C %v", r.PWait, ErlangC(10, 8))
	}
	if r.PAbandon != 0 {
		t.Errorf("PAbandon = %v, want 0", r.PAbandon)
	}
	// Impatient callers: fewer waits, some abandons, and an overloaded
	// queue stays finite.
	r2 := ErlangA(10, 12.0/180, 180, 60)
	if r2.PAbandon <= 0 || r2.PAbandon >= 1 || r2.PWait <= 0 || r2.PWait >= 1 {
		t.Errorf("overloaded Erlang A = %+v", r2)
	}
}

func TestServiceLevelFormulas(t *testing.T) {
	c := Counts{Answered: 80, AnsweredWithin: 60, Abandoned: 20, AbandonedWithin: 10, ShortAbandoned: 5}
	tests := []struct {
		f    Formula
		want float64
	}{
		{FormulaOffered, 60.0 / 100},
		{FormulaAnswered, 60.0 / 80},
		{FormulaAbandonFavourable, 70.0 / 100},
		{FormulaAbandonAfter, 60.0 / 90},
	}
	for _, tt := range tests {
		t.Run(tt.f.String(), func(t *testing.T) {
			got, ok := c.ServiceLevel(tt.f)
			if !ok || !near(got, tt.want, 1e-9) {
				t.Errorf("SL = %v, %v; want %v", got, ok, tt.want)
			}
			if p, err := ParseFormula(tt.f.String()); err != nil || p != tt.f {
				t.Errorf("ParseFormula(%q) = %v, %v", tt.f, p, err)
			}
		})
	}
	if _, ok := (Counts{}).ServiceLevel(FormulaOffered); ok {
		t.Error("empty counts report a service level")
	}
	if _, err := ParseFormula("best"); err == nil {
		t.Error("ParseFormula(best) succeeded")
	}
	if got := c.AbandonRate(); !near(got, 0.2, 1e-9) {
		t.Errorf("AbandonRate = %v, want 0.2", got)
	}
}

func TestWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	w := NewWindow(30*time.Minute, t0)
	for i := 0; i < 90; i++ { // one offered call per minute for 90 minutes
		w.Add(t0.Add(time.Duration(i)*time.Minute), Counts{Offered: 1, Answered: 1, WaitAnsweredSum: 10})
	}
	now := t0.Add(89 * time.Minute)
	if got := w.Last(now, 15*time.Minute).Offered; got != 15 {
		t.Errorf("last 15 min = %d, want 15", got)
	}
	if got := w.Last(now, time.Hour).Offered; got != 60 {
		t.Errorf("last 60 min = %d, want 60", got)
	}
	cur, start := w.Interval(now)
	if cur.Offered != 30 || !start.Equal(t0.Add(time.Hour)) {
		t.Errorf("interval = %d from %v, want 30 from %v", cur.Offered, start, t0.Add(time.Hour))
	}
	if got := w.Last(now, time.Hour).ASA(); got != 10*time.Second {
		t.Errorf("ASA = %v, want 10s", got)
	}
	if got := w.Last(now.Add(2*time.Hour), time.Hour).Offered; got != 0 {
		t.Errorf("after two idle hours = %d, want 0", got)
	}
}

func TestEstimate(t *testing.T) {
	if e := Estimate(EWTInput{Position: 1}); e.Known {
		t.Errorf("no agents: %+v, want unknown", e)
	}
	e1 := Estimate(EWTInput{Position: 1, Agents: 4, AHT: 120 * time.Second})
	e5 := Estimate(EWTInput{Position: 5, Agents: 4, AHT: 120 * time.Second})
	if e1.Expected != 30*time.Second {
		t.Errorf("position 1 = %v, want 30s", e1.Expected)
	}
	if !(e5.Expected > e1.Expected && e5.Low <= e5.Expected && e5.Expected <= e5.High) {
		t.Errorf("position 5 = %+v (position 1 %+v)", e5, e1)
	}
	eb := Estimate(EWTInput{Position: 1, Agents: 4, AHT: 120 * time.Second, Lambda: 3.0 / 120})
	if eb.Expected == e1.Expected {
		t.Error("arrival rate does not change the blended estimate")
	}
}

// TestWindowAddPast: counts seeded from the past hour land in their
// minutes and, when they fall in it, the current interval; counts older
// than an hour are dropped; the window's observation starts as early as
// the oldest count seeded, so the staffing period covers it.
func TestWindowAddPast(t *testing.T) {
	start := time.Date(2026, 3, 2, 10, 20, 30, 0, time.UTC)
	w := NewWindow(15*time.Minute, start)
	w.Add(start, Counts{Offered: 1})
	w.AddPast(start, start.Add(-2*time.Minute), Counts{Offered: 2})    // same interval (10:15)
	w.AddPast(start, start.Add(-10*time.Minute), Counts{Offered: 4})   // 10:10, the interval before
	w.AddPast(start, start.Add(-70*time.Minute), Counts{Offered: 100}) // older than an hour
	if cur, _ := w.Interval(start); cur.Offered != 3 {
		t.Errorf("current interval offered %d, want 3", cur.Offered)
	}
	if got := w.Last(start, 15*time.Minute).Offered; got != 7 {
		t.Errorf("last 15 min offered %d, want 7", got)
	}
	if got := w.Last(start, time.Hour).Offered; got != 7 {
		t.Errorf("last hour offered %d, want 7 (the count older than an hour dropped)", got)
	}
	if _, period := w.Recent(start, time.Hour); period < 10*time.Minute {
		t.Errorf("staffing period %v, want it to reach the oldest seeded count", period)
	}
}
