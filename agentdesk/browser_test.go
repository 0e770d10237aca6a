package agentdesk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/acd"
	"switchboard/agentdesk"
	"switchboard/agentdesk/agentdesktest"
)

// screenshot saves a PNG of the page under dir and checks it is not blank.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	b, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if v := lumaVariance(img); v < 100 {
		t.Fatalf("screenshot %s looks blank (luma variance %.1f)", path, v)
	}
	t.Logf("screenshot: %s", path)
}

func lumaVariance(img image.Image) float64 {
	r := img.Bounds()
	var n, sum, sq float64
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			l := (0.299*float64(cr) + 0.587*float64(cg) + 0.114*float64(cb)) / 257
			n++
			sum += l
			sq += l * l
		}
	}
	mean := sum / n
	return sq/n - mean*mean
}

// outDir is where screenshots go: $AGENTDESK_SCREENSHOTS or the test's temp dir.
func outDir(t *testing.T) string {
	if d := os.Getenv("AGENTDESK_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func TestBrowserDesktopAndWallboard(t *testing.T) {
	phones := newPionPhones()
	t.Cleanup(phones.Close)
	r := newACDRig(t, func(c *agentdesk.Config) {
		c.Softphones = phones
		c.Grace = 5 * time.Second
	})
	// The REST API the desktop calls, faked: contact search.
	mux := http.NewServeMux()
	mux.Handle("/", r.hub.Handler())
	mux.HandleFunc("GET /api/v1/contacts", func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer tok-a1" {
			http.Error(w, `{"message":"unauthenticated"}`, http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode([]map[string]any{{"id": "ct-9", "name": "Dana Dialable",
			"phones": []map[string]any{{"e164": "+14155550199"}}}})
	})
	ticketOps := make(chan string, 4)
	mux.HandleFunc("GET /api/v1/tickets/{number}", func(w http.ResponseWriter, req *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"id": "tk-1", "number": req.PathValue("number"), "subject": "Broken widget",
			"status": "open", "priority": "high"})
	})
	mux.HandleFunc("POST /api/v1/tickets/{number}/transitions", func(w http.ResponseWriter, req *http.Request) {
		var body struct{ To string }
		json.NewDecoder(req.Body).Decode(&body)
		ticketOps <- req.PathValue("number") + " to " + body.To
		json.NewEncoder(w).Encode(map[string]any{"id": "tk-1", "number": req.PathValue("number"), "subject": "Broken widget",
			"status": body.To, "priority": "high"})
	})
	mux.HandleFunc("POST /api/v1/tickets/{number}/comments", func(w http.ResponseWriter, req *http.Request) {
		var body struct{ Body string }
		json.NewDecoder(req.Body).Decode(&body)
		ticketOps <- req.PathValue("number") + " comment " + body.Body
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"id": "cm-1", "body": body.Body})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dir := outDir(t)

	bctx := agentdesktest.NewBrowser(t)
	// Wallboard in its own tab.
	wall := agentdesktest.NewTab(t, bctx)
	agentdesktest.Step(t, wall, "open wallboard", chromedp.Navigate(srv.URL+"/wallboard#token=tok-sup"),
		chromedp.WaitVisible(chromedp.CSS(`article.tile[data-queue="sales"]`)))

	// Agent desktop.
	desk := agentdesktest.NewTab(t, bctx)
	agentdesktest.Step(t, desk, "log in",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "a1"),
		chromedp.SendKeys(chromedp.CSS("#password"), "secret-a1"),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS("#desk")),
	)
	agentdesktest.Poll(t, desk, "softphone connected", `document.getElementById('sp-state').textContent === 'connected'`)
	if v, ok := phones.codecs.Load("id-a1"); !ok || v != webrtcPCMU {
		// OnTrack fires with the first packet; wait for it.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if v, ok = phones.codecs.Load("id-a1"); ok {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if v != webrtcPCMU {
			t.Fatalf("browser audio codec = %v, want %s", v, webrtcPCMU)
		}
	}

	agentdesktest.Step(t, desk, "go ready", chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.getElementById('presence'); s.value = 'ready'; s.dispatchEvent(new Event('change')); })()`))
	agentdesktest.Poll(t, desk, "ready badge", `document.getElementById('state-badge').textContent === 'ready'`)
	agentdesktest.Poll(t, wall, "wallboard shows a1 ready", `document.querySelector('li.agent[data-agent="id-a1"]')?.dataset.state === 'ready'`)

	r.enqueue(t, "call-b1", "sales", testCRM)
	agentdesktest.Poll(t, desk, "customer card", `document.getElementById('cust-name').textContent === 'Vera Important' && !document.getElementById('vip-badge').hidden && document.getElementById('pop-tickets').textContent.includes('T-1042')`)
	agentdesktest.Poll(t, wall, "wallboard shows a1 reserved", `document.querySelector('li.agent[data-agent="id-a1"]')?.dataset.state === 'reserved'`)
	screenshot(t, desk, dir, "desktop-offer.png")

	// The ticket from the customer card: open it, change its status, comment.
	agentdesktest.Step(t, desk, "open ticket", chromedp.Click(chromedp.CSS("#pop-tickets button.link")),
		chromedp.WaitVisible(chromedp.CSS("#ticket-view")),
		chromedp.Evaluate[chromedp.Void](`(() => { document.getElementById('tv-new-status').value = 'pending'; })()`),
		chromedp.Click(chromedp.CSS("#ticket-status button")))
	agentdesktest.Poll(t, desk, "ticket status shown", `document.getElementById('tv-status').textContent === 'pending'`)
	agentdesktest.Step(t, desk, "comment", chromedp.SendKeys(chromedp.CSS("#tv-comment"), "called back"),
		chromedp.Click(chromedp.CSS("#ticket-comment button")))
	for _, want := range []string{"T-1042 to pending", "T-1042 comment called back"} {
		select {
		case got := <-ticketOps:
			if got != want {
				t.Fatalf("ticket API call %q, want %q", got, want)
			}
		case <-time.After(waitLimit):
			t.Fatalf("no ticket API call %q", want)
		}
	}

	agentdesktest.Step(t, desk, "answer", chromedp.Click(chromedp.CSS("#btn-answer")))
	agentdesktest.Poll(t, desk, "talking", `document.getElementById('call-status').textContent.startsWith('Talking')`)
	agentdesktest.Poll(t, wall, "wallboard shows a1 on call", `document.querySelector('li.agent[data-agent="id-a1"]')?.dataset.state === 'on-call'`)
	// Audio flows both ways on the softphone leg: the browser's fake
	// microphone reaches the gateway side, and the browser receives RTP.
	before := phones.rtpIn.Load()
	time.Sleep(300 * time.Millisecond)
	if after := phones.rtpIn.Load(); after <= before {
		t.Fatalf("no RTP from the browser (%d packets)", after)
	}
	got, err := chromedp.Run(desk, chromedp.Evaluate[float64](`(async () => {
		const st = await window.switchboard.phone.pc.getStats();
		let n = 0; st.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.packetsReceived; });
		return n; })()`, chromedp.EvalAwaitPromise))
	if err != nil || got < 1 {
		t.Fatalf("browser inbound RTP packets = %v (%v)", got, err)
	}

	// The keypad sends RFC 4733 events on the leg.
	agentdesktest.Step(t, desk, "press 5", chromedp.Click(chromedp.CSS(`#keypad button[aria-label="DTMF 5"]`)))
	deadline := time.Now().Add(waitLimit)
	for phones.dtmfIn.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no telephone-event packets from the keypad")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A second caller waits: the wallboard tile counts it live.
	r.enqueue(t, "call-b2", "sales", nil)
	agentdesktest.Poll(t, wall, "waiting 1", `document.querySelector('article.tile[data-queue="sales"] .q-waiting .v')?.textContent === '1' && document.querySelector('#waiting tr[data-call="call-b2"]') !== null`)
	screenshot(t, wall, dir, "wallboard.png")

	agentdesktest.Step(t, desk, "hang up", chromedp.Click(chromedp.CSS("#btn-hangup")))
	agentdesktest.Poll(t, desk, "wrap-up form", `!document.getElementById('wrapup').hidden`)
	agentdesktest.Poll(t, wall, "wallboard shows a1 wrap-up", `document.querySelector('li.agent[data-agent="id-a1"]')?.dataset.state === 'wrap-up'`)
	agentdesktest.Step(t, desk, "wrap up",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('disposition'); s.value = 'resolved'; })()`),
		chromedp.SendKeys(chromedp.CSS("#notes"), "customer happy"),
		chromedp.Click(chromedp.CSS("#wrap-submit")),
	)
	ic := waitEngine(t, r, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "call-b1" })
	if ic.Interaction.Disposition != "resolved" || ic.Interaction.Notes != "customer happy" {
		t.Fatalf("interaction = %+v", ic.Interaction)
	}
	// The agent is free again and takes the waiting call at once.
	agentdesktest.Poll(t, desk, "second offer", `window.switchboard.offer?.call_id === 'call-b2'`)
	agentdesktest.Poll(t, wall, "queue empty", `document.querySelector('article.tile[data-queue="sales"] .q-waiting .v')?.textContent === '0'`)

	// Contact search and click-to-dial through the REST API.
	agentdesktest.Step(t, desk, "reject second call", chromedp.Click(chromedp.CSS("#btn-reject")))
	agentdesktest.Step(t, desk, "search contacts",
		chromedp.SendKeys(chromedp.CSS("#search-q"), "dana"),
		chromedp.Click(chromedp.CSS("#search-form button")),
		chromedp.WaitVisible(chromedp.CSS("#search-results button.dial")),
	)
	screenshot(t, desk, dir, "desktop-search.png")
}

const webrtcPCMU = "audio/PCMU"
