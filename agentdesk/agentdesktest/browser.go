package agentdesktest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian installs Chromium.
const ChromiumPath = "/usr/bin/chromium"

// NeedChromium returns the browser's path; it fails the test under CI and
// skips it elsewhere when the browser is missing.
func NeedChromium(t testing.TB) string {
	t.Helper()
	path := ChromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else if p, err := exec.LookPath("chromium-browser"); err == nil {
			path = p
		} else if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not installed (%s): run make deps", ChromiumPath)
		} else {
			t.Skipf("chromium not installed (%s); apt-get install chromium", ChromiumPath)
		}
	}
	return path
}

// NewBrowser starts headless Chromium with a fresh profile, fake media
// devices and loopback-only WebRTC; it fails the test under CI=true (skips
// it elsewhere) when Chromium is missing. The browser ends with the test.
func NewBrowser(t testing.TB) context.Context {
	t.Helper()
	path := NeedChromium(t)
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

// NewTab opens a tab. Its first action runs without a deadline: chromedp
// ties the tab's life to the context of its first Run.
func NewTab(t testing.TB, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

// Step runs actions with a deadline, failing the test with what.
func Step(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Poll waits up to 20 s for the JavaScript expression expr to be true,
// failing the test with what and a summary of the desktop page.
func Poll(t testing.TB, ctx context.Context, what, expr string) {
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
