package crmcore

import (
	"testing"
	"time"
	_ "time/tzdata" // zones without the system's zoneinfo
)

func TestBusinessHoursAdd(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	bh := WeekdayHours(ny, 9*time.Hour, 17*time.Hour)
	at := func(y int, m time.Month, d, h, mi int) time.Time { return time.Date(y, m, d, h, mi, 0, 0, ny) }
	tests := []struct {
		name  string
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		{"within the day", at(2026, 3, 2, 10, 0), 2 * time.Hour, at(2026, 3, 2, 12, 0)},
		{"exactly to close", at(2026, 3, 2, 9, 0), 8 * time.Hour, at(2026, 3, 2, 17, 0)},
		{"spills to next day", at(2026, 3, 2, 16, 0), 2 * time.Hour, at(2026, 3, 3, 10, 0)},
		{"before opening", at(2026, 3, 2, 6, 30), time.Hour, at(2026, 3, 2, 10, 0)},
		{"after closing", at(2026, 3, 2, 19, 0), time.Hour, at(2026, 3, 3, 10, 0)},
		{"friday to monday", at(2026, 3, 6, 16, 0), 3 * time.Hour, at(2026, 3, 9, 11, 0)},
		{"saturday start", at(2026, 3, 7, 12, 0), 30 * time.Minute, at(2026, 3, 9, 9, 30)},
		{"sunday night", at(2026, 3, 8, 23, 59), 8 * time.Hour, at(2026, 3, 9, 17, 0)},
		{"a business week", at(2026, 3, 2, 9, 0), 40 * time.Hour, at(2026, 3, 6, 17, 0)},
		// 2026-03-08 is the US spring-forward Sunday; Monday opens at 09:00 EDT.
		{"across DST", at(2026, 3, 6, 16, 0), 2 * time.Hour, at(2026, 3, 9, 10, 0)},
		{"zero duration", at(2026, 3, 7, 12, 0), 0, at(2026, 3, 7, 12, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bh.Add(tt.start, tt.d)
			if !got.Equal(tt.want) {
				t.Errorf("Add(%v, %v) = %v, want %v", tt.start, tt.d, got.In(ny), tt.want)
			}
		})
	}
}

func TestBusinessHoursStartInOtherZone(t *testing.T) {
	london, err1 := time.LoadLocation("Europe/London")
	ny, err2 := time.LoadLocation("America/New_York")
	if err1 != nil || err2 != nil {
		t.Fatal("no tzdata")
	}
	bh := WeekdayHours(london, 9*time.Hour, 17*time.Hour)
	// Monday 11:00 in New York is 16:00 in London (both in winter time):
	// one business hour left that day, the second hour on Tuesday.
	start := time.Date(2026, 1, 12, 11, 0, 0, 0, ny)
	got := bh.Add(start, 2*time.Hour)
	want := time.Date(2026, 1, 13, 10, 0, 0, 0, london)
	if !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSLADue(t *testing.T) {
	sla := DefaultSLAPolicy(time.UTC)
	fri := time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		prio          Priority
		wantFR, wantR time.Time
	}{
		// urgent runs around the clock
		{PriorityUrgent, fri.Add(time.Hour), fri.Add(4 * time.Hour)},
		// high: 2 business hours → Fri 17:00; 8 h → Mon 15:00
		{PriorityHigh, time.Date(2026, 3, 6, 17, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC)},
		// normal: 4 h → Mon 11:00; 24 h → Wed 15:00
		{PriorityNormal, time.Date(2026, 3, 9, 11, 0, 0, 0, time.UTC), time.Date(2026, 3, 11, 15, 0, 0, 0, time.UTC)},
		// low: 8 h → Mon 15:00; 40 h → next Fri 15:00
		{PriorityLow, time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC), time.Date(2026, 3, 13, 15, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.prio.String(), func(t *testing.T) {
			fr, r := sla.Due(tt.prio, fri)
			if !fr.Equal(tt.wantFR) || !r.Equal(tt.wantR) {
				t.Errorf("Due = %v, %v; want %v, %v", fr, r, tt.wantFR, tt.wantR)
			}
		})
	}
	if fr, r := sla.Due(Priority(99), fri); !fr.IsZero() || !r.IsZero() {
		t.Errorf("unknown priority gave due times %v %v", fr, r)
	}
}

func TestBusinessHoursValidate(t *testing.T) {
	bad := BusinessHours{Days: map[time.Weekday]Span{time.Monday: {Open: 10 * time.Hour, Close: 9 * time.Hour}}}
	if err := bad.Validate(); err == nil {
		t.Error("inverted span accepted")
	}
	if err := WeekdayHours(time.UTC, 9*time.Hour, 17*time.Hour).Validate(); err != nil {
		t.Error(err)
	}
}
