package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

// Excerpt markers: ts_headline wraps the matching words in them and
// hitSpans splits on them. They are private-use characters, removed from
// the body before it is highlighted, so an article cannot forge a hit.
const (
	hitStart = "\uE000"
	hitStop  = "\uE001"
)

// headlineOptions shapes the excerpt: a few fragments of a sentence or so.
const headlineOptions = `StartSel="` + hitStart + `", StopSel="` + hitStop + `", MaxWords=30, MinWords=12, ` +
	`MaxFragments=2, FragmentDelimiter=" … "`

// Search result limits.
const (
	defaultSearchLimit = 10
	maxSearchLimit     = 50
)

const articleCols = `a.id::text, a.title, a.body, a.category, a.language, a.visibility, a.tags,
	coalesce(a.author_id::text, ''), coalesce(ag.name, ''), a.created_at, a.updated_at, a.views, a.uses`

func scanArticle(row pgx.Row) (crmcore.Article, error) {
	var a crmcore.Article
	var vis string
	err := row.Scan(&a.ID, &a.Title, &a.BodyMarkdown, &a.Category, &a.Language, &vis, &a.Tags, &a.Author, &a.AuthorName,
		&a.CreatedAt, &a.UpdatedAt, &a.Views, &a.Uses)
	a.Visibility = crmcore.Visibility(vis)
	return a, err
}

// CreateArticle stores an article built by crmcore.NewArticle under a
// fresh id; its category is created when new.
func (s *Store) CreateArticle(ctx context.Context, a crmcore.Article) (crmcore.Article, error) {
	a.ID = crmcore.NewID()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := ensureCategory(ctx, tx, a.Category); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into knowledge_articles (id, title, body, category, language, config, visibility, tags,
			author_id, created_at, updated_at) values ($1,$2,$3,$4,$5,$6::regconfig,$7,$8,nullif($9,'')::uuid,$10,$11)`,
			a.ID, a.Title, a.BodyMarkdown, a.Category, a.Language, crmcore.TextSearchConfig(a.Language), string(a.Visibility),
			a.Tags, a.Author, a.CreatedAt.UTC(), a.UpdatedAt.UTC())
		return err
	})
	if err != nil {
		return crmcore.Article{}, mapErr("create article", err)
	}
	return s.GetArticle(ctx, a.ID)
}

func ensureCategory(ctx context.Context, tx pgx.Tx, name string) error {
	_, err := tx.Exec(ctx, `insert into knowledge_categories (name) values ($1) on conflict do nothing`, name)
	return err
}

// GetArticle returns one article.
func (s *Store) GetArticle(ctx context.Context, id string) (crmcore.Article, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Article{}, fmt.Errorf("pgstore: get article: %w", crmcore.ErrNotFound)
	}
	a, err := scanArticle(s.pool.QueryRow(ctx, `select `+articleCols+` from knowledge_articles a
		left join agents ag on ag.id = a.author_id where a.id = $1`, id))
	return a, mapErr("get article", err)
}

// UpdateArticle replaces an article's content with a's; a.Author becomes
// its author and a.UpdatedAt its update time (id, creation time and
// counters stay).
func (s *Store) UpdateArticle(ctx context.Context, id string, a crmcore.Article) (crmcore.Article, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Article{}, fmt.Errorf("pgstore: update article: %w", crmcore.ErrNotFound)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := ensureCategory(ctx, tx, a.Category); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `update knowledge_articles set title=$2, body=$3, category=$4, language=$5, config=$6::regconfig,
			visibility=$7, tags=$8, author_id=nullif($9,'')::uuid, updated_at=$10 where id=$1`,
			id, a.Title, a.BodyMarkdown, a.Category, a.Language, crmcore.TextSearchConfig(a.Language), string(a.Visibility),
			a.Tags, a.Author, a.UpdatedAt.UTC())
		if err == nil && tag.RowsAffected() == 0 {
			err = pgx.ErrNoRows
		}
		return err
	})
	if err != nil {
		return crmcore.Article{}, mapErr("update article", err)
	}
	return s.GetArticle(ctx, id)
}

// DeleteArticle deletes an article and its uses.
func (s *Store) DeleteArticle(ctx context.Context, id string) error {
	if !crmcore.ValidID(id) {
		return fmt.Errorf("pgstore: delete article: %w", crmcore.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, `delete from knowledge_articles where id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return mapErr("delete article", err)
}

