package ivr

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// listenQueue bounds the frames waiting for the endpointer: five seconds of 20 ms frames.
// The endpointer keeps up easily; a burst beyond this is dropped, never waited for, since
// the frames come from the media goroutine.
const listenQueue = 250

// listener hears the caller during one speech turn. The Ears callback copies each frame
// into a bounded queue (dropping it when full); one goroutine runs the endpointer over the
// queue, calls onStart when speech starts (the barge-in that cancels the prompt) and hands
// over the utterance when it ends.
type listener struct {
	frames   chan []int16
	quit     chan struct{}
	started  chan struct{} // closed when speech starts
	done     chan []int16  // receives the utterance once
	stopEars func()
	onStart  func()
	wg       sync.WaitGroup
	dropped  atomic.Int64
}

// listen starts hearing the caller; close must be called when the turn ends.
func listen(ears Ears, cfg Endpointing, onStart func()) *listener {
	l := &listener{
		frames:  make(chan []int16, listenQueue),
		quit:    make(chan struct{}),
		started: make(chan struct{}),
		done:    make(chan []int16, 1),
		onStart: onStart,
	}
	ep := NewEndpointer(cfg)
	l.wg.Add(1)
	go l.loop(ep)
	l.stopEars = ears.HearCaller(l.push)
	return l
}

// push is the Ears callback: copy and hand off, never block.
func (l *listener) push(frame []int16) {
	select {
	case <-l.quit:
		return
	default:
	}
	select {
	case l.frames <- slices.Clone(frame):
	default:
		l.dropped.Add(1)
	}
}

func (l *listener) loop(ep *Endpointer) {
	defer l.wg.Done()
	for {
		select {
		case f := <-l.frames:
			switch ep.Write(f) {
			case EndpointStart:
				l.start()
			case EndpointEnd:
				l.start()
				l.done <- ep.Utterance()
				return
			}
		case <-l.quit:
			return
		}
	}
}

func (l *listener) start() {
	select {
	case <-l.started:
	default:
		close(l.started)
		if l.onStart != nil {
			l.onStart()
		}
	}
}

// speaking reports whether the caller started speaking.
func (l *listener) speaking() bool {
	select {
	case <-l.started:
		return true
	default:
		return false
	}
}

// close stops hearing and waits for the goroutine; it returns the frames dropped.
func (l *listener) close() int64 {
	l.stopEars()
	close(l.quit)
	l.wg.Wait()
	return l.dropped.Load()
}

// answer is what the caller did in one turn of a menu or gather: pressed a key, said
// something (heard), or neither (no input).
type answer struct {
	digit byte
	got   bool
	heard *Recognition
}

type digitResult struct {
	d   byte
	ok  bool
	err error
}

// listens reports whether node n takes speech on this run: a speech node, a recognizer,
// and a session that hears the caller (a chat matches typed phrases instead).
func (r *run) listens(n *node) (Ears, bool) {
	if n.input == inputDTMF || n.grammar == nil || r.text != nil || r.set.recognizer == nil {
		return nil, false
	}
	ears, ok := r.sess.(Ears)
	if !ok && !r.warnedEars {
		r.warnedEars = true
		r.log.Warn("ivr: the session cannot hear the caller; speech nodes take keys only", "flow", r.flow.name, "node", n.name)
	}
	return ears, ok
}

// speechTurn plays prompts and waits for the caller's answer: a key (DTMF) or an
// utterance, which it recognizes. Speech that starts during an interruptible prompt stops
// it (barge-in), as a key does. wait bounds the time from the end of the prompt to the
// start of an answer; a caller who is speaking when it runs out is heard to the end.
func (r *run) speechTurn(ctx context.Context, n *node, ears Ears, prompts []prompt, interruptible bool, wait time.Duration) (answer, error) {
	cfg := r.set.endpointing
	playCtx, cancelPlay := context.WithCancel(ctx)
	defer cancelPlay()
	var l *listener
	if interruptible {
		l = listen(ears, cfg, cancelPlay)
	}
	err := r.play(playCtx, n, prompts, interruptible)
	switch {
	case err != nil && ctx.Err() == nil && l != nil && l.speaking():
		r.event(n, "barge_in")
	case err != nil:
		if l != nil {
			l.close()
		}
		return answer{}, err
	}
	if l == nil {
		l = listen(ears, cfg, nil)
	}
	defer func() {
		if dropped := l.close(); dropped > 0 {
			r.log.Warn("ivr: caller audio dropped while listening", "flow", r.flow.name, "node", n.name, "frames", dropped)
		}
	}()

	// A caller who started speaking over the prompt is heard out before any key is read.
	if l.speaking() {
		return r.hearOut(ctx, n, l)
	}
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	digits := make(chan digitResult, 1)
	go func() {
		d, ok, err := r.sess.ReadDigit(readCtx, wait)
		digits <- digitResult{d, ok, err}
	}()
	var utt []int16
	select {
	case res := <-digits:
		switch {
		case res.err != nil:
			return answer{}, errHangup{res.err}
		case res.ok:
			r.digit(n, res.d)
			return answer{digit: res.d, got: true}, nil
		case !l.speaking():
			return answer{}, nil
		}
		return r.hearOut(ctx, n, l)
	case utt = <-l.done:
		cancelRead()
		// A key pressed as the utterance ended still wins: it was consumed.
		res := <-digits
		switch {
		case res.ok:
			r.digit(n, res.d)
			return answer{digit: res.d, got: true}, nil
		case ctx.Err() != nil:
			return answer{}, errHangup{ctx.Err()}
		case res.err != nil && !errors.Is(res.err, context.Canceled):
			return answer{}, errHangup{res.err}
		}
	case <-ctx.Done():
		cancelRead()
		<-digits
		return answer{}, errHangup{ctx.Err()}
	}
	return r.recognize(ctx, n, utt)
}

