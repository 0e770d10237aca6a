package ivr

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// promptExt is the file extension of every prompt.
const promptExt = ".wav"

var promptNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,63}$`)

// maxPromptText caps the text of one prompt in <root>/<lang>.txt.
const maxPromptText = 2000

// Prompts maps prompt names to WAV files: <root>/<language>/<name>.wav, falling back to the
// default language when a language lacks a prompt. It also holds each prompt's text
// (<root>/<language>.txt, the form a chat shows). It is immutable and safe for concurrent
// use.
type Prompts struct {
	root        string
	defaultLang string
	// have indexes the files found at load time, per language; nil when the root was not
	// scanned (no prompt directory configured), in which case every name is assumed present.
	have map[string]map[string]bool
	// texts holds each language's prompt texts by name; a language without a text file
	// has none.
	texts map[string]map[string]string
}

// OpenPrompts scans root for the per-language folders of langs (the first is the default
// language) and reads their texts from <root>/<lang>.txt ("name|text" lines, # comments).
// A missing folder or a malformed text file is an error; a missing text file is not (the
// default language's texts stand in).
func OpenPrompts(root string, langs ...string) (*Prompts, error) {
	if len(langs) == 0 {
		return nil, fmt.Errorf("ivr: prompts: no languages")
	}
	p := &Prompts{root: root, defaultLang: langs[0], have: make(map[string]map[string]bool, len(langs)),
		texts: make(map[string]map[string]string, len(langs))}
	for _, lang := range langs {
		entries, err := os.ReadDir(filepath.Join(root, lang))
		if err != nil {
			return nil, fmt.Errorf("ivr: prompts for language %s: %w", lang, err)
		}
		set := make(map[string]bool, len(entries))
		for _, e := range entries {
			if name, ok := strings.CutSuffix(e.Name(), promptExt); ok && !e.IsDir() {
				set[name] = true
			}
		}
		p.have[lang] = set
		texts, err := readPromptTexts(filepath.Join(root, lang+".txt"))
		if err != nil {
			return nil, err
		}
		p.texts[lang] = texts
	}
	return p, nil
}

// readPromptTexts reads a "name|text" file; a file that does not exist has no texts.
func readPromptTexts(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ivr: prompt texts: %w", err)
	}
	defer f.Close()
	texts := map[string]string{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, text, ok := strings.Cut(l, "|")
		text = strings.TrimSpace(text)
		if !ok || !promptNameRE.MatchString(name) || text == "" || len(text) > maxPromptText {
			return nil, fmt.Errorf("ivr: prompt texts %s:%d: want name|text", file, line)
		}
		texts[name] = text
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ivr: prompt texts %s: %w", file, err)
	}
	return texts, nil
}

// unscannedPrompts resolves names under root without checking that files exist.
func unscannedPrompts(root, defaultLang string) *Prompts {
	return &Prompts{root: root, defaultLang: defaultLang}
}

// Root returns the prompt root directory.
func (p *Prompts) Root() string { return p.root }

// Has reports whether lang has its own recording of the named prompt.
func (p *Prompts) Has(lang, name string) bool {
	if p.have == nil {
		return true
	}
	return p.have[lang][name]
}

// Path returns the file to play for a prompt name in a language: the language's own file
// when it exists, else the default language's.
func (p *Prompts) Path(lang, name string) string {
	if lang == "" || !p.Has(lang, name) {
		lang = p.defaultLang
	}
	return filepath.Join(p.root, lang, name+promptExt)
}

// Text returns the text of a prompt name in a language: the language's own text when it
// has one, else the default language's. ok is false when neither has one.
func (p *Prompts) Text(lang, name string) (string, bool) {
	if t, ok := p.texts[lang][name]; ok {
		return t, true
	}
	t, ok := p.texts[p.defaultLang][name]
	return t, ok
}

// Paths maps several prompt names at once.
func (p *Prompts) Paths(lang string, names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p.Path(lang, n)
	}
	return out
}

// QueuePosition returns the files of "you are caller number N" in lang, for the ACD's
// position announcements.
func (p *Prompts) QueuePosition(lang string, position int) []string {
	words := []string{"queue_position"}
	if n, err := Say(lang, SayNumber, strconv.Itoa(max(position, 1))); err == nil {
		words = append(words, n...)
	}
	return p.Paths(lang, words...)
}

// EstimatedWait returns the files of "your estimated wait time is about N minutes" in lang,
// with the wait rounded up to whole minutes (at least one).
func (p *Prompts) EstimatedWait(lang string, wait time.Duration) []string {
	minutes := max(int((wait+time.Minute-1)/time.Minute), 1)
	words := []string{"estimated_wait"}
	if n, err := Say(lang, SayNumber, strconv.Itoa(minutes)); err == nil {
		words = append(words, n...)
	}
	return p.Paths(lang, append(words, plural(minutes, "minute", "minutes"))...)
}
