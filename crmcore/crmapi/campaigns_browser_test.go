package crmapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"switchboard/agentdesk/agentdesktest"
	"switchboard/crmcore"
	"switchboard/crmcore/crmapi"
	"switchboard/crmcore/pgstore"
)

// TestWallboardCampaigns: the wallboard, opened with a supervisor's
// token and no CTI hub behind it, shows a tile per campaign not stopped
// with the API's figures, the abandonment rate in red at or over the
// campaign's own cap; a campaign stopped meanwhile leaves at the next
// poll, and the section goes once the session ends.
func TestWallboardCampaigns(t *testing.T) {
	now := time.Now().UTC()
	fake := crmapi.NewFakeCampaigns(
		crmcore.CampaignInfo{ID: "renew", Name: "Renewals", Queue: "sales", Mode: "predictive", State: crmcore.CampaignRunning,
			Config: json.RawMessage(`{"abandon":{"cap":0.03}}`), CreatedAt: now,
			Stats: crmcore.CampaignStats{Contacts: 500, Done: 120, Dialed: 340, Connected: 150, AbandonRate: 0.045, Ratio: 1.75, Lines: 6}},
		crmcore.CampaignInfo{ID: "winback", Name: "Win-back", Queue: "sales", Mode: "progressive", State: crmcore.CampaignPaused,
			Config: json.RawMessage(`{"abandon":{"cap":0.05}}`), CreatedAt: now,
			Stats: crmcore.CampaignStats{Contacts: 80, Done: 10, Dialed: 12, Connected: 9, AbandonRate: 0.04, Ratio: 1, Lines: 0}},
		crmcore.CampaignInfo{ID: "old", Name: "Old list", Queue: "sales", Mode: "preview", State: crmcore.CampaignStopped,
			Config: json.RawMessage(`{}`), CreatedAt: now, Stats: crmcore.CampaignStats{Dialed: 99}},
	)
	srv, _ := pagesServer(t, func(*pgstore.Store) []crmapi.Option { return []crmapi.Option{crmapi.WithCampaigns(fake)} })

	var login struct{ Token string }
	resp, err := http.Post(srv.URL+"/api/v1/sessions", "application/json", strings.NewReader(`{"login":"sam","password":"demo"}`))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if login.Token == "" {
		t.Fatalf("login: %d", resp.StatusCode)
	}

	browser := agentdesktest.NewBrowser(t)
	tab := agentdesktest.NewTab(t, browser)
	// The kiosk link: the token in the fragment, as a wall display opens it.
	agentdesktest.Step(t, tab, "open the wallboard", chromedp.Navigate(srv.URL+"/wallboard#token="+login.Token))
	agentdesktest.Poll(t, tab, "two campaign tiles", `!document.getElementById('campaigns-view').hidden &&
		document.querySelectorAll('#campaigns [data-campaign]').length === 2`)

	const tiles = `[...document.querySelectorAll('#campaigns [data-campaign]')].map(t => [t.dataset.campaign,
		t.querySelector('h3').textContent, t.querySelector('.campaign-meta').textContent,
		...['dialed', 'connected', 'abandon', 'lines', 'ratio', 'contacts'].map(k => t.querySelector('.k-' + k + ' .v').textContent),
		String(t.querySelector('.k-abandon').classList.contains('warn'))])`
	c, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	got, err := chromedp.Run(c, chromedp.Evaluate[[][]string](tiles))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"renew", "Renewals", "predictive · running", "340", "150", "4.5%", "6", "1.75", "120 / 500", "true"},
		{"winback", "Win-back", "progressive · paused", "12", "9", "4.0%", "0", "1.00", "10 / 80", "false"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tiles (-want +got):\n%s", d)
	}
	screenshot(t, tab, "wallboard-campaigns")

	if _, err := fake.SetCampaignState(context.Background(), "winback", crmcore.CampaignStopped); err != nil {
		t.Fatal(err)
	}
	agentdesktest.Poll(t, tab, "the stopped campaign leaves", `document.querySelectorAll('#campaigns [data-campaign]').length === 1 &&
		document.querySelector('#campaigns [data-campaign]').dataset.campaign === 'renew'`)

	req, _ := http.NewRequest("DELETE", srv.URL+"/api/v1/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+login.Token)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode >= 300 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	agentdesktest.Poll(t, tab, "the section hides once the session ends", `document.getElementById('campaigns-view').hidden`)
}
