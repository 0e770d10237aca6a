package sphinx

import (
	"context"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"switchboard/ivr"
)

// benchUtterance is an endpointed fixture with its grammar.
type benchUtterance struct {
	audio []int16
	g     *ivr.Grammar
}

func benchUtterances(b *testing.B, r *Recognizer) ([]benchUtterance, time.Duration) {
	b.Helper()
	menu, digits := demoGrammars(b, r)
	var out []benchUtterance
	var total time.Duration
	for _, f := range fixtures(b) {
		g := menu
		if _, ok := menu.Match(f.words); !ok {
			g = digits
		}
		u := benchUtterance{audio: endpoint(b, f), g: g}
		total += time.Duration(len(u.audio)) * time.Second / ivr.SpeechRate
		out = append(out, u)
	}
	return out, total / time.Duration(len(out))
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRecognize decodes the fixtures one after another on one decoder: cpu-rtf is
// the CPU time per second of audio, the cost of one channel's recognition.
func BenchmarkRecognize(b *testing.B) {
	r := newRecognizer(b, WithDecoders(1))
	utts, avg := benchUtterances(b, r)
	for _, u := range utts { // compile the grammars
		if _, err := r.Recognize(context.Background(), u.audio, u.g); err != nil {
			b.Fatal(err)
		}
	}
	cpu0 := cpuTime(b)
	for i := 0; b.Loop(); i++ {
		u := utts[i%len(utts)]
		if _, err := r.Recognize(context.Background(), u.audio, u.g); err != nil {
			b.Fatal(err)
		}
	}
	audio := time.Duration(b.N) * avg
	b.ReportMetric((cpuTime(b)-cpu0).Seconds()/audio.Seconds(), "cpu-rtf")
	b.ReportMetric(b.Elapsed().Seconds()/audio.Seconds(), "wall-rtf")
}

// BenchmarkRecognizeParallel decodes the fixtures on as many decoders and goroutines at
// once as -cpu × 4: audio-s/s is the seconds of speech recognized per second, the number
// of callers speaking at once the machine keeps up with. Run it pinned to one core
// (taskset -c 0 … -cpu 1) for one core's figure.
func BenchmarkRecognizeParallel(b *testing.B) {
	const perCPU = 4
	b.SetParallelism(perCPU)
	r := newRecognizer(b, WithDecoders(perCPU*runtime.GOMAXPROCS(0)))
	utts, avg := benchUtterances(b, r)
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u := utts[int(next.Add(1))%len(utts)]
			if _, err := r.Recognize(context.Background(), u.audio, u.g); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	audio := time.Duration(b.N) * avg
	b.ReportMetric(audio.Seconds()/b.Elapsed().Seconds(), "audio-s/s")
}
