package sip

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCallStateTransitions walks every edge of the leg's state machine,
// allowed and refused, against the lifecycle written out here rather than
// the table itself.
func TestCallStateTransitions(t *testing.T) {
	all := []CallState{StateNew, StateRinging, StateAnswered, StateHeld, StateEnded}
	allowed := map[[2]CallState]bool{
		{StateNew, StateRinging}:      true, // INVITE received or sent
		{StateNew, StateAnswered}:     true, // a WebRTC leg is up at once
		{StateNew, StateEnded}:        true,
		{StateRinging, StateAnswered}: true,
		{StateRinging, StateEnded}:    true, // refused, cancelled, no answer
		{StateAnswered, StateHeld}:    true,
		{StateAnswered, StateEnded}:   true,
		{StateHeld, StateAnswered}:    true,
		{StateHeld, StateEnded}:       true,
	}
	for _, from := range all {
		for _, to := range all {
			t.Run(from.String()+"->"+to.String(), func(t *testing.T) {
				want := allowed[[2]CallState{from, to}]
				err := from.To(to)
				if want != (err == nil) {
					t.Errorf("To = %v, want allowed %v", err, want)
				}
				if err != nil && !errors.Is(err, ErrBadTransition) {
					t.Errorf("err %v does not wrap ErrBadTransition", err)
				}
				// A leg applies an allowed edge and refuses the others
				// without changing.
				c := &Call{state: from}
				err = c.setState(to)
				wantState := from
				if want {
					wantState = to
				}
				if got := c.State(); got != wantState || want != (err == nil) {
					t.Errorf("setState = %v, state %s; want state %s", err, got, wantState)
				}
			})
		}
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"Alice":                   "Alice",
		"Bad\r\nX-Injected: 1":    "BadX-Injected: 1",
		"quote\"back\\slash":      "quotebackslash",
		"nul\x00byte":             "nulbyte",
		strings.Repeat("x", 1000): strings.Repeat("x", maxHeaderValue),
	} {
		if got := sanitizeHeaderValue(in); got != want {
			t.Errorf("sanitizeHeaderValue(%q) = %q, want %q", in, got, want)
		}
	}
	if got := sanitizeUser("+1 (555) 010-9999\r\n"); got != "+1555010-9999" {
		t.Errorf("sanitizeUser = %q", got)
	}
}

func TestParseDTMFRelay(t *testing.T) {
	for body, want := range map[string]string{
		"Signal=5\r\nDuration=160\r\n": "5",
		"signal= #\nDuration=100":      "#",
		"Signal=10\r\n":                "*",
		"Signal=d\r\n":                 "D",
		"Signal=x\r\n":                 "",
		"Duration=160\r\n":             "",
		"":                             "",
		"Signal=99":                    "",
	} {
		d, ok := parseDTMFRelay([]byte(body))
		got := ""
		if ok {
			got = string(d)
		}
		if got != want {
			t.Errorf("parseDTMFRelay(%q) = %q, want %q", body, got, want)
		}
	}
}

func FuzzDTMFRelay(f *testing.F) {
	f.Add([]byte("Signal=5\r\nDuration=160\r\n"))
	f.Add([]byte("Signal=16"))
	f.Add([]byte("signal=*\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, ok := parseDTMFRelay(b)
		if ok && !strings.ContainsRune("0123456789*#ABCD", rune(d)) {
			t.Fatalf("digit %q", d)
		}
	})
}

// TestWatchDigitDropsStaleSignal: a digit signal left behind after
// ReadDigit took the digit must be consumed by an interruptible playback's
// watcher, not bounced back and forth (a busy loop for the whole prompt).
func TestWatchDigitDropsStaleSignal(t *testing.T) {
	c := &Call{g: &Gateway{m: NewMetrics(nil)}, digitCh: make(chan struct{}, 1), ctx: t.Context()}
	c.pushDigit('5', "test")
	if d, ok, _ := c.ReadDigit(t.Context(), time.Second); !ok || d != '5' {
		t.Fatalf("ReadDigit = %q %v", d, ok)
	}
	if len(c.digitCh) != 1 {
		t.Fatal("expected the stale signal this test is about")
	}
	fired := make(chan struct{})
	stop := c.watchDigit(fired)
	defer stop()
	deadline := time.Now().Add(5 * time.Second)
	for len(c.digitCh) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("stale digit signal still queued: the watcher re-signals it")
		}
		time.Sleep(time.Millisecond)
	}
	// It stays consumed (the old watcher put it back at once, forever).
	for range 200 {
		if len(c.digitCh) != 0 {
			t.Fatal("stale digit signal bounced back by the watcher")
		}
		time.Sleep(250 * time.Microsecond)
	}
	select {
	case <-fired:
		t.Fatal("watcher fired without a digit")
	default:
	}
	c.pushDigit('7', "test")
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("watcher missed a real digit")
	}
}

// A relative recording dir is resolved once: the call recordings the agents
// layer names RecordingDir/call-….wav land in that directory, not in
// RecordingDir/RecordingDir, and paths outside it are refused.
func TestRelativeRecordingDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	g, err := New(Config{UDPAddr: "127.0.0.1:0", RecordingDir: "var/recordings"}, WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "var", "recordings", "call-x.wav")
	for _, name := range []string{filepath.Join(g.cfg.RecordingDir, "call-x.wav"), "call-x.wav"} {
		got, err := g.recordingPath(name)
		if err != nil || got != want {
			t.Errorf("recordingPath(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := g.recordingPath(filepath.Join(dir, "elsewhere.wav")); !errors.Is(err, ErrPathOutside) {
		t.Errorf("recordingPath outside the dir = %v, want ErrPathOutside", err)
	}
}
