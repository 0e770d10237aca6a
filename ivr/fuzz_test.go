package ivr_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

// FuzzParse feeds arbitrary bytes to the flows loader: it must never panic, every problem
// must point inside the file, and a set that loads must run to an outcome.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, file := range append(seeds, more...) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("flows: {a: {start: x, nodes: {x: {kind: goto, flow: a}}}}\ndefault_queue: q\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("flows:\n  f:\n    nodes:\n      n: {kind: menu, options: {\"*\": n, \"#\": n}, default: n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, problems, err := ivr.Parse("fuzz.yaml", data, ivr.Options{Recognizer: &ivrtest.Recognizer{}})
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, p := range problems {
			if p.Line < 0 || p.Line > lines+1 {
				t.Errorf("problem line %d outside the file (%d lines): %v", p.Line, lines, p)
			}
			if p.Reason == "" {
				t.Errorf("problem without a reason: %#v", p)
			}
		}
		if (err == nil) != (set != nil) {
			t.Fatalf("set %v with err %v", set != nil, err)
		}
		if set == nil {
			return
		}
		for _, name := range set.FlowNames() {
			flow, _ := set.Flow(name)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			out := ivr.Run(ctx, &fuzzSession{}, flow, ivr.Input{
				ANI: "+15551230000", Now: func() time.Time { return time.Unix(1_800_000_000, 0) },
				RecordingDir: "/nonexistent", Logger: slog.New(slog.DiscardHandler),
			})
			cancel()
			if out.Kind == 0 {
				t.Errorf("flow %s: no outcome kind", name)
			}
		}
	})
}

// fuzzSession answers every prompt with a rotating digit or a timeout, records nothing,
// and hangs up after maxFuzzOps operations, as a real caller eventually does (a flow with
// max_steps 100000 and nine retries per node would otherwise take millions of reads).
type fuzzSession struct{ n int }

const maxFuzzOps = 2000

var errFuzzHangup = errors.New("fuzz: caller hung up")

func (s *fuzzSession) op(ctx context.Context) error {
	s.n++
	if s.n > maxFuzzOps {
		return errFuzzHangup
	}
	return ctx.Err()
}

func (s *fuzzSession) Play(ctx context.Context, files []string, interruptible bool) error {
	return s.op(ctx)
}

func (s *fuzzSession) ReadDigit(ctx context.Context, timeout time.Duration) (byte, bool, error) {
	if err := s.op(ctx); err != nil {
		return 0, false, err
	}
	if s.n%3 == 0 {
		return 0, false, nil
	}
	return "1234567890*#"[s.n%12], true, nil
}

func (s *fuzzSession) Record(ctx context.Context, file string, max time.Duration) (time.Duration, error) {
	return time.Second, s.op(ctx)
}
