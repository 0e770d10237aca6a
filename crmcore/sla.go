package crmcore

import (
	"fmt"
	"time"
)

// BusinessHours is a weekly schedule in one time zone. The zero value (no
// open days) is treated as "always open" by Add.
type BusinessHours struct {
	// Location is the zone the schedule is written in; nil means UTC.
	Location *time.Location
	// Days maps a weekday to its opening span as offsets from local midnight
	// (Open < Close ≤ 24h). A missing weekday is closed.
	Days map[time.Weekday]Span
}

// Span is an opening interval within a day, as offsets from local midnight.
type Span struct {
	Open, Close time.Duration
}

// WeekdayHours returns Monday–Friday from open to close (e.g. 9h, 17h) in loc.
func WeekdayHours(loc *time.Location, open, close time.Duration) BusinessHours {
	d := make(map[time.Weekday]Span, 5)
	for wd := time.Monday; wd <= time.Friday; wd++ {
		d[wd] = Span{Open: open, Close: close}
	}
	return BusinessHours{Location: loc, Days: d}
}

// Validate checks that every span lies within its day and is non-empty.
func (bh BusinessHours) Validate() error {
	for wd, s := range bh.Days {
		if s.Open < 0 || s.Close > 24*time.Hour || s.Open >= s.Close {
			return fmt.Errorf("crmcore: business hours for %s: bad span %v–%v", wd, s.Open, s.Close)
		}
	}
	return nil
}

// Add returns the instant at which d of business time has elapsed after
// start. Time outside the schedule (nights, weekends) does not count; a start
// outside hours begins counting at the next opening. Wall-clock spans are
// evaluated in the schedule's zone, so DST changes are honoured. With no open
// days, Add is plain start.Add(d).
func (bh BusinessHours) Add(start time.Time, d time.Duration) time.Time {
	if len(bh.Days) == 0 || d <= 0 {
		return start.Add(max(d, 0))
	}
	loc := bh.Location
	if loc == nil {
		loc = time.UTC
	}
	t := start.In(loc)
	// Walk day by day; bounded so a malformed schedule cannot loop forever.
	for range 366 * 20 {
		y, m, dd := t.Date()
		midnight := time.Date(y, m, dd, 0, 0, 0, 0, loc)
		if span, ok := bh.Days[t.Weekday()]; ok {
			open := wallClock(midnight, span.Open, loc)
			closeAt := wallClock(midnight, span.Close, loc)
			if t.Before(open) {
				t = open
			}
			if t.Before(closeAt) {
				if left := closeAt.Sub(t); d <= left {
					return t.Add(d).In(start.Location())
				} else {
					d -= left
				}
			}
		}
		t = time.Date(y, m, dd+1, 0, 0, 0, 0, loc)
	}
	return t.In(start.Location())
}

// wallClock returns the instant at local wall-clock offset off from midnight
// (so 9h is 09:00 even on a 23-hour DST day).
func wallClock(midnight time.Time, off time.Duration, loc *time.Location) time.Time {
	y, m, d := midnight.Date()
	h := int(off / time.Hour)
	mi := int(off % time.Hour / time.Minute)
	return time.Date(y, m, d, h, mi, 0, 0, loc)
}

// SLATarget is the pair of targets for one priority.
type SLATarget struct {
	FirstResponse time.Duration
	Resolution    time.Duration
	// Calendar makes the targets run around the clock instead of on business hours.
	Calendar bool
}

// SLAPolicy maps priorities to targets, measured in business hours unless
// a target says Calendar.
type SLAPolicy struct {
	Hours   BusinessHours
	Targets map[Priority]SLATarget
}

// DefaultSLAPolicy is the demo policy: urgent 1 h / 4 h around the clock;
// high 2 h / 8 h, normal 4 h / 24 h, low 8 h / 40 h of business time
// (Monday–Friday 09:00–17:00 in loc).
func DefaultSLAPolicy(loc *time.Location) SLAPolicy {
	return SLAPolicy{
		Hours: WeekdayHours(loc, 9*time.Hour, 17*time.Hour),
		Targets: map[Priority]SLATarget{
			PriorityUrgent: {FirstResponse: time.Hour, Resolution: 4 * time.Hour, Calendar: true},
			PriorityHigh:   {FirstResponse: 2 * time.Hour, Resolution: 8 * time.Hour},
			PriorityNormal: {FirstResponse: 4 * time.Hour, Resolution: 24 * time.Hour},
			PriorityLow:    {FirstResponse: 8 * time.Hour, Resolution: 40 * time.Hour},
		},
	}
}

// Due returns the first-response and resolution due times, in UTC, of a
// ticket of priority p created at created. A priority without a target has
// no due times (zero values).
func (p SLAPolicy) Due(prio Priority, created time.Time) (firstResponse, resolution time.Time) {
	tg, ok := p.Targets[prio]
	if !ok {
		return time.Time{}, time.Time{}
	}
	if tg.Calendar {
		return created.Add(tg.FirstResponse).UTC(), created.Add(tg.Resolution).UTC()
	}
	return p.Hours.Add(created, tg.FirstResponse).UTC(), p.Hours.Add(created, tg.Resolution).UTC()
}