// ListArticles returns the articles audience may read, most recently
// updated first, optionally of one category (at most limit, 1–50).
func (s *Store) ListArticles(ctx context.Context, category string, audience crmcore.Visibility, limit int) ([]crmcore.ArticleHit, error) {
	limit, _ = clampPage(limit, 0, defaultSearchLimit, maxSearchLimit)
	rows, _ := s.pool.Query(ctx, `select a.id::text, a.title, a.category, a.language, a.visibility, a.tags, a.updated_at,
		a.views, a.uses, 0::float8, '' from knowledge_articles a
		where a.visibility = any($1) and ($2 = '' or a.category = $2) order by a.updated_at desc, a.id limit $3`,
		audience.Readable(), category, limit)
	return collectHits(rows, "list articles")
}

// KnowledgeCategories returns the categories' names in order.
func (s *Store) KnowledgeCategories(ctx context.Context) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `select name from knowledge_categories order by name`)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, mapErr("knowledge categories", err)
}

// maxRanked bounds the articles one search ranks: the newest maxRanked
// articles that match. Ranking reads every candidate's vector, and so
// does finding the newest matches of a word found in most articles, so
// an unbounded search costs a scan of the knowledge base; a query
// matching fewer articles is ranked in full, and one matching more is
// ranked among its most recently updated matches, the ones most likely
// to be current.
const maxRanked = 200

// searchSQL returns the statement that ranks the articles matching a
// web-search query ($1) parsed in each configuration of configs, in its
// own branch: the branch reads only the articles indexed under that
// configuration (its partial GIN index), and the query is a constant
// there, so the planner sees how many articles hold its words and picks
// between the GIN index (few matches) and a walk down the newest
// articles of the configuration (many). A branch whose query has nothing
// the index can look up (only negations, only stop words) matches
// nothing rather than every article. The newest candidates of all
// branches are ranked by cover density (title words weigh more) in
// their own configuration, and only the best ones get an excerpt with
// the matching words marked.
//
// configs come from crmcore.TextSearchConfig, never from the caller,
// and are quoted anyway.
func searchSQL(configs []string) string {
	var b strings.Builder
	b.WriteString(`with cand as (
	select id, query from (`)
	for i, c := range configs {
		if i > 0 {
			b.WriteString(`
	union all `)
		}
		cfg := quoteLiteral(c) + `::regconfig`
		fmt.Fprintf(&b, `(select a.id, a.updated_at, websearch_to_tsquery(%[1]s, $1) as query from knowledge_articles a
		where querytree(websearch_to_tsquery(%[1]s, $1)) <> 'T' and a.config = %[1]s
			and a.tsv @@ websearch_to_tsquery(%[1]s, $1) and a.visibility = any($2::text[])
			and ($3 = '' or a.language = $3 or a.language like $3 || '-%%')
		order by a.updated_at desc limit $7)`, cfg)
	}
	b.WriteString(`) c order by updated_at desc limit $7
), top as (
	select a.id, a.title, a.category, a.language, a.visibility, a.tags, a.updated_at, a.views, a.uses, a.config, a.body,
		c.query, ts_rank_cd(a.tsv, c.query) as rank
	from cand c join knowledge_articles a using (id)
	order by rank desc, a.updated_at desc, a.id limit $4
)
select id::text, title, category, language, visibility, tags, updated_at, views, uses, rank::float8,
	ts_headline(config, translate(body, $5, ''), query, $6)
from top order by rank desc, updated_at desc, id`)
	return b.String()
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// SearchArticles returns the articles audience may read that match query
// (web-search syntax: words, "quoted phrases", or, -word), best first,
// at most limit (1–50, default 10). A language ("en", "de-CH") restricts
// the search to articles in it; without one every language is searched,
// each in its own configuration, and ranked together. When more than
// maxRanked articles match, the newest of them are ranked.
func (s *Store) SearchArticles(ctx context.Context, query, lang string, audience crmcore.Visibility, limit int) ([]crmcore.ArticleHit, error) {
	query = strings.TrimSpace(crmcore.CutText(query, crmcore.MaxSearchQuery))
	if query == "" {
		return []crmcore.ArticleHit{}, nil
	}
	lang = strings.ToLower(strings.TrimSpace(lang))
	configs := crmcore.TextSearchConfigs()
	if lang != "" {
		configs = []string{crmcore.TextSearchConfig(lang)}
	}
	limit, _ = clampPage(limit, 0, defaultSearchLimit, maxSearchLimit)
	// An unnamed statement is planned for its parameters every time: a
	// cached generic plan cannot know whether the words are rare or
	// common, and the right plan differs by orders of magnitude.
	rows, _ := s.pool.Query(ctx, searchSQL(configs), pgx.QueryExecModeExec, query, audience.Readable(), lang, limit,
		hitStart+hitStop, headlineOptions, maxRanked)
	return collectHits(rows, "search articles")
}

// maxSuggestWords bounds the words a suggestion searches for.
const maxSuggestWords = 12

// SuggestArticles returns the articles agents may read that match any
// word of terms (a queue name, IVR choices, a ticket subject: what is
// known when a task is offered), best first, at most limit.
func (s *Store) SuggestArticles(ctx context.Context, terms, lang string, limit int) ([]crmcore.ArticleHit, error) {
	return s.SearchArticles(ctx, crmcore.SuggestQuery(terms, maxSuggestWords), lang, crmcore.VisibilityAgents, limit)
}

func collectHits(rows pgx.Rows, op string) ([]crmcore.ArticleHit, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.ArticleHit, error) {
		var h crmcore.ArticleHit
		var vis, excerpt string
		err := r.Scan(&h.ID, &h.Title, &h.Category, &h.Language, &vis, &h.Tags, &h.UpdatedAt, &h.Views, &h.Uses, &h.Rank, &excerpt)
		h.Visibility = crmcore.Visibility(vis)
		h.Excerpt = hitSpans(excerpt)
		return h, err
	})
	if err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}

