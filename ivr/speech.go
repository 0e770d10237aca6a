package ivr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Recognizer turns one utterance of caller audio into text from a grammar: the speech
// recognition behind menu and gather nodes with input speech or both. Package ivr/sphinx
// implements it with PocketSphinx; ivrtest has a fake. It must be safe for concurrent use:
// every call that listens calls it from its own goroutine.
type Recognizer interface {
	// Check reports whether the recognizer can listen for g; an error says why not (e.g.
	// words missing from its dictionary). The loader calls it for every speech node, so
	// that a flow the recognizer cannot serve is rejected before it goes live.
	Check(g *Grammar) error
	// Recognize decodes audio (8 kHz mono, the utterance the endpointer cut) against g. A
	// Recognition whose Match is "" heard nothing g holds. It returns early with ctx's
	// error when ctx ends.
	Recognize(ctx context.Context, audio []int16, g *Grammar) (Recognition, error)
}

// Recognition is what a Recognizer heard in one utterance.
type Recognition struct {
	// Text is the words heard, lower case, separated by single spaces ("" for nothing).
	Text string
	// Match is the grammar's value for Text (Grammar.Match): a menu's option key, a gather's
	// value or the digits spoken; "" when Text is not in the grammar.
	Match string
	// Confidence is how sure the recognizer is of Match, from 0 to 1. A node accepts a
	// recognition at or above its confidence threshold; the scale is the recognizer's (see
	// its documentation), so thresholds are tuned per recognizer.
	Confidence float64
}

// Ears is the optional Session capability of hearing the caller: the SIP gateway's calls
// have it (over the media session's taps), chats and sessions without audio do not. A
// speech node on a session without Ears takes DTMF only.
type Ears interface {
	// HearCaller calls f with every decoded frame of the caller's audio (8 kHz mono
	// samples) until stop is called. f runs on the media goroutine: it must not block and
	// must not keep the slice. After stop returns f is not called again, though a call
	// already under way may still finish.
	HearCaller(f func(frame []int16)) (stop func())
}

// SpeechRate is the sample rate of the audio Ears deliver and Recognizers take.
const SpeechRate = 8000

// GrammarKind says what a Grammar listens for.
type GrammarKind uint8

// The grammar kinds.
const (
	// GrammarPhrases listens for one phrase of a list; each phrase stands for a value.
	GrammarPhrases GrammarKind = iota + 1
	// GrammarDigits listens for a string of spoken digits (zero or oh, one … nine).
	GrammarDigits
)

// String returns "phrases" or "digits".
func (k GrammarKind) String() string {
	switch k {
	case GrammarPhrases:
		return "phrases"
	case GrammarDigits:
		return "digits"
	}
	return "invalid"
}

// Phrase is one thing a caller may say and the value it stands for.
type Phrase struct {
	// Text is the phrase, normalised: lower-case words separated by single spaces.
	Text string
	// Value is what the phrase means: a menu's option key or a gather's value.
	Value string
}

// Limits on grammars. A phrase longer than a short sentence is no menu choice, and a
// recognizer's search grows with the grammar.
const (
	maxPhrases      = 200
	maxPhraseWords  = 10
	maxPhraseLength = 100
)

// Grammar is what a speech node listens for: phrases that map to values, or digits. It is
// immutable and safe for concurrent use; a loaded flow builds one per speech node, and
// recognizers may cache their compiled form by Key.
type Grammar struct {
	kind     GrammarKind
	phrases  []Phrase
	byText   map[string]string
	min, max int
	key      string
}

// digitWords are the spoken digits, with their values.
var digitWords = map[string]byte{
	"zero": '0', "oh": '0', "one": '1', "two": '2', "three": '3', "four": '4',
	"five": '5', "six": '6', "seven": '7', "eight": '8', "nine": '9',
}

