package sip

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ringTones are the "ring" indications of a few countries, copied from
// Asterisk's indications.conf, so a Ringback setting reads the same as
// Asterisk's country option of Playtones(ring).
var ringTones = map[string]string{
	"us": "440+480/2000,0/4000",
	"uk": "400+450/400,0/200,400+450/400,0/2000",
	"de": "425/1000,0/4000",
	"fr": "440/1500,0/3500",
	"es": "425/1500,0/3000",
	"nl": "425/1000,0/4000",
}

// defaultRingback is the tone played when Config.Ringback is empty
// (Asterisk's default country).
const defaultRingback = "us"

// toneAmplitude is the peak of each frequency of a generated tone: 7219,
// Asterisk's default playtones volume.
const toneAmplitude = 7219

// Limits of a tone spec (it comes from configuration, still checked).
const (
	maxToneParts   = 16
	maxToneSamples = 30 * 8000 // one cadence of at most 30 s
)

// ringbackAudio resolves Config.Ringback into the samples looped during
// early media: a WAV file (a name ending in .wav, resolved like prompts),
// a country of ringTones, or a tone in Asterisk's indications syntax.
func (g *Gateway) ringbackAudio(spec string) ([]int16, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		spec = defaultRingback
	}
	if strings.HasSuffix(strings.ToLower(spec), ".wav") {
		a, err := g.prompt(spec)
		if err != nil {
			return nil, err
		}
		if len(a.Samples) == 0 {
			return nil, fmt.Errorf("%w: %q has no audio", ErrPromptFile, spec)
		}
		return a.Samples, nil
	}
	if t, ok := ringTones[strings.ToLower(spec)]; ok {
		spec = t
	}
	return toneSamples(spec)
}

// toneSamples generates one cadence of a tone written in Asterisk's
// indications syntax: comma-separated parts "f1[+f2]/ms", where a
// frequency of 0 is silence ("440+480/2000,0/4000": 2 s of 440 Hz plus
// 480 Hz, then 4 s of silence). Asterisk's "!" (play once) and "*"
// (modulation) are not supported.
func toneSamples(spec string) ([]int16, error) {
	parts := strings.Split(spec, ",")
	if len(parts) > maxToneParts {
		return nil, fmt.Errorf("%w: ringback %q: more than %d parts", ErrBadConfig, spec, maxToneParts)
	}
	var out []int16
	for _, p := range parts {
		freqs, dur, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok {
			return nil, fmt.Errorf("%w: ringback %q: part %q has no duration (freq/ms)", ErrBadConfig, spec, p)
		}
		ms, err := strconv.Atoi(dur)
		if err != nil || ms <= 0 {
			return nil, fmt.Errorf("%w: ringback %q: bad duration %q", ErrBadConfig, spec, dur)
		}
		n := ms * 8
		if len(out)+n > maxToneSamples {
			return nil, fmt.Errorf("%w: ringback %q: cadence longer than %d s", ErrBadConfig, spec, maxToneSamples/8000)
		}
		var fs []float64
		for _, f := range strings.Split(freqs, "+") {
			hz, err := strconv.Atoi(f)
			if err != nil || hz < 0 || hz >= 4000 {
				return nil, fmt.Errorf("%w: ringback %q: bad frequency %q", ErrBadConfig, spec, f)
			}
			if hz > 0 {
				fs = append(fs, float64(hz))
			}
		}
		if len(fs) > 2 {
			return nil, fmt.Errorf("%w: ringback %q: more than two frequencies", ErrBadConfig, spec)
		}
		for i := range n {
			v := 0.0
			for _, hz := range fs {
				v += toneAmplitude * math.Sin(2*math.Pi*hz*float64(i)/8000)
			}
			out = append(out, int16(v))
		}
	}
	return out, nil
}
