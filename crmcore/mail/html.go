package mail

import (
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText reduces an HTML body to the plain text a person would read:
// the content of script, style and the document head is dropped, block
// elements become line breaks, entities are decoded, and runs of
// whitespace collapse as a browser would show them. The result is text,
// never markup: a "<" in it is a character the sender wrote.
func htmlToText(r io.Reader, max int) (string, error) {
	z := html.NewTokenizer(r)
	var w textWriter
	skip := 0 // depth inside elements whose content is not shown
	pre := 0
	for w.b.Len() < max {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); err != io.EOF {
				return "", err
			}
			return cleanText(w.String(), max), nil
		case html.TextToken:
			if skip == 0 {
				w.text(string(z.Text()), pre > 0)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch {
			case hidden(a):
				if tt == html.StartTagToken {
					skip++
				}
			case a == atom.Body:
				skip = 0 // a head left open ends where the body starts
			case a == atom.Br:
				w.newline(1)
			case a == atom.Li:
				w.newline(1)
				w.b.WriteString("- ")
			case a == atom.Pre:
				pre++
				w.newline(2)
			case block(a):
				w.newline(blockGap(a))
			case a == atom.Td || a == atom.Th:
				w.space()
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch {
			case hidden(a):
				if skip > 0 {
					skip--
				}
			case a == atom.Pre:
				if pre > 0 {
					pre--
				}
				w.newline(2)
			case block(a):
				w.newline(blockGap(a))
			}
		}
	}
	// The text is full: the rest of the part is read and dropped.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", err
	}
	return cleanText(w.String(), max), nil
}

// hidden reports the elements whose content a reader never sees.
func hidden(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript, atom.Iframe, atom.Object, atom.Svg:
		return true
	}
	return false
}

func block(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Tr, atom.Table, atom.Ul, atom.Ol, atom.Blockquote, atom.Hr,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Section, atom.Article,
		atom.Header, atom.Footer, atom.Address, atom.Dl, atom.Dt, atom.Dd:
		return true
	}
	return false
}

// blockGap is the number of line breaks around a block: paragraphs and
// headings stand apart, other blocks start on their own line.
func blockGap(a atom.Atom) int {
	switch a {
	case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Blockquote, atom.Table:
		return 2
	}
	return 1
}

// textWriter accumulates rendered text, collapsing whitespace outside
// <pre> and keeping at most two line breaks in a row.
type textWriter struct {
	b        strings.Builder
	newlines int  // line breaks at the end of b
	pending  bool // a space to write before the next word
}

func (w *textWriter) text(s string, pre bool) {
	if pre {
		w.pending = false
		w.b.WriteString(s)
		w.newlines = 0
		if strings.HasSuffix(s, "\n") {
			w.newlines = 1
		}
		return
	}
	for i, word := range strings.Fields(s) {
		if (i > 0 || w.pending || startsWithSpace(s)) && w.b.Len() > 0 && w.newlines == 0 {
			w.b.WriteByte(' ')
		}
		w.b.WriteString(word)
		w.newlines = 0
		w.pending = false
	}
	if endsWithSpace(s) {
		w.pending = true
	}
}

func (w *textWriter) space() {
	w.pending = true
}

func (w *textWriter) newline(n int) {
	if w.b.Len() == 0 {
		return
	}
	for w.newlines < n {
		w.b.WriteByte('\n')
		w.newlines++
	}
	w.pending = false
}

func (w *textWriter) String() string {
	return strings.TrimSpace(w.b.String())
}

func startsWithSpace(s string) bool {
	return s != "" && strings.TrimLeft(s[:1], " \t\r\n\f") == ""
}

func endsWithSpace(s string) bool {
	return s != "" && strings.TrimRight(s[len(s)-1:], " \t\r\n\f") == ""
}
