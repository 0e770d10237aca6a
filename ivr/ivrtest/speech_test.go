package ivrtest

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"switchboard/ivr"
)

func TestScriptedSpeechIsHeard(t *testing.T) {
	s := NewSession(SayWith("talk to a person", 0.42))
	var heard []int16
	all := make(chan struct{})
	total := len(speechAudio("talk to a person", 0.42))
	stop := s.HearCaller(func(f []int16) {
		heard = append(heard, f...)
		if len(heard) == total {
			close(all)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, _, err := s.ReadDigit(ctx, 0)
		done <- err
	}()
	// ReadDigit plays the utterance into the ear, then waits, as the IVR listens, for the
	// IVR to cancel the read once it has heard the end.
	<-all
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadDigit = %v, want the IVR's cancel", err)
	}
	stop()
	g, err := ivr.NewPhraseGrammar([]ivr.Phrase{{Text: "talk to a person", Value: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &Recognizer{}
	got, err := rec.Recognize(context.Background(), heard, g)
	if err != nil || got != (ivr.Recognition{Text: "talk to a person", Match: "0", Confidence: 0.42}) {
		t.Errorf("Recognize = %+v, %v", got, err)
	}
	if got, err := rec.Recognize(context.Background(), make([]int16, 800), g); err != nil || got != (ivr.Recognition{}) {
		t.Errorf("Recognize(silence) = %+v, %v; want nothing heard", got, err)
	}
}

func TestSayWithoutEarsIsAScriptMismatch(t *testing.T) {
	s := NewSession(Say("sales"))
	if _, _, err := s.ReadDigit(context.Background(), 0); !errors.Is(err, ErrScript) {
		t.Errorf("ReadDigit = %v, want ErrScript when nobody listens", err)
	}
}

func TestReadWAV(t *testing.T) {
	dir := t.TempDir()
	pcm := []int16{0, 1000, -1000, 32767, -32768}
	write := func(name string, format, bits uint16, rate uint32, data []byte) string {
		b := []byte("RIFF\x00\x00\x00\x00WAVEfmt ")
		b = binary.LittleEndian.AppendUint32(b, 16)
		b = binary.LittleEndian.AppendUint16(b, format)
		b = binary.LittleEndian.AppendUint16(b, 1)
		b = binary.LittleEndian.AppendUint32(b, rate)
		b = binary.LittleEndian.AppendUint32(b, rate*uint32(bits)/8)
		b = binary.LittleEndian.AppendUint16(b, bits/8)
		b = binary.LittleEndian.AppendUint16(b, bits)
		b = append(b, "data"...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, data...)
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return file
	}
	var data []byte
	for _, s := range pcm {
		data = binary.LittleEndian.AppendUint16(data, uint16(s))
	}
	if got, err := ReadWAV(write("pcm.wav", 1, 16, 8000, data)); err != nil || !slices.Equal(got, pcm) {
		t.Errorf("PCM: %v, %v", got, err)
	}
	// μ-law 0xFF and 0x7F are the two zeros, 0x80 and 0x00 the extremes.
	if got, err := ReadWAV(write("ulaw.wav", 7, 8, 8000, []byte{0xff, 0x7f, 0x80, 0x00})); err != nil || !slices.Equal(got, []int16{0, 0, 32124, -32124}) {
		t.Errorf("μ-law: %v, %v", got, err)
	}
	if _, err := ReadWAV(write("16k.wav", 1, 16, 16000, data)); !errors.Is(err, ErrWAV) {
		t.Errorf("16 kHz: %v, want ErrWAV", err)
	}
	if _, err := ReadWAV(write("float.wav", 3, 32, 8000, data[:8])); !errors.Is(err, ErrWAV) {
		t.Errorf("float: %v, want ErrWAV", err)
	}
	if got, err := ReadWAV("../prompts/en/welcome.wav"); err != nil || len(got) < 8000 {
		t.Errorf("a shipped prompt: %d samples, %v", len(got), err)
	}
}
