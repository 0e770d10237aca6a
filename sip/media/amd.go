package media

import "time"

// AMDConfig holds the parameters of answering-machine detection, those of
// Asterisk's app_amd (amd.conf). A zero field takes its default.
type AMDConfig struct {
	// InitialSilence is the longest silence before the greeting; longer is
	// a machine (default 2500 ms).
	InitialSilence time.Duration
	// Greeting is the longest greeting, counted in voice; longer is a
	// machine (default 1500 ms).
	Greeting time.Duration
	// AfterGreetingSilence is the silence after a greeting that makes it a
	// human's: someone who said "Hello?" and waits (default 800 ms).
	AfterGreetingSilence time.Duration
	// TotalAnalysisTime is how long the audio is analysed before giving up
	// undecided (default 5000 ms).
	TotalAnalysisTime time.Duration
	// MinimumWordLength is the shortest voice that counts as a word
	// (default 100 ms).
	MinimumWordLength time.Duration
	// BetweenWordsSilence is the shortest silence that ends a word
	// (default 50 ms).
	BetweenWordsSilence time.Duration
	// MaximumNumberOfWords is the word count that makes a machine
	// (default 2).
	MaximumNumberOfWords int
	// MaximumWordLength is the longest single word; longer is a machine
	// (default 5000 ms).
	MaximumWordLength time.Duration
	// SilenceThreshold is the mean absolute amplitude (16-bit linear) under
	// which a frame is silence (default 256).
	SilenceThreshold int
}

// withDefaults returns c with every zero field set to its default.
func (c AMDConfig) withDefaults() AMDConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.InitialSilence, 2500*time.Millisecond)
	def(&c.Greeting, 1500*time.Millisecond)
	def(&c.AfterGreetingSilence, 800*time.Millisecond)
	def(&c.TotalAnalysisTime, 5000*time.Millisecond)
	def(&c.MinimumWordLength, 100*time.Millisecond)
	def(&c.BetweenWordsSilence, 50*time.Millisecond)
	def(&c.MaximumWordLength, 5000*time.Millisecond)
	if c.MaximumNumberOfWords <= 0 {
		c.MaximumNumberOfWords = 2
	}
	if c.SilenceThreshold <= 0 {
		c.SilenceThreshold = 256
	}
	return c
}

// AMDStatus is the verdict of answering-machine detection.
type AMDStatus uint8

// The verdicts, as app_amd's AMDSTATUS.
const (
	AMDNotSure AMDStatus = iota // the analysis time ran out
	AMDHuman
	AMDMachine
)

// String returns the verdict as app_amd names it.
func (s AMDStatus) String() string {
	switch s {
	case AMDHuman:
		return "HUMAN"
	case AMDMachine:
		return "MACHINE"
	}
	return "NOTSURE"
}

// AMDCause names the rule that decided, as app_amd's AMDCAUSE.
type AMDCause string

// The causes of a verdict.
const (
	// AMDCauseInitialSilence: silence lasted InitialSilence before any
	// word (a machine, as in app_amd: a voicemail that waits, or dead air).
	AMDCauseInitialSilence AMDCause = "INITIALSILENCE"
	// AMDCauseHuman: a greeting followed by AfterGreetingSilence.
	AMDCauseHuman AMDCause = "HUMAN"
	// AMDCauseLongGreeting: the greeting's voice reached Greeting.
	AMDCauseLongGreeting AMDCause = "LONGGREETING"
	// AMDCauseMaxWords: MaximumNumberOfWords words were said.
	AMDCauseMaxWords AMDCause = "MAXWORDS"
	// AMDCauseMaxWordLength: one word lasted MaximumWordLength.
	AMDCauseMaxWordLength AMDCause = "MAXWORDLENGTH"
	// AMDCauseTooLong: TotalAnalysisTime passed without a decision.
	AMDCauseTooLong AMDCause = "TOOLONG"
)

