package sphinx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"switchboard/ivr"
)

// ErrUnavailable is wrapped by New's error when PocketSphinx cannot be used: the library
// or the English model is not installed, or the binary was built without cgo.
var ErrUnavailable = errors.New("sphinx: PocketSphinx is not available (Debian: apt-get install pocketsphinx pocketsphinx-en-us)")

// ErrClosed is returned by a Recognizer used after Close.
var ErrClosed = errors.New("sphinx: recognizer closed")

// ErrDecoder is wrapped by Recognize's error when a decoder failed; the decoder is
// replaced.
var ErrDecoder = errors.New("sphinx: decoder failed")

// The defaults: Debian's pocketsphinx 0.8+5prealpha library and pocketsphinx-en-us model.
const (
	DefaultLibrary = "libpocketsphinx.so.3"
	DefaultModel   = "/usr/share/pocketsphinx/model/en-us/en-us"
	DefaultDict    = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
)

// Decoder settings. The word insertion penalty and silence probability are lower than
// PocketSphinx's defaults: band-limited telephone audio made the defaults insert short
// words ("oh", "eight") into silences and digit strings, measured over the fixtures.
const (
	wordInsertion = "0.05"
	silenceProb   = "0.05"
	// nbestSize bounds the alternative hypotheses the confidence is computed from.
	nbestSize = 20
	// maxSearches bounds the grammars a decoder keeps compiled; the least recently used
	// is dropped (reloaded flows leave old grammars behind).
	maxSearches = 32
	// posteriorScale turns score differences (in nats) into the exponent of the n-best
	// posterior: PocketSphinx's scores are the sum over 10 ms frames of scaled-down
	// log likelihoods, so raw differences are far too small to separate hypotheses.
	posteriorScale = 200
)

// Option configures New.
type Option func(*config)

type config struct {
	library, model, dict string
	decoders             int
	log                  *slog.Logger
}

// WithLibrary loads the PocketSphinx shared library from path (a file, or a name the
// dynamic loader finds) instead of DefaultLibrary.
func WithLibrary(path string) Option { return func(c *config) { c.library = path } }

// WithModel uses the acoustic model directory and the pronunciation dictionary given
// instead of DefaultModel and DefaultDict. The model must be 16 kHz (like en-us): the
// caller's 8 kHz audio is upsampled for it.
func WithModel(dir, dict string) Option { return func(c *config) { c.model, c.dict = dir, dict } }

// WithDecoders sets the pool size: how many utterances are decoded at once (default the
// number of CPUs). A decoder holds the model's state for one utterance at a time.
func WithDecoders(n int) Option { return func(c *config) { c.decoders = n } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Recognizer is an ivr.Recognizer over a pool of PocketSphinx decoders. It is safe for
// concurrent use; Recognize waits for a free decoder.
type Recognizer struct {
	lib  *library
	lex  *lexicon
	args []string
	log  *slog.Logger

	slots     chan struct{} // a token per decoder that may exist
	idle      chan *decoder // decoders not in use
	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

var _ ivr.Recognizer = (*Recognizer)(nil)

// decoder is one PocketSphinx decoder with the grammars compiled into it.
type decoder struct {
	c        *cdecoder
	words    map[string]bool   // words added to its dictionary
	searches map[string]string // grammar key → search name
	recent   []string          // grammar keys, least recently used first
	seq      int
	buf      []int16 // upsampled audio
}

// New loads PocketSphinx and its English model and starts one decoder to prove they
// work; the others start when first needed. An error wrapping ErrUnavailable says what
// is missing and which Debian packages provide it.
func New(opts ...Option) (*Recognizer, error) {
	cfg := config{library: DefaultLibrary, model: DefaultModel, dict: DefaultDict, decoders: runtime.NumCPU()}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = slog.Default()
	}
	if cfg.decoders < 1 {
		return nil, fmt.Errorf("sphinx: %d decoders", cfg.decoders)
	}
	for _, p := range []string{filepath.Join(cfg.model, "mdef"), cfg.dict} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%w: model: %v", ErrUnavailable, err)
		}
	}
	lib, err := openLibrary(cfg.library)
	if err != nil {
		return nil, err
	}
	r := &Recognizer{
		lib: lib, lex: newLexicon(cfg.dict), log: cfg.log,
		// An empty dictionary: each grammar's words are added from the lexicon.
		// No noise removal: its estimate carries from one utterance to the next, which
		// made a recognition depend on the caller decoded before.
		args:  []string{"-hmm", cfg.model, "-dict", os.DevNull, "-logfn", os.DevNull, "-wip", wordInsertion, "-silprob", silenceProb, "-remove_noise", "no"},
		slots: make(chan struct{}, cfg.decoders),
		idle:  make(chan *decoder, cfg.decoders),
		done:  make(chan struct{}),
	}
	for range cfg.decoders {
		r.slots <- struct{}{}
	}
	d, err := r.newDecoder()
	if err != nil {
		lib.close()
		return nil, err
	}
	r.idle <- d
	return r, nil
}

func (r *Recognizer) newDecoder() (*decoder, error) {
	c, err := r.lib.newDecoder(r.args)
	if err != nil {
		return nil, err
	}
	return &decoder{c: c, words: map[string]bool{}, searches: map[string]string{}}, nil
}

// acquire takes a decoder, waiting for one to be free.
func (r *Recognizer) acquire(ctx context.Context) (*decoder, error) {
	select {
	case <-r.done:
		return nil, ErrClosed
	default:
	}
	select {
	case <-r.slots:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.done:
		return nil, ErrClosed
	}
	select {
	case d := <-r.idle:
		return d, nil
	default:
	}
	d, err := r.newDecoder()
	if err != nil {
		r.slots <- struct{}{}
		return nil, err
	}
	return d, nil
}

