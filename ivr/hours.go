package ivr

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	// Embedded zone data: schedules must resolve their time zone identically on a minimal
	// host without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// schedule is a weekly business-hours schedule in one time zone, with holiday dates.
// Times are wall-clock times in loc, so DST changes move the UTC instants, not the hours.
type schedule struct {
	loc      *time.Location
	weekly   [7][]span // indexed by time.Weekday
	holidays map[string]bool
}

// span is [from, to) in minutes since local midnight; to may be 24*60.
type span struct{ from, to int }

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// open reports whether the schedule is open at instant t.
func (s *schedule) open(t time.Time) bool {
	lt := t.In(s.loc)
	if s.holidays[lt.Format(time.DateOnly)] {
		return false
	}
	m := lt.Hour()*60 + lt.Minute()
	for _, sp := range s.weekly[lt.Weekday()] {
		if m >= sp.from && m < sp.to {
			return true
		}
	}
	return false
}

// parseSpan parses "09:00-17:30"; the end may be "24:00".
func parseSpan(s string) (span, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return span{}, fmt.Errorf("hours %q: want HH:MM-HH:MM", s)
	}
	from, err := parseClock(a, false)
	if err != nil {
		return span{}, fmt.Errorf("hours %q: %w", s, err)
	}
	to, err := parseClock(b, true)
	if err != nil {
		return span{}, fmt.Errorf("hours %q: %w", s, err)
	}
	if to <= from {
		return span{}, fmt.Errorf("hours %q: end is not after start", s)
	}
	return span{from, to}, nil
}

func parseClock(s string, allow24 bool) (int, error) {
	s = strings.TrimSpace(s)
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(hs) != 2 || len(ms) != 2 {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && (m != 0 || !allow24)) {
		return 0, fmt.Errorf("time %q out of range", s)
	}
	return h*60 + m, nil
}
