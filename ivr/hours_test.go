package ivr

import (
	"testing"
	"time"
)

func mustSchedule(t *testing.T, tz string, weekly map[time.Weekday][]string, holidays ...string) *schedule {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	s := &schedule{loc: loc, holidays: map[string]bool{}}
	for d, spans := range weekly {
		for _, sp := range spans {
			p, err := parseSpan(sp)
			if err != nil {
				t.Fatal(err)
			}
			s.weekly[d] = append(s.weekly[d], p)
		}
	}
	for _, h := range holidays {
		s.holidays[h] = true
	}
	return s
}

func TestScheduleDST(t *testing.T) {
	nine2five := []string{"09:00-17:00"}
	ny := mustSchedule(t, "America/New_York", map[time.Weekday][]string{
		time.Monday: nine2five, time.Tuesday: nine2five, time.Wednesday: nine2five,
		time.Thursday: nine2five, time.Friday: nine2five,
		// Sunday hours that straddle the DST transitions (02:00 local).
		time.Sunday: {"01:00-02:30"},
	}, "2026-12-25")
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	cases := []struct {
		name string
		at   time.Time
		open bool
	}{
		// Spring forward: Sunday 2026-03-08 02:00 EST → 03:00 EDT.
		{"friday before DST 08:30 EST", utc(2026, 3, 6, 13, 30), false},
		{"friday before DST 09:00 EST", utc(2026, 3, 6, 14, 0), true},
		{"monday after DST 09:00 EDT (13:00 UTC)", utc(2026, 3, 9, 13, 0), true},
		{"monday after DST 08:59 EDT", utc(2026, 3, 9, 12, 59), false},
		{"monday after DST 16:59 EDT", utc(2026, 3, 9, 20, 59), true},
		{"monday after DST 17:00 EDT (21:00 UTC)", utc(2026, 3, 9, 21, 0), false},
		{"spring-forward sunday 01:59 EST", utc(2026, 3, 8, 6, 59), true},
		{"spring-forward sunday 03:00 EDT (the next instant)", utc(2026, 3, 8, 7, 0), false},
		{"spring-forward sunday 00:59 EST", utc(2026, 3, 8, 5, 59), false},
		// Fall back: Sunday 2026-11-01 02:00 EDT → 01:00 EST; 01:30 happens twice.
		{"fall-back sunday first 01:30 EDT", utc(2026, 11, 1, 5, 30), true},
		{"fall-back sunday second 01:30 EST", utc(2026, 11, 1, 6, 30), true},
		{"fall-back sunday 02:29 EST", utc(2026, 11, 1, 7, 29), true},
		{"fall-back sunday 02:30 EST", utc(2026, 11, 1, 7, 30), false},
		{"friday before fall-back 09:00 EDT (13:00 UTC)", utc(2026, 10, 30, 13, 0), true},
		{"monday after fall-back 08:30 EST (13:30 UTC)", utc(2026, 11, 2, 13, 30), false},
		{"monday after fall-back 09:00 EST (14:00 UTC)", utc(2026, 11, 2, 14, 0), true},
		{"monday after fall-back 16:59 EST (21:59 UTC)", utc(2026, 11, 2, 21, 59), true},
		{"monday after fall-back 17:00 EST (22:00 UTC)", utc(2026, 11, 2, 22, 0), false},
		// Holiday and weekend.
		{"christmas friday", utc(2026, 12, 25, 15, 0), false},
		{"christmas eve thursday", utc(2026, 12, 24, 15, 0), true},
		{"saturday", utc(2026, 11, 28, 15, 0), false},
		{"friday 19:00 local (saturday 00:00 UTC)", utc(2026, 11, 28, 0, 0), false},
		{"thursday 23:30 local (friday 04:30 UTC)", utc(2026, 11, 27, 4, 30), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ny.open(tc.at); got != tc.open {
				t.Errorf("open(%v = %v local) = %v, want %v", tc.at, tc.at.In(ny.loc), got, tc.open)
			}
		})
	}
}

func TestScheduleSouthernHemisphereAndMidnight(t *testing.T) {
	// Sydney: DST ends 2026-04-05 03:00 AEDT → 02:00 AEST. 24:00 end means until midnight.
	syd := mustSchedule(t, "Australia/Sydney", map[time.Weekday][]string{
		time.Saturday: {"20:00-24:00"},
		time.Monday:   {"00:00-01:00", "08:00-12:00", "13:00-17:00"},
	})
	cases := []struct {
		name  string
		local string // in Sydney
		open  bool
	}{
		{"saturday 23:59", "2026-04-04 23:59", true},
		{"sunday 00:00", "2026-04-05 00:00", false},
		{"monday 00:30", "2026-04-06 00:30", true},
		{"monday lunch", "2026-04-06 12:30", false},
		{"monday afternoon", "2026-04-06 13:00", true},
		{"monday 17:00", "2026-04-06 17:00", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			at, err := time.ParseInLocation("2006-01-02 15:04", tc.local, syd.loc)
			if err != nil {
				t.Fatal(err)
			}
			if got := syd.open(at.UTC()); got != tc.open {
				t.Errorf("open(%s) = %v, want %v", tc.local, got, tc.open)
			}
		})
	}
}

func TestParseSpan(t *testing.T) {
	cases := []struct {
		in      string
		want    span
		wantErr bool
	}{
		{"09:00-17:00", span{540, 1020}, false},
		{" 00:00 - 24:00 ", span{0, 1440}, false},
		{"17:00-09:00", span{}, true},
		{"09:00-09:00", span{}, true},
		{"24:00-24:00", span{}, true},
		{"9:00-17:00", span{}, true},
		{"09:60-17:00", span{}, true},
		{"09:00-24:01", span{}, true},
		{"09:00", span{}, true},
		{"", span{}, true},
	}
	for _, tc := range cases {
		got, err := parseSpan(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseSpan(%q) = %v, %v; want %v, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestScheduleHolidayIsALocalDate(t *testing.T) {
	all := []string{"00:00-24:00"}
	s := mustSchedule(t, "America/New_York", map[time.Weekday][]string{
		time.Thursday: all, time.Friday: all, time.Saturday: all,
	}, "2026-12-25")
	cases := []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 12, 25, 2, 0, 0, 0, time.UTC), true},   // Dec 24 21:00 local
		{time.Date(2026, 12, 25, 6, 0, 0, 0, time.UTC), false},  // Dec 25 01:00 local
		{time.Date(2026, 12, 26, 4, 59, 0, 0, time.UTC), false}, // Dec 25 23:59 local
		{time.Date(2026, 12, 26, 5, 0, 0, 0, time.UTC), true},   // Dec 26 00:00 local
	}
	for _, tc := range cases {
		if got := s.open(tc.at); got != tc.open {
			t.Errorf("open(%v) = %v, want %v", tc.at.In(s.loc), got, tc.open)
		}
	}
}
