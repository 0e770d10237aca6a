package campaign

import (
	"testing"
	"time"
)

func TestRollingWindow(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	r := newRolling(24 * time.Hour)
	if rate, n := r.rate(t0); rate != 0 || n != 0 {
		t.Fatalf("empty rate = %v over %d", rate, n)
	}
	for i := 0; i < 97; i++ {
		r.add(t0.Add(time.Duration(i)*time.Second), false)
	}
	for i := 0; i < 3; i++ {
		r.add(t0.Add(time.Hour), true)
	}
	if rate, n := r.rate(t0.Add(2 * time.Hour)); n != 100 || rate != 0.03 {
		t.Errorf("rate = %v over %d, want 0.03 over 100", rate, n)
	}
	// A day after the first calls they are out of the window; the
	// abandoned ones, an hour younger, are still in.
	if rate, n := r.rate(t0.Add(24*time.Hour + 10*time.Minute)); n != 3 || rate != 1 {
		t.Errorf("after a day: rate = %v over %d, want 1 over 3", rate, n)
	}
	if rate, n := r.rate(t0.Add(26 * time.Hour)); n != 0 || rate != 0 {
		t.Errorf("after 26h: rate = %v over %d, want nothing", rate, n)
	}
	// A long silence, then new calls: nothing old comes back.
	r.add(t0.Add(30*24*time.Hour), true)
	r.add(t0.Add(30*24*time.Hour), false)
	if rate, n := r.rate(t0.Add(30*24*time.Hour + time.Minute)); n != 2 || rate != 0.5 {
		t.Errorf("after a month: rate = %v over %d, want 0.5 over 2", rate, n)
	}
}
