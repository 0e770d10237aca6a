package agentdesk_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/agentdesk"
)

func TestZZProbe(t *testing.T) {
	phones := newPionPhones()
	t.Cleanup(phones.Close)
	r := newACDRig(t, func(c *agentdesk.Config) {
		c.Softphones = phones
	})
	bctx := newBrowser(t)
	wall, cw := chromedp.NewContext(bctx)
	defer cw()
	if err := chromedp.Do(wall, chromedp.Navigate(r.srv.URL+"/wallboard?token=tok-sup")); err != nil {
		t.Fatal(err)
	}
	ctx, cd := chromedp.NewContext(bctx)
	defer cd()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(c, chromedp.Navigate(r.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "a1"),
		chromedp.SendKeys(chromedp.CSS("#password"), "secret-a1"),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS("#desk")))
	t.Logf("login %v", err)
	for i := 0; i < 10; i++ {
		c2, cancel2 := context.WithTimeout(ctx, 2*time.Second)
		v, err := chromedp.Run(c2, chromedp.Evaluate[string](`document.getElementById('sp-state').textContent + ' ' + document.getElementById('toast').textContent`))
		cancel2()
		t.Logf("eval %q %v", v, err)
		time.Sleep(500 * time.Millisecond)
	}
	c3, cancel3 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel3()
	_, err = chromedp.Run(c3, chromedp.Poll[chromedp.Void](`document.getElementById('sp-state').textContent === 'connected'`, chromedp.WithPollingInterval(50*time.Millisecond)))
	t.Logf("poll %v", err)
}
