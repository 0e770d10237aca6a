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
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/acd"
	"switchboard/agentdesk"
)

const chromiumPath = "/usr/bin/chromium"

// needChromium returns the browser's path; it fails the test under CI and
// skips it elsewhere when the browser is missing.
func needChromium(t *testing.T) string {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else if p, err := exec.LookPath("chromium-browser"); err == nil {
			path = p
		} else if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not installed (%s): run make deps", chromiumPath)
		} else {
			t.Skipf("chromium not installed (%s); apt-get install chromium", chromiumPath)
		}
	}
	return path
}

// newBrowser starts headless Chromium with a fresh profile and fake media.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := needChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true), // ICE on 127.0.0.1 only
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// Two tabs (desktop and wallboard) must both stay live.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// newTab opens a tab. Its first action runs without a deadline: chromedp
// ties the tab's life to the context of its first Run.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

// step runs actions with a deadline, failing the test with what.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func poll(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var err error
	for {
		var ok bool
		ok, err = chromedp.Run(c, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err != nil || ok {
			break
		}
		select {
		case <-c.Done():
			err = c.Err()
		case <-time.After(50 * time.Millisecond):
			continue
		}
		break
	}
	if err != nil {
		dc, dcancel := context.WithTimeout(ctx, 5*time.Second)
		defer dcancel()
		d, _ := chromedp.Run(dc, chromedp.Evaluate[string](`JSON.stringify({
			sp: document.getElementById('sp-state')?.textContent, toast: document.getElementById('toast')?.textContent,
			conn: document.getElementById('conn')?.textContent, status: document.getElementById('call-status')?.textContent,
			pc: window.switchboard?.phone?.pc?.connectionState, ice: window.switchboard?.phone?.pc?.iceConnectionState})`))
		t.Fatalf("%s: %v; page: %s", what, err, d)
	}
}

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

	bctx := newBrowser(t)
	// Wallboard in its own tab.
	wall := newTab(t, bctx)
	step(t, wall, "open wallboard", chromedp.Navigate(srv.URL+"/wallboard?token=tok-sup"),
		chromedp.WaitVisible(chromedp.CSS(`article.tile[data-queue="sales"]`)))

	// Agent desktop.
	desk := newTab(t, bctx)
	step(t, desk, "log in",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "a1"),
		chromedp.SendKeys(chromedp.CSS("#password"), "secret-a1"),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS("#desk")),
	)
	poll(t, desk, "softphone connected", `document.getElementById('sp-state').textContent === 'connected'`)
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

	step(t, desk, "go ready", chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.getElementById('presence'); s.value = 'ready'; s.dispatchEvent(new Event('change')); })()`))
	poll(t, desk, "ready badge", `document.getElementById('state-badge').textContent === 'ready'`)
	poll(t, wall, "wallboard shows a1 ready", `document.querySelector('li.agent[data-agent="id-a1"]')?.dataset.state === 'ready'`)

	r.enqueue(t, "call-b1", "sales", testCRM)
	poll(t, desk, "customer card", `document.getElementById('cust-name').textContent === 'Vera Important' && !document.getElementById('vip-badge').hidden && document.getElementById('pop-tickets').textContent.includes('T-1042')`)
	poll(t, wall, "wallboard shows a1 reserved", `document.querySelector('li.agent[data-agent="id-a1"]')?.dataset.state === 'reserved'`)
	screenshot(t, desk, dir, "desktop-offer.png")

	// The ticket from the customer card: open it, change its status, comment.
	step(t, desk, "open ticket", chromedp.Click(chromedp.CSS("#pop-tickets button.link")),
		chromedp.WaitVisible(chromedp.CSS("#ticket-view")),
		chromedp.Evaluate[chromedp.Void](`(() => { document.getElementById('tv-new-status').value = 'pending'; })()`),
		chromedp.Click(chromedp.CSS("#ticket-status button")))
	poll(t, desk, "ticket status shown", `document.getElementById('tv-status').textContent === 'pending'`)
	step(t, desk, "comment", chromedp.SendKeys(chromedp.CSS("#tv-comment"), "called back"),
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

	step(t, desk, "answer", chromedp.Click(chromedp.CSS("#btn-answer")))
	poll(t, desk, "talking", `document.getElementById('call-status').textContent.startsWith('Talking')`)
	poll(t, wall, "wallboard shows a1 on call", `document.querySelector('li.agent[data-agent="id-a1"]')?.dataset.state === 'on-call'`)
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
	step(t, desk, "press 5", chromedp.Click(chromedp.CSS(`#keypad button[aria-label="DTMF 5"]`)))
	deadline := time.Now().Add(waitLimit)
	for phones.dtmfIn.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no telephone-event packets from the keypad")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A second caller waits: the wallboard tile counts it live.
	r.enqueue(t, "call-b2", "sales", nil)
	poll(t, wall, "waiting 1", `document.querySelector('article.tile[data-queue="sales"] .q-waiting .v')?.textContent === '1' && document.querySelector('#waiting tr[data-call="call-b2"]') !== null`)
	screenshot(t, wall, dir, "wallboard.png")

	step(t, desk, "hang up", chromedp.Click(chromedp.CSS("#btn-hangup")))
	poll(t, desk, "wrap-up form", `!document.getElementById('wrapup').hidden`)
	poll(t, wall, "wallboard shows a1 wrap-up", `document.querySelector('li.agent[data-agent="id-a1"]')?.dataset.state === 'wrap-up'`)
	step(t, desk, "wrap up",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('disposition'); s.value = 'resolved'; })()`),
		chromedp.SendKeys(chromedp.CSS("#notes"), "customer happy"),
		chromedp.Click(chromedp.CSS("#wrap-submit")),
	)
	ic := waitEngine(t, r, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "call-b1" })
	if ic.Interaction.Disposition != "resolved" || ic.Interaction.Notes != "customer happy" {
		t.Fatalf("interaction = %+v", ic.Interaction)
	}
	// The agent is free again and takes the waiting call at once.
	poll(t, desk, "second offer", `window.switchboard.offer?.call_id === 'call-b2'`)
	poll(t, wall, "queue empty", `document.querySelector('article.tile[data-queue="sales"] .q-waiting .v')?.textContent === '0'`)

	// Contact search and click-to-dial through the REST API.
	step(t, desk, "reject second call", chromedp.Click(chromedp.CSS("#btn-reject")))
	step(t, desk, "search contacts",
		chromedp.SendKeys(chromedp.CSS("#search-q"), "dana"),
		chromedp.Click(chromedp.CSS("#search-form button")),
		chromedp.WaitVisible(chromedp.CSS("#search-results button.dial")),
	)
	screenshot(t, desk, dir, "desktop-search.png")
}

const webrtcPCMU = "audio/PCMU"