// hitSpans splits a ts_headline excerpt on its markers.
func hitSpans(s string) []crmcore.HighlightSpan {
	out := []crmcore.HighlightSpan{}
	for s != "" {
		before, rest, found := strings.Cut(s, hitStart)
		if before != "" {
			out = append(out, crmcore.HighlightSpan{Text: before})
		}
		if !found {
			break
		}
		hit, after, _ := strings.Cut(rest, hitStop)
		if hit != "" {
			out = append(out, crmcore.HighlightSpan{Text: hit, Hit: true})
		}
		s = after
	}
	return out
}

// RecordArticleUse stores one use of an article and counts it on the
// article (views, or uses for links and sends). A ticket is named by its
// number: an unknown one is a *crmcore.FieldError; an unknown article is
// crmcore.ErrNotFound.
func (s *Store) RecordArticleUse(ctx context.Context, u crmcore.ArticleUse) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if !crmcore.ValidID(u.ArticleID) {
		return fmt.Errorf("pgstore: record article use: %w", crmcore.ErrNotFound)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var ticketID *string
		if u.TicketNumber != 0 {
			var id string
			err := tx.QueryRow(ctx, `select id::text from tickets where number = $1`, u.TicketNumber).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				return &crmcore.FieldError{Field: "ticket_number", Reason: "no such ticket"}
			}
			if err != nil {
				return err
			}
			ticketID = &id
		}
		counter := "uses"
		if u.Kind == crmcore.UseViewed {
			counter = "views"
		}
		tag, err := tx.Exec(ctx, `update knowledge_articles set `+counter+` = `+counter+` + 1 where id = $1`, u.ArticleID)
		if err == nil && tag.RowsAffected() == 0 {
			err = pgx.ErrNoRows
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `insert into knowledge_article_uses (article_id, kind, ticket_id, interaction_id, agent_id, at)
			values ($1, $2, $3::uuid, nullif($4,'')::uuid, nullif($5,'')::uuid, $6)`,
			u.ArticleID, string(u.Kind), ticketID, u.InteractionID, u.AgentID, u.At.UTC())
		return err
	})
	return mapErr("record article use", err)
}

// ArticleUses returns the latest uses of an article, newest first (at
// most limit, 1–500).
func (s *Store) ArticleUses(ctx context.Context, articleID string, limit int) ([]crmcore.ArticleUse, error) {
	if !crmcore.ValidID(articleID) {
		return nil, fmt.Errorf("pgstore: article uses: %w", crmcore.ErrNotFound)
	}
	limit, _ = clampPage(limit, 0, 100, 500)
	rows, _ := s.pool.Query(ctx, `select u.article_id::text, u.kind, coalesce(t.number, 0), coalesce(u.interaction_id::text, ''),
		coalesce(u.agent_id::text, ''), u.at from knowledge_article_uses u left join tickets t on t.id = u.ticket_id
		where u.article_id = $1 order by u.at desc, u.id desc limit $2`, articleID, limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.ArticleUse, error) {
		var u crmcore.ArticleUse
		var kind string
		err := r.Scan(&u.ArticleID, &kind, &u.TicketNumber, &u.InteractionID, &u.AgentID, &u.At)
		u.Kind = crmcore.ArticleUseKind(kind)
		return u, err
	})
	if err != nil {
		return nil, mapErr("article uses", err)
	}
	return out, nil
}