// AMDResult is a decision and the figures it was taken on.
type AMDResult struct {
	Status AMDStatus
	Cause  AMDCause
	// Elapsed is the audio analysed, Voice the part of it that was voice.
	Elapsed, Voice time.Duration
	// Silence is the silence that was going on, Word the length of the
	// word being said, Words the words counted.
	Silence, Word time.Duration
	Words         int
}

// String returns the verdict and its cause ("MACHINE/LONGGREETING").
func (r AMDResult) String() string { return r.Status.String() + "/" + string(r.Cause) }

// AMD detects answering machines on the audio of an answered outbound
// call, with the cadence rules of Asterisk's app_amd: each frame is voice
// or silence by its mean absolute amplitude; voice lasting
// MinimumWordLength after a silence of BetweenWordsSilence is a word; the
// first word starts the greeting. A human answers with a short greeting
// ("Hello?") and waits for an answer; a machine plays a long greeting of
// many words, or waits in silence. As in app_amd, voice at the very start
// of the analysis, before any silence, is not counted as a word (it may
// still start the greeting).
//
// An AMD is a pure state machine fed frames in order (Feed): no
// goroutine, no clock, no allocation. It is not safe for concurrent use.
type AMD struct {
	cfg AMDConfig
	r   AMDResult // the figures so far, and the decision once done

	inWord   bool // app_amd starts in a word: a first word needs a silence before it
	greeting bool // the first word began the greeting
	initial  bool // no word yet: still in the initial silence
	done     bool
}

// NewAMD returns a detector with cfg (zero fields take their defaults).
func NewAMD(cfg AMDConfig) *AMD {
	return &AMD{cfg: cfg.withDefaults(), inWord: true, initial: true}
}

// Config returns the detector's parameters, defaults filled in.
func (a *AMD) Config() AMDConfig { return a.cfg }

// Feed analyses the next frame of received audio (8 kHz linear; normally
// one 20 ms frame). It returns the result and true once decided, and the
// same result on every later call; before that, the figures so far and
// false. An empty frame changes nothing.
func (a *AMD) Feed(frame []int16) (AMDResult, bool) {
	if a.done || len(frame) == 0 {
		return a.r, a.done
	}
	d := time.Duration(len(frame)) * time.Second / 8000
	r := &a.r
	r.Elapsed += d
	if r.Elapsed >= a.cfg.TotalAnalysisTime {
		return a.decide(AMDNotSure, AMDCauseTooLong)
	}
	var sum int
	for _, v := range frame {
		sum += max(int(v), -int(v))
	}
	if sum/len(frame) < a.cfg.SilenceThreshold {
		r.Silence += d
		if r.Silence >= a.cfg.BetweenWordsSilence {
			a.inWord = false
			r.Word = 0
		}
		switch {
		case a.initial && r.Silence >= a.cfg.InitialSilence:
			return a.decide(AMDMachine, AMDCauseInitialSilence)
		case a.greeting && r.Silence >= a.cfg.AfterGreetingSilence:
			return a.decide(AMDHuman, AMDCauseHuman)
		}
		return a.r, false
	}
	r.Silence = 0
	r.Word += d
	r.Voice += d
	if r.Word >= a.cfg.MinimumWordLength && !a.inWord {
		r.Words++
		a.inWord = true
	}
	switch {
	case r.Word >= a.cfg.MaximumWordLength:
		return a.decide(AMDMachine, AMDCauseMaxWordLength)
	case r.Words >= a.cfg.MaximumNumberOfWords:
		return a.decide(AMDMachine, AMDCauseMaxWords)
	case a.greeting && r.Voice >= a.cfg.Greeting:
		return a.decide(AMDMachine, AMDCauseLongGreeting)
	}
	if r.Word >= a.cfg.MinimumWordLength && !a.greeting {
		a.initial = false
		a.greeting = true
	}
	return a.r, false
}

func (a *AMD) decide(s AMDStatus, c AMDCause) (AMDResult, bool) {
	a.r.Status, a.r.Cause = s, c
	a.done = true
	return a.r, true
}
