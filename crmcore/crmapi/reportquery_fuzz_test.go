package crmapi

import (
	"net/url"
	"testing"
)

// FuzzParseReportQuery: any query string is either refused or gives a
// report query that validates, with a range that starts before it ends
// and a time zone.
func FuzzParseReportQuery(f *testing.F) {
	for _, s := range []string{
		"from=2025-03-03&to=2025-03-04",
		"from=2025-03-03&to=2025-03-04&tz=Asia/Kolkata&group=interval&by=agent&agent=01a23ac2-4e04-7692-99e3-bf919381856a",
		"from=2025-03-03T10:00:00%2B05:45&to=2025-03-03T12:00:00Z&queue=a,b&queue=c&channel=phone",
		"from=2025-03-03&to=2025-03-04&tz=../../etc/passwd",
		"from=0001-01-01&to=9999-12-31",
		"tz=%00&from=%ff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseReportQuery(v)
		if err != nil {
			return
		}
		if err := q.Validate(); err != nil || q.TZ == nil || !q.To.After(q.From) {
			t.Fatalf("accepted %q as %+v (%v)", raw, q, err)
		}
	})
}
