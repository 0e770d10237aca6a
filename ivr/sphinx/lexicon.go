package sphinx

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
)

// lexicon reads pronunciations from a CMU-style dictionary ("word PH ON ES", alternatives
// as "word(2) …"). Decoders start with an empty dictionary and are given the words of
// each grammar, so a pool of them does not hold the whole dictionary many times over; the
// file is scanned only for words not seen yet.
type lexicon struct {
	file string

	mu    sync.Mutex
	prons map[string][]string // word → its pronunciations, in the file's order
}

func newLexicon(file string) *lexicon {
	return &lexicon{file: file, prons: map[string][]string{}}
}

// lookup returns the pronunciations of words, and the words the dictionary lacks.
func (l *lexicon) lookup(words []string) (map[string][]string, []string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	want := map[string]bool{}
	for _, w := range words {
		if _, ok := l.prons[w]; !ok {
			want[w] = true
		}
	}
	if len(want) > 0 {
		if err := l.scan(want); err != nil {
			return nil, nil, err
		}
	}
	out := make(map[string][]string, len(words))
	var missing []string
	for _, w := range words {
		if p := l.prons[w]; len(p) > 0 {
			out[w] = p
		} else if !slices.Contains(missing, w) {
			missing = append(missing, w)
		}
	}
	return out, missing, nil
}

// scan reads the dictionary for the wanted words; l.mu is held.
func (l *lexicon) scan(want map[string]bool) error {
	f, err := os.Open(l.file)
	if err != nil {
		return fmt.Errorf("%w: dictionary: %v", ErrUnavailable, err)
	}
	defer f.Close()
	found := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		word, phones, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if i := strings.IndexByte(word, '('); i > 0 && strings.HasSuffix(word, ")") {
			word = word[:i]
		}
		if want[word] {
			found[word] = append(found[word], strings.TrimSpace(phones))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("sphinx: dictionary %s: %w", l.file, err)
	}
	for w := range want {
		l.prons[w] = found[w] // nil: not in the dictionary, not looked for again
	}
	return nil
}