// hearOut waits for the end of an utterance that has started and recognizes it. A key
// pressed meanwhile wins at once (a caller talking over the menu who then presses the
// key, or a line whose noise reads as speech); the time limit only matters if the audio
// stops flowing mid-utterance.
func (r *run) hearOut(ctx context.Context, n *node, l *listener) (answer, error) {
	cfg := r.set.endpointing
	limit := cfg.MaxSpeech + cfg.EndSilence + time.Second
	guard := time.NewTimer(limit)
	defer guard.Stop()
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	digits := make(chan digitResult, 1)
	go func() {
		d, ok, err := r.sess.ReadDigit(readCtx, limit)
		digits <- digitResult{d, ok, err}
	}()
	for {
		select {
		case res := <-digits:
			digits = nil // no key came: the utterance decides
			switch {
			case res.ok:
				r.digit(n, res.d)
				return answer{digit: res.d, got: true}, nil
			case ctx.Err() != nil:
				return answer{}, errHangup{ctx.Err()}
			}
		case utt := <-l.done:
			cancelRead()
			// A key pressed as the utterance ended still wins: it was consumed.
			if digits != nil {
				if res := <-digits; res.ok {
					r.digit(n, res.d)
					return answer{digit: res.d, got: true}, nil
				}
			}
			return r.recognize(ctx, n, utt)
		case <-guard.C:
			r.event(n, "speech_lost")
			return answer{}, nil
		case <-ctx.Done():
			return answer{}, errHangup{ctx.Err()}
		}
	}
}

// recognize runs the recognizer over one utterance and records what it heard in the path.
// A recognizer failure counts as nothing understood: the caller is asked again.
func (r *run) recognize(ctx context.Context, n *node, utt []int16) (answer, error) {
	began := r.now()
	rec, err := r.set.recognizer.Recognize(ctx, utt, n.grammar)
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, errHangup{ctx.Err()}
		}
		r.log.Warn("ivr: speech recognition failed", "flow", r.flow.name, "node", n.name, "err", err)
		r.in.Metrics.speech("error", r.now().Sub(began))
		r.event(n, "speech_error")
		return answer{heard: &Recognition{}}, nil
	}
	result := "match"
	switch {
	case rec.Match == "":
		result = "no_match"
	case rec.Confidence < n.confidence:
		result = "low_confidence"
	}
	r.in.Metrics.speech(result, r.now().Sub(began))
	r.path = append(r.path, Step{At: r.now(), Flow: r.flow.name, Node: n.name, Kind: n.kind, Event: speechEvent,
		Speech: rec.Text, Confidence: rec.Confidence})
	return answer{heard: &rec}, nil
}

// accepted returns the value a recognition stands for when it is confident enough.
func (n *node) accepted(rec *Recognition) (string, bool) {
	if rec.Match == "" || rec.Confidence < n.confidence {
		return "", false
	}
	return rec.Match, true
}

// setSpeechVars stores what was heard beside a node's variable (input.x_speech and
// input.x_confidence), or clears them when the answer was keyed.
func (r *run) setSpeechVars(varName string, rec *Recognition) {
	if varName == "" {
		return
	}
	if rec == nil {
		delete(r.vars, varName+"_speech")
		delete(r.vars, varName+"_confidence")
		return
	}
	r.vars[varName+"_speech"] = rec.Text
	r.vars[varName+"_confidence"] = strconv.FormatFloat(rec.Confidence, 'f', 2, 64)
}
