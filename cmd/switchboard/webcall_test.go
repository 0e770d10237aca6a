package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"switchboard/acd/voice"
	"switchboard/agentdesk/agentdesktest"
	"switchboard/crmcore/pgstore"
)

// The store matches web callers to their contacts.
var _ voice.CustomerDirectory = (*pgstore.Store)(nil)

// TestJourneyWebCaller calls the contact center from the web page in
// headless Chromium (fake microphone): the call runs the flows' webrtc
// entry like a phone call, the caller's key picks sales, the agent's desk
// phone answers, audio flows both ways, and the call has its record. The
// form's name and email make the caller a CRM contact, on the pop and the
// record; a second call with the same email (and a phone) is that contact's
// again, with the phone as the record's number.
func TestJourneyWebCaller(t *testing.T) {
	s := startSystem(t, openAllDay, func(c *Config) { c.SIP.WebRTCIPs = []string{"127.0.0.1"} })
	desk, phone, heidiID := s.agent("heidi", true)
	desk.command("presence.set", map[string]string{"presence": "ready"})

	tab := agentdesktest.NewTab(t, agentdesktest.NewBrowser(t))
	agentdesktest.Step(t, tab, "open the call page and call",
		chromedp.Navigate("http://"+s.http+"/call"),
		chromedp.WaitVisible(chromedp.CSS("#call")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Ana Lima"),
		chromedp.SendKeys(chromedp.CSS("#email"), "ana.lima@example.com"),
		chromedp.Click(chromedp.CSS("#call")))
	agentdesktest.Poll(t, tab, "connected", `document.getElementById('app').dataset.state !== 'idle' &&
		document.getElementById('app').dataset.state !== 'connecting'`)
	time.Sleep(2 * time.Second) // the welcome prompt, then the main menu
	agentdesktest.Step(t, tab, "press 1 for sales", chromedp.Click(chromedp.CSS(`#keypad button[data-digit="1"]`)))

	offer := desk.waitFor(45*time.Second, func(e envelope) bool { return e.Type == "call.offered" })
	var pop struct {
		CallID string `json:"call_id"`
		Queue  string `json:"queue"`
		CRM    struct {
			Known   bool `json:"known"`
			Contact *struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"contact"`
			Web *struct {
				Name     string `json:"name"`
				Verified bool   `json:"verified"`
			} `json:"web"`
		} `json:"crm"`
	}
	if err := json.Unmarshal(offer.Data, &pop); err != nil {
		t.Fatal(err)
	}
	if pop.Queue != "sales" {
		t.Errorf("web call queued in %q, want sales (the caller pressed 1)", pop.Queue)
	}
	if w := pop.CRM.Web; w == nil || w.Name != "Ana Lima" || w.Verified {
		t.Errorf("pop's web caller = %+v, want Ana Lima from the form, unverified", w)
	}
	if c := pop.CRM.Contact; !pop.CRM.Known || c == nil || c.Name != "Ana Lima" {
		t.Errorf("pop's CRM contact = %+v (known %v), want Ana Lima's, made from the form", c, pop.CRM.Known)
	}
	var call interface{ Samples() []int16 }
	select {
	case c := <-phone.Inbound:
		call = c
		// The agent speaks: a tone the page must receive.
		go speak(c, 150)
	case <-time.After(30 * time.Second):
		t.Fatal("heidi's phone never rang")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, cancel := context.WithTimeout(tab, 5*time.Second)
		got, err := chromedp.Run(c, chromedp.Evaluate[bool](`(async () => {
			const pc = window.switchboardCall && window.switchboardCall.pc;
			if (!pc) return false;
			let n = 0;
			(await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.totalAudioEnergy || 0; });
			return n > 0; })()`, chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never received the agent's audio (%v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	deadline = time.Now().Add(20 * time.Second)
	for loudCount(call.Samples()) < 800 {
		if time.Now().After(deadline) {
			t.Fatalf("the agent heard %d loud samples from the browser's microphone, want ≥ 800", loudCount(call.Samples()))
		}
		time.Sleep(200 * time.Millisecond)
	}
	agentdesktest.Step(t, tab, "hang up", chromedp.Click(chromedp.CSS("#hangup")))
	desk.waitFor(30*time.Second, func(e envelope) bool { return e.Type == "wrapup.started" })
	desk.command("wrapup.submit", map[string]any{"call_id": pop.CallID, "disposition": "resolved", "notes": "Web caller."})
	in := s.waitInteraction("call_id = $1", pop.CallID)
	if in.Outcome != "answered" || str(in.AgentID) != heidiID || in.Queue != "sales" || in.ANI != "web" {
		t.Errorf("record: outcome %s agent %s queue %s ani %q, want answered by heidi in sales from web", in.Outcome, str(in.AgentID), in.Queue, in.ANI)
	}
	var digits string
	for _, st := range in.IVRPath {
		digits += st.Digits
	}
	if digits != "1" {
		t.Errorf("ivr path %v: digits %q, want 1", in.IVRPath, digits)
	}
	conn, err := pgx.Connect(context.Background(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var name string
	var emails []string
	if err := conn.QueryRow(context.Background(), `select name, emails from contacts where id = $1`, str(in.ContactID)).Scan(&name, &emails); err != nil ||
		name != "Ana Lima" || len(emails) != 1 || emails[0] != "ana.lima@example.com" {
		t.Errorf("record's contact %q: %q %v (%v), want Ana Lima with the form's email", str(in.ContactID), name, emails, err)
	}

	// Again, the email typed otherwise and a phone added; the caller hangs
	// up in the IVR.
	agentdesktest.Step(t, tab, "call again with the same email",
		chromedp.Navigate("http://"+s.http+"/call"),
		chromedp.WaitVisible(chromedp.CSS("#call")),
		chromedp.SendKeys(chromedp.CSS("#email"), "ANA.LIMA@example.com"),
		chromedp.SendKeys(chromedp.CSS("#phone"), "+1 415 555 0177"),
		chromedp.Click(chromedp.CSS("#call")))
	agentdesktest.Poll(t, tab, "connected again", `document.getElementById('app').dataset.state !== 'idle' &&
		document.getElementById('app').dataset.state !== 'connecting'`)
	agentdesktest.Step(t, tab, "hang up in the IVR", chromedp.Click(chromedp.CSS("#hangup")))
	again := s.waitInteraction("dnis = 'web' AND call_id <> $1", pop.CallID)
	if str(again.ContactID) != str(in.ContactID) || again.ANI != "+14155550177" {
		t.Errorf("second call's record: contact %q ani %q, want %q (the same email) and +14155550177", str(again.ContactID), again.ANI, str(in.ContactID))
	}
}
