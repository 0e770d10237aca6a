package acd

import (
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Geography is what the engine derives from a caller's number.
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

// ResolveNumber parses ani (E.164 or national in defaultRegion) and
// returns its geography; invalid numbers give a zero Geography. Results
// are cached: a call's number is resolved by its entry, its caller lookup
// and the engine, and parsing it (phonenumbers' regular expressions) is
// the dearest step of the three, on the engine's goroutine for the last.
func ResolveNumber(ani, defaultRegion string) Geography {
	ani = strings.TrimSpace(ani)
	if ani == "" || len(ani) > maxANI {
		return Geography{}
	}
	key := defaultRegion + "|" + ani
	if g, ok := numbers.get(key); ok {
		return g
	}
	g := resolveNumber(ani, defaultRegion)
	numbers.put(key, g)
	return g
}

// numbers caches ResolveNumber.
var numbers = numberCache{max: 4096}

// numberCache is a bounded cache (safe for concurrent use) of two
// generations: a full current generation becomes the previous one, so it
// holds at most 2·max entries and keeps the ones used recently.
type numberCache struct {
	mu        sync.Mutex
	max       int
	cur, prev map[string]Geography
}

func (c *numberCache) get(key string) (Geography, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g, ok := c.cur[key]; ok {
		return g, true
	}
	g, ok := c.prev[key]
	if ok {
		c.putLocked(key, g)
	}
	return g, ok
}

func (c *numberCache) put(key string, g Geography) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, g)
}

func (c *numberCache) putLocked(key string, g Geography) {
	if c.cur == nil || len(c.cur) >= c.max {
		c.prev, c.cur = c.cur, make(map[string]Geography, c.max)
	}
	c.cur[key] = g
}

func resolveNumber(ani, defaultRegion string) Geography {
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
