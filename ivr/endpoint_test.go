package ivr_test

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

// samples returns the number of 8 kHz samples in d.
func samples(d time.Duration) int { return int(d * ivr.SpeechRate / time.Second) }

func silence(d time.Duration) []int16 { return make([]int16, samples(d)) }

// tone is a 440 Hz sine at level dBFS (peak).
func tone(level float64, d time.Duration) []int16 {
	amp := 32767 * math.Pow(10, level/20)
	out := make([]int16, samples(d))
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*440*float64(i)/ivr.SpeechRate))
	}
	return out
}

// noise is uniform white noise at level dBFS (peak), the same on every run.
func noise(level float64, d time.Duration, seed uint64) []int16 {
	amp := 32767 * math.Pow(10, level/20)
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]int16, samples(d))
	for i := range out {
		out[i] = int16(amp * (2*r.Float64() - 1))
	}
	return out
}

// mix adds b into a (clipping), from a's sample at.
func mix(a, b []int16, at int) []int16 {
	out := slices.Clone(a)
	for i, s := range b {
		if at+i < len(out) {
			out[at+i] = int16(max(-32768, min(32767, int(out[at+i])+int(s))))
		}
	}
	return out
}

// feed writes audio in frames of n samples and returns the sample offsets (end of the
// frame) at which Start and End were reported.
func feed(e *ivr.Endpointer, audio []int16, n int) (start, end int) {
	start, end = -1, -1
	for off := 0; off < len(audio); off += n {
		stop := min(off+n, len(audio))
		switch e.Write(audio[off:stop]) {
		case ivr.EndpointStart:
			start = stop
		case ivr.EndpointEnd:
			if start < 0 {
				start = stop
			}
			end = stop
		}
	}
	return start, end
}

func TestEndpointer(t *testing.T) {
	ms := func(n int) int { return samples(time.Duration(n) * time.Millisecond) }
	word := slices.Concat(silence(500*time.Millisecond), tone(-10, 600*time.Millisecond), silence(1500*time.Millisecond))
	cases := []struct {
		name         string
		cfg          ivr.Endpointing
		audio        []int16
		start, end   int // sample offsets of the events (-1: none)
		utt          int // utterance length
		frame        int
		wantNoSpeech bool
	}{
		{
			name: "a word: start after 100 ms of voice, end after 700 ms of silence", audio: word, frame: 160,
			start: ms(600), end: ms(1100 + 700), utt: ms(300 + 600 + 300),
		},
		{
			name: "odd frame sizes see the same", audio: word, frame: 37,
			start: ms(600) + 37 - ms(600)%37, end: ms(1800) + 37 - ms(1800)%37, utt: ms(1200),
		},
		{
			name: "one long frame ends it at once", audio: word, frame: len(word),
			start: len(word), end: len(word), utt: ms(1200),
		},
		{
			name: "a click is no speech", frame: 160,
			audio: slices.Concat(silence(500*time.Millisecond), tone(-10, 40*time.Millisecond), silence(time.Second)),
			start: -1, end: -1,
			wantNoSpeech: true,
		},
		{
			name: "a pause shorter than the end silence is inside the utterance", frame: 160,
			audio: slices.Concat(silence(500*time.Millisecond), tone(-10, 300*time.Millisecond), silence(400*time.Millisecond),
				tone(-10, 300*time.Millisecond), silence(time.Second)),
			start: ms(600), end: ms(1500 + 700), utt: ms(300 + 1000 + 300),
		},
		{
			name: "max speech cuts a long utterance", cfg: ivr.Endpointing{MaxSpeech: time.Second}, frame: 160,
			audio: slices.Concat(silence(500*time.Millisecond), tone(-10, 3*time.Second)),
			start: ms(600), end: ms(500 + 100 + 600), utt: ms(1000),
		},
		{
			name: "speech over steady noise starts with the speech", frame: 160,
			audio: mix(noise(-30, 3*time.Second, 1), tone(-10, 600*time.Millisecond), ms(1000)),
			start: ms(1100), end: ms(1600 + 700), utt: ms(1200),
		},
		{
			name: "noise that swells slowly is no speech", frame: 160,
			audio: func() []int16 {
				var out []int16
				for i := range 20 {
					out = append(out, noise(-50+float64(i), 100*time.Millisecond, uint64(i))...)
				}
				return out
			}(),
			start: -1, end: -1, wantNoSpeech: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := ivr.NewEndpointer(c.cfg)
			start, end := feed(e, c.audio, c.frame)
			if start != c.start || end != c.end {
				t.Errorf("start at %d, end at %d; want %d, %d", start, end, c.start, c.end)
			}
			if c.wantNoSpeech {
				if e.Started() || e.Utterance() != nil {
					t.Errorf("heard speech in no speech")
				}
				return
			}
			if !e.Ended() || len(e.Utterance()) != c.utt {
				t.Errorf("ended %v, utterance of %d samples; want %d", e.Ended(), len(e.Utterance()), c.utt)
			}
			if e.Write(tone(-10, time.Second)) != ivr.EndpointNone || len(e.Utterance()) != c.utt {
				t.Errorf("audio after the end changed the utterance")
			}
		})
	}
}

// TestEndpointerOnFixtures cuts every speech fixture, clean and noisy, followed by a
// second of silence: one utterance must cover the speech (where the clean recording is
// within 30 dB of its peak) and not much more.
func TestEndpointerOnFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/speech/*/*.wav")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		audio, err := ivrtest.ReadWAV(f)
		if err != nil {
			t.Fatal(err)
		}
		name, _, _ := strings.Cut(filepath.Base(f), "_white")
		name, _, _ = strings.Cut(name, "_pink")
		clean, err := ivrtest.ReadWAV(filepath.Join("testdata", "speech", "clean", strings.TrimSuffix(name, ".wav")+".wav"))
		if err != nil {
			t.Fatal(err)
		}
		first, last := speechSpan(clean)
		e := ivr.NewEndpointer(ivr.Endpointing{})
		start, end := feed(e, append(audio, silence(time.Second)...), 160)
		utt := e.Utterance()
		if start < 0 || end < 0 || len(utt) < 160 {
			t.Errorf("%s: no utterance", f)
			continue
		}
		// The utterance is a copy of the input: find where it starts.
		from := -1
		for i := 0; i+160 <= len(audio); i++ {
			if slices.Equal(audio[i:i+160], utt[:160]) {
				from = i
				break
			}
		}
		to := from + len(utt)
		if from < 0 || from > first || to < last || len(utt) > last-first+samples(time.Second) {
			t.Errorf("%s: utterance [%d, %d) for speech in [%d, %d]", f, from, to, first, last)
		}
	}
}

// speechSpan returns the first and last samples within 30 dB of the peak.
func speechSpan(a []int16) (first, last int) {
	peak := 0.0
	for _, s := range a {
		peak = max(peak, math.Abs(float64(s)))
	}
	first, last = -1, -1
	for i, s := range a {
		if math.Abs(float64(s)) >= peak/31.6 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return first, last
}
