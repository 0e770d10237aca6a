package media

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWAVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.wav")
	want := []int16{0, 1, -1, 32767, -32768, 1000, -1000}
	if err := WriteWAVFile(path, want); err != nil {
		t.Fatal(err)
	}
	a, err := ReadWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, a.Samples); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
}

// TestWAVWriterBlocks: stereo frames written in uneven pieces cross the
// writer's block boundary many times and read back intact; writes after
// Close fail and a second Close is a no-op.
func TestWAVWriterBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.wav")
	w, err := CreateWAV(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	var wantL, wantR []int16
	for piece := 1; len(wantL) < 3*wavBlockSize/2; piece = piece%997 + 37 {
		frames := make([]int16, 2*piece)
		for j := range piece {
			l, r := int16(len(wantL)*7+j), int16(-len(wantR)*3-j)
			frames[2*j], frames[2*j+1] = l, r
		}
		for j := range piece {
			wantL, wantR = append(wantL, frames[2*j]), append(wantR, frames[2*j+1])
		}
		if err := w.WriteFrames(frames); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.Samples(); got != int64(len(wantL)) {
		t.Errorf("Samples = %d, want %d", got, len(wantL))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := w.WriteFrames([]int16{1, 2}); err == nil {
		t.Error("WriteFrames after Close succeeded")
	}
	l, r, err := ReadWAVStereo(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantL, l); diff != "" {
		t.Errorf("left (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantR, r); diff != "" {
		t.Errorf("right (-want +got):\n%s", diff)
	}
}

// TestReadWAVSoxEncodings reads files sox writes in each supported encoding.
func TestReadWAVSoxEncodings(t *testing.T) {
	sox := requireTool(t, "sox")
	dir := t.TempDir()
	src := filepath.Join(dir, "src.wav")
	samples := make([]int16, 800)
	for i := range samples {
		samples[i] = int16((i%80 - 40) * 500)
	}
	if err := WriteWAVFile(src, samples); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		dec  func(int16) int16
	}{
		{"pcm16", []string{"-e", "signed-integer", "-b", "16"}, func(s int16) int16 { return s }},
		{"ulaw", []string{"-e", "u-law"}, func(s int16) int16 { return DecodeULaw(EncodeULaw(s)) }},
		{"alaw", []string{"-e", "a-law"}, func(s int16) int16 { return DecodeALaw(EncodeALaw(s)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".wav")
			args := append([]string{"-D", src}, tc.args...)
			args = append(args, out)
			if b, err := exec.Command(sox, args...).CombinedOutput(); err != nil {
				t.Fatalf("sox: %v %s", err, b)
			}
			a, err := ReadWAVFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]int16, len(samples))
			for i, s := range samples {
				want[i] = tc.dec(s)
			}
			if diff := cmp.Diff(want, a.Samples); diff != "" {
				t.Errorf("samples (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadWAVRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":    nil,
		"notriff":  []byte("RIFX\x00\x00\x00\x00WAVE"),
		"nodata":   []byte("RIFF\x00\x00\x00\x00WAVE"),
		"stereo44": append([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00\x44\xac\x00\x00\x00\x00\x00\x00\x04\x00\x10\x00data\x00\x00\x00\x00"), 0),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ReadWAV(bytes.NewReader(b)); err == nil {
				t.Error("got nil error")
			}
		})
	}
}

func FuzzReadWAV(f *testing.F) {
	dir := f.TempDir()
	p := filepath.Join(dir, "seed.wav")
	_ = WriteWAVFile(p, []int16{1, 2, 3, 4})
	seed, _ := os.ReadFile(p)
	f.Add(seed)
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x07\x00\x01\x00\x40\x1f\x00\x00\x40\x1f\x00\x00\x01\x00\x08\x00data\x04\x00\x00\x00abcd"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ReadWAV(bytes.NewReader(b))
		if err == nil && len(a.Samples) > len(b) {
			t.Fatalf("%d samples from %d bytes", len(a.Samples), len(b))
		}
	})
}
