package crmapi

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/crmcore"
	"switchboard/crmcore/pgstore"
)

// ReportDay is the day of WriteReportFixture (UTC).
var ReportDay = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)

// WriteReportFixture writes a small day into s's database through the
// durable writer and rolls it up: agent alice logs in at 09:00, takes two
// support calls and logs out at 17:00; queue "=cmd" (a name a spreadsheet
// would run) has one abandoned call. It is exported for the browser test.
func WriteReportFixture(t testing.TB, s *pgstore.Store) (aliceID string) {
	t.Helper()
	ctx := context.Background()
	alice, err := s.AgentByLogin(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	w, err := pgstore.NewWriter(s.Pool(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) time.Time {
		return ReportDay.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	call := func(queue, agent string, q time.Time, wait time.Duration, outcome crmcore.Outcome) crmcore.Interaction {
		end := q.Add(wait + 3*time.Minute)
		in := crmcore.Interaction{ID: crmcore.NewID(), CallID: "c", Direction: crmcore.Inbound, Channel: crmcore.ChannelPhone,
			Queue: queue, AgentID: agent, ArrivedAt: q, QueuedAt: &q, EndedAt: &end, Outcome: outcome}
		if agent != "" {
			a := q.Add(wait)
			in.AnsweredAt, in.WrapUp = &a, 30*time.Second
		}
		return in
	}
	for _, in := range []crmcore.Interaction{
		call("support", alice.ID, at(9, 10), 10*time.Second, crmcore.OutcomeAnswered),
		call("support", alice.ID, at(14, 0), 40*time.Second, crmcore.OutcomeAnswered),
		call("=cmd", "", at(15, 0), 30*time.Second, crmcore.OutcomeAbandoned),
	} {
		if err := w.Write(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	ev := func(kind crmcore.AgentEventKind, t time.Time, presence, reason string) crmcore.AgentEvent {
		return crmcore.AgentEvent{ID: crmcore.NewID(), At: t, Kind: kind, AgentID: alice.ID, Presence: presence, Reason: reason}
	}
	if err := w.WriteEvents(ctx,
		ev(crmcore.AgentEventLogin, at(9, 0), crmcore.AgentPresenceReady, ""),
		ev(crmcore.AgentEventPresence, at(12, 0), crmcore.AgentPresenceNotReady, "lunch"),
		ev(crmcore.AgentEventPresence, at(13, 0), crmcore.AgentPresenceReady, ""),
		ev(crmcore.AgentEventLogout, at(17, 0), "", ""),
	); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.RollUp(ctx, ReportDay, ReportDay.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	return alice.ID
}

type reportBody struct {
	TZ    string              `json:"tz"`
	Items []crmcore.ReportRow `json:"items"`
	Count int                 `json:"count"`
}

func TestIntervalReportAPI(t *testing.T) {
	e := newEnvWith(t, func(s *pgstore.Store) []Option { return []Option{WithReports(s)} })
	alice := WriteReportFixture(t, e.store)
	agent, sup := e.login("alice", "demo"), e.login("sam", "demo")
	const day = "/api/v1/reports/intervals?from=2025-03-03&to=2025-03-04"

	if r := e.do("GET", day, "", nil); r.Code != http.StatusUnauthorized {
		t.Errorf("no token: %d", r.Code)
	}
	if r := e.do("GET", day, agent, nil); r.Code != http.StatusForbidden {
		t.Errorf("agent: %d", r.Code)
	}

	r := e.do("GET", day, sup, nil)
	var body reportBody
	r.json(t, &body)
	if r.Code != 200 || body.Count != 2 || body.Items[1].Key != "support" || body.Items[1].Sums.Offered != 2 ||
		*body.Items[1].Figures.ServiceLevel != 0.5 || *body.Items[1].Figures.ASA != 25 || body.Items[0].Sums.AbandonedLong != 1 {
		t.Fatalf("report = %d %s", r.Code, r.Body)
	}
	want, err := e.store.IntervalReport(context.Background(), crmcore.ReportQuery{From: ReportDay, To: ReportDay.AddDate(0, 0, 1),
		Group: crmcore.GroupDay, By: crmcore.ByQueue})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, body.Items); d != "" {
		t.Errorf("API differs from the store (-store +api):\n%s", d)
	}

	// Agents in Paris: the day starts at 23:00 UTC, and carries the times.
	r = e.do("GET", "/api/v1/reports/intervals?from=2025-03-03&to=2025-03-04&tz=Europe/Paris&by=agent&agent="+alice, sup, nil)
	body = reportBody{}
	r.json(t, &body)
	if r.Code != 200 || body.TZ != "Europe/Paris" || body.Count != 1 || body.Items[0].Key != alice ||
		body.Items[0].Period.Format(time.RFC3339) != "2025-03-03T00:00:00+01:00" || body.Items[0].Sums.LoginMS != 8*3600_000 ||
		body.Items[0].Figures.NotReadySeconds["lunch"] != 3600 {
		t.Fatalf("agent report = %d %s", r.Code, r.Body)
	}
	r = e.do("GET", "/api/v1/reports/intervals?from=2025-03-03T09:00:00Z&to=2025-03-03T10:00:00Z&group=interval&by=channel", sup, nil)
	body = reportBody{}
	r.json(t, &body)
	if r.Code != 200 || body.Count != 1 || body.Items[0].Key != "phone" || !body.Items[0].Period.Equal(ReportDay.Add(9*time.Hour)) {
		t.Fatalf("interval report = %d %s", r.Code, r.Body)
	}

	// CSV, by parameter and by Accept, with a formula-safe queue name.
	for _, c := range []struct{ path, accept string }{{day + "&format=csv", ""}, {day, "text/csv"}} {
		req := httptest.NewRequest("GET", c.path, nil)
		req.Header.Set("Authorization", "Bearer "+sup)
		if c.accept != "" {
			req.Header.Set("Accept", c.accept)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		recs, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
		if err != nil || rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") || len(recs) != 3 {
			t.Fatalf("csv %q: %d %v %q", c.path, rec.Code, err, rec.Body)
		}
		if recs[0][0] != "period" || recs[1][1] != "'=cmd" || recs[2][1] != "support" || recs[2][2] != "2" || recs[2][10] != "0.5000" {
			t.Errorf("csv rows = %q", recs)
		}
	}

	for _, c := range []struct{ name, query, field string }{
		{"missing from", "to=2025-03-04", "from"},
		{"bad from", "from=yesterday&to=2025-03-04", "from"},
		{"reversed", "from=2025-03-04&to=2025-03-03", "to"},
		{"empty", "from=2025-03-04&to=2025-03-04", "to"},
		{"too long", "from=2024-01-01&to=2025-03-04", "to"},
		{"unknown zone", "from=2025-03-03&to=2025-03-04&tz=Mars/Olympus", "tz"},
		{"zone path", "from=2025-03-03&to=2025-03-04&tz=" + url.QueryEscape("../../etc/passwd"), "tz"},
		{"local zone", "from=2025-03-03&to=2025-03-04&tz=Local", "tz"},
		{"bad group", "from=2025-03-03&to=2025-03-04&group=week", "group"},
		{"bad by", "from=2025-03-03&to=2025-03-04&by=skill", "by"},
		{"bad agent", "from=2025-03-03&to=2025-03-04&agent=bob", "agent"},
		{"bad channel", "from=2025-03-03&to=2025-03-04&channel=" + url.QueryEscape("<b>"), "channel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("GET", "/api/v1/reports/intervals?"+c.query, sup, nil)
			if r.Code != http.StatusBadRequest || r.err(t).Error.Field != c.field {
				t.Errorf("%s → %d %s, want 400 on %s", c.query, r.Code, r.Body, c.field)
			}
		})
	}
}

func TestAgentEventsAPI(t *testing.T) {
	e := newEnvWith(t, func(s *pgstore.Store) []Option { return []Option{WithReports(s)} })
	alice := WriteReportFixture(t, e.store)
	sup := e.login("sam", "demo")
	path := "/api/v1/reports/agent-events?from=2025-03-03&to=2025-03-04&limit=3&agent=" + alice
	r := e.do("GET", path, sup, nil)
	var page struct {
		Items []crmcore.AgentEvent `json:"items"`
		Count int                  `json:"count"`
		Next  string               `json:"next"`
	}
	r.json(t, &page)
	if r.Code != 200 || page.Count != 3 || page.Next == "" || page.Items[0].Kind != crmcore.AgentEventLogin {
		t.Fatalf("first page = %d %s", r.Code, r.Body)
	}
	r = e.do("GET", path+"&after="+page.Next, sup, nil)
	page.Next = ""
	r.json(t, &page)
	if r.Code != 200 || page.Count != 1 || page.Next != "" || page.Items[0].Kind != crmcore.AgentEventLogout {
		t.Fatalf("second page = %d %s", r.Code, r.Body)
	}
	if r := e.do("GET", path, e.login("alice", "demo"), nil); r.Code != http.StatusForbidden {
		t.Errorf("agent: %d", r.Code)
	}
	for _, q := range []string{"from=2025-03-03", "from=2025-03-03&to=2025-03-04&limit=0", "from=2025-03-03&to=2025-03-04&limit=5000",
		"from=2025-03-03&to=2025-03-04&after=x", "from=2025-03-03&to=2027-03-04", "from=2025-03-03&to=2025-03-04&agent=bob"} {
		if r := e.do("GET", "/api/v1/reports/agent-events?"+q, sup, nil); r.Code != http.StatusBadRequest {
			t.Errorf("%s → %d, want 400", q, r.Code)
		}
	}
}

// TestReportsWithoutStore: without WithReports the endpoints are 404.
func TestReportsWithoutStore(t *testing.T) {
	e := newEnv(t)
	if r := e.do("GET", "/api/v1/reports/intervals?from=2025-03-03&to=2025-03-04", e.login("sam", "demo"), nil); r.Code != http.StatusNotFound {
		t.Errorf("intervals: %d", r.Code)
	}
}
