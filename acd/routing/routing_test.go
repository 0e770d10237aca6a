package routing

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
)

const sec = int64(time.Second)

// base returns an available agent with the given levels for skills 0..n.
func base(levels ...Level) Agent {
	return Agent{Skills: levels, Available: true, IdleSince: 0, LastOffer: 0}
}

func call(reqs ...Requirement) Call {
	return Call{Reqs: reqs, Language: -1, Preferred: -1, Only: -1}
}

func TestQualifies(t *testing.T) {
	tests := []struct {
		name string
		a    Agent
		c    Call
		want bool
	}{
		{"meets level", base(3), call(Requirement{0, 3}), true},
		{"below level", base(2), call(Requirement{0, 3}), false},
		{"lacks skill", base(0, 5), call(Requirement{0, 1}), false},
		{"all of two", base(3, 4), call(Requirement{0, 1}, Requirement{1, 4}), true},
		{"one of two missing", base(3, 0), call(Requirement{0, 1}, Requirement{1, 1}), false},
		{"alt set", base(0, 2), func() Call { c := call(Requirement{0, 1}); c.Alt = [][]Requirement{{{1, 2}}}; return c }(), true},
		{"alt set too low", base(0, 1), func() Call { c := call(Requirement{0, 1}); c.Alt = [][]Requirement{{{1, 2}}}; return c }(), false},
		{"language required ok", func() Agent { a := base(1); a.Languages = 1 << 3; return a }(), func() Call { c := call(Requirement{0, 1}); c.Language, c.LanguageRequired = 3, true; return c }(), true},
		{"language required missing", base(1), func() Call { c := call(Requirement{0, 1}); c.Language, c.LanguageRequired = 3, true; return c }(), false},
		{"country scope other", func() Agent { a := base(1); a.Country = 2; return a }(), func() Call { c := call(Requirement{0, 1}); c.Country, c.Scope = 1, ScopeCountry; return c }(), false},
		{"country scope same", func() Agent { a := base(1); a.Country = 1; return a }(), func() Call { c := call(Requirement{0, 1}); c.Country, c.Scope = 1, ScopeCountry; return c }(), true},
		{"region scope other", func() Agent { a := base(1); a.Country, a.Region = 1, 5; return a }(), func() Call { c := call(Requirement{0, 1}); c.Country, c.Region, c.Scope = 1, 6, ScopeRegion; return c }(), false},
		{"any scope", func() Agent { a := base(1); a.Country = 2; return a }(), func() Call { c := call(Requirement{0, 1}); c.Country = 1; return c }(), true},
		{"no requirements", base(), call(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := NewIndex(4)
			s := x.Add(tt.a)
			if got := Qualifies(x.Agent(s), &tt.c); got != tt.want {
				t.Errorf("Qualifies = %v, want %v", got, tt.want)
			}
		})
	}
}

// pick builds an index of agents, sets now, and returns the chosen slot.
func pick(t *testing.T, s Strategy, c Call, now int64, agents ...Agent) Decision {
	t.Helper()
	x := NewIndex(4)
	for _, a := range agents {
		x.Add(a)
	}
	w := s.Weights()
	return x.Best(&c, &w, now)
}

