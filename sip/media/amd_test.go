package media

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// seg is a stretch of synthesised call audio.
type seg struct {
	kind string // "speech", "silence" (line noise), "hum" (a quiet line)
	ms   int
}

// synth makes 8 kHz audio from segments: speech is noise under a
// syllable-rate envelope (mean amplitude well above 256), silence is
// faint line noise, hum a quiet line (mean amplitude about 200).
func synth(segs ...seg) []int16 {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []int16
	for _, s := range segs {
		for i := range s.ms * 8 {
			var v float64
			switch s.kind {
			case "speech":
				env := 0.6 + 0.4*math.Sin(2*math.Pi*4*float64(i)/8000)
				v = env * (rng.Float64()*2 - 1) * 6000
			case "silence":
				v = (rng.Float64()*2 - 1) * 60
			case "hum":
				v = (rng.Float64()*2 - 1) * 400
			}
			out = append(out, int16(v))
		}
	}
	return out
}

func repeat(n int, segs ...seg) []seg {
	var out []seg
	for range n {
		out = append(out, segs...)
	}
	return out
}

func speech(ms int) seg  { return seg{"speech", ms} }
func silence(ms int) seg { return seg{"silence", ms} }

// feed runs a detector over audio in 20 ms frames; it returns the result
// and whether it was decided.
func feed(a *AMD, audio []int16) (AMDResult, bool) {
	var r AMDResult
	var done bool
	for off := 0; off < len(audio); off += FrameSamples {
		if r, done = a.Feed(audio[off:min(off+FrameSamples, len(audio))]); done {
			break
		}
	}
	return r, done
}

func TestAMD(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		name  string
		cfg   AMDConfig
		audio []seg
		want  AMDResult
	}{
		{
			name:  "hello then waits",
			audio: []seg{silence(300), speech(500), silence(1500)},
			want:  AMDResult{Status: AMDHuman, Cause: AMDCauseHuman, Elapsed: ms(1600), Voice: ms(500), Silence: ms(800), Words: 1},
		},
		{
			// As app_amd: voice from the first frame starts the greeting
			// but is not counted as a word.
			name:  "hello at once",
			audio: []seg{speech(400), silence(1500)},
			want:  AMDResult{Status: AMDHuman, Cause: AMDCauseHuman, Elapsed: ms(1200), Voice: ms(400), Silence: ms(800)},
		},
		{
			// Three seconds of speech whose dips are too short to end a
			// word: a recorded greeting.
			name:  "long greeting",
			audio: append([]seg{silence(200)}, repeat(10, speech(280), silence(20))...),
			want:  AMDResult{Status: AMDMachine, Cause: AMDCauseLongGreeting, Elapsed: ms(200 + 1500 + 5*20), Voice: ms(1500), Word: ms(1500), Words: 1},
		},
		{
			name:  "two words",
			audio: []seg{silence(200), speech(300), silence(200), speech(300), silence(1000)},
			want:  AMDResult{Status: AMDMachine, Cause: AMDCauseMaxWords, Elapsed: ms(800), Voice: ms(400), Word: ms(100), Words: 2},
		},
		{
			name:  "two words, three allowed",
			cfg:   AMDConfig{MaximumNumberOfWords: 3},
			audio: []seg{silence(200), speech(300), silence(200), speech(300), silence(1000)},
			want:  AMDResult{Status: AMDHuman, Cause: AMDCauseHuman, Elapsed: ms(1800), Voice: ms(600), Silence: ms(800), Words: 2},
		},
		{
			name:  "silence",
			audio: []seg{silence(3000)},
			want:  AMDResult{Status: AMDMachine, Cause: AMDCauseInitialSilence, Elapsed: ms(2500), Silence: ms(2500)},
		},
		{
			name:  "shorter initial silence",
			cfg:   AMDConfig{InitialSilence: time.Second},
			audio: []seg{silence(1500)},
			want:  AMDResult{Status: AMDMachine, Cause: AMDCauseInitialSilence, Elapsed: ms(1000), Silence: ms(1000)},
		},
		{
			name:  "quiet line",
			audio: []seg{{"hum", 3000}},
			want:  AMDResult{Status: AMDMachine, Cause: AMDCauseInitialSilence, Elapsed: ms(2500), Silence: ms(2500)},
		},
		{
			name:  "quiet line above a lower threshold",
			cfg:   AMDConfig{SilenceThreshold: 100},
			audio: []seg{{"hum", 3000}},
			want:  AMDResult{Status: AMDMachine, Cause: AMDCauseLongGreeting, Elapsed: ms(1500), Voice: ms(1500), Word: ms(1500)},
		},
		{
			// Clicks shorter than a word, gaps shorter than the initial
			// silence: nothing decides.
			name:  "clicks",
			audio: repeat(40, speech(60), silence(100)),
			want:  AMDResult{Status: AMDNotSure, Cause: AMDCauseTooLong, Elapsed: ms(5000), Voice: ms(31*60 + 20), Word: ms(20)},
		},
		{
			name:  "one long word",
			cfg:   AMDConfig{Greeting: 10 * time.Second, TotalAnalysisTime: 20 * time.Second, MaximumWordLength: 2 * time.Second},
			audio: []seg{silence(100), speech(4000)},
			want:  AMDResult{Status: AMDMachine, Cause: AMDCauseMaxWordLength, Elapsed: ms(2100), Voice: ms(2000), Word: ms(2000), Words: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAMD(tc.cfg)
			got, done := feed(a, synth(tc.audio...))
			if !done {
				t.Fatalf("undecided after all the audio: %+v", got)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			again, done := a.Feed(synth(speech(20)))
			if !done || again != got {
				t.Errorf("after the decision Feed returns %+v, %v; want %+v, true", again, done, got)
			}
		})
	}
}

func TestAMDDefaults(t *testing.T) {
	want := AMDConfig{
		InitialSilence: 2500 * time.Millisecond, Greeting: 1500 * time.Millisecond,
		AfterGreetingSilence: 800 * time.Millisecond, TotalAnalysisTime: 5000 * time.Millisecond,
		MinimumWordLength: 100 * time.Millisecond, BetweenWordsSilence: 50 * time.Millisecond,
		MaximumNumberOfWords: 2, MaximumWordLength: 5000 * time.Millisecond, SilenceThreshold: 256,
	}
	if diff := cmp.Diff(want, NewAMD(AMDConfig{}).Config()); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	cfg := AMDConfig{Greeting: time.Second, SilenceThreshold: 10}
	got := NewAMD(cfg).Config()
	if got.Greeting != time.Second || got.SilenceThreshold != 10 || got.InitialSilence != want.InitialSilence {
		t.Errorf("a set field or a default lost: %+v", got)
	}
}

func TestAMDEmptyFrame(t *testing.T) {
	a := NewAMD(AMDConfig{})
	for range 1000 {
		if r, done := a.Feed(nil); done || r.Elapsed != 0 {
			t.Fatalf("empty frames decided or counted: %+v", r)
		}
	}
}

func TestAMDResultString(t *testing.T) {
	r := AMDResult{Status: AMDMachine, Cause: AMDCauseMaxWords}
	if got, want := r.String(), "MACHINE/MAXWORDS"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestAMDZeroAlloc(t *testing.T) {
	audio := synth(silence(200), speech(300), silence(200))
	allocs := testing.AllocsPerRun(100, func() {
		a := AMD{cfg: AMDConfig{}.withDefaults(), inWord: true, initial: true}
		feed(&a, audio)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per analysis", allocs)
	}
}
