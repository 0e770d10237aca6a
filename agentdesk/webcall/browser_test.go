package webcall_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/agentdesk/agentdesktest"
	"switchboard/agentdesk/webcall"
)

// browserRig serves the web caller on 127.0.0.1 over a pion dialer, for a headless
// Chromium with a fake microphone.
type browserRig struct {
	t   *testing.T
	d   *rtcDialer
	h   *webcall.Handler
	srv *httptest.Server
}

func newBrowserRig(t *testing.T, edit func(*webcall.Config)) *browserRig {
	t.Helper()
	d := newRTCDialer(t)
	cfg := webcall.Config{TokenSecret: secret, Metrics: webcall.NewMetrics(prometheus.NewRegistry())}
	if edit != nil {
		edit(&cfg)
	}
	h, err := webcall.New(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return &browserRig{t: t, d: d, h: h, srv: srv}
}

// eval runs a JavaScript expression (awaiting a promise) in tab.
func eval[T any](t *testing.T, tab context.Context, js string) T {
	t.Helper()
	c, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitJS waits up to 20 s for the JavaScript expression js (a promise is awaited) to
// be true; agentdesktest.Poll does not await.
func waitJS(t *testing.T, tab context.Context, what, js string) {
	t.Helper()
	wait(t, what, func() bool { return eval[bool](t, tab, js) })
}

// receivedEnergy is true once the page has received audio with energy (getStats
// inbound-rtp totalAudioEnergy).
const receivedEnergy = `(async () => {
	const pc = window.switchboardCall.pc;
	if (!pc) return false;
	let n = 0;
	(await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.totalAudioEnergy || 0; });
	return n > 0; })()`

// TestBrowserCall: a caller fills the form and calls from Chromium; the microphone's
// audio reaches the contact center's side, the keypad's digits arrive as RFC 4733
// telephone-events, the tone sent back plays in the page; hanging up ends the call on
// both sides and gives its slot back.
func TestBrowserCall(t *testing.T) {
	r := newBrowserRig(t, nil)
	tab := agentdesktest.NewTab(t, agentdesktest.NewBrowser(t))
	agentdesktest.Step(t, tab, "open the page and fill the form",
		chromedp.Navigate(r.srv.URL+"/call#entry=sales"),
		chromedp.WaitVisible(chromedp.CSS("#call")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Ana Lima"),
		chromedp.SendKeys(chromedp.CSS("#phone"), "+351 912 345 678"),
		chromedp.Click(chromedp.CSS("#call")))
	c := r.d.next()
	want := webcall.Caller{Entry: "sales", Name: "Ana Lima", Phone: "+351 912 345 678", Address: c.caller.Address}
	if c.caller != want || !c.caller.Address.IsLoopback() {
		t.Errorf("caller = %+v, want %+v from loopback", c.caller, want)
	}
	agentdesktest.Poll(t, tab, "connected", `document.getElementById('app').dataset.state === 'ivr'`)
	if got := eval[string](t, tab, `document.getElementById('status').textContent`); got == "" {
		t.Error("no status shown while connected")
	}

	wait(t, "the microphone's audio at the contact center", func() bool {
		audio, loud, _ := c.stats()
		return audio >= 50 && loud >= 3
	})

	agentdesktest.Step(t, tab, "press 1, 2 and # on the keypad",
		chromedp.Click(chromedp.CSS(`#keypad button[data-digit="1"]`)),
		chromedp.Click(chromedp.CSS(`#keypad button[data-digit="2"]`)),
		chromedp.Click(chromedp.CSS(`#keypad button[data-digit="#"]`)))
	wait(t, "digits 12# as telephone-events", func() bool { _, _, d := c.stats(); return d == "12#" })
	agentdesktest.Step(t, tab, "type 7 on the keyboard", chromedp.KeyEvent("7"))
	wait(t, "digit 7 as a telephone-event", func() bool { _, _, d := c.stats(); return d == "12#7" })
	if got := eval[string](t, tab, `document.getElementById('digits').textContent`); got != "12#7" {
		t.Errorf("keys shown = %q, want 12#7", got)
	}

	waitJS(t, tab, "the contact center's tone plays in the page", receivedEnergy)

	agentdesktest.Step(t, tab, "mute", chromedp.Click(chromedp.CSS("#mute")))
	if muted := eval[bool](t, tab, `document.getElementById('mute').getAttribute('aria-pressed') === 'true' &&
		window.switchboardCall.pc.getSenders()[0].track.enabled === false`); !muted {
		t.Error("mute did not disable the microphone track")
	}

	if n := r.h.Active(); n != 1 {
		t.Errorf("Active = %d during the call, want 1", n)
	}
	agentdesktest.Step(t, tab, "hang up", chromedp.Click(chromedp.CSS("#hangup")))
	agentdesktest.Poll(t, tab, "ended", `document.getElementById('app').dataset.state === 'ended' && window.switchboardCall.pc === null`)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the contact center's leg did not end after the page hung up")
	}
	wait(t, "the call's slot given back", func() bool { return r.h.Active() == 0 })
}

// TestBrowserVerifiedCallHungUpByContactCenter: a host site's token identifies the
// caller (no form shown); the contact center hanging up ends the call in the page.
func TestBrowserVerifiedCallHungUpByContactCenter(t *testing.T) {
	r := newBrowserRig(t, nil)
	tok := sign(t, secret, webcall.TokenClaims{Name: "Liam Johnson", Email: "liam@example.com", Exp: time.Now().Add(10 * time.Minute).Unix()})
	tab := agentdesktest.NewTab(t, agentdesktest.NewBrowser(t))
	agentdesktest.Step(t, tab, "open the page with a token",
		chromedp.Navigate(r.srv.URL+"/call#"+url.Values{"token": {tok}}.Encode()),
		chromedp.WaitVisible(chromedp.CSS("#call")))
	if shown := eval[bool](t, tab, `document.getElementById('who-fields').offsetParent !== null`); shown {
		t.Error("the form is shown to a caller the host site identified")
	}
	agentdesktest.Step(t, tab, "call", chromedp.Click(chromedp.CSS("#call")))
	c := r.d.next()
	if want := (webcall.Caller{Entry: "web", Name: "Liam Johnson", Email: "liam@example.com", Verified: true, Address: c.caller.Address}); c.caller != want {
		t.Errorf("caller = %+v, want %+v", c.caller, want)
	}
	agentdesktest.Poll(t, tab, "connected", `document.getElementById('app').dataset.state === 'ivr'`)
	waitJS(t, tab, "audio plays", receivedEnergy)
	c.hangup()
	agentdesktest.Poll(t, tab, "the page sees the call end", `document.getElementById('app').dataset.state === 'ended'`)
	wait(t, "the call's slot given back", func() bool { return r.h.Active() == 0 })

	// An expired token is refused with a clear message, and no call is placed.
	old := sign(t, secret, webcall.TokenClaims{Name: "Liam Johnson", Exp: time.Now().Add(-time.Minute).Unix()})
	agentdesktest.Step(t, tab, "call with an expired token",
		chromedp.Navigate(r.srv.URL+"/call#"+url.Values{"token": {old}}.Encode()),
		chromedp.WaitVisible(chromedp.CSS("#call")),
		chromedp.Click(chromedp.CSS("#call")))
	agentdesktest.Poll(t, tab, "the refusal shown", `document.getElementById('error').textContent.includes('expired') &&
		document.getElementById('app').dataset.state === 'idle'`)
	select {
	case c := <-r.d.ready:
		t.Errorf("a call was placed with an expired token: %+v", c.caller)
	default:
	}
}

// TestBrowserMicrophoneDenied: a caller who refuses the microphone is told how to allow
// it, and no offer is posted. agentdesktest's browser grants the microphone (its fake
// prompt accepts), so this one runs a browser whose fake prompt denies.
func TestBrowserMicrophoneDenied(t *testing.T) {
	chromium := agentdesktest.NeedChromium(t)
	r := newBrowserRig(t, nil)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("use-fake-ui-for-media-stream", "deny"), chromedp.Flag("use-fake-device-for-media-stream", true))
	tab, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	agentdesktest.Step(t, tab, "call",
		chromedp.Navigate(r.srv.URL+"/call"),
		chromedp.WaitVisible(chromedp.CSS("#call")),
		chromedp.Click(chromedp.CSS("#call")))
	agentdesktest.Poll(t, tab, "the denial explained", `document.getElementById('error').textContent.includes('Microphone access was denied') &&
		!document.getElementById('error').hidden && document.getElementById('app').dataset.state === 'idle'`)
	select {
	case c := <-r.d.ready:
		t.Errorf("a call was placed without a microphone: %+v", c.caller)
	default:
	}
}
