package media

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newPool(t testing.TB) *PortPool {
	t.Helper()
	p, err := NewEphemeralPortPool(netip.MustParseAddr("127.0.0.1"), 500)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pair returns two sessions wired to each other over loopback UDP.
func pair(t testing.TB, pool *PortPool, ca, cb Codec) (*Session, *Session) {
	t.Helper()
	ta, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	tb, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	ta.SetRemote(tb.LocalAddr())
	tb.SetRemote(ta.LocalAddr())
	a := NewSession(ta, SessionConfig{Codec: ca, DTMFPayloadType: 101})
	b := NewSession(tb, SessionConfig{Codec: cb, DTMFPayloadType: 101})
	return a, b
}

func run(t testing.TB, ctx context.Context, ss ...*Session) {
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	t.Cleanup(func() {
		for _, s := range ss {
			s.Close()
		}
		wg.Wait()
	})
}

type collector struct {
	mu      sync.Mutex
	samples []int16
	digits  []byte
	got     chan struct{}
}

func newCollector(s *Session) *collector {
	c := &collector{got: make(chan struct{}, 1000)}
	s.AddTap(func(p []int16) {
		c.mu.Lock()
		c.samples = append(c.samples, p...)
		c.mu.Unlock()
		select {
		case c.got <- struct{}{}:
		default:
		}
	})
	s.OnDigit(func(d byte) {
		c.mu.Lock()
		c.digits = append(c.digits, d)
		c.mu.Unlock()
		select {
		case c.got <- struct{}{}:
		default:
		}
	})
	return c
}

func (c *collector) reset() {
	c.mu.Lock()
	c.samples, c.digits = nil, nil
	c.mu.Unlock()
}

func (c *collector) waitSamples(t *testing.T, n int) []int16 {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		if len(c.samples) >= n {
			s := append([]int16(nil), c.samples...)
			c.mu.Unlock()
			return s
		}
		c.mu.Unlock()
		select {
		case <-c.got:
		case <-deadline:
			t.Fatalf("timeout waiting for %d samples", n)
		}
	}
}

func tone(n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16((i%40 - 20) * 700)
	}
	return s
}

func TestPlayArrivesIntact(t *testing.T) {
	pool := newPool(t)
	a, b := pair(t, pool, PCMU, PCMU)
	col := newCollector(b)
	ctx := t.Context()
	run(t, ctx, a, b)
	src := tone(8 * FrameSamples)
	if err := Play(ctx, a, src, false, nil); err != nil {
		t.Fatal(err)
	}
	got := col.waitSamples(t, len(src))
	for i := range src {
		if want := DecodeULaw(EncodeULaw(src[i])); got[i] != want {
			t.Fatalf("sample %d = %d, want %d", i, got[i], want)
		}
	}
}

