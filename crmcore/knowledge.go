package crmcore

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// Visibility says who may read a knowledge-base article: agents only, or
// also the public (the chat widget's unauthenticated search).
type Visibility string

// Visibilities, narrowest audience first.
const (
	VisibilityAgents Visibility = "agents"
	VisibilityPublic Visibility = "public"
)

// Valid reports whether v is a known visibility.
func (v Visibility) Valid() bool { return v == VisibilityAgents || v == VisibilityPublic }

// Readable returns the visibilities an audience may read: agents read
// every article, the public only public ones.
func (v Visibility) Readable() []string {
	if v == VisibilityAgents {
		return []string{string(VisibilityAgents), string(VisibilityPublic)}
	}
	return []string{string(VisibilityPublic)}
}

// Knowledge-base size caps.
const (
	MaxArticleTitle = 200      // bytes
	MaxArticleBody  = 64 << 10 // bytes of Markdown
	MaxCategoryLen  = 64
	MaxSearchQuery  = 500 // bytes of a search or suggest query
)

// DefaultCategory is the category of an article submitted without one.
const DefaultCategory = "general"

// Article is one knowledge-base article. BodyMarkdown is the source; HTML
// is only ever produced from it by a [Renderer].
type Article struct {
	ID           string     `json:"id"`
	Title        string     `json:"title"`
	BodyMarkdown string     `json:"body_markdown"`
	Category     string     `json:"category"`
	Language     string     `json:"language"` // BCP 47, such as "en" or "de-CH"
	Visibility   Visibility `json:"visibility"`
	Tags         []string   `json:"tags"`
	Author       string     `json:"author"` // the agent id of the last writer, "" when deleted
	AuthorName   string     `json:"author_name,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	Views        int64      `json:"views"`
	Uses         int64      `json:"uses"` // linked to tickets or sent to customers
}

// ArticleInput is an article as submitted by a supervisor.
type ArticleInput struct {
	Title        string     `json:"title"`
	BodyMarkdown string     `json:"body_markdown"`
	Category     string     `json:"category,omitempty"`
	Language     string     `json:"language,omitempty"`
	Visibility   Visibility `json:"visibility,omitempty"`
	Tags         []string   `json:"tags,omitempty"`
}

// langRE is the shape of a BCP 47 tag as far as the knowledge base needs
// it: a primary language subtag, then optional subtags.
var langRE = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{1,8})*$`)

// ValidLanguage reports whether tag looks like a lower-case BCP 47
// language tag ("en", "de-ch", "pt-br").
func ValidLanguage(tag string) bool { return len(tag) <= MaxLanguageLen && langRE.MatchString(tag) }

