package agentdesk_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/agentdesk"
	"switchboard/agentdesk/agentdesktest"
)

// The desk as an agent sees it across two calls: the screen pop's VIP
// badge follows the contact's own segment and its IVR line is in words;
// the wrap-up form starts empty for each call; a click-to-dial with no
// route says why. The wallboard says what its Erlang figure assumes.
func TestBrowserDeskPopWrapUpAndDial(t *testing.T) {
	tk := fakeTickets{got: make(chan agentdesk.WrapUp, 4)}
	r := newACDRig(t, func(c *agentdesk.Config) { c.Tickets = tk; c.Grace = 5 * time.Second })
	bctx := agentdesktest.NewBrowser(t)

	wall := agentdesktest.NewTab(t, bctx)
	agentdesktest.Step(t, wall, "wallboard sign in",
		chromedp.Navigate(r.srv.URL+"/wallboard"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "sup"),
		chromedp.SendKeys(chromedp.CSS("#password"), "secret-sup"),
		chromedp.Click(chromedp.CSS("#login-form button")),
		chromedp.WaitVisible(chromedp.CSS(`article.tile[data-queue="sales"]`)))

	desk := agentdesktest.NewTab(t, bctx)
	agentdesktest.Step(t, desk, "desk sign in",
		chromedp.Navigate(r.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "a1"),
		chromedp.SendKeys(chromedp.CSS("#password"), "secret-a1"),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS("#desk")))
	agentdesktest.Step(t, desk, "go ready", chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.getElementById('presence'); s.value = 'ready'; s.dispatchEvent(new Event('change')); })()`))
	agentdesktest.Poll(t, desk, "ready", `document.getElementById('state-badge').textContent === 'ready'`)

	call := func(id string, crm map[string]any) {
		t.Helper()
		_, err := r.eng.Enqueue(context.Background(), acd.CallRequest{ID: acd.CallID(id), Queue: "sales", ANI: "+14155550101",
			IVRPath: []string{"main_menu", "dtmf:3", "billing_menu", "dtmf:1", "speak_to_agent"},
			Vars: map[string]string{"contact.id": "0190d6f2-8c1e-7a51-b2a3-3f0e9d1c2b4a", "contact.name": "Liam Johnson",
				"ticket.number": "T-1044", "ticket.status": "open"}, Data: crm}, acdtest.NewLeg(id))
		if err != nil {
			t.Fatal(err)
		}
	}
	answerAndHangUp := func() {
		t.Helper()
		agentdesktest.Step(t, desk, "answer", chromedp.Click(chromedp.CSS("#btn-answer")))
		agentdesktest.Poll(t, desk, "talking", `document.getElementById('call-status').textContent.startsWith('Talking')`)
		agentdesktest.Step(t, desk, "hang up", chromedp.Click(chromedp.CSS("#btn-hangup")))
		agentdesktest.Poll(t, desk, "wrap-up form", `!document.getElementById('wrapup').hidden`)
	}

	// A standard contact of a VIP account: no VIP badge.
	call("pop-1", map[string]any{
		"contact": map[string]any{"id": "ct-1", "name": "Liam Johnson", "segment": "standard"},
		"account": map[string]any{"id": "ac-1", "name": "Acme Corp", "segment": "vip"},
		"segment": "vip",
	})
	agentdesktest.Poll(t, desk, "pop of a standard contact in a VIP account",
		`document.getElementById('cust-name').textContent === 'Liam Johnson' && document.getElementById('vip-badge').hidden`)
	agentdesktest.Poll(t, desk, "IVR line in words",
		`document.getElementById('pop-ivr').textContent === 'Chose: Billing → Speak to agent; Caller identified: Liam Johnson; Ticket T-1044 (open)'`)
	answerAndHangUp()
	agentdesktest.Step(t, desk, "wrap up with a new ticket",
		chromedp.Evaluate[chromedp.Void](`(() => {
			document.getElementById('disposition').value = 'callback';
			const r = document.querySelector('input[name=ticket-mode][value=create]');
			r.checked = true; r.dispatchEvent(new Event('change'));
		})()`),
		chromedp.SendKeys(chromedp.CSS("#ticket-subject"), "Router keeps dropping"),
		chromedp.SendKeys(chromedp.CSS("#notes"), "call back Tuesday"),
		chromedp.Click(chromedp.CSS("#wrap-submit")))
	select {
	case w := <-tk.got:
		if w.CallID != "pop-1" || w.CreateTicket == nil || w.CreateTicket.Subject != "Router keeps dropping" {
			t.Fatalf("ticket request = %+v", w)
		}
	case <-time.After(waitLimit):
		t.Fatal("no ticket request")
	}
	agentdesktest.Poll(t, desk, "wrap-up done", `document.getElementById('wrapup').hidden`)

	// A VIP contact (no account): the badge shows. The wrap-up form is empty.
	call("pop-2", map[string]any{"contact": map[string]any{"id": "ct-2", "name": "Olivia Smith", "segment": "vip"}})
	agentdesktest.Poll(t, desk, "pop of a VIP contact",
		`document.getElementById('cust-name').textContent === 'Olivia Smith' && !document.getElementById('vip-badge').hidden`)
	answerAndHangUp()
	agentdesktest.Poll(t, desk, "empty wrap-up form for the new call", `document.getElementById('disposition').value === '' &&
		document.getElementById('ticket-subject').value === '' && document.getElementById('notes').value === '' &&
		document.querySelector('input[name=ticket-mode]:checked').value === 'none' && document.getElementById('ticket-create').hidden`)
	agentdesktest.Step(t, desk, "wrap up",
		chromedp.Evaluate[chromedp.Void](`(() => { document.getElementById('disposition').value = 'resolved'; })()`),
		chromedp.Click(chromedp.CSS("#wrap-submit")))
	agentdesktest.Poll(t, desk, "idle again", `document.getElementById('wrapup').hidden && document.getElementById('state-badge').textContent === 'ready'`)

	// Click-to-dial with no route: the desk says why; the agent stays ready.
	r.phone.Unroutable.Store(true)
	agentdesktest.Step(t, desk, "dial",
		chromedp.SendKeys(chromedp.CSS("#dial-number"), "+14155550123"),
		chromedp.Click(chromedp.CSS("#dial-form button")))
	agentdesktest.Poll(t, desk, "dial failure shown", `!document.getElementById('toast').hidden &&
		document.getElementById('toast').textContent.includes('no route') && document.getElementById('state-badge').textContent === 'ready'`)

	agentdesktest.Poll(t, wall, "Erlang assumptions shown", `(document.querySelector('article.tile[data-queue="sales"] .erlang-basis')?.textContent || '')
		.match(/^Erlang C assumes 2 calls\/5 min, AHT \d+s, target 80 % in 20 s$/)`)
}
