package crmcore

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
)

// TestNewArticle checks the defaults, the normalisation and every refusal.
func TestNewArticle(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a, err := NewArticle(ArticleInput{Title: " Reset your password ", BodyMarkdown: "Go to *Settings*.",
		Tags: []string{"Login", "login", " password"}}, "agent-1", now)
	if err != nil {
		t.Fatal(err)
	}
	if a.Category != DefaultCategory || a.Language != "en" || a.Visibility != VisibilityAgents || a.Title != "Reset your password" ||
		strings.Join(a.Tags, ",") != "login,password" || a.Author != "agent-1" || !a.CreatedAt.Equal(now) {
		t.Errorf("article = %+v", a)
	}
	ok := ArticleInput{Title: "T", BodyMarkdown: "B"}
	for _, tc := range []struct {
		name, field string
		edit        func(*ArticleInput)
	}{
		{"no title", "title", func(in *ArticleInput) { in.Title = " " }},
		{"long title", "title", func(in *ArticleInput) { in.Title = strings.Repeat("x", MaxArticleTitle+1) }},
		{"two-line title", "title", func(in *ArticleInput) { in.Title = "a\nb" }},
		{"no body", "body_markdown", func(in *ArticleInput) { in.BodyMarkdown = "" }},
		{"long body", "body_markdown", func(in *ArticleInput) { in.BodyMarkdown = strings.Repeat("x", MaxArticleBody+1) }},
		{"NUL in body", "body_markdown", func(in *ArticleInput) { in.BodyMarkdown = "a\x00b" }},
		{"bad language", "language", func(in *ArticleInput) { in.Language = "english!" }},
		{"bad visibility", "visibility", func(in *ArticleInput) { in.Visibility = "everyone" }},
		{"long category", "category", func(in *ArticleInput) { in.Category = strings.Repeat("c", MaxCategoryLen+1) }},
		{"too many tags", "tags", func(in *ArticleInput) { in.Tags = make([]string, MaxTags+1) }},
		{"bad tag", "tags", func(in *ArticleInput) { in.Tags = []string{"a,b"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := ok
			tc.edit(&in)
			_, err := NewArticle(in, "", now)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("err = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}

func TestTextSearchConfig(t *testing.T) {
	for lang, want := range map[string]string{"en": "english", "en-GB": "english", "de-ch": "german", "fr": "french",
		"es-MX": "spanish", "pt": "simple", "": "simple"} {
		if got := TextSearchConfig(lang); got != want {
			t.Errorf("TextSearchConfig(%q) = %q, want %q", lang, got, want)
		}
	}
}

func TestSuggestQuery(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"billing", "billing"},
		{"Billing / Support: 2 — Password reset!", "billing or support or password or reset"},
		{"OR -x \"y\" or", ""},
		{"", ""},
		{"a b c d e f g", ""},
		{"one two two three four five six", "one or two or three or four"},
	} {
		if got := SuggestQuery(tc.in, 4); got != tc.want {
			t.Errorf("SuggestQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestArticleUseValidate(t *testing.T) {
	id := NewID()
	for _, tc := range []struct {
		name string
		u    ArticleUse
		ok   bool
	}{
		{"view", ArticleUse{Kind: UseViewed}, true},
		{"link", ArticleUse{Kind: UseLinked, TicketNumber: 1042}, true},
		{"link without ticket", ArticleUse{Kind: UseLinked, InteractionID: id}, false},
		{"sent in a chat", ArticleUse{Kind: UseSent, InteractionID: id}, true},
		{"sent nowhere", ArticleUse{Kind: UseSent}, false},
		{"bad interaction", ArticleUse{Kind: UseSent, InteractionID: "x"}, false},
		{"bad kind", ArticleUse{Kind: "printed", TicketNumber: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.u.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestRender checks that Markdown renders and that every way of smuggling
// script in is defused.
func TestRender(t *testing.T) {
	r := NewRenderer()
	for _, tc := range []struct{ name, in, want string }{
		{"emphasis", "Go to **Settings**", "<p>Go to <strong>Settings</strong></p>\n"},
		{"list", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"},
		{"absolute link", "[help](https://example.com/help)",
			`<p><a href="https://example.com/help" rel="nofollow noopener" target="_blank">help</a></p>` + "\n"},
		{"relative link", "[billing](/knowledge#b)", `<p><a href="/knowledge#b" rel="nofollow">billing</a></p>` + "\n"},
		{"raw script", "<script>alert(1)</script>", "\n"},
		{"inline html", "x <img src=x onerror=alert(1)> y", "<p>x  y</p>\n"},
		{"javascript link", "[x](javascript:alert(1))", "<p>x</p>\n"},
		{"autolink", "<JavaScript:alert(1)>", "<p>JavaScript&#58;alert(1)</p>\n"},
		{"image", "![i](data:text/html;base64,PHNjcmlwdD4=)", "<p><img alt=\"i\"></p>\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Render(tc.in); got != tc.want {
				t.Errorf("Render(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzRender: the renderer never panics and its output never holds a
// script element or a javascript: URL, whatever the Markdown.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"# T\n\n**b** [l](https://x.test)", "<script>alert(1)</script>", "[x](javascript:alert(1))",
		"<a href=\"javascript:x\">a</a>", "![i](jav&#x09;ascript:alert(1))", "```html\n<script>\n```", "<<script>script>",
		"[x](JaVaScRiPt:alert(1))", "| a | b |\n|---|---|\n| <b onclick=x> | c |", "www.example.com/<script>"} {
		f.Add(s)
	}
	r := NewRenderer()
	f.Fuzz(func(t *testing.T, md string) {
		out := strings.ToLower(r.Render(md))
		for _, bad := range []string{"<script", "javascript:", "<iframe", "<style"} {
			if strings.Contains(out, bad) {
				t.Fatalf("Render(%q) = %q: contains %s", md, out, bad)
			}
		}
	})
}

// FuzzSuggestQuery: whatever a task brings, the suggestion query is
// made of at most max words of letters and digits joined by " or ", so
// that web-search syntax in the input never reaches the parser.
func FuzzSuggestQuery(f *testing.F) {
	for _, s := range []string{"billing", "Billing / Support: 2", `"a" -b or c`, "\xff\x00x", "ä ö ü ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		q := SuggestQuery(in, 4)
		if q == "" {
			return
		}
		words := strings.Split(q, " or ")
		if len(words) > 4 {
			t.Fatalf("SuggestQuery(%q) = %q: more than 4 words", in, q)
		}
		for _, w := range words {
			if w == "" || w == "or" || strings.ContainsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
				t.Fatalf("SuggestQuery(%q) = %q: bad word %q", in, q, w)
			}
		}
	})
}