func TestStrategies(t *testing.T) {
	now := 1000 * sec
	idle := func(a Agent, since int64) Agent { a.IdleSince = since; return a }
	occ := func(a Agent, o float32) Agent { a.Occupancy = o; return a }
	calls := func(a Agent, n int32) Agent { a.CallsToday = n; return a }
	offered := func(a Agent, at int64) Agent { a.LastOffer = at; return a }
	geo := func(a Agent, country, region uint16) Agent { a.Country, a.Region = country, region; return a }
	c := call(Requirement{0, 1})
	cg := c
	cg.Country, cg.Region = 1, 7
	tests := []struct {
		name   string
		s      Strategy
		c      Call
		agents []Agent
		want   int32
		factor Factor
	}{
		{"longest-idle", LongestIdle, c, []Agent{idle(base(5), 900*sec), idle(base(1), 100*sec), idle(base(3), 500*sec)}, 1, FactorIdle},
		{"least-occupied", LeastOccupied, c, []Agent{occ(base(5), 0.9), occ(base(1), 0.2), occ(base(1), 0.5)}, 1, FactorOccupancy},
		{"fewest-calls", FewestCalls, c, []Agent{calls(base(5), 10), calls(base(1), 12), calls(base(1), 3)}, 2, FactorCalls},
		{"round-robin", RoundRobin, c, []Agent{offered(base(5), 990*sec), offered(base(1), 10*sec), offered(base(1), 500*sec)}, 1, FactorFairness},
		{"top-skill", TopSkill, c, []Agent{base(2), base(5), base(4)}, 1, FactorSkill},
		{"nearest region", Nearest, cg, []Agent{geo(base(5), 2, 0), geo(base(1), 1, 7), geo(base(1), 1, 3)}, 1, FactorGeo},
		{"nearest country", Nearest, cg, []Agent{geo(base(5), 2, 0), geo(base(1), 3, 7), geo(base(1), 1, 3)}, 2, FactorGeo},
		{"ring-all orders by idle", RingAll, c, []Agent{idle(base(5), 900*sec), idle(base(1), 100*sec)}, 1, FactorIdle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := pick(t, tt.s, tt.c, now, tt.agents...)
			if d.Agent != tt.want {
				t.Fatalf("agent = %d, want %d (decision %+v)", d.Agent, tt.want, d)
			}
			if d.Reasons[0].Factor != tt.factor {
				t.Errorf("top reason = %v, want %v (%+v)", d.Reasons[0].Factor, tt.factor, d.Reasons)
			}
			if d.Eligible != len(tt.agents) {
				t.Errorf("eligible = %d, want %d", d.Eligible, len(tt.agents))
			}
		})
	}
}

func TestFactors(t *testing.T) {
	now := 1000 * sec
	lang := func(a Agent, l uint) Agent { a.Languages = 1 << l; return a }
	tz := func(a Agent, off int16) Agent { a.TZOffset, a.HasTZ = off, true; return a }
	t.Run("sticky beats idle", func(t *testing.T) {
		c := call(Requirement{0, 1})
		c.Preferred = 1
		a0, a1 := base(1), base(1)
		a1.IdleSince = now // just became idle
		d := pick(t, LongestIdle, c, now, a0, a1)
		if d.Agent != 1 || d.Reasons[0].Factor != FactorSticky {
			t.Errorf("got %+v, want sticky agent 1", d)
		}
	})
	t.Run("language tie-break", func(t *testing.T) {
		c := call(Requirement{0, 1})
		c.Language = 2
		d := pick(t, LongestIdle, c, now, lang(base(1), 1), lang(base(1), 2))
		if d.Agent != 1 {
			t.Errorf("agent = %d, want 1", d.Agent)
		}
	})
	t.Run("time zone nearest", func(t *testing.T) {
		c := call(Requirement{0, 1})
		c.TZOffset, c.HasTZ = -300, true
		d := pick(t, Nearest, c, now, tz(base(1), 60), tz(base(1), -360), tz(base(1), 540))
		if d.Agent != 1 {
			t.Errorf("agent = %d, want 1", d.Agent)
		}
	})
	t.Run("skill level tie-break under longest-idle", func(t *testing.T) {
		d := pick(t, LongestIdle, call(Requirement{0, 1}), now, base(2), base(4))
		if d.Agent != 1 {
			t.Errorf("agent = %d, want 1", d.Agent)
		}
	})
	t.Run("unavailable skipped", func(t *testing.T) {
		a := base(5)
		a.Available = false
		d := pick(t, TopSkill, call(Requirement{0, 1}), now, a, base(1))
		if d.Agent != 1 || d.Eligible != 1 {
			t.Errorf("got %+v, want agent 1 of 1", d)
		}
	})
	t.Run("only restricts", func(t *testing.T) {
		c := call(Requirement{0, 1})
		c.Only = 0
		d := pick(t, TopSkill, c, now, base(1), base(5))
		if d.Agent != 0 {
			t.Errorf("agent = %d, want 0", d.Agent)
		}
	})
	t.Run("nobody", func(t *testing.T) {
		d := pick(t, TopSkill, call(Requirement{1, 1}), now, base(5))
		if d.Agent != -1 {
			t.Errorf("agent = %d, want -1", d.Agent)
		}
	})
	t.Run("tie goes to lowest slot", func(t *testing.T) {
		d := pick(t, LongestIdle, call(Requirement{0, 1}), now, base(1), base(1), base(1))
		if d.Agent != 0 {
			t.Errorf("agent = %d, want 0", d.Agent)
		}
	})
}