func TestDTMFOverRTP(t *testing.T) {
	pool := newPool(t)
	a, b := pair(t, pool, PCMU, PCMU)
	col := newCollector(b)
	ctx := t.Context()
	run(t, ctx, a, b)
	for _, d := range []byte("1#1") {
		if err := a.SendDigit(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(3 * time.Second)
	for {
		col.mu.Lock()
		got := string(col.digits)
		col.mu.Unlock()
		if got == "1#1" {
			break
		}
		if len(got) > 3 {
			t.Fatalf("digits = %q", got)
		}
		select {
		case <-col.got:
		case <-deadline:
			t.Fatalf("digits = %q, want 1#1", got)
		}
	}
}

// TestBridgeTranscodes relays a→b (PCMU leg) to c (PCMA leg) and checks the
// audio and DTMF that arrive.
func TestBridgeTranscodes(t *testing.T) {
	pool := newPool(t)
	caller, gwA := pair(t, pool, PCMU, PCMU)
	gwB, agent := pair(t, pool, PCMA, PCMA)
	gwA.SetPeer(gwB)
	gwB.SetPeer(gwA)
	atAgent := newCollector(agent)
	atCaller := newCollector(caller)
	ctx := t.Context()
	run(t, ctx, caller, gwA, gwB, agent)
	src := tone(5 * FrameSamples)
	if err := Play(ctx, caller, src, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := Play(ctx, agent, src, false, nil); err != nil {
		t.Fatal(err)
	}
	got := atAgent.waitSamples(t, len(src))
	for i := range src {
		want := DecodeALaw(ULawToALaw(EncodeULaw(src[i])))
		if got[i] != want {
			t.Fatalf("agent sample %d = %d, want %d", i, got[i], want)
		}
	}
	got = atCaller.waitSamples(t, len(src))
	for i := range src {
		want := DecodeULaw(ALawToULaw(EncodeALaw(src[i])))
		if got[i] != want {
			t.Fatalf("caller sample %d = %d, want %d", i, got[i], want)
		}
	}
	if err := caller.SendDigit(ctx, '7'); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(3 * time.Second)
	for {
		atAgent.mu.Lock()
		d := string(atAgent.digits)
		atAgent.mu.Unlock()
		if d == "7" {
			break
		}
		select {
		case <-atAgent.got:
		case <-deadline:
			t.Fatalf("agent digits %q", d)
		}
	}
	if q := gwA.Quality(); q.PacketsReceived == 0 {
		t.Errorf("quality: %+v", q)
	}
}

func TestPortPoolExhaustion(t *testing.T) {
	p, err := NewEphemeralPortPool(netip.MustParseAddr("127.0.0.1"), 2)
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Allocate(); err != ErrPortsExhausted {
		t.Fatalf("third allocate: %v", err)
	}
	a.Close()
	a.Close()
	c, err := p.Allocate()
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	b.Close()
	c.Close()
	if got := p.InUse(); got != 0 {
		t.Errorf("InUse = %d", got)
	}
}

// TestStereoRecorderReleased: a tap that was already running when Stop
// removed it finds the recorder released; it does not write into buffers
// that went back to the pool.
func TestStereoRecorderReleased(t *testing.T) {
	rec, err := NewStereoRecorder(filepath.Join(t.TempDir(), "r.wav"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	rec.push(&rec.left, make([]int16, FrameSamples))
	if rec.left != nil || rec.right != nil {
		t.Errorf("push after Stop kept %d samples", len(rec.left))
	}
}

// TestStereoRecordersShareAClock: fifty recordings are driven by the
// shared clock's few goroutines, not one each; each file's length follows
// the wall clock (silence where nothing was received); the clock's
// goroutines end with the last recording.
func TestStereoRecordersShareAClock(t *testing.T) {
	dir := t.TempDir()
	before := runtime.NumGoroutine()
	var recs []*StereoRecorder
	for i := range 50 {
		r, err := NewStereoRecorder(filepath.Join(dir, fmt.Sprintf("r%d.wav", i)), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if n := runtime.NumGoroutine() - before; n > len(recClock.shards) {
		t.Errorf("%d goroutines for 50 recordings, want at most %d", n, len(recClock.shards))
	}
	start := time.Now()
	time.Sleep(5 * recTick / 2)
	for _, r := range recs {
		if err := r.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	l, _, err := ReadWAVStereo(filepath.Join(dir, "r0.wav"))
	if err != nil {
		t.Fatal(err)
	}
	got := time.Duration(len(l)) * FrameDuration / FrameSamples
	if got < elapsed-2*recTick || got > elapsed+recTick {
		t.Errorf("recording lasts %v after %v", got, elapsed)
	}
	for _, x := range l {
		if x != 0 {
			t.Fatalf("sample %d in a recording of nothing", x)
		}
	}
}

// TestRecorderPhases: the clock spreads recorders evenly over shards and
// phases, and a tick writes only the recorders of its phase (each what it
// is due since its start), so that no tick writes every recording at once.
func TestRecorderPhases(t *testing.T) {
	c := newRecorderClock(2)
	count := map[[2]int]int{}
	shards := map[*recShard]int{}
	for i, sh := range c.shards {
		shards[sh] = i
	}
	var work []*StereoRecorder
	dir := t.TempDir()
	start := time.Now().Add(-recTick)
	for i := range 2 * 2 * recPhases {
		w, err := CreateWAV(filepath.Join(dir, fmt.Sprintf("r%d.wav", i)), 2)
		if err != nil {
			t.Fatal(err)
		}
		r := &StereoRecorder{w: w, start: start}
		sh := c.place(r)
		count[[2]int{shards[sh], r.phase}]++
		if sh == c.shards[0] {
			work = append(work, r)
		}
	}
	for k, n := range count {
		if n != 2 {
			t.Errorf("shard %d phase %d has %d recorders, want 2", k[0], k[1], n)
		}
	}
	sh := &recShard{}
	now := start.Add(recTick)
	sh.tick(now, work) // the first tick is phase 1
	for _, r := range work {
		want := int64(0)
		if r.phase == 1 {
			want = int64(recPhases * FrameSamples)
		}
		if got := r.w.Samples(); got != want {
			t.Errorf("phase %d: %d samples written on the first tick, want %d", r.phase, got, want)
		}
	}
	for range recPhases - 1 {
		sh.tick(now, work)
	}
	for _, r := range work {
		if got, want := r.w.Samples(), int64(recPhases*FrameSamples); got != want {
			t.Errorf("phase %d: %d samples after a full turn, want %d", r.phase, got, want)
		}
		r.w.Close()
	}
}

func TestStereoRecorder(t *testing.T) {
	pool := newPool(t)
	caller, gwA := pair(t, pool, PCMU, PCMU)
	gwB, agent := pair(t, pool, PCMU, PCMU)
	ctx := t.Context()
	run(t, ctx, caller, gwA, gwB, agent)
	path := t.TempDir() + "/rec.wav"
	rec, err := NewStereoRecorder(path, gwA, gwB)
	if err != nil {
		t.Fatal(err)
	}
	loud := make([]int16, 10*FrameSamples)
	for i := range loud {
		loud[i] = 8000
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = Play(ctx, caller, loud, false, nil) }()
	go func() {
		defer wg.Done()
		neg := make([]int16, len(loud))
		for i := range neg {
			neg[i] = -8000
		}
		_ = Play(ctx, agent, neg, false, nil)
	}()
	wg.Wait()
	time.Sleep(100 * time.Millisecond)
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	l, r, err := ReadWAVStereo(path)
	if err != nil {
		t.Fatal(err)
	}
	var lpos, rneg int
	for i := range l {
		if l[i] > 4000 {
			lpos++
		}
		if r[i] < -4000 {
			rneg++
		}
		if l[i] < -4000 || r[i] > 4000 {
			t.Fatalf("channel mix-up at %d: %d %d", i, l[i], r[i])
		}
	}
	if lpos < len(loud)/2 || rneg < len(loud)/2 {
		t.Errorf("caller samples on left %d, agent on right %d, want ≥ %d each", lpos, rneg, len(loud)/2)
	}
}

// TestRTCPReports: both ends exchange sender/receiver reports and each
// learns how the other receives its stream.
func TestRTCPReports(t *testing.T) {
	pool := newPool(t)
	ta, _ := pool.Allocate()
	tb, _ := pool.Allocate()
	ta.SetRemote(tb.LocalAddr())
	tb.SetRemote(ta.LocalAddr())
	a := NewSession(ta, SessionConfig{Codec: PCMU, DTMFPayloadType: 101, RTCPInterval: 50 * time.Millisecond})
	b := NewSession(tb, SessionConfig{Codec: PCMU, DTMFPayloadType: 101, RTCPInterval: 50 * time.Millisecond})
	ctx := t.Context()
	run(t, ctx, a, b)
	if err := Play(ctx, a, tone(10*FrameSamples), false, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !a.Quality().RemoteReported || b.Quality().PacketsReceived < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("no receiver report: %+v", a.Quality())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if q := b.Quality(); q.PacketsReceived != 10 || q.PacketsLost != 0 {
		t.Errorf("receiver quality %+v", q)
	}
	if q := a.Quality(); q.PacketsSent != 10 || q.RemoteLost != 0 {
		t.Errorf("sender quality %+v", q)
	}
}
