package crmapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"switchboard/agentdesk/agentdesktest"
	"switchboard/crmcore"
	"switchboard/crmcore/crmapi"
	"switchboard/crmcore/pgstore"
)

// jsFixed formats v as JavaScript's toFixed(d) does for the values of
// these reports (non-negative, ties away from zero).
func jsFixed(v float64, d int) string {
	p := math.Pow(10, float64(d))
	return fmt.Sprintf("%.*f", d, math.Floor(v*p+0.5)/p)
}

// pageCells is what the reports page shows for a row (reports.js's fmt).
func pageCells(r crmcore.ReportRow) []string {
	pct := func(v *float64) string {
		if v == nil {
			return "–"
		}
		return jsFixed(*v*100, 1) + "%"
	}
	num := func(v *float64, d int) string {
		if v == nil {
			return "–"
		}
		return jsFixed(*v, d)
	}
	s, f := r.Sums, r.Figures
	return []string{r.Key, fmt.Sprint(s.Offered), fmt.Sprint(s.Answered), fmt.Sprint(s.AbandonedShort + s.AbandonedLong),
		pct(f.ServiceLevel), pct(f.ServiceLevelExShort), num(f.ASA, 1), num(f.AHT, 1), fmt.Sprint(s.Transfers),
		pct(f.FCRRate), num(f.CSAT, 2), num(f.NPS, 1), jsFixed(f.LoginSeconds/3600, 2), pct(f.Occupancy), pct(f.Utilisation)}
}

// TestReportsPage: a supervisor signs in on the reports page, asks for a
// day in Europe/Paris by queue and then by agent, and the table shows
// the figures the API returns for the same query, with a bar per count
// in the chart.
func TestReportsPage(t *testing.T) {
	var alice string
	srv, _ := pagesServer(t, func(s *pgstore.Store) []crmapi.Option {
		alice = crmapi.WriteReportFixture(t, s)
		return []crmapi.Option{crmapi.WithReports(s)}
	})

	// The API's answer, with sam's token.
	var login struct{ Token string }
	resp, err := http.Post(srv.URL+"/api/v1/sessions", "application/json", strings.NewReader(`{"login":"sam","password":"demo"}`))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	report := func(by string) [][]string {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/reports/intervals?from=2025-03-03&to=2025-03-04&tz=Europe/Paris&group=day&by="+by, nil)
		req.Header.Set("Authorization", "Bearer "+login.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Items []crmcore.ReportRow }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Items) == 0 {
			t.Fatalf("api: %d %v %+v", resp.StatusCode, err, body)
		}
		var out [][]string
		for _, r := range body.Items {
			out = append(out, pageCells(r))
		}
		return out
	}

	browser := agentdesktest.NewBrowser(t)
	tab := agentdesktest.NewTab(t, browser)
	agentdesktest.Step(t, tab, "sign in", chromedp.Navigate(srv.URL+"/reports"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "sam"), chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#report-view")))
	// The cells the page shows, row by row, with the key as sent (the
	// agent's id, not the name shown).
	const cells = `[...document.querySelectorAll('#rows tr')].map(tr => [tr.dataset.key,
		...[...tr.querySelectorAll('td')].slice(2, 16).map(td => td.textContent)])`
	for _, by := range []string{"queue", "agent"} {
		want := report(by)
		agentdesktest.Step(t, tab, "ask for "+by,
			chromedp.SetValue(chromedp.CSS("#from"), "2025-03-03"), chromedp.SetValue(chromedp.CSS("#to"), "2025-03-04"),
			chromedp.SetValue(chromedp.CSS("#tz"), "Europe/Paris"), chromedp.SetValue(chromedp.CSS("#group"), "day"),
			chromedp.SetValue(chromedp.CSS("#by"), by), chromedp.Click(chromedp.CSS("#run")))
		agentdesktest.Poll(t, tab, by+" rows", fmt.Sprintf(`document.querySelectorAll('#rows tr').length === %d &&
			document.querySelector('#rows tr').dataset.period.endsWith('+01:00') && document.getElementById('status').textContent === '%d rows'`,
			len(want), len(want)))
		c, cancel := context.WithTimeout(tab, 10e9)
		got, err := chromedp.Run(c, chromedp.Evaluate[[][]string](cells))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: page differs from the API (-api +page):\n%s", by, d)
		}
		if by == "agent" && (got[0][0] != alice || got[0][12] != "8.00") {
			t.Errorf("agent row = %q", got[0])
		}
	}
	c, cancel := context.WithTimeout(tab, 10e9)
	defer cancel()
	n, err := chromedp.Run(c, chromedp.Evaluate[int](`document.querySelectorAll('#chart-volume rect').length`))
	if err != nil || n != 3 {
		t.Errorf("chart bars = %d, %v; want 3 (one day: offered, answered, abandoned)", n, err)
	}
	screenshot(t, tab, "reports")
	name, err := chromedp.Run(c, chromedp.Evaluate[string](`document.querySelector('#rows tr td:nth-child(2)').textContent`))
	if err != nil || name != "Alice Agent" && !strings.HasPrefix(name, "Alice") {
		t.Errorf("agent shown as %q, %v", name, err)
	}
}
