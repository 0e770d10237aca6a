package stats

import (
	"fmt"
	"testing"
	"time"
)

// The worked example of the Erlang C method (100 calls in 30 minutes,
// 180 s handle time: 10 Erlangs; 80 % answered within 20 s), as published
// with the method's explanations: probability of waiting, service level
// and average speed of answer per number of agents.
func TestErlangCTextbook(t *testing.T) {
	lambda, aht, thr := 100.0/1800, 180.0, 20.0
	tests := []struct {
		agents        int
		pWait, sl, as float64
	}{
		{11, 0.6821, 0.3896, 122.78},
		{12, 0.4494, 0.6402, 40.44},
		{13, 0.2853, 0.7956, 17.12},
		{14, 0.1741, 0.8884, 7.84},
		{15, 0.1020, 0.9415, 3.67},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.agents, " agents"), func(t *testing.T) {
			if got := ErlangC(tt.agents, lambda*aht); !near(got, tt.pWait, 5e-5) {
				t.Errorf("P(wait) = %.4f, want %.4f", got, tt.pWait)
			}
			if got := ServiceLevel(tt.agents, lambda, aht, thr); !near(got, tt.sl, 5e-5) {
				t.Errorf("SL = %.4f, want %.4f", got, tt.sl)
			}
			if got := ASA(tt.agents, lambda, aht); !near(got, tt.as, 5e-3) {
				t.Errorf("ASA = %.2f s, want %.2f s", got, tt.as)
			}
		})
	}
	if got := AgentsNeeded(lambda, aht, thr, 0.8); got != 14 {
		t.Errorf("agents for 80/20 = %d, want 14", got)
	}
}

func TestRecommend(t *testing.T) {
	handled := func(n int, aht time.Duration) Counts {
		return Counts{Handled: n, HandleSum: float64(n) * aht.Seconds()}
	}
	tests := []struct {
		name   string
		c      Counts
		period time.Duration
		want   Staffing
	}{
		{"textbook: 100 calls in 30 min, AHT 3 min", Counts{Offered: 100, Handled: 90, HandleSum: 90 * 180},
			30 * time.Minute, Staffing{Agents: 14, Calls: 100, Period: 30 * time.Minute, AHT: 3 * time.Minute}},
		{"42 calls in 30 min, AHT 3m10s", Counts{Offered: 42, Handled: 30, HandleSum: 30 * 190},
			30 * time.Minute, Staffing{Agents: 7, Calls: 42, Period: 30 * time.Minute, AHT: 190 * time.Second}},
		// The same 42 calls over the first 10 minutes of the queue's life
		// are three times the load.
		{"42 calls in the first 10 min", Counts{Offered: 42, Handled: 30, HandleSum: 30 * 190},
			10 * time.Minute, Staffing{Agents: 17, Calls: 42, Period: 10 * time.Minute, AHT: 190 * time.Second}},
		{"the first seconds after a start count as five minutes", Counts{Offered: 2}, 10 * time.Second,
			Staffing{Agents: 3, Calls: 2, Period: MinRatePeriod, AHT: DefaultAHT, AHTDefault: true}},
		{"no call handled yet: default AHT", Counts{Offered: 10}, 30 * time.Minute,
			Staffing{Agents: 3, Calls: 10, Period: 30 * time.Minute, AHT: DefaultAHT, AHTDefault: true}},
		{"no traffic", handled(0, 0), 30 * time.Minute,
			Staffing{Period: 30 * time.Minute, AHT: DefaultAHT, AHTDefault: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Target, tt.want.Threshold = 0.8, 20*time.Second
			got := Recommend(tt.c, tt.period, 0.8, 20*time.Second)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got.Agents > 0 {
				lambda := float64(tt.c.Offered) / got.Period.Seconds()
				if sl := ServiceLevel(got.Agents, lambda, got.AHT.Seconds(), 20); sl < 0.8 {
					t.Errorf("SL with %d agents = %.3f < 0.8", got.Agents, sl)
				}
			}
		})
	}
}

func TestWindowRecent(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	w := NewWindow(30*time.Minute, t0)
	for i := range 10 { // 4 calls a minute for 10 minutes
		w.Add(t0.Add(time.Duration(i)*time.Minute+time.Second), Counts{Offered: 4})
	}
	now := t0.Add(10 * time.Minute)
	c, period := w.Recent(now, 30*time.Minute)
	if c.Offered != 40 || period != 10*time.Minute {
		t.Errorf("after 10 minutes: %d calls over %v, want 40 over 10m0s", c.Offered, period)
	}
	later := t0.Add(45*time.Minute + 30*time.Second)
	c, period = w.Recent(later, 30*time.Minute)
	if c.Offered != 0 || period != 29*time.Minute+30*time.Second {
		t.Errorf("after 45.5 minutes: %d calls over %v, want 0 over 29m30s", c.Offered, period)
	}
}
