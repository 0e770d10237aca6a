//go:build linux

package media

import (
	"context"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkConferences runs SWITCHBOARD_CONFERENCES (default 200)
// three-party conferences for 5 s per iteration: every party's far end
// sends one 20 ms G.711 packet per tick to its gateway session, the
// sessions' audio is mixed by one Mixer (a shard per CPU), and each party
// is sent its mix every 20 ms. The far ends are a loopbackCrowd (see
// BenchmarkBridgedCalls), so generating the load costs about what the
// gateway does.
//
// After a second of warm-up it reports the late-frame ratio as the Mixer
// counts it (MixerStats: frames handed to a session more than half a
// frame after their due time, or skipped), the frames mixed per second,
// the CPU time the process (gateway and far ends) used per second, and
// the mixed packets the far ends did not receive. The ratio measures the
// machine's scheduling as much as the mixer: other load on the same cores
// shows as late frames.
func BenchmarkConferences(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_CONFERENCES")); err == nil && v > 0 {
		n = v
	}
	b.Run("mux-batched", func(b *testing.B) { runConferences(b, n, true) })
	b.Run("socket-per-leg", func(b *testing.B) { runConferences(b, n, false) })
}

func runConferences(b *testing.B, n int, mux bool) {
	const size = 3
	crowd, ms, sessions, closeLegs := crowdLegs(b, size*n, mux)
	defer closeLegs()
	mixer := NewMixer(0, ms)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	// The far ends say something: a tone of their own, so that the mix
	// adds real samples.
	for p := range crowd.out {
		for si := range crowd.out[p] {
			for i := range crowd.out[p][si] {
				d := &crowd.out[p][si][i]
				PCMU.Encode(d.buf[12:d.n], sine(float64(200+50*((p+i)%20)), 4000, d.n-12))
			}
		}
	}
	for _, s := range sessions {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	var confs []*Conference
	for c := range n {
		conf := mixer.NewConference()
		confs = append(confs, conf)
		for _, s := range sessions[size*c : size*(c+1)] {
			if _, err := conf.Join(s); err != nil {
				b.Fatal(err)
			}
		}
	}
	crowd.start(&wg)
	defer func() {
		for _, c := range confs {
			c.Close()
		}
		cancel()
		crowd.close()
		wg.Wait()
	}()
	// A second of traffic before the measurement lets the start-up (the
	// first collections, goroutines and buffers being made) pass.
	const warmUp = 50 * crowdPhases
	var st0 MixerStats
	var start time.Time
	var ru0, ru1 syscall.Rusage
	begin := time.Now()
	slot := FrameDuration / crowdPhases
	for i := range warmUp + 250*crowdPhases*b.N { // 5 s each
		if i == warmUp {
			b.ResetTimer()
			start, st0 = time.Now(), mixer.Stats()
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		}
		time.Sleep(time.Until(begin.Add(time.Duration(i) * slot)))
		crowd.send(i%crowdPhases, uint16(i/crowdPhases))
	}
	st := mixer.Stats()
	el := time.Since(start).Seconds()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
	for _, c := range confs {
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	var sent uint64
	for _, s := range sessions {
		sent += s.Quality().PacketsSent
	}
	got := crowd.received()
	frames, late := st.Frames-st0.Frames, st.Late-st0.Late
	b.ReportMetric(float64(n), "conferences")
	b.ReportMetric(float64(late)/float64(max(frames, 1)), "late/frame")
	b.ReportMetric(float64(frames)/el, "frames/s")
	b.ReportMetric(cpu.Seconds()/el, "cpus")
	b.ReportMetric(100*float64(int64(sent)-got)/float64(max(sent, 1)), "%loss")
}