// digitVocabulary lists digitWords in a stable order.
var digitVocabulary = []string{"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// NewPhraseGrammar returns a grammar of phrases, each standing for its value. Phrases are
// normalised (lower case, single spaces); each must be 1–10 words of letters (with inner
// apostrophes), and one phrase cannot stand for two values.
func NewPhraseGrammar(phrases []Phrase) (*Grammar, error) {
	if len(phrases) == 0 {
		return nil, errors.New("ivr: grammar has no phrases")
	}
	if len(phrases) > maxPhrases {
		return nil, fmt.Errorf("ivr: grammar has %d phrases (at most %d)", len(phrases), maxPhrases)
	}
	g := &Grammar{kind: GrammarPhrases, byText: make(map[string]string, len(phrases))}
	for _, p := range phrases {
		text, err := normalizePhrase(p.Text)
		if err != nil {
			return nil, err
		}
		if p.Value == "" {
			return nil, fmt.Errorf("ivr: phrase %q has no value", p.Text)
		}
		if v, dup := g.byText[text]; dup {
			if v != p.Value {
				return nil, fmt.Errorf("ivr: phrase %q stands for both %q and %q", text, v, p.Value)
			}
			continue
		}
		g.byText[text] = p.Value
		g.phrases = append(g.phrases, Phrase{Text: text, Value: p.Value})
	}
	slices.SortFunc(g.phrases, func(a, b Phrase) int {
		if c := strings.Compare(a.Value, b.Value); c != 0 {
			return c
		}
		return strings.Compare(a.Text, b.Text)
	})
	var key strings.Builder
	key.WriteString("phrases")
	for _, p := range g.phrases {
		key.WriteString("\x00" + p.Value + "=" + p.Text)
	}
	g.key = key.String()
	return g, nil
}

// NewDigitsGrammar returns a grammar of min to max spoken digits (1 ≤ min ≤ max ≤ 32).
func NewDigitsGrammar(min, max int) (*Grammar, error) {
	if min < 1 || max < min || max > maxDigitsLimit {
		return nil, fmt.Errorf("ivr: digits grammar of %d to %d digits (want 1 ≤ min ≤ max ≤ %d)", min, max, maxDigitsLimit)
	}
	return &Grammar{kind: GrammarDigits, min: min, max: max, key: "digits:" + strconv.Itoa(min) + "-" + strconv.Itoa(max)}, nil
}

// normalizePhrase checks a configured phrase and returns its normal form.
func normalizePhrase(s string) (string, error) {
	words := strings.Fields(strings.ToLower(s))
	if len(words) == 0 {
		return "", errors.New("ivr: empty phrase")
	}
	if len(words) > maxPhraseWords || len(s) > maxPhraseLength {
		return "", fmt.Errorf("ivr: phrase %q is longer than %d words or %d characters", s, maxPhraseWords, maxPhraseLength)
	}
	for _, w := range words {
		for i, r := range w {
			inner := i > 0 && i < len(w)-1
			if !unicode.IsLetter(r) && !(r == '\'' && inner) {
				return "", fmt.Errorf("ivr: phrase %q: words are letters (and inner apostrophes), not %q", s, r)
			}
		}
	}
	return strings.Join(words, " "), nil
}

// Kind says whether g holds phrases or digits.
func (g *Grammar) Kind() GrammarKind { return g.kind }

// Phrases returns a phrase grammar's phrases, sorted by value then text (nil for digits).
func (g *Grammar) Phrases() []Phrase { return slices.Clone(g.phrases) }

// DigitRange returns the fewest and most digits of a digits grammar (0, 0 for phrases).
func (g *Grammar) DigitRange() (min, max int) { return g.min, g.max }

// Key identifies the grammar's content: two grammars with the same Key listen for the
// same things, so a recognizer may cache one compiled form per Key.
func (g *Grammar) Key() string { return g.key }

// Words returns every distinct word the grammar can hear, sorted.
func (g *Grammar) Words() []string {
	if g.kind == GrammarDigits {
		out := slices.Clone(digitVocabulary)
		slices.Sort(out)
		return out
	}
	var out []string
	for _, p := range g.phrases {
		out = append(out, strings.Fields(p.Text)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// JSGF returns the grammar in the Java Speech Grammar Format, with one public rule,
// <utterance>: the phrases as alternatives, or min to max repetitions of <digit>.
func (g *Grammar) JSGF() string {
	var b strings.Builder
	b.WriteString("#JSGF V1.0;\ngrammar switchboard;\n")
	if g.kind == GrammarDigits {
		b.WriteString("<digit> = " + strings.Join(digitVocabulary, " | ") + ";\n")
		b.WriteString("public <utterance> =")
		for range g.min {
			b.WriteString(" <digit>")
		}
		for range g.max - g.min {
			b.WriteString(" [<digit>")
		}
		b.WriteString(strings.Repeat("]", g.max-g.min) + ";\n")
		return b.String()
	}
	b.WriteString("public <utterance> = ")
	for i, p := range g.phrases {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(p.Text)
	}
	b.WriteString(";\n")
	return b.String()
}

// Match returns the value of what was said or typed: for phrases, the value of the phrase
// text is (ignoring case, spacing and punctuation); for digits, the digits spoken as words
// ("four two seven one") or typed ("4271"), when there are min to max of them.
func (g *Grammar) Match(text string) (string, bool) {
	norm := normalizeText(text)
	if g.kind == GrammarDigits {
		d, ok := spokenDigits(norm)
		if !ok || len(d) < g.min || len(d) > g.max {
			return "", false
		}
		return d, true
	}
	v, ok := g.byText[norm]
	return v, ok
}

// normalizeText lower-cases free text (a recognizer's or a chat visitor's) and turns
// everything but letters, digits and apostrophes into single spaces.
func normalizeText(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	}), " ")
}

// spokenDigits reads normalised text made only of digit words and digits ("four 2 seven")
// as the digits it says.
func spokenDigits(norm string) (string, bool) {
	words := strings.Fields(norm)
	if len(words) == 0 {
		return "", false
	}
	var out []byte
	for _, w := range words {
		if d, ok := digitWords[w]; ok {
			out = append(out, d)
			continue
		}
		for i := 0; i < len(w); i++ {
			if w[i] < '0' || w[i] > '9' {
				return "", false
			}
		}
		out = append(out, w...)
	}
	if len(out) > maxDigitsLimit {
		return "", false
	}
	return string(out), true
}

// inputMode is what a menu or gather accepts: keys, speech or both.
type inputMode uint8

const (
	inputDTMF inputMode = iota
	inputSpeech
	inputBoth
)

var inputNames = [...]string{inputDTMF: "dtmf", inputSpeech: "speech", inputBoth: "both"}

func (m inputMode) String() string { return inputNames[m] }

func parseInputMode(s string) (inputMode, bool) {
	switch s {
	case "", "dtmf":
		return inputDTMF, true
	case "speech":
		return inputSpeech, true
	case "both":
		return inputBoth, true
	}
	return 0, false
}

// defaultConfidence is the confidence below which a speech node asks again.
const defaultConfidence = 0.5

// valueRE is the form of a gather's phrase value: short, no spaces (a chat shows it as a
// button label, a branch compares it).
var valueRE = regexp.MustCompile(`^[A-Za-z0-9_.+-]{1,40}$`)

// compileSpeech compiles the speech fields of a menu or gather (input, phrases, grammar,
// confidence, no_input) into n, after its options or collect spec, and checks the grammar
// with the recognizer.
func (c *compiler) compileSpeech(x nodeCtx, ns *nodeSpec, n *node) {
	mode, ok := parseInputMode(ns.Input)
	if !ok {
		x.errf("input", "input %q: want dtmf, speech or both", ns.Input)
		return
	}
	n.input, n.confidence = mode, defaultConfidence
	if mode == inputDTMF {
		for _, f := range []struct {
			name string
			set  bool
		}{{"phrases", ns.Phrases != nil}, {"grammar", ns.Grammar != ""}, {"confidence", ns.Confidence != nil}, {"no_input", ns.NoInput != nil}} {
			if f.set {
				x.errf(f.name, "%s needs input: speech or both", f.name)
			}
		}
		return
	}
	if ns.Confidence != nil {
		if *ns.Confidence < 0 || *ns.Confidence > 1 {
			x.errf("confidence", "confidence %v out of range 0–1", *ns.Confidence)
		} else {
			n.confidence = *ns.Confidence
		}
	}
	wait := n.timeout
	if n.kind == KindGather {
		wait = n.collect.first
	}
	n.noInput = x.duration("no_input", ns.NoInput, wait, minTimeout, maxTimeout)

	field := "phrases"
	var phrases []Phrase
	keys := slices.Sorted(maps.Keys(ns.Phrases))
	for _, k := range keys {
		if len(ns.Phrases[k]) == 0 {
			x.errf("phrases/"+k, "%s has no phrases", k)
		}
		for _, p := range ns.Phrases[k] {
			phrases = append(phrases, Phrase{Text: p, Value: k})
		}
	}
	var g *Grammar
	var err error
	switch n.kind {
	case KindMenu:
		if ns.Grammar != "" {
			x.errf("grammar", "a menu listens for its options' phrases (phrases: {option: [phrases]}), not a grammar")
		}
		for _, k := range keys {
			if _, ok := ns.Options[k]; !ok {
				x.errf("phrases/"+k, "phrases key %q is not an option of this menu", k)
				return
			}
		}
		if len(phrases) == 0 {
			x.errf("", "input %s needs phrases (option: [phrases])", mode)
			return
		}
		g, err = NewPhraseGrammar(phrases)
	case KindGather:
		switch {
		case ns.Grammar != "" && ns.Phrases != nil:
			x.errf("grammar", "a gather listens for phrases or grammar: digits, not both")
			return
		case ns.Grammar == "digits":
			field = "grammar"
			g, err = NewDigitsGrammar(n.collect.min, n.collect.max)
		case ns.Grammar != "":
			x.errf("grammar", "grammar %q: want digits", ns.Grammar)
			return
		case len(phrases) == 0:
			x.errf("", "input %s needs phrases ({value: [phrases]}) or grammar: digits", mode)
			return
		case len(keys) > len(keypadOrder):
			x.errf("phrases", "at most %d phrase values (a chat shows them as buttons)", len(keypadOrder))
			return
		case n.confirm:
			x.errf("confirm", "confirm reads digits back: use it with grammar: digits")
			return
		default:
			for _, k := range keys {
				if !valueRE.MatchString(k) {
					x.errf("phrases/"+k, "phrase value %q must be 1–40 letters, digits or _ . + -", k)
					return
				}
			}
			g, err = NewPhraseGrammar(phrases)
		}
	}
	if err != nil {
		x.errf(field, "%s", strings.TrimPrefix(err.Error(), "ivr: "))
		return
	}
	n.grammar = g
	reason := ""
	if c.opts.NoRecognizer != nil {
		reason = " (" + c.opts.NoRecognizer.Error() + ")"
	}
	switch {
	case c.opts.Recognizer != nil:
		if err := c.opts.Recognizer.Check(g); err != nil {
			x.errf(field, "the speech recognizer cannot listen for this node: %v", err)
		}
	case mode == inputSpeech:
		x.errf("input", "input speech needs a speech recognizer and none is configured%s", reason)
	default:
		x.warnf("input", "no speech recognizer is configured%s: this node takes keys only", reason)
	}
}