// demoArticles are the demo knowledge base: a few everyday answers, some
// public (the chat widget finds them), one in German.
var demoArticles = []crmcore.ArticleInput{
	{Title: "Reset a customer's password", Category: "account", Language: "en", Visibility: crmcore.VisibilityPublic,
		Tags: []string{"login", "password"}, BodyMarkdown: `Customers reset their own password from the sign-in page.

1. Open **Sign in** and choose *Forgot password?*
2. Enter the email address on the account.
3. Follow the link in the email within **30 minutes**.

If no email arrives, check the spam folder, then confirm the address on the contact record.
Never read a password aloud or send one by email.`},
	{Title: "Unlock an account after too many failed logins", Category: "account", Language: "en",
		Visibility: crmcore.VisibilityAgents, Tags: []string{"login", "security"}, BodyMarkdown: `An account locks for 15 minutes
after ten failed logins. Verify the caller (date of birth and postcode) before unlocking it early from
**Admin › Accounts › Unlock**, then suggest a password reset.`},
	{Title: "How the billing cycle works", Category: "billing", Language: "en", Visibility: crmcore.VisibilityPublic,
		Tags: []string{"billing", "invoice"}, BodyMarkdown: `Invoices are issued on the **1st of each month** for the month ahead.
Payment is collected seven days later from the card or account on file.

- Plan changes are prorated on the next invoice.
- A failed payment is retried after 3 and 7 days.
- Invoices are under *Account › Billing*; see [our billing help](https://example.com/help/billing).`},
	{Title: "Refund a double charge", Category: "billing", Language: "en", Visibility: crmcore.VisibilityAgents,
		Tags: []string{"billing", "refund"}, BodyMarkdown: `When a customer was charged twice for one invoice:

1. Find both payments under the contact's account.
2. Refund the **later** payment in full; refunds reach the card in 5–10 business days.
3. Link this article to the ticket and set it to *Solved*.`},
	{Title: "Shipping times", Category: "shipping", Language: "en", Visibility: crmcore.VisibilityPublic,
		Tags: []string{"shipping", "delivery"}, BodyMarkdown: `| Destination | Standard | Express |
|---|---|---|
| Domestic | 3–5 business days | 1–2 business days |
| Europe | 5–8 business days | 2–3 business days |
| Rest of world | 7–14 business days | 3–5 business days |

Orders placed before 2 pm ship the same day. The tracking link is in the shipping confirmation email.`},
	{Title: "Passwort zurücksetzen", Category: "account", Language: "de", Visibility: crmcore.VisibilityPublic,
		Tags: []string{"login", "passwort"}, BodyMarkdown: `Kunden setzen ihr Passwort selbst zurück:

1. Auf der Anmeldeseite **Passwort vergessen?** wählen.
2. Die E-Mail-Adresse des Kontos eingeben.
3. Dem Link in der E-Mail innerhalb von **30 Minuten** folgen.

Kommt keine E-Mail an, bitte den Spam-Ordner prüfen.`},
}

// SeedKnowledge stores the demo articles, written by the demo supervisor
// when there is one, unless the knowledge base already has articles.
func (s *Store) SeedKnowledge(ctx context.Context) error {
	var any bool
	if err := s.pool.QueryRow(ctx, `select exists (select 1 from knowledge_articles)`).Scan(&any); err != nil || any {
		return mapErr("seed knowledge", err)
	}
	var author string
	if err := s.pool.QueryRow(ctx, `select coalesce((select id::text from agents where login = 'sam'), '')`).Scan(&author); err != nil {
		return mapErr("seed knowledge", err)
	}
	now := s.now()
	for _, in := range demoArticles {
		a, err := crmcore.NewArticle(in, author, now)
		if err != nil {
			return fmt.Errorf("pgstore: seed article %q: %w", in.Title, err)
		}
		if _, err := s.CreateArticle(ctx, a); err != nil {
			return fmt.Errorf("pgstore: seed article %q: %w", in.Title, err)
		}
	}
	return nil
}
