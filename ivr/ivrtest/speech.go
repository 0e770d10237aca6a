package ivrtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"switchboard/ivr"
)

// Scripted speech travels as audio that the endpointer takes for a loud voice and that
// Recognizer reads back: a marker sample, the confidence in percent, the text's length and
// its bytes, each offset by speechBase, repeated for speechLength.
const (
	speechMarker = 30000
	speechBase   = 20000
	speechLength = 400 * time.Millisecond
	leadSilence  = 200 * time.Millisecond
	tailSilence  = 2 * time.Second
	frameSamples = ivr.SpeechRate / 50
)

// stopGuard bounds how long a scripted utterance waits for the IVR to react (stop the
// prompt, or stop reading digits), so that a flow that never does fails instead of
// hanging the test.
const stopGuard = 10 * time.Second

// speechAudio encodes a scripted utterance: silence, the loud message, then silence long
// enough to end it.
func speechAudio(text string, confidence float64) []int16 {
	if len(text) > 255 {
		text = text[:255]
	}
	msg := []int16{speechMarker, speechBase + int16(confidence*100+0.5), speechBase + int16(len(text))}
	for i := 0; i < len(text); i++ {
		msg = append(msg, speechBase+int16(text[i]))
	}
	samples := func(d time.Duration) int { return int(d * ivr.SpeechRate / time.Second) }
	out := make([]int16, samples(leadSilence), samples(leadSilence+speechLength+tailSilence))
	for len(out) < samples(leadSilence+speechLength) {
		out = append(out, msg...)
	}
	return append(out, make([]int16, samples(tailSilence))...)
}

// speak plays a scripted utterance into ear in 20 ms frames; TalkOver's has no silence
// to end it.
func speak(ear func([]int16), ev Event) {
	audio := speechAudio(ev.text, ev.confidence)
	if ev.kind == evTalkOver {
		audio = audio[:len(audio)-int(tailSilence*ivr.SpeechRate/time.Second)]
	}
	for len(audio) > 0 {
		n := min(len(audio), frameSamples)
		ear(audio[:n])
		audio = audio[n:]
	}
}

// waitStopped waits for the IVR to end ctx after hearing scripted speech.
func waitStopped(ctx context.Context) error {
	t := time.NewTimer(stopGuard)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-t.C:
		return fmt.Errorf("%w: the IVR did not react to scripted speech", ErrScript)
	}
}

// decodeSpeech reads a scripted utterance back from audio.
func decodeSpeech(audio []int16) (text string, confidence float64, ok bool) {
	for i, s := range audio {
		if s != speechMarker || i+2 >= len(audio) {
			continue
		}
		n := int(audio[i+2] - speechBase)
		if n < 0 || i+3+n > len(audio) {
			return "", 0, false
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(audio[i+3+j] - speechBase)
		}
		return string(b), float64(audio[i+1]-speechBase) / 100, true
	}
	return "", 0, false
}

// Recognizer is an ivr.Recognizer that understands the speech a Session scripts (Say,
// SayWith, BargeIn): it reads the text back from the audio and matches it against the
// grammar with the scripted confidence. Audio without scripted speech is heard as
// nothing. CheckErr and Err make Check and Recognize fail.
type Recognizer struct {
	// CheckErr is returned by every Check.
	CheckErr error
	// Err is returned by every Recognize.
	Err error

	mu    sync.Mutex
	heard []string
	keys  []string
}

var _ ivr.Recognizer = (*Recognizer)(nil)

// Check records the grammar and returns CheckErr.
func (r *Recognizer) Check(g *ivr.Grammar) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, g.Key())
	return r.CheckErr
}

// Recognize reads the scripted text from audio.
func (r *Recognizer) Recognize(ctx context.Context, audio []int16, g *ivr.Grammar) (ivr.Recognition, error) {
	if err := ctx.Err(); err != nil {
		return ivr.Recognition{}, err
	}
	if r.Err != nil {
		return ivr.Recognition{}, r.Err
	}
	text, conf, ok := decodeSpeech(audio)
	if !ok {
		return ivr.Recognition{}, nil
	}
	r.mu.Lock()
	r.heard = append(r.heard, text)
	r.mu.Unlock()
	match, _ := g.Match(text)
	return ivr.Recognition{Text: text, Match: match, Confidence: conf}, nil
}

// Heard returns the texts recognized, in order.
func (r *Recognizer) Heard() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.heard...)
}

// Checked returns the Key of every grammar checked, in order.
func (r *Recognizer) Checked() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.keys...)
}

// ErrWAV is wrapped by ReadWAV's errors about the file's format.
var ErrWAV = errors.New("ivrtest: not an 8 kHz mono μ-law or 16-bit PCM WAV file")

// ReadWAV reads an 8 kHz mono WAV file, μ-law (as prompts and speech fixtures are
// stored) or 16-bit PCM, as linear samples.
func ReadWAV(file string) ([]int16, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: %s: no RIFF/WAVE header", ErrWAV, file)
	}
	var format, bits uint16
	var data []byte
	for p := b[12:]; len(p) >= 8; {
		id, size := string(p[0:4]), binary.LittleEndian.Uint32(p[4:8])
		p = p[8:]
		if uint64(size) > uint64(len(p)) {
			return nil, fmt.Errorf("%w: %s: chunk %q: %w", ErrWAV, file, id, io.ErrUnexpectedEOF)
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, fmt.Errorf("%w: %s: short fmt chunk", ErrWAV, file)
			}
			format = binary.LittleEndian.Uint16(p[0:2])
			channels := binary.LittleEndian.Uint16(p[2:4])
			rate := binary.LittleEndian.Uint32(p[4:8])
			bits = binary.LittleEndian.Uint16(p[14:16])
			if channels != 1 || rate != ivr.SpeechRate {
				return nil, fmt.Errorf("%w: %s: %d channels at %d Hz", ErrWAV, file, channels, rate)
			}
		case "data":
			data = p[:size]
		}
		p = p[min(len(p), int(size+size%2)):]
	}
	switch {
	case data == nil:
		return nil, fmt.Errorf("%w: %s: no data chunk", ErrWAV, file)
	case format == 7 && bits == 8:
		out := make([]int16, len(data))
		for i, u := range data {
			out[i] = ulaw(u)
		}
		return out, nil
	case format == 1 && bits == 16:
		out := make([]int16, len(data)/2)
		for i := range out {
			out[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s: format %d, %d bits", ErrWAV, file, format, bits)
}

// ulaw decodes one G.711 μ-law byte.
func ulaw(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}