// release returns a decoder to the pool, or frees it when it may be broken.
func (r *Recognizer) release(d *decoder, ok bool) {
	if ok {
		r.idle <- d
	} else {
		d.c.free()
	}
	r.slots <- struct{}{}
}

// Check reports whether every word of g is in the dictionary and g compiles, so that a
// flow PocketSphinx cannot serve is rejected when it is loaded.
func (r *Recognizer) Check(g *ivr.Grammar) (err error) {
	d, err := r.acquire(context.Background())
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrDecoder, p)
		}
		r.release(d, ok)
	}()
	_, err = r.prepare(d, g)
	ok = err == nil || !errors.Is(err, ErrDecoder)
	return err
}

// Recognize decodes one utterance of 8 kHz audio against g. Text is the best hypothesis
// in g ("" when the decoder found none), Match its value, and Confidence the posterior
// probability of that value among the decoder's n-best hypotheses. A context that ends
// while Recognize waits for a decoder ends the wait; one that ends during a decode (which
// cannot be interrupted) is reported when it finishes. A decoder that fails or panics is
// replaced, and the error wraps ErrDecoder.
func (r *Recognizer) Recognize(ctx context.Context, audio []int16, g *ivr.Grammar) (rec ivr.Recognition, err error) {
	if err := ctx.Err(); err != nil {
		return rec, err
	}
	if len(audio) == 0 {
		return rec, nil
	}
	d, err := r.acquire(ctx)
	if err != nil {
		return rec, err
	}
	ok := false
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("sphinx: decoder panicked; replacing it", "panic", p)
			rec, err = ivr.Recognition{}, fmt.Errorf("%w: %v", ErrDecoder, p)
			ok = false
		}
		r.release(d, ok)
	}()
	name, err := r.prepare(d, g)
	if err != nil {
		ok = !errors.Is(err, ErrDecoder)
		return rec, err
	}
	if !d.c.setSearch(name) {
		return rec, fmt.Errorf("%w: cannot select grammar %s", ErrDecoder, name)
	}
	d.buf = upsample(audio, d.buf)
	addComfortNoise(d.buf, audio)
	hyp, nbest, err := d.c.decode(d.buf, nbestSize)
	if err != nil {
		return rec, fmt.Errorf("%w: %v", ErrDecoder, err)
	}
	ok = true
	if err := ctx.Err(); err != nil {
		return rec, err
	}
	rec.Text = strings.Join(strings.Fields(hyp), " ")
	rec.Match, _ = g.Match(rec.Text)
	rec.Confidence = posterior(d.c, g, rec.Match, nbest)
	return rec, nil
}

// prepare compiles g into d (once: the search is cached by the grammar's key) and
// returns its search name. Errors about g itself do not wrap ErrDecoder.
func (r *Recognizer) prepare(d *decoder, g *ivr.Grammar) (string, error) {
	key := g.Key()
	if name, ok := d.searches[key]; ok {
		i := slices.Index(d.recent, key)
		d.recent = append(append(d.recent[:i:i], d.recent[i+1:]...), key)
		return name, nil
	}
	prons, missing, err := r.lex.lookup(g.Words())
	if err != nil {
		return "", err
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("sphinx: not in the dictionary: %s", strings.Join(missing, ", "))
	}
	for _, w := range g.Words() {
		if d.words[w] {
			continue
		}
		for i, phones := range prons[w] {
			name := w
			if i > 0 {
				name += "(" + strconv.Itoa(i+1) + ")"
			}
			if !d.c.addWord(name, phones) {
				return "", fmt.Errorf("%w: cannot add word %q", ErrDecoder, name)
			}
		}
		d.words[w] = true
	}
	if len(d.recent) >= maxSearches {
		old := d.recent[0]
		d.c.unsetSearch(d.searches[old])
		delete(d.searches, old)
		d.recent = d.recent[1:]
	}
	d.seq++
	name := "g" + strconv.Itoa(d.seq)
	if !d.c.setJSGF(name, g.JSGF()) {
		return "", fmt.Errorf("sphinx: PocketSphinx rejected the grammar:\n%s", g.JSGF())
	}
	d.searches[key] = name
	d.recent = append(d.recent, key)
	return name, nil
}

// scored is one n-best hypothesis and its path score (log-math units, higher is better).
type scored struct {
	text  string
	score int
}

// posterior is the confidence in value: the share of the n-best hypotheses' probability
// mass (exp of their scaled scores relative to the best) that stands for value. Paths
// that match nothing in the grammar (a lattice's partial paths) count against it. With
// no n-best list the decoder gave no alternatives to weigh: a match counts as certain.
func posterior(c *cdecoder, g *ivr.Grammar, value string, nbest []scored) float64 {
	if value == "" {
		return 0
	}
	if len(nbest) == 0 {
		return 1
	}
	best := nbest[0].score
	for _, h := range nbest {
		best = max(best, h.score)
	}
	var total, mine float64
	for _, h := range nbest {
		p := math.Exp(c.toLn(h.score-best) * posteriorScale)
		total += p
		if v, ok := g.Match(h.text); ok && v == value {
			mine += p
		}
	}
	return mine / total
}

// Close stops the recognizer: it waits for the recognitions in progress, then frees the
// decoders and unloads the library. Later calls return ErrClosed.
func (r *Recognizer) Close() error {
	r.closeOnce.Do(func() {
		close(r.done)
		for range cap(r.slots) {
			<-r.slots
		}
		for len(r.idle) > 0 {
			(<-r.idle).c.free()
		}
		r.lib.close()
	})
	return nil
}
