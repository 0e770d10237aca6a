package agentdesk_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/agentdesk"
	"switchboard/agentdesk/agentdesktest"
)

// The desk with a call and two chats at once: one panel per task, each
// chat with its own pop and controls, the capacity per channel in the top
// bar; a chat is completed and wrapped up in its panel while the call goes
// on. The wallboard counts tasks waiting and occupancy per channel.
func TestBrowserDeskTaskPanels(t *testing.T) {
	r, _ := newChatRig(t, func(c *agentdesk.Config) { c.Grace = 5 * time.Second })
	bctx := agentdesktest.NewBrowser(t)

	wall := agentdesktest.NewTab(t, bctx)
	agentdesktest.Step(t, wall, "open wallboard", chromedp.Navigate(r.srv.URL+"/wallboard#token=tok-sup"),
		chromedp.WaitVisible(chromedp.CSS(`article.tile[data-queue="support"]`)))

	desk := agentdesktest.NewTab(t, bctx)
	agentdesktest.Step(t, desk, "desk sign in",
		chromedp.Navigate(r.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "a1"),
		chromedp.SendKeys(chromedp.CSS("#password"), "secret-a1"),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS("#desk")))
	// The desk shows before its CTI connection is up on a busy machine.
	agentdesktest.Poll(t, desk, "CTI connected", `document.getElementById('conn').textContent === 'connected'`)
	agentdesktest.Step(t, desk, "go ready", chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.getElementById('presence'); s.value = 'ready'; s.dispatchEvent(new Event('change')); })()`))
	agentdesktest.Poll(t, desk, "capacity per channel", `document.querySelector('#capacity .cap[data-channel="chat"]')?.textContent === 'chat 0/3' &&
		document.querySelector('#capacity .cap[data-channel="voice"]')?.textContent === 'voice 0/1'`)

	r.submitChat(t, "chat-1")
	r.submitChat(t, "chat-2")
	agentdesktest.Poll(t, desk, "two chat offers, each with its pop", `document.querySelectorAll('#task-panels article[data-channel="chat"][data-state="offered"]').length === 2 &&
		document.querySelector('#task-panels article[data-task="chat-1"] .task-title')?.textContent === 'Chatty Cathy' &&
		document.querySelector('#task-panels article[data-task="chat-2"] .badge.vip') !== null`)
	for _, id := range []string{"chat-1", "chat-2"} {
		agentdesktest.Step(t, desk, "accept "+id, chromedp.Click(chromedp.CSS(`#task-panels article[data-task="`+id+`"] button.t-accept`)))
		agentdesktest.Poll(t, desk, id+" active", `document.querySelector('#task-panels article[data-task="`+id+`"]')?.dataset.state === 'active'`)
	}

	r.enqueue(t, "call-1", "sales", testCRM)
	agentdesktest.Poll(t, desk, "call offered beside the chats", `document.querySelector('#task-panels article[data-call="call-1"]')?.dataset.state === 'offered'`)
	agentdesktest.Step(t, desk, "answer", chromedp.Click(chromedp.CSS("#btn-answer")))
	agentdesktest.Poll(t, desk, "a call and two chats on the desk", `document.getElementById('call-status').textContent.startsWith('Talking') &&
		document.querySelector('#task-panels article[data-call="call-1"]')?.dataset.state === 'talking' &&
		document.querySelectorAll('#task-panels article[data-channel="chat"][data-state="active"]').length === 2 &&
		document.querySelector('#capacity .cap[data-channel="chat"]')?.textContent === 'chat 2/3' &&
		document.querySelector('#capacity .cap[data-channel="voice"]')?.textContent === 'voice 1/1'`)
	screenshot(t, desk, outDir(t), "desktop-tasks.png")

	// While on the call nothing else is offered: a third chat waits, and
	// the wallboard counts it and the occupancy per channel.
	r.submitChat(t, "chat-3")
	agentdesktest.Poll(t, wall, "chat waiting and occupancy", `document.querySelector('article.tile[data-channel="chat"] .c-waiting .v')?.textContent === '1' &&
		document.querySelector('article.tile[data-channel="chat"] .c-occupancy .v')?.textContent === '67%' &&
		document.querySelector('article.tile[data-channel="voice"] .c-occupancy .v')?.textContent === '100%' &&
		document.querySelector('#waiting tr[data-call="chat-3"] td.channel')?.textContent === 'chat'`)
	screenshot(t, wall, outDir(t), "wallboard-channels.png")

	// chat-1 is completed and wrapped up in its own panel.
	agentdesktest.Step(t, desk, "complete chat-1", chromedp.Click(chromedp.CSS(`#task-panels article[data-task="chat-1"] button.t-complete`)))
	agentdesktest.Poll(t, desk, "chat-1 wrap-up form", `document.querySelector('#task-panels article[data-task="chat-1"]')?.dataset.state === 'wrap-up'`)
	agentdesktest.Step(t, desk, "wrap up chat-1",
		chromedp.Evaluate[chromedp.Void](`(() => { document.querySelector('#task-panels article[data-task="chat-1"] form.t-wrap select').value = 'resolved'; })()`),
		chromedp.Click(chromedp.CSS(`#task-panels article[data-task="chat-1"] form.t-wrap button`)))
	agentdesktest.Poll(t, desk, "chat-1 gone, the call and chat-2 stay", `document.querySelector('#task-panels article[data-task="chat-1"]') === null &&
		document.querySelectorAll('#task-panels article').length === 2 &&
		document.querySelector('#capacity .cap[data-channel="chat"]')?.textContent === 'chat 1/3'`)
}
