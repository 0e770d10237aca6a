package campaign

import (
	"fmt"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// unknownZone is what phonenumbers answers for a prefix it has no zone for.
const unknownZone = "Etc/Unknown"

// zoneNames returns the IANA zones contact is called in: its TimeZone
// when set, else every zone phonenumbers gives the prefix of its number
// num (a toll-free or non-geographic number has many); an error when
// none is known.
func zoneNames(c Contact, num *phonenumbers.PhoneNumber) ([]string, error) {
	if c.TimeZone != "" {
		return []string{c.TimeZone}, nil
	}
	names, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil || len(names) == 0 || (len(names) == 1 && names[0] == unknownZone) {
		return nil, fmt.Errorf("no time zone known for %s", c.Number)
	}
	return names, nil
}

// openIn reports whether w is open at t in loc.
func (w Window) openIn(t time.Time, loc *time.Location) bool {
	lt := t.In(loc)
	m := TimeOfDay(lt.Hour()*60 + lt.Minute())
	return w.allows(lt.Weekday()) && m >= w.Start && m < w.End
}

// nextIn returns the earliest time at or after t when w is open in loc;
// false when it does not open within a week (no day allowed).
func (w Window) nextIn(t time.Time, loc *time.Location) (time.Time, bool) {
	if w.openIn(t, loc) {
		return t, true
	}
	lt := t.In(loc)
	y, mo, d := lt.Date()
	for k := 0; k <= 7; k++ {
		// Noon has the day's weekday even where midnight moves with DST.
		if !w.allows(time.Date(y, mo, d+k, 12, 0, 0, 0, loc).Weekday()) {
			continue
		}
		start := time.Date(y, mo, d+k, int(w.Start)/60, int(w.Start)%60, 0, 0, loc)
		// A start inside a DST gap is normalised outside the window's
		// local hours on that day; the day is skipped then.
		if start.After(t) && w.openIn(start, loc) {
			return start, true
		}
	}
	return time.Time{}, false
}

// next returns the earliest time at or after t when w is open in every
// one of zones at once (the safe choice for a number whose prefix spans
// zones); false when that never happens within a week, so never.
func (w Window) next(t time.Time, zones []*time.Location) (time.Time, bool) {
	limit := t.Add(8 * 24 * time.Hour)
	for t.Before(limit) {
		moved := false
		for _, z := range zones {
			n, ok := w.nextIn(t, z)
			if !ok {
				return time.Time{}, false
			}
			if n.After(t) {
				t, moved = n, true
			}
		}
		if !moved {
			return t, true
		}
	}
	return time.Time{}, false
}
