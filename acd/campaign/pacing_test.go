package campaign

import (
	"math/rand/v2"
	"testing"
	"time"
)

// measured is a predictive pacing input after warm-up: a person answers
// a dial in three, 15 s after it starts; calls last 3 minutes.
func measured(ready, idle int) Pacing {
	return Pacing{Mode: Predictive, Staff: Staff{Ready: ready, Idle: idle}, AnswerRate: 1.0 / 3,
		TimeToAnswer: 15 * time.Second, HandleTime: 3 * time.Minute, Ratio: 1, InitialRatio: 1, Headroom: 1, MaxLines: 3}
}

func TestDialsModes(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Pacing
		want int
	}{
		{"preview dials nothing", Pacing{Mode: Preview, Staff: Staff{Ready: 5, Idle: 5}, MaxLines: 3}, 0},
		{"progressive: one per idle agent", Pacing{Mode: Progressive, Staff: Staff{Ready: 5, Idle: 4}, MaxLines: 3}, 4},
		{"progressive: less the lines dialling for them", Pacing{Mode: Progressive, Staff: Staff{Ready: 5, Idle: 4}, Dialing: 3, MaxLines: 3}, 1},
		{"progressive: reserved lines hold their own agent", Pacing{Mode: Progressive, Staff: Staff{Ready: 5, Idle: 2, Reserved: 3}, Dialing: 3, MaxLines: 3}, 2},
		{"progressive: a waiting call takes an idle agent", Pacing{Mode: Progressive, Staff: Staff{Ready: 5, Idle: 2}, Waiting: 1, MaxLines: 3}, 1},
		{"no agents", Pacing{Mode: Predictive, InitialRatio: 1, Headroom: 1, MaxLines: 3}, 0},
		{"predictive warm-up: initial ratio per free agent", Pacing{Mode: Predictive, Staff: Staff{Ready: 10, Idle: 4}, InitialRatio: 2, Headroom: 1, MaxLines: 3}, 8},
		// F = 4 + 6·(1−e^(−15/180)) ≈ 4.48; L = F/(1/3) ≈ 13.4.
		{"predictive measured", measured(10, 4), 13},
		{"predictive counts lines dialling", func() Pacing { p := measured(10, 4); p.Dialing = 10; return p }(), 3},
		{"predictive capped by lines per agent", func() Pacing { p := measured(10, 4); p.MaxLines = 1; p.Dialing = 2; return p }(), 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Dials(); got != tc.want {
				t.Errorf("Dials = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestDialsMonotone: more idle agents, or more agents finishing soon,
// mean more dials; a worse answer rate means more lines.
func TestDialsMonotone(t *testing.T) {
	prev := -1
	for idle := 0; idle <= 20; idle++ {
		got := measured(20, idle).Dials()
		if got < prev {
			t.Errorf("idle %d: %d dials, fewer than with one idle agent less (%d)", idle, got, prev)
		}
		prev = got
	}
	if a, b := measured(20, 5).Dials(), measured(20, 15).Dials(); b <= a {
		t.Errorf("15 idle agents: %d dials, not more than 5 idle agents' %d", b, a)
	}
	low := measured(20, 5)
	low.AnswerRate = 0.2
	if a, b := measured(20, 5).Dials(), low.Dials(); b <= a {
		t.Errorf("answer rate 0.2: %d dials, not more than at 1/3 (%d)", b, a)
	}
}

// TestDialsAbandonHeadroom: as the rolling abandonment rate rises from
// the target to the cap, predictive dials less ahead; at the cap it
// dials as progressive does.
func TestDialsAbandonHeadroom(t *testing.T) {
	prev := 1 << 30
	for _, rate := range []float64{0, 0.015, 0.02, 0.025, 0.029, 0.03, 0.05} {
		p := measured(50, 10)
		p.Headroom = headroom(rate, 0.015, 0.03)
		got := p.Dials()
		if got > prev {
			t.Errorf("rate %v: %d dials, more than at a lower rate (%d)", rate, got, prev)
		}
		prev = got
		if rate >= 0.03 {
			prog := p
			prog.Mode = Progressive
			if got != prog.Dials() {
				t.Errorf("rate %v at or over the cap: %d dials, want progressive's %d", rate, got, prog.Dials())
			}
		}
	}
	if a, b := func() int { p := measured(50, 10); p.Headroom = headroom(0.015, 0.015, 0.03); return p.Dials() }(),
		func() int { p := measured(50, 10); p.Headroom = headroom(0.025, 0.015, 0.03); return p.Dials() }(); b >= a {
		t.Errorf("near the cap %d dials, not fewer than at the target (%d)", b, a)
	}
}

// TestControllerSettles drives the controller against a dialler whose
// abandonment grows with the ratio: it settles where the share abandoned
// is the target.
func TestControllerSettles(t *testing.T) {
	const target = 0.015
	rnd := rand.New(rand.NewPCG(1, 2))
	c := newController()
	for range warmDials {
		c.dialed(true, 1)
	}
	abandoned, n := 0, 0
	for i := range 200000 {
		// Abandonment climbs steeply past ratio 0.6.
		p := min(max((c.ratio()-0.6)*0.5, 0.001), 1)
		ab := rnd.Float64() < p
		c.settled(ab, target)
		if i >= 100000 {
			n++
			if ab {
				abandoned++
			}
		}
	}
	if got := float64(abandoned) / float64(n); got < 0.8*target || got > 1.2*target {
		t.Errorf("settled at %.4f abandoned, want about %v", got, target)
	}
}

// TestPaceWarmUp: the campaign dials InitialRatio per idle agent until
// the answer rate is measured, then by the measurements.
func TestPaceWarmUp(t *testing.T) {
	var contacts []Contact
	for i := range 200 {
		contacts = append(contacts, Contact{Number: "+1212555" + pad4(i)})
	}
	c := newCampaign(t, Config{InitialRatio: 2}, nil, contacts...)
	staff := Staff{Ready: 10, Idle: 10}
	if got := c.Pace(t0, staff); got != 20 {
		t.Fatalf("Pace before any dial = %d, want 2 per idle agent", got)
	}
	now := t0
	for i := range warmDials {
		d, _ := next(t, c, now)
		res := ResultNoAnswer
		if i%3 == 0 {
			res = ResultConnected
			_ = c.Answered(d.ID, Human, now.Add(15*time.Second))
			c.ObserveHandle(3 * time.Minute)
		}
		if err := c.Finish(d.ID, res, now.Add(16*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	// The answer rate (1/3) is measured: the ratio starts at 2 lines per
	// free agent, and 10 idle agents get 20 lines again.
	if got := c.Pace(now.Add(time.Minute), staff); got != 20 {
		t.Errorf("Pace after warm-up = %d, want 20", got)
	}
	if s := c.Stats(now); s.Ratio < 1.99 || s.Ratio > 2.01 || s.AnswerRate < 0.33 || s.AnswerRate > 0.34 {
		t.Errorf("stats = %+v", s)
	}
}