func TestIndexAddRemoveSetSkill(t *testing.T) {
	x := NewIndex(2)
	a := x.Add(base(1))
	b := x.Add(base(0, 3))
	c := call(Requirement{1, 1})
	w := TopSkill.Weights()
	if d := x.Best(&c, &w, 0); d.Agent != b {
		t.Fatalf("agent = %d, want %d", d.Agent, b)
	}
	if err := x.SetSkill(a, 1, 5); err != nil {
		t.Fatal(err)
	}
	if d := x.Best(&c, &w, 0); d.Agent != a {
		t.Fatalf("after SetSkill agent = %d, want %d", d.Agent, a)
	}
	if err := x.Remove(a); err != nil {
		t.Fatal(err)
	}
	if err := x.Remove(a); err == nil {
		t.Fatal("second Remove succeeded")
	}
	if d := x.Best(&c, &w, 0); d.Agent != b {
		t.Fatalf("after Remove agent = %d, want %d", d.Agent, b)
	}
	if got := x.Add(base(1)); got != a {
		t.Errorf("slot reuse = %d, want %d", got, a)
	}
	if x.Len() != 2 {
		t.Errorf("Len = %d, want 2", x.Len())
	}
	x.GrowSkills(3)
	if err := x.SetSkill(b, 2, 1); err != nil {
		t.Fatal(err)
	}
	if err := x.SetSkill(b, 9, 1); err == nil {
		t.Error("SetSkill on unknown skill succeeded")
	}
}

func TestAppendEligible(t *testing.T) {
	x := NewIndex(2)
	x.Add(base(2))
	x.Add(base(0, 1))
	x.Add(base(5))
	c := call(Requirement{0, 1})
	c.Alt = [][]Requirement{{{1, 1}}, {{0, 1}}}
	w := TopSkill.Weights()
	got := x.AppendEligible(nil, &c, &w, 0)
	want := []int32{2, 0, 1}
	if !slices.Equal(got, want) {
		t.Errorf("AppendEligible = %v, want %v", got, want)
	}
}

func TestParse(t *testing.T) {
	for _, s := range Strategies() {
		got, err := ParseStrategy(s.String())
		if err != nil || got != s {
			t.Errorf("ParseStrategy(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseStrategy("random"); err == nil {
		t.Error("ParseStrategy(random) succeeded")
	}
	for f := Factor(0); f < NumFactors; f++ {
		got, err := ParseFactor(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFactor(%q) = %v, %v", f, got, err)
		}
	}
}

// bigIndex builds the benchmark population: agents logged in, skills
// (one per queue), waiting calls.
func bigIndex(agents, skills, calls int) (*Index, []Call) {
	r := rand.New(rand.NewPCG(1, 2))
	x := NewIndex(skills)
	for i := 0; i < agents; i++ {
		sk := make([]Level, skills)
		for j := 0; j < 5; j++ {
			sk[r.IntN(skills)] = Level(1 + r.IntN(MaxLevel))
		}
		x.Add(Agent{Skills: sk, Available: r.IntN(4) == 0, IdleSince: int64(r.IntN(3600)) * sec,
			LastOffer: int64(r.IntN(3600)) * sec, Occupancy: r.Float32(), CallsToday: int32(r.IntN(40)),
			Languages: 1 << uint(r.IntN(4)), Country: uint16(1 + r.IntN(3)), Region: uint16(1 + r.IntN(20)),
			TZOffset: int16(60 * (r.IntN(24) - 12)), HasTZ: true})
	}
	cs := make([]Call, calls)
	for i := range cs {
		reqs := []Requirement{{Skill: r.IntN(skills), MinLevel: Level(1 + r.IntN(3))}}
		if r.IntN(3) == 0 {
			reqs = append(reqs, Requirement{Skill: r.IntN(skills), MinLevel: 1})
		}
		cs[i] = Call{Reqs: reqs, Language: r.IntN(4), Country: uint16(1 + r.IntN(3)), Region: uint16(1 + r.IntN(20)),
			TZOffset: int16(60 * (r.IntN(24) - 12)), HasTZ: true, Preferred: -1, Only: -1}
	}
	return x, cs
}

func TestBestDoesNotAllocate(t *testing.T) {
	x, cs := bigIndex(2000, 50, 100)
	w := LongestIdle.Weights()
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		x.Best(&cs[i%len(cs)], &w, 4000*sec)
		i++
	})
	if allocs != 0 {
		t.Errorf("Best allocates %v per run, want 0", allocs)
	}
}

