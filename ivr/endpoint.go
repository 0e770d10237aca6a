package ivr

import (
	"math"
	"time"
)

// Endpointing tunes the voice activity detection of speech nodes: when the caller starts
// speaking (which stops the prompt: barge-in) and when they have finished (which sends
// the utterance to the recognizer). Zero fields take the defaults. Times are audio time,
// counted in samples, so the detector behaves the same however the frames arrive.
type Endpointing struct {
	// Start is how long voiced audio must last to start an utterance (default 100ms), so
	// that a click or a breath does not stop a prompt.
	Start time.Duration
	// EndSilence is the pause that ends an utterance (default 700ms); shorter pauses,
	// between the words of "talk to a person" or the digits of a number, do not.
	EndSilence time.Duration
	// MaxSpeech cuts an utterance this long (default 10s).
	MaxSpeech time.Duration
	// PreRoll is the audio kept from before the start and after the end (default 300ms):
	// the start is only known Start after the onset, and a recognizer wants a little
	// silence around the words.
	PreRoll time.Duration
	// Margin is how far above the background level a frame must be to count as voiced, in
	// dB (default 10).
	Margin float64
	// MinLevel is the quietest level that counts as voiced, in dBFS (default -45), so that
	// line hiss after digital silence does not.
	MinLevel float64
}

// The endpointing defaults.
const (
	defaultStart      = 100 * time.Millisecond
	defaultEndSilence = 700 * time.Millisecond
	defaultMaxSpeech  = 10 * time.Second
	defaultPreRoll    = 300 * time.Millisecond
	defaultMargin     = 10
	defaultMinLevel   = -45
)

// withDefaults fills zero fields.
func (e Endpointing) withDefaults() Endpointing {
	if e.Start <= 0 {
		e.Start = defaultStart
	}
	if e.EndSilence <= 0 {
		e.EndSilence = defaultEndSilence
	}
	if e.MaxSpeech <= 0 {
		e.MaxSpeech = defaultMaxSpeech
	}
	if e.PreRoll <= 0 {
		e.PreRoll = defaultPreRoll
	}
	if e.Margin <= 0 {
		e.Margin = defaultMargin
	}
	if e.MinLevel == 0 {
		e.MinLevel = defaultMinLevel
	}
	return e
}

// blockSamples is the detector's analysis block: 20 ms, one RTP packet of G.711.
const blockSamples = SpeechRate / 50

// floorRise is the fraction of the distance to a quieter-than-voiced block's level by which
// the background estimate rises per block: it follows a noise that grows within a second,
// while a fall (a quieter line) is taken at once.
const floorRise = 0.1

// EndpointEvent is what one Endpointer.Write saw.
type EndpointEvent uint8

// The endpoint events.
const (
	// EndpointNone: nothing new (silence, or more of an utterance).
	EndpointNone EndpointEvent = iota
	// EndpointStart: an utterance started.
	EndpointStart
	// EndpointEnd: the utterance ended; Utterance returns it.
	EndpointEnd
)

// Endpointer finds one utterance in a stream of 8 kHz frames by their energy: a block is
// voiced when it is MinLevel or louder and Margin above the background level, which it
// tracks while nobody speaks. Start of voiced audio starts the utterance, EndSilence of
// unvoiced audio (or MaxSpeech) ends it. It is not safe for concurrent use.
type Endpointer struct {
	cfg                    Endpointing
	startBlocks, endBlocks int
	maxSamples, preSamples int
	block                  []int16 // the block being filled
	pre                    []int16 // the last PreRoll+Start of audio before the start
	floor                  float64
	haveFloor              bool
	voicedRun, silentRun   int
	started, ended         bool
	utt                    []int16
	lastVoiced             int // len(utt) after the last voiced block
}

// NewEndpointer returns a detector with cfg (zero fields take the defaults).
func NewEndpointer(cfg Endpointing) *Endpointer {
	cfg = cfg.withDefaults()
	blocks := func(d time.Duration) int {
		return max(1, int((d*SpeechRate/time.Second+blockSamples-1)/blockSamples))
	}
	return &Endpointer{
		cfg:         cfg,
		startBlocks: blocks(cfg.Start),
		endBlocks:   blocks(cfg.EndSilence),
		maxSamples:  int(cfg.MaxSpeech * SpeechRate / time.Second),
		preSamples:  int(cfg.PreRoll * SpeechRate / time.Second),
		block:       make([]int16, 0, blockSamples),
	}
}

// Write feeds frame (any length) and reports whether an utterance started or ended in it.
// After EndpointEnd it ignores further audio.
func (e *Endpointer) Write(frame []int16) EndpointEvent {
	ev := EndpointNone
	for len(frame) > 0 && !e.ended {
		n := min(len(frame), blockSamples-len(e.block))
		e.block = append(e.block, frame[:n]...)
		frame = frame[n:]
		if len(e.block) < blockSamples {
			break
		}
		if got := e.analyse(e.block); got != EndpointNone {
			ev = got
		}
		e.block = e.block[:0]
	}
	return ev
}

// Started reports whether an utterance has started.
func (e *Endpointer) Started() bool { return e.started }

// Ended reports whether the utterance has ended.
func (e *Endpointer) Ended() bool { return e.ended }

// Utterance returns the utterance after EndpointEnd: PreRoll of audio before its start,
// the speech, and up to PreRoll of the pause that ended it. The slice is the Endpointer's.
func (e *Endpointer) Utterance() []int16 { return e.utt }

// analyse classifies one block and moves the detector.
func (e *Endpointer) analyse(b []int16) EndpointEvent {
	level := blockLevel(b)
	if !e.haveFloor {
		e.floor, e.haveFloor = level, true
	}
	voiced := level >= e.cfg.MinLevel && level >= e.floor+e.cfg.Margin
	if !e.started {
		e.pre = append(e.pre, b...)
		if keep := e.preSamples + e.startBlocks*blockSamples; len(e.pre) > keep {
			e.pre = append(e.pre[:0], e.pre[len(e.pre)-keep:]...)
		}
		if !voiced {
			e.voicedRun = 0
			if level < e.floor {
				e.floor = level
			} else {
				e.floor += (level - e.floor) * floorRise
			}
			return EndpointNone
		}
		e.voicedRun++
		if e.voicedRun < e.startBlocks {
			return EndpointNone
		}
		e.started = true
		e.utt = append(e.utt, e.pre...)
		e.pre = nil
		e.lastVoiced = len(e.utt)
		return EndpointStart
	}
	e.utt = append(e.utt, b...)
	if voiced {
		e.silentRun = 0
		e.lastVoiced = len(e.utt)
	} else {
		e.silentRun++
	}
	if e.silentRun >= e.endBlocks || len(e.utt) >= e.maxSamples {
		e.ended = true
		if keep := e.lastVoiced + e.preSamples; len(e.utt) > keep {
			e.utt = e.utt[:keep]
		}
		return EndpointEnd
	}
	return EndpointNone
}

// blockLevel returns a block's mean power in dBFS (-100 for digital silence).
func blockLevel(b []int16) float64 {
	var sum float64
	for _, s := range b {
		f := float64(s)
		sum += f * f
	}
	if sum == 0 {
		return -100
	}
	return max(-100, 10*math.Log10(sum/float64(len(b))/(32768*32768)))
}
