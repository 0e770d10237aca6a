package media

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// requireTool skips (or fails under CI) when an external program is missing.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (apt-get install sox)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func allSamplesRaw() ([]int16, []byte) {
	s := make([]int16, 65536)
	raw := make([]byte, 2*65536)
	for i := range s {
		s[i] = int16(i - 32768)
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(s[i]))
	}
	return s, raw
}

func TestG711EncodeMatchesSox(t *testing.T) {
	sox := requireTool(t, "sox")
	dir := t.TempDir()
	samples, raw := allSamplesRaw()
	in := filepath.Join(dir, "in.raw")
	if err := os.WriteFile(in, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, enc string
		codec     Codec
	}{{"ulaw", "u-law", PCMU}, {"alaw", "a-law", PCMA}} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".raw")
			cmd := exec.Command(sox, "-D", "-t", "raw", "-r", "8000", "-e", "signed-integer", "-b", "16", "-c", "1", "-L", in,
				"-t", "raw", "-r", "8000", "-e", tc.enc, "-b", "8", "-c", "1", out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("sox: %v: %s", err, b)
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(samples))
			tc.codec.Encode(got, samples)
			if len(want) != len(got) {
				t.Fatalf("sox produced %d bytes, want %d", len(want), len(got))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("sample %d: got %#02x, sox %#02x", samples[i], got[i], want[i])
				}
			}
		})
	}
}

func TestG711DecodeMatchesSox(t *testing.T) {
	sox := requireTool(t, "sox")
	dir := t.TempDir()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, tc := range []struct {
		name, enc string
		codec     Codec
	}{{"ulaw", "u-law", PCMU}, {"alaw", "a-law", PCMA}} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(dir, tc.name+".in")
			out := filepath.Join(dir, tc.name+".out")
			if err := os.WriteFile(in, all, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(sox, "-D", "-t", "raw", "-r", "8000", "-e", tc.enc, "-b", "8", "-c", "1", in,
				"-t", "raw", "-e", "signed-integer", "-b", "16", "-L", out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("sox: %v: %s", err, b)
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]int16, 256)
			tc.codec.Decode(got, all)
			var gotRaw bytes.Buffer
			_ = binary.Write(&gotRaw, binary.LittleEndian, got)
			if !bytes.Equal(gotRaw.Bytes(), want) {
				t.Fatalf("decode table differs from sox")
			}
		})
	}
}

func TestTranscodeRoundTrip(t *testing.T) {
	for u := range 256 {
		a := ULawToALaw(byte(u))
		// A-law has fewer levels near zero than μ-law; compare linear values
		// after the round trip within one A-law step.
		lin := int(DecodeULaw(byte(u)))
		back := int(DecodeALaw(a))
		diff := lin - back
		if diff < 0 {
			diff = -diff
		}
		mag := max(lin, -lin)
		if diff > mag/16+16 {
			t.Errorf("μ-law %#02x: linear %d, via A-law %d", u, lin, back)
		}
	}
}

func BenchmarkEncodeULaw(b *testing.B) {
	src := make([]int16, 160)
	dst := make([]byte, 160)
	b.ReportAllocs()
	for b.Loop() {
		PCMU.Encode(dst, src)
	}
}
