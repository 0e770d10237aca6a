package webcall_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"switchboard/agentdesk/agentdesktest"
	"switchboard/agentdesk/webcall"
)

// hostSite serves a host site's page embedding the call button of callServer (read
// when the page is requested) with the given data attributes; it is another origin
// (another port) than the call server.
func hostSite(t *testing.T, callServer *string, attrs map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a strings.Builder
		for k, v := range attrs {
			fmt.Fprintf(&a, ` data-%s="%s"`, k, html.EscapeString(v))
		}
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Shop</title></head><body><h1>Shop</h1>
<script src="%s/call/button.js" defer%s></script></body></html>`, *callServer, a.String())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The button and the panel's parts, in the button's shadow root.
const (
	callButton  = `document.querySelector('[data-switchboard-call]').shadowRoot.querySelector('button')`
	panelFrame  = `document.querySelector('[data-switchboard-call]').shadowRoot.querySelector('iframe')`
	panelCloser = `document.querySelector('[data-switchboard-call]').shadowRoot.querySelector('[role=dialog] button')`
)

// TestBrowserButtonPopup: a host site's button (default mode) opens the call page in
// a popup with its entry and token; the call placed there is the verified caller's.
func TestBrowserButtonPopup(t *testing.T) {
	var callURL string
	tok := sign(t, secret, webcall.TokenClaims{Name: "Liam Johnson", Phone: "+14155550101", Exp: time.Now().Add(10 * time.Minute).Unix()})
	host := hostSite(t, &callURL, map[string]string{"entry": "sales", "token": tok, "label": "Call the shop"})
	r := newBrowserRig(t, nil) // a popup is not framed: no allowed origin needed
	callURL = r.srv.URL
	tab := agentdesktest.NewTab(t, agentdesktest.NewBrowser(t))
	agentdesktest.Step(t, tab, "open the host site", chromedp.Navigate(host.URL))
	agentdesktest.Poll(t, tab, "the button", callButton+`?.textContent.includes('Call the shop')`)
	opened := chromedp.WaitNewTarget(tab, func(info *target.Info) bool { return strings.HasPrefix(info.URL, r.srv.URL+"/call") })
	agentdesktest.Step(t, tab, "press the button", chromedp.Click(chromedp.JSPath(callButton)))
	var id target.ID
	select {
	case id = <-opened:
	case <-time.After(20 * time.Second):
		t.Fatal("no popup opened")
	}
	popup, cancel := chromedp.NewContext(tab, chromedp.WithTargetID(id))
	t.Cleanup(cancel)
	if err := chromedp.Do(popup); err != nil { // attach without a deadline: it would close the popup
		t.Fatalf("attach to the popup: %v", err)
	}
	agentdesktest.Step(t, popup, "call from the popup",
		chromedp.WaitVisible(chromedp.CSS("#call")),
		chromedp.Click(chromedp.CSS("#call")))
	c := r.d.next()
	if want := (webcall.Caller{Entry: "sales", Name: "Liam Johnson", Phone: "+14155550101", Verified: true, Address: c.caller.Address}); c.caller != want {
		t.Errorf("caller = %+v, want %+v", c.caller, want)
	}
	agentdesktest.Poll(t, popup, "connected", `document.getElementById('app').dataset.state === 'ivr'`)
	if opener := eval[bool](t, popup, `window.opener === null`); !opener {
		t.Error("the popup keeps a handle on the host site")
	}
}

// TestBrowserButtonFrame: with data-mode="frame", an allowed host site shows the call
// page in a panel whose frame may use the microphone; closing the panel hangs up. A
// site that is not allowed cannot frame the page.
func TestBrowserButtonFrame(t *testing.T) {
	var callURL string
	allowed := hostSite(t, &callURL, map[string]string{"entry": "sales", "mode": "frame"})
	other := hostSite(t, &callURL, map[string]string{"mode": "frame"})
	r := newBrowserRig(t, func(c *webcall.Config) { c.AllowedOrigins = []string{allowed.URL} })
	callURL = r.srv.URL
	tab := agentdesktest.NewTab(t, agentdesktest.NewBrowser(t))
	agentdesktest.Step(t, tab, "open the host site", chromedp.Navigate(allowed.URL))
	agentdesktest.Poll(t, tab, "the button", callButton)
	agentdesktest.Step(t, tab, "press the button", chromedp.Click(chromedp.JSPath(callButton)))
	agentdesktest.Poll(t, tab, "the panel", panelFrame+`?.getAttribute('allow')?.includes('microphone')`)
	if got := frameURL(t, tab); got != r.srv.URL+"/call" {
		t.Fatalf("the panel's frame shows %q, want the call page", got)
	}
	frames, err := chromedp.Run(tab, chromedp.Nodes(chromedp.JSPath(panelFrame)))
	if err != nil || len(frames) != 1 {
		t.Fatalf("panel frame: %v", err)
	}
	in := chromedp.FromNode(frames[0])
	agentdesktest.Step(t, tab, "call from the panel",
		chromedp.WaitVisible(chromedp.CSS("#call"), in),
		chromedp.SendKeys(chromedp.CSS("#name"), "Frame Caller", in),
		chromedp.Click(chromedp.CSS("#call"), in))
	c := r.d.next()
	if want := (webcall.Caller{Entry: "sales", Name: "Frame Caller", Address: c.caller.Address}); c.caller != want {
		t.Errorf("caller = %+v, want %+v", c.caller, want)
	}
	wait(t, "the framed page's microphone audio", func() bool { audio, loud, _ := c.stats(); return audio >= 50 && loud >= 3 })
	agentdesktest.Step(t, tab, "close the panel", chromedp.Click(chromedp.JSPath(panelCloser)))
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		t.Fatal("closing the panel did not end the call")
	}
	wait(t, "the call's slot given back", func() bool { return r.h.Active() == 0 })

	agentdesktest.Step(t, tab, "open a site that is not allowed", chromedp.Navigate(other.URL))
	agentdesktest.Poll(t, tab, "the button", callButton)
	agentdesktest.Step(t, tab, "press the button", chromedp.Click(chromedp.JSPath(callButton)))
	agentdesktest.Poll(t, tab, "the panel", panelFrame)
	wait(t, "the frame refused", func() bool { return strings.HasPrefix(frameURL(t, tab), "chrome-error:") })
}

// frameURL is the URL of the page's first child frame once it has loaded one ("" before).
func frameURL(t *testing.T, tab context.Context) string {
	t.Helper()
	var url string
	wait(t, "a frame", func() bool {
		tree, err := chromedp.Call(tab, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		if len(tree.FrameTree.ChildFrames) == 0 {
			return false
		}
		url = tree.FrameTree.ChildFrames[0].Frame.URL
		return url != "" && url != "about:blank"
	})
	return url
}
