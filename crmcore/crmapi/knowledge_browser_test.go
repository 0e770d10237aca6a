package crmapi_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"switchboard/agentdesk/agentdesktest"
	"switchboard/crmcore"
	"switchboard/crmcore/crmapi"
	"switchboard/crmcore/pgstore"
)

// TestKnowledgePage: a supervisor searches the seeded knowledge base
// (the matching words marked), reads an article rendered from Markdown,
// and writes one whose Markdown tries to run script, which the page shows
// defused; an agent finds the new article, cannot write, and links it to
// a ticket, which the article counts.
func TestKnowledgePage(t *testing.T) {
	ctx := context.Background()
	srv, s := pagesServer(t, func(s *pgstore.Store) []crmapi.Option {
		return []crmapi.Option{crmapi.WithKnowledge(s)}
	})

	browser := agentdesktest.NewBrowser(t)
	sup := agentdesktest.NewTab(t, browser)
	agentdesktest.Step(t, sup, "sign in as supervisor", chromedp.Navigate(srv.URL+"/knowledge"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "sam"), chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#new-article")),
		chromedp.SendKeys(chromedp.CSS("#q"), "resetting passwords"),
		chromedp.Click(chromedp.CSS(`#search-form button[type="submit"]`)))
	agentdesktest.Poll(t, sup, "results with marked words", `(() => {
		const first = document.querySelector('#results li');
		return first && first.querySelector('button').textContent === "Reset a customer's password" &&
			[...first.querySelectorAll('mark')].some(m => m.textContent.toLowerCase().startsWith('password'));
	})()`)
	agentdesktest.Step(t, sup, "open the article", chromedp.Click(chromedp.CSS("#results li button")))
	agentdesktest.Poll(t, sup, "rendered article", `document.getElementById('article-h').textContent === "Reset a customer's password" &&
		document.querySelector('#article-body ol li strong')?.textContent === 'Sign in'`)
	screenshot(t, sup, "knowledge")

	const hostile = "Call **support** first.\n\n<img src=x onerror=\"window.pwned=1\">\n\n<script>window.pwned=2</script>\n\n" +
		"[click](javascript:window.pwned=3) and [docs](https://example.com/docs)"
	agentdesktest.Step(t, sup, "write an article", chromedp.Click(chromedp.CSS("#new-article")),
		chromedp.WaitVisible(chromedp.CSS("#ed-title")),
		chromedp.SendKeys(chromedp.CSS("#ed-title"), "Escalating a complaint"),
		chromedp.SendKeys(chromedp.CSS("#ed-category"), "support"),
		chromedp.SetValue(chromedp.CSS("#ed-body"), hostile),
		chromedp.Click(chromedp.CSS("#save-article")))
	agentdesktest.Poll(t, sup, "saved article shown defused", `(() => {
		const b = document.getElementById('article-body');
		if (document.getElementById('article-h').textContent !== 'Escalating a complaint') return false;
		return b.querySelector('strong')?.textContent === 'support' && !b.querySelector('img[onerror], script') &&
			![...b.querySelectorAll('a')].some(a => (a.getAttribute('href') || '').toLowerCase().startsWith('javascript')) &&
			b.querySelector('a[href="https://example.com/docs"]')?.rel === 'nofollow noopener' && window.pwned === undefined;
	})()`)

	agent := agentdesktest.NewTab(t, browser)
	agentdesktest.Step(t, agent, "sign in as agent", chromedp.Navigate(srv.URL+"/knowledge"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "alice"), chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), "complaint"),
		chromedp.Click(chromedp.CSS(`#search-form button[type="submit"]`)))
	// The list of recent articles drawn at sign-in starts with the new
	// article too: wait for the search's answer, which nothing older
	// replaces.
	agentdesktest.Poll(t, agent, "agent finds the new article", `document.getElementById('results-status').textContent === '1 article matches' &&
		document.querySelector('#results li button')?.textContent === 'Escalating a complaint' &&
		document.getElementById('new-article').hidden`)
	agentdesktest.Step(t, agent, "link it to T-1042", chromedp.Click(chromedp.CSS("#results li button")),
		chromedp.WaitVisible(chromedp.CSS("#link-ticket")),
		chromedp.SendKeys(chromedp.CSS("#link-ticket"), "1042"),
		chromedp.Click(chromedp.CSS(`#link-form button[type="submit"]`)))
	agentdesktest.Poll(t, agent, "linked", `document.getElementById('toast').textContent === 'Linked to T-1042.' &&
		document.getElementById('article-actions').hidden`)

	hs, err := s.SearchArticles(ctx, "complaint", "en", crmcore.VisibilityAgents, 1)
	if err != nil || len(hs) != 1 {
		t.Fatalf("search = %+v, %v", hs, err)
	}
	uses, err := s.ArticleUses(ctx, hs[0].ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	linked := 0
	for _, u := range uses {
		if u.Kind == crmcore.UseLinked && u.TicketNumber == 1042 {
			linked++
		}
	}
	if linked != 1 || hs[0].Uses != 1 {
		t.Errorf("uses = %+v, count %d; want one link to T-1042", uses, hs[0].Uses)
	}
}