// BenchmarkBest measures one routing decision with 10,000 logged-in agents
// (a quarter available), 200 queues (one skill each) and 1,000 waiting
// calls cycled through. It reports the measured median as p50-ns.
func BenchmarkBest(b *testing.B) {
	x, cs := bigIndex(10000, 200, 1000)
	for _, s := range []Strategy{LongestIdle, TopSkill, Nearest} {
		b.Run(s.String(), func(b *testing.B) {
			w := s.Weights()
			lat := make([]int64, 0, 1<<16)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				c := &cs[i%len(cs)]
				i++
				if len(lat) < cap(lat) {
					t0 := time.Now()
					x.Best(c, &w, 4000*sec)
					lat = append(lat, int64(time.Since(t0)))
				} else {
					x.Best(c, &w, 4000*sec)
				}
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
				b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
			}
		})
	}
}

func TestCountStaffed(t *testing.T) {
	x := NewIndex(2)
	a := base(3)
	a.Staffed = true
	x.Add(a)
	b := base(1)
	b.Staffed, b.Available = true, false
	x.Add(b)
	x.Add(base(5)) // not staffed
	x.Add(Agent{Skills: []Level{0, 4}, Staffed: true})
	c := call(Requirement{0, 1})
	if got := x.CountStaffed(&c); got != 2 {
		t.Errorf("CountStaffed = %d, want 2", got)
	}
	c = call(Requirement{0, 2})
	if got := x.CountStaffed(&c); got != 1 {
		t.Errorf("CountStaffed(level 2) = %d, want 1", got)
	}
}

// TestChannelCapacity: an agent whose bit for the call's channel is set
// in Full is not eligible for it (but is for other channels), and the
// share of capacity in use lowers the occupancy factor.
func TestChannelCapacity(t *testing.T) {
	x := NewIndex(1)
	full := base(3)
	full.Full = 1 << 2 // channel 2 is full
	busy := base(3)
	busy.Load = 0.5
	s0, s1 := x.Add(full), x.Add(busy)
	c := call(Requirement{0, 1})
	c.Channel = 2
	if d := x.Best(&c, &Weights{FactorOccupancy: 1}, 0); d.Agent != s1 || x.Eligible(s0, &c) {
		t.Errorf("channel 2: best = %d, eligible(full) = %v; want %d, false", d.Agent, x.Eligible(s0, &c), s1)
	}
	c.Channel = 1
	d := x.Best(&c, &Weights{FactorOccupancy: 1}, 0)
	if d.Agent != s0 || d.Reasons[0].Factor != FactorOccupancy || d.Reasons[0].Value != 1 {
		t.Errorf("channel 1: decision = %+v, want %d by occupancy 1", d, s0)
	}
	if got := x.Score(s1, &c, &Weights{FactorOccupancy: 1}, 0); got != 0.5 {
		t.Errorf("half-loaded agent's occupancy score = %v, want 0.5", got)
	}
}
