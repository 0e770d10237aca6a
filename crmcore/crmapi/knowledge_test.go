package crmapi

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"switchboard/crmcore"
	"switchboard/crmcore/pgstore"
)

var _ KnowledgeStore = (*pgstore.Store)(nil)

// kbEnv is the API over the seeded database with the knowledge base and
// a clock that moves only when told to.
func kbEnv(t *testing.T, now *time.Time) *env {
	return newEnvWith(t, func(s *pgstore.Store) []Option {
		return []Option{WithKnowledge(s), WithClock(func() time.Time { return *now })}
	})
}

type hitList struct {
	Items []crmcore.ArticleHit
	Count int
}

// TestKnowledgeWithoutOption: without WithKnowledge every knowledge
// endpoint is not found, the public ones included.
func TestKnowledgeWithoutOption(t *testing.T) {
	e := newEnv(t)
	tok := e.login("sam", "demo")
	for _, c := range []struct{ method, path, tok string }{
		{"GET", "/api/v1/knowledge/search?q=password", tok},
		{"GET", "/api/v1/knowledge/articles", tok},
		{"POST", "/api/v1/knowledge/articles", tok},
		{"GET", "/api/v1/public/knowledge/search?q=password", ""},
		{"GET", "/api/v1/public/knowledge/articles/" + crmcore.NewID(), ""},
	} {
		var body any
		if c.method == "POST" {
			body = crmcore.ArticleInput{Title: "T", BodyMarkdown: "B"}
		}
		if r := e.do(c.method, c.path, c.tok, body); r.Code != 404 {
			t.Errorf("%s %s: %d, want 404", c.method, c.path, r.Code)
		}
	}
}

