package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/agentdesk/agentdesktest"
)

// TestJourneyWebCaller calls the contact center from the web page in
// headless Chromium (fake microphone): the call runs the flows' webrtc
// entry like a phone call, the caller's key picks sales, the agent's desk
// phone answers, audio flows both ways, and the call has its record.
func TestJourneyWebCaller(t *testing.T) {
	s := startSystem(t, openAllDay, func(c *Config) { c.SIP.WebRTCIPs = []string{"127.0.0.1"} })
	desk, phone, heidiID := s.agent("heidi", true)
	desk.command("presence.set", map[string]string{"presence": "ready"})

	tab := agentdesktest.NewTab(t, agentdesktest.NewBrowser(t))
	agentdesktest.Step(t, tab, "open the call page and call",
		chromedp.Navigate("http://"+s.http+"/call"),
		chromedp.WaitVisible(chromedp.CSS("#call")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Ana Lima"),
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
}