// NewArticle validates in and builds the article authorID writes at now
// (its id is left to the caller).
func NewArticle(in ArticleInput, authorID string, now time.Time) (Article, error) {
	a := Article{Title: strings.TrimSpace(in.Title), BodyMarkdown: strings.TrimSpace(in.BodyMarkdown),
		Category: strings.ToLower(strings.TrimSpace(in.Category)), Language: strings.ToLower(strings.TrimSpace(in.Language)),
		Visibility: in.Visibility, Author: authorID, CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
	if a.Category == "" {
		a.Category = DefaultCategory
	}
	if a.Language == "" {
		a.Language = "en"
	}
	if a.Visibility == "" {
		a.Visibility = VisibilityAgents
	}
	switch {
	case a.Title == "" || len(a.Title) > MaxArticleTitle || !validLine(a.Title):
		return Article{}, invalid("title", fmt.Sprintf("required, at most %d bytes, one line", MaxArticleTitle))
	case a.BodyMarkdown == "" || len(a.BodyMarkdown) > MaxArticleBody || !validText(a.BodyMarkdown):
		return Article{}, invalid("body_markdown", fmt.Sprintf("required, at most %d bytes, no control characters", MaxArticleBody))
	case len(a.Category) > MaxCategoryLen || !validLine(a.Category):
		return Article{}, invalid("category", fmt.Sprintf("at most %d bytes, one line", MaxCategoryLen))
	case !ValidLanguage(a.Language):
		return Article{}, invalid("language", "want a BCP 47 language tag such as en, de or pt-br")
	case !a.Visibility.Valid():
		return Article{}, invalid("visibility", "want agents or public")
	}
	tags, err := NormalizeTags(in.Tags)
	if err != nil {
		return Article{}, err
	}
	a.Tags = tags
	return a, nil
}

// TextSearchConfig is the PostgreSQL text search configuration that
// stems and drops the stop words of lang's primary language; a language
// without one is indexed word for word ("simple").
func TextSearchConfig(lang string) string {
	primary, _, _ := strings.Cut(strings.ToLower(lang), "-")
	switch primary {
	case "en":
		return "english"
	case "de":
		return "german"
	case "fr":
		return "french"
	case "es":
		return "spanish"
	}
	return "simple"
}

// TextSearchConfigs lists every configuration TextSearchConfig returns.
func TextSearchConfigs() []string {
	return []string{"english", "german", "french", "spanish", "simple"}
}

// HighlightSpan is a piece of a search hit's excerpt; Hit marks the words that
// matched the query. Pages show spans as text, never as markup.
type HighlightSpan struct {
	Text string `json:"text"`
	Hit  bool   `json:"hit,omitempty"`
}

// ArticleHit is one search result: the article without its body, its
// rank and an excerpt of the body around the matching words.
type ArticleHit struct {
	ID         string          `json:"id"`
	Title      string          `json:"title"`
	Category   string          `json:"category"`
	Language   string          `json:"language"`
	Visibility Visibility      `json:"visibility"`
	Tags       []string        `json:"tags"`
	UpdatedAt  time.Time       `json:"updated_at"`
	Views      int64           `json:"views"`
	Uses       int64           `json:"uses"`
	Rank       float64         `json:"rank"`
	Excerpt    []HighlightSpan `json:"excerpt"`
}

// SuggestQuery turns free text (a queue name, IVR choices, a ticket
// subject) into a web-search query that matches any of its words: every
// run of letters and digits becomes one alternative. At most max words
// are kept; "" means nothing to search for.
func SuggestQuery(text string, max int) string {
	words := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var out []string
	for _, w := range words {
		w = strings.ToLower(w)
		if len(w) < 2 || w == "or" || slices.Contains(out, w) {
			continue
		}
		if out = append(out, w); len(out) == max {
			break
		}
	}
	return strings.Join(out, " or ")
}

// ArticleUseKind is how an article served a customer.
type ArticleUseKind string

// Kinds of use: linked to a ticket, sent to a customer (in a chat or an
// email), or read by an agent.
const (
	UseLinked ArticleUseKind = "linked"
	UseSent   ArticleUseKind = "sent"
	UseViewed ArticleUseKind = "viewed"
)

// ArticleUse is one use of an article by an agent, tied to the ticket or
// the interaction it served (neither for a plain view).
type ArticleUse struct {
	ArticleID     string         `json:"article_id"`
	Kind          ArticleUseKind `json:"kind"`
	TicketNumber  int64          `json:"ticket_number,omitempty"`
	InteractionID string         `json:"interaction_id,omitempty"`
	AgentID       string         `json:"agent_id"`
	At            time.Time      `json:"at"`
}

// Validate checks the kind and what the use is tied to: a link needs a
// ticket, a sent article a ticket or an interaction.
func (u ArticleUse) Validate() error {
	switch {
	case u.Kind != UseLinked && u.Kind != UseSent && u.Kind != UseViewed:
		return invalid("kind", "want linked, sent or viewed")
	case u.TicketNumber < 0:
		return invalid("ticket_number", "must be positive")
	case u.InteractionID != "" && !ValidID(u.InteractionID):
		return invalid("interaction_id", "not an id")
	case u.Kind == UseLinked && u.TicketNumber == 0:
		return invalid("ticket_number", "required to link an article")
	case u.Kind == UseSent && u.TicketNumber == 0 && u.InteractionID == "":
		return invalid("interaction_id", "a sent article needs a ticket_number or an interaction_id")
	}
	return nil
}

// Renderer turns an article's Markdown into HTML that is safe to insert
// into a page. Raw HTML in the Markdown is never passed through, and the
// output is sanitized again with a user-content allow list, so a flaw in
// one fence is caught by the other: no scripts, no event handlers, no
// javascript: URLs; links carry rel="nofollow" (and open in a new tab
// with "noopener" when absolute). It is safe for concurrent use.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// NewRenderer returns a Renderer for GitHub-flavoured Markdown.
func NewRenderer() *Renderer {
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return &Renderer{md: goldmark.New(goldmark.WithExtensions(extension.GFM)), policy: p}
}

// Render returns the sanitized HTML of markdown (cut to MaxArticleBody
// bytes, the most an article holds).
func (r *Renderer) Render(markdown string) string {
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(CutText(markdown, MaxArticleBody)), &buf); err != nil {
		return "" // a bytes.Buffer does not fail; nothing unsanitized is returned
	}
	// The sanitizer keeps "javascript:" where it is only text (a link
	// it defused, a sentence about it); the colon is written as a
	// character reference so that no later step can take it for a URL.
	return jsSchemeRE.ReplaceAllStringFunc(r.policy.Sanitize(buf.String()), func(m string) string {
		return m[:len(m)-1] + "&#58;"
	})
}

var jsSchemeRE = regexp.MustCompile(`(?i)javascript:`)