// TestKnowledgeArticles: agents search, read (with sanitized HTML) and
// record uses; only supervisors and admins write; bad input is 400.
func TestKnowledgeArticles(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	e := kbEnv(t, &now)
	agent, sup := e.login("alice", "demo"), e.login("sam", "demo")

	if r := e.do("GET", "/api/v1/knowledge/search?q=password", "", nil); r.Code != 401 {
		t.Errorf("search without a token: %d, want 401", r.Code)
	}
	var hits hitList
	e.do("GET", "/api/v1/knowledge/search?q=reset+password&lang=en", agent, nil).json(t, &hits)
	if hits.Count == 0 || hits.Items[0].Title != "Reset a customer's password" || len(hits.Items[0].Excerpt) == 0 {
		t.Fatalf("search = %+v", hits)
	}
	e.do("GET", "/api/v1/knowledge/suggest?q=billing+queue", agent, nil).json(t, &hits)
	if hits.Count == 0 || hits.Items[0].Category != "billing" {
		t.Errorf("suggest = %+v", hits)
	}

	in := crmcore.ArticleInput{Title: "Porting a number", Category: "Telephony", Visibility: crmcore.VisibilityAgents,
		BodyMarkdown: "See [the form](https://example.com/port).\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))"}
	if r := e.do("POST", "/api/v1/knowledge/articles", agent, in); r.Code != 403 {
		t.Errorf("agent creating an article: %d, want 403", r.Code)
	}
	var a articleWithHTML
	r := e.do("POST", "/api/v1/knowledge/articles", sup, in)
	if r.Code != 201 {
		t.Fatalf("create: %d %s", r.Code, r.Body)
	}
	r.json(t, &a)
	e.do("GET", "/api/v1/knowledge/articles/"+a.ID, agent, nil).json(t, &a)
	if a.Category != "telephony" || a.AuthorName != "Sam Supervisor" || strings.Contains(a.HTML, "<script") ||
		strings.Contains(a.HTML, "javascript:") ||
		!strings.Contains(a.HTML, `<a href="https://example.com/port" rel="nofollow noopener" target="_blank">the form</a>`) {
		t.Errorf("article = %+v", a)
	}

	in.Title = "Porting a phone number"
	if r := e.do("PUT", "/api/v1/knowledge/articles/"+a.ID, agent, in); r.Code != 403 {
		t.Errorf("agent updating: %d, want 403", r.Code)
	}
	if r := e.do("PUT", "/api/v1/knowledge/articles/"+a.ID, sup, in); r.Code != 200 {
		t.Errorf("update: %d %s", r.Code, r.Body)
	}
	if r := e.do("PUT", "/api/v1/knowledge/articles/"+crmcore.NewID(), sup, in); r.Code != 404 {
		t.Errorf("update of a missing article: %d, want 404", r.Code)
	}

	for _, u := range []struct {
		body any
		want int
	}{
		{map[string]any{"kind": "viewed"}, 204},
		{map[string]any{"kind": "linked", "ticket_number": 1042}, 204},
		{map[string]any{"kind": "sent", "interaction_id": crmcore.NewID()}, 204},
		{map[string]any{"kind": "linked"}, 400},
		{map[string]any{"kind": "linked", "ticket_number": 99999}, 400},
		{map[string]any{"kind": "printed", "ticket_number": 1042}, 400},
		{map[string]any{"kind": "viewed", "extra": 1}, 400},
	} {
		if r := e.do("POST", "/api/v1/knowledge/articles/"+a.ID+"/uses", agent, u.body); r.Code != u.want {
			t.Errorf("use %v: %d %s, want %d", u.body, r.Code, r.Body, u.want)
		}
	}
	if r := e.do("POST", "/api/v1/knowledge/articles/"+crmcore.NewID()+"/uses", agent, map[string]any{"kind": "viewed"}); r.Code != 404 {
		t.Errorf("use of a missing article: %d, want 404", r.Code)
	}
	e.do("GET", "/api/v1/knowledge/articles/"+a.ID, agent, nil).json(t, &a)
	if a.Views != 1 || a.Uses != 2 {
		t.Errorf("counts = %d views, %d uses; want 1, 2", a.Views, a.Uses)
	}
	if r := e.do("GET", "/api/v1/knowledge/articles/"+a.ID+"/uses", agent, nil); r.Code != 403 {
		t.Errorf("agent reading uses: %d, want 403", r.Code)
	}
	var uses struct{ Count int }
	if e.do("GET", "/api/v1/knowledge/articles/"+a.ID+"/uses", sup, nil).json(t, &uses); uses.Count != 3 {
		t.Errorf("uses = %d, want 3", uses.Count)
	}

	var cats struct{ Items []string }
	if e.do("GET", "/api/v1/knowledge/categories", agent, nil).json(t, &cats); !strings.Contains(strings.Join(cats.Items, ","), "telephony") {
		t.Errorf("categories = %v", cats.Items)
	}
	if r := e.do("DELETE", "/api/v1/knowledge/articles/"+a.ID, agent, nil); r.Code != 403 {
		t.Errorf("agent deleting: %d, want 403", r.Code)
	}
	if r := e.do("DELETE", "/api/v1/knowledge/articles/"+a.ID, sup, nil); r.Code != 204 {
		t.Errorf("delete: %d", r.Code)
	}
	if r := e.do("GET", "/api/v1/knowledge/articles/"+a.ID, agent, nil); r.Code != 404 {
		t.Errorf("deleted article: %d, want 404", r.Code)
	}
}

// TestKnowledgeBadInput: every malformed request is a 400 naming the field.
func TestKnowledgeBadInput(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	e := kbEnv(t, &now)
	sup := e.login("sam", "demo")
	for _, c := range []struct{ path, field string }{
		{"/api/v1/knowledge/search", "q"},
		{"/api/v1/knowledge/search?q=" + strings.Repeat("x", crmcore.MaxSearchQuery+1), "q"},
		{"/api/v1/knowledge/search?q=a%00b", "q"},
		{"/api/v1/knowledge/search?q=%ff", "q"},
		{"/api/v1/knowledge/search?q=a&lang=english!", "lang"},
		{"/api/v1/knowledge/search?q=a&limit=0", "limit"},
		{"/api/v1/knowledge/search?q=a&limit=51", "limit"},
		{"/api/v1/knowledge/suggest?q=", "q"},
		{"/api/v1/knowledge/articles?limit=x", "limit"},
		{"/api/v1/public/knowledge/search?q=" + strings.Repeat("x", maxPublicQuery+1), "q"},
		{"/api/v1/public/knowledge/search?q=a&limit=11", "limit"},
	} {
		r := e.do("GET", c.path, sup, nil)
		var body struct{ Error apiError }
		if r.Code != 400 {
			t.Errorf("GET %s: %d, want 400", c.path, r.Code)
			continue
		}
		if r.json(t, &body); body.Error.Field != c.field {
			t.Errorf("GET %s: field %q, want %q", c.path, body.Error.Field, c.field)
		}
	}
	for _, c := range []struct {
		body  any
		field string
	}{
		{crmcore.ArticleInput{BodyMarkdown: "B"}, "title"},
		{crmcore.ArticleInput{Title: "T", BodyMarkdown: " "}, "body_markdown"},
		{crmcore.ArticleInput{Title: "T", BodyMarkdown: "B", Category: strings.Repeat("c", crmcore.MaxCategoryLen+1)}, "category"},
		{crmcore.ArticleInput{Title: "T", BodyMarkdown: "B", Language: "x"}, "language"},
		{crmcore.ArticleInput{Title: "T", BodyMarkdown: "B", Visibility: "world"}, "visibility"},
		{map[string]any{"title": "T", "body_markdown": "B", "author": "me"}, "author"},
	} {
		r := e.do("POST", "/api/v1/knowledge/articles", sup, c.body)
		var body struct{ Error apiError }
		if r.Code != 400 {
			t.Errorf("POST %v: %d, want 400", c.body, r.Code)
			continue
		}
		if r.json(t, &body); body.Error.Field != c.field {
			t.Errorf("POST: field %q, want %q", body.Error.Field, c.field)
		}
	}
	if r := e.do("POST", "/api/v1/knowledge/articles", sup, []byte(`{"title":`)); r.Code != 400 {
		t.Errorf("malformed JSON: %d, want 400", r.Code)
	}
}

// TestPublicKnowledge: the unauthenticated search finds only public
// articles, hides the internal counts, serves public articles only, and
// refuses a client past its budget while another is still served.
func TestPublicKnowledge(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	e := kbEnv(t, &now)
	var hits hitList
	e.do("GET", "/api/v1/public/knowledge/search?q=password", "", nil).json(t, &hits)
	if hits.Count != 1 || hits.Items[0].Title != "Reset a customer's password" || hits.Items[0].Visibility != crmcore.VisibilityPublic {
		t.Fatalf("public search = %+v", hits)
	}
	e.do("GET", "/api/v1/knowledge/search?q=password", e.login("alice", "demo"), nil).json(t, &hits)
	agentsOnly := ""
	for _, h := range hits.Items {
		if h.Visibility == crmcore.VisibilityAgents {
			agentsOnly = h.ID
		}
	}
	if agentsOnly == "" {
		t.Fatalf("agents' search found no agents-only article: %+v", hits)
	}
	public := hits.Items[0].ID
	var pa publicArticleView
	if r := e.do("GET", "/api/v1/public/knowledge/articles/"+public, "", nil); r.Code != 200 {
		t.Fatalf("public article: %d", r.Code)
	} else if r.json(t, &pa); !strings.Contains(pa.HTML, "<strong>Sign in</strong>") || strings.Contains(string(r.Body), "views") {
		t.Errorf("public article = %s", r.Body)
	}
	if r := e.do("GET", "/api/v1/public/knowledge/articles/"+agentsOnly, "", nil); r.Code != 404 {
		t.Errorf("agents-only article in public: %d, want 404", r.Code)
	}

	// The clock stands still: no token comes back during the loop.
	get := func(addr string) int {
		req := httptest.NewRequest("GET", "/api/v1/public/knowledge/search?q=shipping", nil)
		req.RemoteAddr = addr
		rr := httptest.NewRecorder()
		e.h.ServeHTTP(rr, req)
		return rr.Code
	}
	for i := range publicSearchBurst {
		if c := get("198.51.100.7:4000"); c != 200 {
			t.Fatalf("request %d: %d, want 200", i, c)
		}
	}
	if c := get("198.51.100.7:4001"); c != 429 {
		t.Errorf("past the burst: %d, want 429", c)
	}
	if c := get("[2001:db8:1:2::9]:4000"); c != 200 {
		t.Errorf("another client: %d, want 200", c)
	}
	now = now.Add(2 * time.Second)
	if c := get("198.51.100.7:4002"); c != 200 {
		t.Errorf("after the refill: %d, want 200", c)
	}
}
