package acd

import (
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Geography is what a caller's number says about where the caller is.
// It is resolved once, where the call enters the system (ResolveNumber),
// and travels with the call (CallRequest.Caller, CallInfo).
type Geography struct {
	// E164 is the normalised number ("+14155550123"), empty if invalid.
	E164 string
	// Country is the ISO 3166 alpha-2 region code ("US").
	Country string
	// TimeZone is the first IANA zone phonenumbers knows for the number.
	TimeZone string
}

// maxANI caps the length of a number we try to parse.
const maxANI = 64

// ResolveNumber parses ani (E.164 or national in defaultRegion, with or
// without a sip: or tel: scheme) and returns its geography; invalid
// numbers give a zero Geography. Parsing runs phonenumbers' regular
// expressions: call it at the edge, once per number, never on the
// engine's goroutine.
func ResolveNumber(ani, defaultRegion string) Geography {
	ani = strings.TrimSpace(ani)
	if ani == "" || len(ani) > maxANI {
		return Geography{}
	}
	if i := strings.IndexAny(ani, "@;"); i >= 0 { // sip:+1...@host leftovers
		ani = ani[:i]
	}
	ani = strings.TrimPrefix(strings.TrimPrefix(ani, "sip:"), "tel:")
	num, err := phonenumbers.Parse(ani, strings.ToUpper(defaultRegion))
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return Geography{}
	}
	g := Geography{
		E164:    phonenumbers.Format(num, phonenumbers.E164),
		Country: phonenumbers.GetRegionCodeForNumber(num),
	}
	if tz, err := phonenumbers.GetTimezonesForNumber(num); err == nil && len(tz) > 0 && tz[0] != "Etc/Unknown" {
		g.TimeZone = tz[0]
	}
	return g
}

// zoneCache caches time.LoadLocation results (safe for concurrent use).
type zoneCache struct{ m sync.Map }

// offset returns the zone's UTC offset in minutes at t.
func (z *zoneCache) offset(name string, t time.Time) (int16, bool) {
	if name == "" {
		return 0, false
	}
	v, ok := z.m.Load(name)
	if !ok {
		loc, err := time.LoadLocation(name)
		if err != nil {
			loc = nil
		}
		v, _ = z.m.LoadOrStore(name, loc)
	}
	loc, _ := v.(*time.Location)
	if loc == nil {
		return 0, false
	}
	_, off := t.In(loc).Zone()
	return int16(off / 60), true
}
