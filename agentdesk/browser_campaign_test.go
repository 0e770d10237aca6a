package agentdesk_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
	"switchboard/agentdesk"
	"switchboard/agentdesk/agentdesktest"
)

// The campaign panel of the desk: shown because hello says campaigns are
// served; "Next contact" with nothing to call says so in the panel; the
// next contact shows with its CRM record; Dial sends campaign.dial with
// the contact's dial id, the panel clears and the call is on the desk as
// a click-to-dial's (the test's backend dials through the engine, as the
// dialer does).
func TestBrowserCampaignPreview(t *testing.T) {
	camp := &fakeCampaigns{}
	r := newACDRig(t, func(c *agentdesk.Config) { c.Campaigns = camp; c.Grace = 5 * time.Second })
	dialled := make(chan string, 1)
	dial := func(ctx context.Context, agent, _ string) (string, error) {
		id, err := r.eng.Dial(ctx, acd.AgentID(agent), "+14155550123")
		dialled <- string(id)
		return string(id), err
	}
	camp.set(nil, dial)

	bctx := agentdesktest.NewBrowser(t)
	desk := agentdesktest.NewTab(t, bctx)
	agentdesktest.Step(t, desk, "desk sign in",
		chromedp.Navigate(r.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "a1"),
		chromedp.SendKeys(chromedp.CSS("#password"), "secret-a1"),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS("#campaign")))
	agentdesktest.Poll(t, desk, "CTI connected", `document.getElementById('conn').textContent === 'connected'`)
	agentdesktest.Step(t, desk, "go ready", chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.getElementById('presence'); s.value = 'ready'; s.dispatchEvent(new Event('change')); })()`))
	agentdesktest.Poll(t, desk, "ready", `document.getElementById('state-badge').textContent === 'ready'`)

	agentdesktest.Step(t, desk, "next contact, none", chromedp.Click(chromedp.CSS("#camp-next")))
	agentdesktest.Poll(t, desk, "nothing to call", `document.getElementById('camp-msg').textContent === 'Nothing to call right now' &&
		document.getElementById('camp-contact').hidden`)

	camp.set(&agentdesk.PreviewContact{DialID: "dl-7", CampaignID: "spring", CampaignName: "Spring renewals",
		Number: "+14155550123", Name: "<b>Vera</b> Important", ContactID: "ct-42", Attempt: 2,
		CRM: map[string]any{
			"contact":      map[string]any{"id": "ct-42", "name": "Vera Important", "segment": "vip"},
			"account":      map[string]any{"id": "ac-1", "name": "Acme Corp"},
			"open_tickets": []map[string]any{{"id": "tk-1", "number": "T-1042", "subject": "Broken widget", "status": "open"}},
		}}, dial)
	agentdesktest.Step(t, desk, "next contact", chromedp.Click(chromedp.CSS("#camp-next")))
	agentdesktest.Poll(t, desk, "the contact with its CRM record", `(() => {
		const t = (id) => document.getElementById(id).textContent;
		return !document.getElementById('camp-contact').hidden && t('camp-name') === '<b>Vera</b> Important' &&
			t('camp-number') === '+14155550123' && t('camp-campaign') === 'Spring renewals' && t('camp-attempt') === '2' &&
			t('camp-account') === 'Acme Corp' && !document.getElementById('camp-vip').hidden &&
			t('camp-tickets').includes('T-1042') && t('camp-tickets').includes('Broken widget') && t('camp-msg') === '';
	})()`)
	screenshot(t, desk, outDir(t), "desktop-campaign.png")

	agentdesktest.Step(t, desk, "dial", chromedp.Click(chromedp.CSS("#camp-dial")))
	var callID string
	select {
	case callID = <-dialled:
	case <-time.After(waitLimit):
		t.Fatal("campaign.dial did not reach the backend")
	}
	want := []campaignCall{{"Preview", "id-a1", ""}, {"Preview", "id-a1", ""}, {"DialPreview", "id-a1", "dl-7"}}
	if diff := cmp.Diff(want, camp.took()); diff != "" {
		t.Errorf("backend calls (-want +got):\n%s", diff)
	}
	agentdesktest.Poll(t, desk, "panel cleared", `document.getElementById('camp-contact').hidden &&
		document.getElementById('camp-msg').textContent.startsWith('Calling')`)
	agentdesktest.Poll(t, desk, "the call on the desk", `window.switchboard.call?.call_id === '`+callID+`' &&
		document.getElementById('call-status').textContent.startsWith('Talking') && !document.getElementById('btn-hangup').disabled`)
}
