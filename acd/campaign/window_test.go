package campaign

import (
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
)

func zonesFor(t *testing.T, c Contact) []*time.Location {
	t.Helper()
	num, err := phonenumbers.Parse(c.Number, "")
	if err != nil {
		t.Fatal(err)
	}
	names, err := zoneNames(c, num)
	if err != nil {
		t.Fatal(err)
	}
	var out []*time.Location
	for _, n := range names {
		loc, err := loadZone(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, loc)
	}
	return out
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestWindowZones: the default window (09:00–21:00 Mon–Sat) in the
// number's own zone, across a DST change, and across the many zones of
// a toll-free number.
func TestWindowZones(t *testing.T) {
	w := (&Config{}).withDefaults().Window
	ny := zonesFor(t, Contact{Number: "+12125550123"})
	la := zonesFor(t, Contact{Number: "+14155550123"})
	london := zonesFor(t, Contact{Number: "+442079460123"})
	tollFree := zonesFor(t, Contact{Number: "+18005551234"})
	override := zonesFor(t, Contact{Number: "+18005551234", TimeZone: "America/Chicago"})
	if len(tollFree) < 10 || len(override) != 1 {
		t.Fatalf("zones: toll-free %d, with override %d", len(tollFree), len(override))
	}
	for _, tc := range []struct {
		name  string
		zones []*time.Location
		at    string
		want  string // the next opening; == at when open
	}{
		// Winter: New York is UTC−5, Los Angeles UTC−8.
		{"NY open", ny, "2026-01-06T15:00:00Z", "2026-01-06T15:00:00Z"},
		{"NY before 9", ny, "2026-01-06T13:59:00Z", "2026-01-06T14:00:00Z"},
		{"NY after 21", ny, "2026-01-07T02:00:00Z", "2026-01-07T14:00:00Z"},
		{"LA not yet", la, "2026-01-06T15:00:00Z", "2026-01-06T17:00:00Z"},
		// Saturday 20:59 is in; Sunday is not a calling day.
		{"NY saturday late", ny, "2026-01-11T01:59:00Z", "2026-01-11T01:59:00Z"},
		{"NY sunday", ny, "2026-01-11T16:00:00Z", "2026-01-12T14:00:00Z"},
		// US DST starts on Sunday 8 March 2026: Monday 09:00 is 13:00Z.
		{"NY after DST", ny, "2026-03-09T13:30:00Z", "2026-03-09T13:30:00Z"},
		{"NY DST shift", ny, "2026-03-09T12:30:00Z", "2026-03-09T13:00:00Z"},
		// Europe changes three weeks later: London is still UTC+0 on 27
		// March (a Friday) and UTC+1 on Monday 30 March.
		{"London before DST", london, "2026-03-27T08:30:00Z", "2026-03-27T09:00:00Z"},
		{"London after DST", london, "2026-03-30T08:30:00Z", "2026-03-30T08:30:00Z"},
		{"London after DST closes", london, "2026-03-30T20:30:00Z", "2026-03-31T08:00:00Z"},
		// Toll-free: only when it is 09:00–21:00 everywhere from
		// Newfoundland to Guam, and a calling day in each.
		{"toll-free noon NY", tollFree, "2026-01-06T17:00:00Z", "2026-01-06T23:00:00Z"},
		{"override", override, "2026-01-06T17:00:00Z", "2026-01-06T17:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := w.next(utc(tc.at), tc.zones)
			if !ok || !got.Equal(utc(tc.want)) {
				t.Errorf("next(%s) = %v, %v; want %s", tc.at, got.UTC(), ok, tc.want)
			}
			for _, z := range tc.zones {
				if !w.openIn(got, z) {
					t.Errorf("%v is not open in %s", got, z)
				}
			}
		})
	}
	// A window open on Sundays only never meets Guam's and Honolulu's
	// Sundays at the same hour.
	sunday := Window{Start: 9 * 60, End: 10 * 60, Days: []Day{Day(time.Sunday)}}
	if got, ok := sunday.next(utc("2026-01-06T17:00:00Z"), tollFree); ok {
		t.Errorf("toll-free on a Sunday hour: open at %v", got)
	}
}

func TestZoneUnknown(t *testing.T) {
	// +882 is an international network: no zone.
	num, err := phonenumbers.Parse("+88234512345", "")
	if err != nil {
		t.Fatalf("phonenumbers cannot parse the network number: %v", err)
	}
	if names, err := zoneNames(Contact{Number: "+88234512345"}, num); err == nil {
		t.Errorf("zones %v, want none", names)
	}
	if names, err := zoneNames(Contact{Number: "+88234512345", TimeZone: "Europe/Paris"}, num); err != nil || names[0] != "Europe/Paris" {
		t.Errorf("with an override: %v, %v", names, err)
	}
}
