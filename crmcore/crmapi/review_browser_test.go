package crmapi_test

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/agentdesk/agentdesktest"
	"switchboard/crmcore"
	"switchboard/crmcore/crmapi"
	"switchboard/crmcore/pgstore"
)

// writeWAV writes secs seconds of a 440 Hz tone as 8 kHz 16-bit mono PCM.
func writeWAV(t *testing.T, path string, secs int) {
	t.Helper()
	const rate = 8000
	n := rate * secs
	b := make([]byte, 44+2*n)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], rate)
	binary.LittleEndian.PutUint32(b[28:], 2*rate)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/rate))
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReviewPageScoresWhileRecordingPlays: a supervisor opens the review
// assigned by the weekly sample, plays the call's recording (fetched with
// the token), sees its timeline and scores it on the form while the audio
// keeps playing; the evaluated agent then disputes it from the same page.
func TestReviewPageScoresWhileRecordingPlays(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeWAV(t, filepath.Join(dir, "call.wav"), 30)
	srv, s := pagesServer(t, func(s *pgstore.Store) []crmapi.Option {
		return []crmapi.Option{crmapi.WithRecordings(crmapi.DirRecordings{Dir: dir}, s), crmapi.WithQuality(s)}
	})

	bob, err := s.AgentByLogin(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	sam, err := s.AgentByLogin(ctx, "sam")
	if err != nil {
		t.Fatal(err)
	}
	week := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	t0 := week.Add(33 * time.Hour)
	q, o, a, hold, resume, end := t0.Add(20*time.Second), t0.Add(30*time.Second), t0.Add(35*time.Second),
		t0.Add(time.Minute), t0.Add(90*time.Second), t0.Add(3*time.Minute)
	call := crmcore.Interaction{ID: crmcore.NewID(), CallID: "review-1", Direction: crmcore.Inbound, Channel: crmcore.ChannelPhone,
		ANI: "+14155550100", DNIS: "+18005550100", IVRPath: []crmcore.IVRStep{{Node: "main-menu", Digits: "2"}}, Queue: "support",
		AgentID: bob.ID, ArrivedAt: t0, QueuedAt: &q, OfferedAt: &o, AnsweredAt: &a, EndedAt: &end, Outcome: crmcore.OutcomeAnswered,
		Recording: "call.wav", Holds: []crmcore.InteractionHold{{AgentID: bob.ID, From: hold, To: resume}},
		Parties: []crmcore.InteractionParty{{AgentID: bob.ID, Role: crmcore.PartyAgent, Joined: a, Left: end}}}
	w, err := pgstore.NewWriter(s.Pool(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, call); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	form, err := s.CreateQAForm(ctx, "", crmcore.QAForm{Name: "Phone basics", Active: true, Sections: []crmcore.QASection{
		{Title: "Opening", Questions: []crmcore.QAQuestion{
			{ID: "greeting", Text: "Greeted the caller", Kind: crmcore.QAYesNo, Weight: 1},
			{ID: "tone", Text: "Tone", Kind: crmcore.QAScale, Max: 4, Weight: 2},
			{ID: "upsell", Text: "Offered the upgrade", Kind: crmcore.QANAAllowed, Weight: 1},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sample, err := s.AssignSample(ctx, week, 1, 1, form.ID, sam.ID)
	if err != nil || len(sample) != 1 || sample[0].InteractionID != call.ID {
		t.Fatalf("sample = %+v, %v", sample, err)
	}
	evID := sample[0].ID

	browser := agentdesktest.NewBrowser(t)
	tab := agentdesktest.NewTab(t, browser)
	agentdesktest.Step(t, tab, "sign in as supervisor", chromedp.Navigate(srv.URL+"/review"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "sam"), chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#queue li[data-evaluation="`+evID+`"] button`)),
		chromedp.Click(chromedp.CSS(`#queue li[data-evaluation="`+evID+`"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#player-box")))
	agentdesktest.Poll(t, tab, "timeline", `[...document.querySelectorAll('#timeline li')].map(l => l.textContent).join('|').includes('IVR: main-menu [2]') &&
		document.querySelector('#timeline').textContent.includes('held') && document.querySelector('#timeline').textContent.includes('ended: answered')`)
	agentdesktest.Step(t, tab, "play", chromedp.Evaluate[chromedp.Void](`(() => { document.getElementById('player').play(); })()`))
	agentdesktest.Poll(t, tab, "recording plays", `(() => { const p = document.getElementById('player'); return !p.paused && p.currentTime > 0.3 && p.src.startsWith('blob:'); })()`)
	screenshot(t, tab, "review")

	agentdesktest.Step(t, tab, "score",
		chromedp.Click(chromedp.CSS(`fieldset[data-question="greeting"] input[value="1"]`)),
		chromedp.Click(chromedp.CSS(`fieldset[data-question="tone"] input[value="3"]`)),
		chromedp.Click(chromedp.CSS(`fieldset[data-question="upsell"] input[value="na"]`)),
		chromedp.SendKeys(chromedp.CSS("#comments"), "Warm & clear <b>"),
		chromedp.Click(chromedp.CSS("#submit-score")))
	agentdesktest.Poll(t, tab, "submitted", `document.getElementById('review-state').textContent.includes('submitted')`)
	at, err := chromedp.Run(tab, chromedp.Evaluate[float64](`document.getElementById('player').currentTime`))
	if err != nil {
		t.Fatal(err)
	}
	agentdesktest.Poll(t, tab, "recording still plays after the submit",
		`(() => { const p = document.getElementById('player'); return !p.paused && p.currentTime > `+jsNum(at+0.3)+`; })()`)
	ev, err := s.Evaluation(ctx, evID)
	if err != nil || ev.State != crmcore.QASubmitted || ev.Score == nil || *ev.Score != 83.33 || ev.Evaluator != sam.ID || ev.Comments != "Warm & clear <b>" {
		t.Fatalf("stored evaluation = %+v, %v", ev, err)
	}

	agent := agentdesktest.NewTab(t, browser)
	agentdesktest.Step(t, agent, "sign in as the agent", chromedp.Navigate(srv.URL+"/review"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "bob"), chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#queue li[data-evaluation="`+evID+`"] button`)),
		chromedp.Click(chromedp.CSS(`#queue li[data-evaluation="`+evID+`"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#agent-actions")),
		chromedp.SendKeys(chromedp.CSS("#dispute-reason"), "The caller declined the upgrade twice"),
		chromedp.Click(chromedp.CSS("#dispute")))
	agentdesktest.Poll(t, agent, "disputed", `document.getElementById('review-state').textContent.includes('disputed: The caller declined')`)
	if ev, _ := s.Evaluation(ctx, evID); ev.State != crmcore.QADisputed {
		t.Errorf("state after the dispute = %s", ev.State)
	}
}

func jsNum(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }
