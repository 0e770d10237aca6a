package pgstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"switchboard/crmcore"
)

// newArticle stores an article or fails the test.
func newArticle(t testing.TB, s *Store, in crmcore.ArticleInput) crmcore.Article {
	t.Helper()
	a, err := crmcore.NewArticle(in, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if a, err = s.CreateArticle(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// hitIDs returns the ids of hits in order.
func hitIDs(hs []crmcore.ArticleHit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

// titles returns the titles of hits in order.
func titles(hs []crmcore.ArticleHit) string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Title
	}
	return strings.Join(out, " | ")
}

// TestArticleCRUD stores, reads, updates and deletes an article.
func TestArticleCRUD(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	a := newArticle(t, s, crmcore.ArticleInput{Title: "Shipping times", BodyMarkdown: "Three days.", Category: "shipping",
		Tags: []string{"delivery"}})
	got, err := s.GetArticle(ctx, a.ID)
	if err != nil || got.Title != "Shipping times" || got.Category != "shipping" || got.Language != "en" || len(got.Tags) != 1 {
		t.Fatalf("get = %+v, %v", got, err)
	}
	upd, err := crmcore.NewArticle(crmcore.ArticleInput{Title: "Lieferzeiten", BodyMarkdown: "Drei Tage.", Category: "versand",
		Language: "de", Visibility: crmcore.VisibilityPublic}, "", time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got, err = s.UpdateArticle(ctx, a.ID, upd); err != nil || got.Title != "Lieferzeiten" || got.Language != "de" ||
		!got.CreatedAt.Equal(a.CreatedAt) || !got.UpdatedAt.After(a.UpdatedAt) {
		t.Fatalf("update = %+v, %v", got, err)
	}
	if cats, err := s.KnowledgeCategories(ctx); err != nil || strings.Join(cats, ",") != "shipping,versand" {
		t.Errorf("categories = %v, %v", cats, err)
	}
	if hs, _ := s.SearchArticles(ctx, "Tage", "de", crmcore.VisibilityPublic, 10); len(hs) != 1 {
		t.Errorf("search after the update = %v", titles(hs))
	}
	if err := s.DeleteArticle(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{s.DeleteArticle(ctx, a.ID), func() error { _, err := s.GetArticle(ctx, a.ID); return err }(),
		func() error { _, err := s.UpdateArticle(ctx, a.ID, upd); return err }(), func() error { _, err := s.GetArticle(ctx, "x"); return err }()} {
		if !errors.Is(err, crmcore.ErrNotFound) {
			t.Errorf("after delete: %v, want not found", err)
		}
	}
}

// TestArticleSearch checks ranking (a title match above a body match),
// stemming in the article's own language, visibility, the language
// filter, web-search syntax and the highlighted excerpt.
func TestArticleSearch(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	title := newArticle(t, s, crmcore.ArticleInput{Title: "Resetting passwords", BodyMarkdown: "Use the sign-in page.",
		Visibility: crmcore.VisibilityPublic})
	body := newArticle(t, s, crmcore.ArticleInput{Title: "Account security",
		BodyMarkdown: "Locked accounts need a password reset after ten failed logins."})
	de := newArticle(t, s, crmcore.ArticleInput{Title: "Kennwort", Language: "de", Visibility: crmcore.VisibilityPublic,
		BodyMarkdown: "Die Häuser der Kunden werden nicht besucht."})
	pt := newArticle(t, s, crmcore.ArticleInput{Title: "Senha", Language: "pt-br", BodyMarkdown: "Redefinir a senha agora."})
	newArticle(t, s, crmcore.ArticleInput{Title: "Shipping", BodyMarkdown: "Parcels travel for days."})

	for _, tc := range []struct {
		name, q, lang string
		aud           crmcore.Visibility
		want          []string
	}{
		{"title above body, stemmed", "reset password", "", crmcore.VisibilityAgents, []string{title.ID, body.ID}},
		{"public only", "reset password", "", crmcore.VisibilityPublic, []string{title.ID}},
		{"english stemming", "passwords resets", "en", crmcore.VisibilityAgents, []string{title.ID, body.ID}},
		{"german stemming", "Haus", "de", crmcore.VisibilityAgents, []string{de.ID}},
		{"german without a language", "Haus", "", crmcore.VisibilityAgents, []string{de.ID}},
		{"english config does not stem german", "Haus", "en", crmcore.VisibilityAgents, []string{}},
		{"simple config for portuguese", "senha", "pt", crmcore.VisibilityAgents, []string{pt.ID}},
		{"exclusion", "password -locked", "", crmcore.VisibilityAgents, []string{title.ID}},
		{"phrase", `"failed logins"`, "", crmcore.VisibilityAgents, []string{body.ID}},
		{"stop words only", "the of", "", crmcore.VisibilityAgents, []string{}},
		{"empty", "  ", "", crmcore.VisibilityAgents, []string{}},
		{"operators only", `- " or`, "", crmcore.VisibilityAgents, []string{}},
		{"negation only", "-shipping", "", crmcore.VisibilityAgents, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs, err := s.SearchArticles(ctx, tc.q, tc.lang, tc.aud, 10)
			if err != nil {
				t.Fatal(err)
			}
			if got := hitIDs(hs); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("search %q = %s", tc.q, titles(hs))
			}
		})
	}

	hs, err := s.SearchArticles(ctx, "reset", "en", crmcore.VisibilityAgents, 10)
	if err != nil || len(hs) != 2 {
		t.Fatalf("search = %v, %v", titles(hs), err)
	}
	var marked []string
	var text string
	for _, sp := range hs[1].Excerpt {
		text += sp.Text
		if sp.Hit {
			marked = append(marked, sp.Text)
		}
	}
	if strings.Join(marked, ",") != "reset" || text != "Locked accounts need a password reset after ten failed logins" ||
		hs[1].Rank <= 0 || hs[0].Rank <= hs[1].Rank {
		t.Errorf("excerpt = %+v (text %q), ranks %v, %v", hs[1].Excerpt, text, hs[0].Rank, hs[1].Rank)
	}
}

// TestArticleSearchAcrossLanguages ranks the articles of every language
// together when no language is given: a title match in German comes
// before body matches in English and in Portuguese (a language without
// its own configuration), which tie and come newest first.
func TestArticleSearchAcrossLanguages(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	en := newArticle(t, s, crmcore.ArticleInput{Title: "Animals", BodyMarkdown: "The zebra has stripes."})
	de := newArticle(t, s, crmcore.ArticleInput{Title: "Zebra", Language: "de", BodyMarkdown: "Ein Tier mit Streifen."})
	pt := newArticle(t, s, crmcore.ArticleInput{Title: "Animais", Language: "pt", BodyMarkdown: "Uma zebra listrada."})
	hs, err := s.SearchArticles(ctx, "zebra", "", crmcore.VisibilityAgents, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(hitIDs(hs), ","), de.ID+","+pt.ID+","+en.ID; got != want {
		t.Errorf("search = %s, want the German title match, then the body matches, newest first", titles(hs))
	}
}

// bulkArticles inserts n articles of body, updated at, in this order, at
// and then every minute earlier.
func bulkArticles(t *testing.T, s *Store, n int, body string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, `insert into knowledge_categories (name) values ('general') on conflict do nothing`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `insert into knowledge_articles (id, title, body, category, language, config, visibility,
		created_at, updated_at) select gen_random_uuid(), 'Filler ' || i, $1, 'general', 'en', 'english', 'agents',
		$2::timestamptz - i * interval '1 minute', $2::timestamptz - i * interval '1 minute' from generate_series(0, $3 - 1) i`,
		body, at, n); err != nil {
		t.Fatal(err)
	}
}

// TestArticleSearchRankingBound: a query matching at most maxRanked
// articles is ranked in full, so its best match is found however old;
// one matching more is ranked among its newest matches, whatever order
// the rows are stored in.
func TestArticleSearchRankingBound(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	t.Run("full", func(t *testing.T) {
		s := New(newPool(t))
		bulkArticles(t, s, maxRanked-1, "A walrus was seen.", now)
		old := newArticle(t, s, crmcore.ArticleInput{Title: "Walrus", BodyMarkdown: "Walrus facts."})
		if _, err := s.pool.Exec(ctx, `update knowledge_articles set updated_at = $2 where id = $1`, old.ID,
			now.Add(-time.Duration(maxRanked)*time.Hour)); err != nil {
			t.Fatal(err)
		}
		hs, err := s.SearchArticles(ctx, "walrus", "", crmcore.VisibilityAgents, 3)
		if err != nil || len(hs) != 3 || hs[0].ID != old.ID {
			t.Errorf("search = %s, %v; want %q first", titles(hs), err, old.Title)
		}
	})
	t.Run("newest", func(t *testing.T) {
		s := New(newPool(t))
		bulkArticles(t, s, maxRanked+50, "A walrus was seen.", now.Add(-time.Hour))
		bulkArticles(t, s, 1, "Walrus walrus walrus, more than the others.", now.Add(-100*24*time.Hour))
		newest := newArticle(t, s, crmcore.ArticleInput{Title: "Walrus", BodyMarkdown: "Walrus facts."})
		hs, err := s.SearchArticles(ctx, "walrus", "en", crmcore.VisibilityAgents, 3)
		if err != nil || len(hs) != 3 || hs[0].ID != newest.ID || hs[1].Rank != hs[2].Rank {
			t.Errorf("search = %s, %v; want %q first, then two equal body matches", titles(hs), err, newest.Title)
		}
	})
}

// TestArticleSearchIndexes: every text search configuration an article
// can be indexed under has its own partial GIN index, which the search
// of that configuration reads.
func TestArticleSearchIndexes(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	for _, cfg := range crmcore.TextSearchConfigs() {
		var n int
		err := pool.QueryRow(ctx, `select count(*) from pg_indexes where tablename = 'knowledge_articles'
			and indexdef like '% USING gin (tsv) WHERE %config%' || quote_literal($1) || '::regconfig%'`, cfg).Scan(&n)
		if err != nil || n != 1 {
			t.Errorf("config %s: %d partial GIN indexes, %v; want 1", cfg, n, err)
		}
	}
}

// TestArticleExcerptCannotForgeHits: the excerpt markers in an article's
// own text are dropped, so only the query's words are marked.
func TestArticleExcerptCannotForgeHits(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	newArticle(t, s, crmcore.ArticleInput{Title: "Refunds", BodyMarkdown: "A " + hitStart + "forged" + hitStop + " refund."})
	hs, err := s.SearchArticles(ctx, "refund", "", crmcore.VisibilityAgents, 10)
	if err != nil || len(hs) != 1 {
		t.Fatalf("search = %v, %v", titles(hs), err)
	}
	for _, sp := range hs[0].Excerpt {
		if sp.Hit != (sp.Text == "refund") || strings.ContainsAny(sp.Text, hitStart+hitStop) {
			t.Errorf("excerpt = %+v", hs[0].Excerpt)
		}
	}
}

func TestHitSpans(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"plain", "plain"},
		{"a " + hitStart + "b" + hitStop + " c", "a |[b]| c"},
		{hitStart + "b" + hitStop, "[b]"},
		{"a " + hitStart + "unclosed", "a |[unclosed]"},
		{"", ""},
	} {
		var parts []string
		for _, sp := range hitSpans(tc.in) {
			if sp.Hit {
				parts = append(parts, "["+sp.Text+"]")
			} else {
				parts = append(parts, sp.Text)
			}
		}
		if got := strings.Join(parts, "|"); got != tc.want {
			t.Errorf("hitSpans(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestArticleSuggest finds articles from the words of what a task
// brings (queue, IVR choices, ticket subject), any of them matching.
func TestArticleSuggest(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	billing := newArticle(t, s, crmcore.ArticleInput{Title: "How the billing cycle works", BodyMarkdown: "Invoices on the 1st."})
	refund := newArticle(t, s, crmcore.ArticleInput{Title: "Refund a double charge", BodyMarkdown: "Refund the later payment."})
	newArticle(t, s, crmcore.ArticleInput{Title: "Shipping times", BodyMarkdown: "Three days."})
	hs, err := s.SuggestArticles(ctx, "queue: billing / IVR: 2-refunds / Subject: \"Refund for double charge\"", "en", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(hitIDs(hs), ","); got != refund.ID+","+billing.ID {
		t.Errorf("suggest = %s", titles(hs))
	}
	if hs, err := s.SuggestArticles(ctx, "-- !!", "", 10); err != nil || len(hs) != 0 {
		t.Errorf("suggest from no words = %v, %v", titles(hs), err)
	}
}

// TestArticleUses records links, sends and views, counts them on the
// article and lists them; a use of a missing ticket or article is not
// found and counts nothing.
func TestArticleUses(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if _, err := Seed(ctx, pool, WithPasswordCost(4)); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	hs, err := s.SearchArticles(ctx, "refund double charge", "en", crmcore.VisibilityAgents, 1)
	if err != nil || len(hs) != 1 {
		t.Fatalf("seeded article: %v, %v", titles(hs), err)
	}
	id := hs[0].ID
	sam, err := s.AgentByLogin(ctx, "sam")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	chat := crmcore.NewID()
	for i, u := range []crmcore.ArticleUse{
		{Kind: crmcore.UseViewed},
		{Kind: crmcore.UseLinked, TicketNumber: 1042},
		{Kind: crmcore.UseSent, InteractionID: chat},
		{Kind: crmcore.UseViewed},
	} {
		u.ArticleID, u.AgentID, u.At = id, sam.ID, at.Add(time.Duration(i)*time.Minute)
		if err := s.RecordArticleUse(ctx, u); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	if err := s.RecordArticleUse(ctx, crmcore.ArticleUse{ArticleID: crmcore.NewID(), Kind: crmcore.UseViewed}); !errors.Is(err, crmcore.ErrNotFound) {
		t.Errorf("use of a missing article: %v, want not found", err)
	}
	for _, u := range []crmcore.ArticleUse{
		{ArticleID: id, Kind: crmcore.UseLinked, TicketNumber: 99999},
		{ArticleID: id, Kind: crmcore.UseLinked},
	} {
		if err := s.RecordArticleUse(ctx, u); !errors.Is(err, crmcore.ErrInvalid) {
			t.Errorf("use %+v: %v, want invalid", u, err)
		}
	}
	a, err := s.GetArticle(ctx, id)
	if err != nil || a.Views != 2 || a.Uses != 2 || a.AuthorName != "Sam Supervisor" {
		t.Errorf("article = views %d uses %d author %q, %v; want 2, 2, Sam Supervisor", a.Views, a.Uses, a.AuthorName, err)
	}
	us, err := s.ArticleUses(ctx, id, 10)
	if err != nil || len(us) != 4 || us[0].Kind != crmcore.UseViewed || us[1].InteractionID != chat || us[2].TicketNumber != 1042 ||
		us[2].AgentID != sam.ID {
		t.Errorf("uses = %+v, %v", us, err)
	}
	if err := s.SeedKnowledge(ctx); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.ListArticles(ctx, "", crmcore.VisibilityAgents, 50); len(all) != len(demoArticles) {
		t.Errorf("seeding twice: %d articles, want %d", len(all), len(demoArticles))
	}
	if pub, _ := s.ListArticles(ctx, "billing", crmcore.VisibilityPublic, 50); len(pub) != 1 {
		t.Errorf("public billing articles = %v", titles(pub))
	}
}
