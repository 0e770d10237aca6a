package media

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"
)

// sink is a Transport that keeps every packet written to it.
type sink struct {
	mu     sync.Mutex
	pkts   [][]byte
	closed chan struct{}
	once   sync.Once
}

func newSink() *sink { return &sink{closed: make(chan struct{})} }

func (k *sink) ReadPacket([]byte) (int, error) { <-k.closed; return 0, ErrSessionClosed }

func (k *sink) WritePacket(b []byte) error {
	k.mu.Lock()
	k.pkts = append(k.pkts, append([]byte(nil), b...))
	k.mu.Unlock()
	return nil
}

func (k *sink) Close() error { k.once.Do(func() { close(k.closed) }); return nil }

func (k *sink) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.pkts)
}

func (k *sink) packet(i int) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.pkts[i]
}

// member is a party of a test conference and where its frames go.
type member struct {
	p     *Party
	out   *sink
	codec Codec
}

func join(t *testing.T, c *Conference, codec Codec) *member {
	t.Helper()
	out := newSink()
	s := NewSession(out, SessionConfig{Codec: codec, DTMFPayloadType: 101})
	p, err := c.Join(s)
	if err != nil {
		t.Fatal(err)
	}
	return &member{p: p, out: out, codec: codec}
}

func constant(v int16) []int16 {
	f := make([]int16, FrameSamples)
	for i := range f {
		f[i] = v
	}
	return f
}

// mixOnce gives each member its input frame (nil: nothing received), mixes
// one frame and returns what each member was sent, decoded. It holds the
// conference's lock throughout, so the shard's own ticks can neither take
// the inputs nor send in between.
func mixOnce(t *testing.T, c *Conference, ms []*member, in [][]int16) [][]int16 {
	t.Helper()
	c.mu.Lock()
	before := make([]int, len(ms))
	for i, m := range ms {
		before[i] = m.out.count()
		if in[i] != nil {
			m.p.receive(in[i])
		}
	}
	c.mixLocked(time.Now())
	c.mu.Unlock()
	got := make([][]int16, len(ms))
	for i, m := range ms {
		if n := m.out.count() - before[i]; n != 1 {
			t.Fatalf("party %d was sent %d frames by one mix, want 1", i, n)
		}
		pkt := m.out.packet(before[i])
		if pt := Codec(pkt[1] & 0x7F); pt != m.codec {
			t.Fatalf("party %d was sent payload type %d, want %d", i, pt, m.codec)
		}
		got[i] = make([]int16, len(pkt)-12)
		m.codec.Decode(got[i], pkt[12:])
	}
	return got
}

// heard returns what a party using codec decodes when the mix is v.
func heard(codec Codec, v int) int16 {
	v = max(-32768, min(32767, v))
	var b [1]byte
	codec.Encode(b[:], []int16{int16(v)})
	var s [1]int16
	codec.Decode(s[:], b[:])
	return s[0]
}

func checkHeard(t *testing.T, got [][]int16, want []int, codecs []Codec) {
	t.Helper()
	names := []string{"A", "B", "C", "D"}
	for i := range got {
		w := heard(codecs[i], want[i])
		if len(got[i]) != FrameSamples {
			t.Fatalf("%s was sent %d samples, want %d", names[i], len(got[i]), FrameSamples)
		}
		for j, v := range got[i] {
			if v != w {
				t.Errorf("%s hears %d at sample %d, want %d (mix %d)", names[i], v, j, w, want[i])
				break
			}
		}
	}
}

// TestMixMinusAndMasks: A, B and C say 1000, 2000 and 4000; each hears
// the sum of the parties that talk to it, never itself, whatever the
// masks, which take effect at the next mix.
func TestMixMinusAndMasks(t *testing.T) {
	m := NewMixer(1, nil)
	const a, b, c = 1000, 2000, 4000
	for _, tc := range []struct {
		name string
		set  func(pa, pb, pc, other *Party)
		want []int // what A, B, C hear
	}{
		{"everyone talks", func(_, _, _, _ *Party) {}, []int{b + c, a + c, a + b}},
		{"C listens", func(_, _, pc, _ *Party) { pc.TalkTo() }, []int{b, a, a + b}},
		{"C whispers to B", func(_, pb, pc, _ *Party) { pc.TalkTo(pb) }, []int{b, a + c, a + b}},
		{"C barges after whispering", func(_, pb, pc, _ *Party) { pc.TalkTo(pb); pc.TalkToAll() }, []int{b + c, a + c, a + b}},
		{"C talks to A, B and itself", func(pa, pb, pc, _ *Party) { pc.TalkTo(pa, pb, pc, pb) }, []int{b + c, a + c, a + b}},
		{"A muted, C whispers to B", func(pa, pb, pc, _ *Party) { pa.TalkTo(); pc.TalkTo(pb) }, []int{b, c, b}},
		{"C talks to another conference's party", func(_, _, pc, other *Party) { pc.TalkTo(other) }, []int{b, a, a + b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := m.NewConference()
			defer conf.Close()
			other := m.NewConference()
			defer other.Close()
			x := join(t, other, PCMU)
			ms := []*member{join(t, conf, PCMU), join(t, conf, PCMU), join(t, conf, PCMU)}
			in := [][]int16{constant(a), constant(b), constant(c)}
			codecs := []Codec{PCMU, PCMU, PCMU}
			checkHeard(t, mixOnce(t, conf, ms, in), []int{b + c, a + c, a + b}, codecs)
			tc.set(ms[0].p, ms[1].p, ms[2].p, x.p)
			checkHeard(t, mixOnce(t, conf, ms, in), tc.want, codecs)
		})
	}
}

// TestMixSilence: a party with nothing received contributes silence; a
// party nobody talks to is sent silence.
func TestMixSilence(t *testing.T) {
	conf := NewMixer(1, nil).NewConference()
	defer conf.Close()
	ms := []*member{join(t, conf, PCMU), join(t, conf, PCMU), join(t, conf, PCMU)}
	codecs := []Codec{PCMU, PCMU, PCMU}
	got := mixOnce(t, conf, ms, [][]int16{constant(3000), nil, nil})
	checkHeard(t, got, []int{0, 3000, 3000}, codecs)
}

// TestMixClips: the sum saturates at the int16 limits.
func TestMixClips(t *testing.T) {
	conf := NewMixer(1, nil).NewConference()
	defer conf.Close()
	ms := []*member{join(t, conf, PCMU), join(t, conf, PCMA), join(t, conf, PCMU)}
	codecs := []Codec{PCMU, PCMA, PCMU}
	got := mixOnce(t, conf, ms, [][]int16{constant(30000), constant(30000), constant(-100)})
	checkHeard(t, got, []int{29900, 29900, 32767}, codecs)
	if got[2][0] < 32000 {
		t.Errorf("C hears %d, want the top of the scale", got[2][0])
	}
	got = mixOnce(t, conf, ms, [][]int16{constant(-30000), constant(-30000), nil})
	checkHeard(t, got, []int{-30000, -30000, -32768}, codecs)
}

// TestMixCodecs: PCMU and PCMA parties in one conference, their packets
// received through their sessions (HandlePacket → tap), each sent the mix
// in its own codec.
func TestMixCodecs(t *testing.T) {
	conf := NewMixer(1, nil).NewConference()
	defer conf.Close()
	codecs := []Codec{PCMU, PCMA, PCMA}
	var ms []*member
	for _, c := range codecs {
		ms = append(ms, join(t, conf, c))
	}
	src := [][]int16{tone(FrameSamples), constant(-1200), constant(500)}
	// What the mixer decodes from each party's packet.
	dec := make([][]int16, 3)
	conf.mu.Lock()
	before := make([]int, 3)
	for i, m := range ms {
		before[i] = m.out.count()
		pkt := make([]byte, 12+FrameSamples)
		pkt[0], pkt[1] = 0x80, byte(codecs[i])
		binary.BigEndian.PutUint32(pkt[8:], 0xBEEF)
		codecs[i].Encode(pkt[12:], src[i])
		m.p.s.HandlePacket(pkt)
		dec[i] = make([]int16, FrameSamples)
		codecs[i].Decode(dec[i], pkt[12:])
	}
	conf.mixLocked(time.Now())
	conf.mu.Unlock()
	for i, m := range ms {
		pkt := m.out.packet(before[i])
		if pt := Codec(pkt[1] & 0x7F); pt != codecs[i] {
			t.Fatalf("party %d sent payload type %d, want %d", i, pt, codecs[i])
		}
		got := make([]int16, FrameSamples)
		codecs[i].Decode(got, pkt[12:])
		for j := range got {
			sum := 0
			for k := range dec {
				if k != i {
					sum += int(dec[k][j])
				}
			}
			if w := heard(codecs[i], sum); got[j] != w {
				t.Fatalf("party %d sample %d = %d, want %d", i, j, got[j], w)
			}
		}
	}
}

// TestMixZeroAlloc: receiving a frame (decode → tap → jitter buffer) and
// mixing and sending a frame to every party allocate nothing.
func TestMixZeroAlloc(t *testing.T) {
	conf := NewMixer(1, nil).NewConference()
	defer conf.Close()
	var ss []*Session
	for _, c := range []Codec{PCMU, PCMA, PCMU} {
		s := NewSession(&discard{}, SessionConfig{Codec: c, DTMFPayloadType: 101})
		if _, err := conf.Join(s); err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	pkt := rtpPacket(1, 160, 0)
	for i := range pkt[12:] {
		pkt[12+i] = byte(i)
	}
	seq := uint16(1)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
		conf.mu.Lock()
		for _, s := range ss {
			s.HandlePacket(pkt)
		}
		conf.mixLocked(time.Now())
		conf.mu.Unlock()
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per mixed frame", allocs)
	}
	for i, s := range ss {
		if n := s.tr.(*discard).n.Load(); n < 1000 {
			t.Errorf("party %d was sent %d frames", i, n)
		}
	}
}

// TestMixLate: a frame handed to its session more than half a frame after
// its due time is late.
func TestMixLate(t *testing.T) {
	conf := NewMixer(1, nil).NewConference()
	defer conf.Close()
	for range 3 {
		join(t, conf, PCMU)
	}
	conf.mu.Lock()
	frames, late := conf.mixLocked(time.Now().Add(-FrameDuration))
	onTime, notLate := conf.mixLocked(time.Now().Add(time.Hour))
	conf.mu.Unlock()
	if frames != 3 || late != 3 {
		t.Errorf("a frame due 20 ms ago: %d frames, %d late; want 3, 3", frames, late)
	}
	if onTime != 3 || notLate != 0 {
		t.Errorf("a frame due later: %d frames, %d late; want 3, 0", onTime, notLate)
	}
}

// TestFrameClock: frame n is due at start + n·20 ms, start being the
// first tick plus the conference's phase; the ticks between find nothing
// due; a clock more than maxCatchUp frames behind skips the older frames.
func TestFrameClock(t *testing.T) {
	start := time.Unix(1000, 0)
	k := frameClock{offset: 2 * mixTick}
	step := func(now time.Time, wantSend, wantSkipped int, wantDue ...time.Time) {
		t.Helper()
		send, skipped := k.advance(now)
		if send != wantSend || skipped != wantSkipped {
			t.Fatalf("at %v: send %d, skipped %d; want %d, %d", now.Sub(start), send, skipped, wantSend, wantSkipped)
		}
		for i := range send {
			if got := k.nextDue(); !got.Equal(wantDue[i]) {
				t.Fatalf("at %v: frame due at %v, want %v", now.Sub(start), got.Sub(start), wantDue[i].Sub(start))
			}
		}
	}
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	step(at(0), 0, 0) // the first tick sets the grid: frames at 10, 30, 50 …
	step(at(5), 0, 0)
	step(at(10), 1, 0, at(10))
	step(at(15), 0, 0)
	step(at(20), 0, 0)
	step(at(25), 0, 0)
	step(at(30).Add(-time.Microsecond), 1, 0, at(30)) // a tick a hair early
	step(at(35), 0, 0)
	step(at(50).Add(time.Microsecond), 1, 0, at(50))
	step(at(50).Add(2*time.Microsecond), 0, 0)
	step(at(110), 3, 0, at(70), at(90), at(110))
	step(at(235), 3, 3, at(190), at(210), at(230))
	step(at(250), 1, 0, at(250))
}

func TestJitterBuffer(t *testing.T) {
	counting := func(from, n int) []int16 {
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(from + i)
		}
		return s
	}
	var j jitterBuffer
	frame := make([]int16, FrameSamples)
	expect := func(from int) {
		t.Helper()
		if !j.pop(frame) {
			t.Fatalf("no frame, want one from %d", from)
		}
		for i, v := range frame {
			if int(v) != from+i {
				t.Fatalf("sample %d = %d, want %d", i, v, from+i)
			}
		}
	}
	if j.pop(frame) {
		t.Fatal("a frame out of an empty buffer")
	}
	// Five frames in: the three newest are kept.
	for f := range 5 {
		j.push(counting(f*FrameSamples, FrameSamples))
	}
	expect(2 * FrameSamples)
	expect(3 * FrameSamples)
	expect(4 * FrameSamples)
	if j.pop(frame) {
		t.Fatal("a fourth frame out of a buffer of three")
	}
	// Half a frame waits for its other half, across the wrap.
	j.push(counting(0, 80))
	if j.pop(frame) {
		t.Fatal("a frame out of half a frame")
	}
	j.push(counting(80, 80))
	expect(0)
	// 30 ms packets: three of them make four and a half frames; the
	// oldest are dropped, the rest come out in order.
	for p := range 3 {
		j.push(counting(1000+240*p, 240))
	}
	expect(1000 + 720 - 3*FrameSamples)
	expect(1000 + 720 - 2*FrameSamples)
	expect(1000 + 720 - FrameSamples)
	// A packet longer than the buffer keeps its end.
	j.push(counting(5000, 4*FrameSamples))
	expect(5000 + FrameSamples)
}

func TestJoinLeaveClose(t *testing.T) {
	m := NewMixer(1, nil)
	conf := m.NewConference()
	ms := []*member{join(t, conf, PCMU), join(t, conf, PCMU), join(t, conf, PCMU)}
	if _, err := conf.Join(ms[0].p.Session()); !errors.Is(err, ErrInConference) {
		t.Errorf("joining twice: %v, want ErrInConference", err)
	}
	if _, err := m.NewConference().Join(ms[0].p.Session()); !errors.Is(err, ErrInConference) {
		t.Errorf("joining a second conference: %v, want ErrInConference", err)
	}
	ms[1].p.Leave()
	ms[1].p.Leave()
	if n := conf.Parties(); n != 2 {
		t.Fatalf("%d parties after a leave, want 2", n)
	}
	if taps := ms[1].p.Session().taps.Load(); taps != nil && len(*taps) != 0 {
		t.Errorf("%d taps left on a party that left", len(*taps))
	}
	// Once Leave has returned, the party is sent nothing; the others hear
	// each other only.
	left := ms[1].out.count()
	got := mixOnce(t, conf, []*member{ms[0], ms[2]}, [][]int16{constant(1000), constant(2000)})
	checkHeard(t, got, []int{2000, 1000}, []Codec{PCMU, PCMU})
	if n := ms[1].out.count(); n != left {
		t.Errorf("a party that left was sent %d frames", n-left)
	}
	// The session that left may join elsewhere.
	other := m.NewConference()
	if _, err := other.Join(ms[1].p.Session()); err != nil {
		t.Errorf("joining after leaving: %v", err)
	}
	other.Close()

	conf.Close()
	conf.Close()
	if n := conf.Parties(); n != 0 {
		t.Errorf("%d parties after Close", n)
	}
	if _, err := conf.Join(NewSession(newSink(), SessionConfig{Codec: PCMU})); !errors.Is(err, ErrConferenceClosed) {
		t.Errorf("joining a closed conference: %v, want ErrConferenceClosed", err)
	}
	for i, x := range ms {
		if taps := x.p.Session().taps.Load(); taps != nil && len(*taps) != 0 {
			t.Errorf("party %d keeps %d taps after Close", i, len(*taps))
		}
	}
	closed := NewSession(newSink(), SessionConfig{Codec: PCMU})
	closed.Close()
	if _, err := m.NewConference().Join(closed); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("joining with a closed session: %v, want ErrSessionClosed", err)
	}
}

// TestJoinUnbridges: a bridged session that joins stops relaying, and so
// does its peer; a third session relaying elsewhere is left alone.
func TestJoinUnbridges(t *testing.T) {
	conf := NewMixer(1, nil).NewConference()
	defer conf.Close()
	mk := func() *Session { return NewSession(newSink(), SessionConfig{Codec: PCMU}) }
	a, b, c, d := mk(), mk(), mk(), mk()
	a.SetPeer(b)
	b.SetPeer(a)
	c.SetPeer(d)
	d.SetPeer(b)
	if _, err := conf.Join(a); err != nil {
		t.Fatal(err)
	}
	if a.Peer() != nil || b.Peer() != nil {
		t.Errorf("after joining, a relays to %p and b to %p; want neither", a.Peer(), b.Peer())
	}
	if _, err := conf.Join(c); err != nil {
		t.Fatal(err)
	}
	if c.Peer() != nil || d.Peer() != b {
		t.Errorf("after c joined, c relays to %p, d to %p; want nil, b", c.Peer(), d.Peer())
	}
}

// TestClosedSessionLeaves: a party whose session closes leaves its
// conference by itself; the conference's shard goroutine ends with its
// last party.
func TestClosedSessionLeaves(t *testing.T) {
	m := NewMixer(1, nil)
	conf := m.NewConference()
	defer conf.Close()
	ms := []*member{join(t, conf, PCMU), join(t, conf, PCMU)}
	ms[0].p.Session().Close()
	waitParties(t, conf, 1)
	m.mu.Lock()
	_, member := m.members[ms[0].p.Session()]
	m.mu.Unlock()
	if member {
		t.Error("a closed session is still a member of the mixer")
	}
	ms[1].p.Session().Close()
	waitParties(t, conf, 0)
	// The conference took its shard's clock back when it became empty.
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.shards[0].clock.mu.Lock()
		running := m.shards[0].clock.running
		m.shards[0].clock.mu.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shard's clock still runs without parties")
		}
		time.Sleep(FrameDuration)
	}
	// A new party puts it back on the clock.
	x := join(t, conf, PCMA)
	for x.out.count() == 0 {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("a party joining an emptied conference is sent nothing")
		}
		time.Sleep(FrameDuration)
	}
}

func waitParties(t *testing.T, c *Conference, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.Parties() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d parties, want %d", c.Parties(), n)
		}
		time.Sleep(FrameDuration)
	}
}

// TestConferencesShareShards: fifty conferences are mixed by the mixer's
// two clock goroutines, and every party is sent frames.
func TestConferencesShareShards(t *testing.T) {
	m := NewMixer(2, nil)
	before := runtime.NumGoroutine()
	var confs []*Conference
	var ms []*member
	for range 50 {
		c := m.NewConference()
		confs = append(confs, c)
		for range 3 {
			ms = append(ms, join(t, c, PCMU))
		}
	}
	defer func() {
		for _, c := range confs {
			c.Close()
		}
	}()
	if n := runtime.NumGoroutine() - before; n > 2 {
		t.Errorf("%d goroutines for 50 conferences, want at most 2", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, x := range ms {
		for x.out.count() < 3 {
			if time.Now().After(deadline) {
				t.Fatal("a party was sent fewer than 3 frames")
			}
			time.Sleep(FrameDuration)
		}
	}
	if st := m.Stats(); st.Frames < uint64(3*len(ms)) || st.Late > st.Frames {
		t.Errorf("stats %+v after at least %d frames", st, 3*len(ms))
	}
}

// toneLevel returns the amplitude of the freq component of frame
// (Goertzel).
func toneLevel(frame []int16, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2 float64
	for _, x := range frame {
		s1, s2 = float64(x)+coeff*s1-s2, s1
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(max(power, 0)) / float64(len(frame))
}

func sine(freq float64, amp float64, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return s
}

// levels records, for every frame a far end receives, the level of each
// party's tone.
type levels struct {
	mu     sync.Mutex
	frames [][3]float64
}

func (l *levels) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.frames)
}

// TestConferenceOverUDP: three far ends (PCMU, PCMA, PCMU) each send a
// tone of their own to their gateway leg over loopback UDP; the legs are
// parties of one conference; each far end must receive exactly the tones
// of the parties that talk to it — present in most frames where it must
// be heard, absent from every frame where it must not.
func TestConferenceOverUDP(t *testing.T) {
	freqs := [3]float64{600, 1000, 1400} // whole cycles in a frame
	for _, tc := range []struct {
		name string
		set  func(ps []*Party)
		hear [3][3]bool // hear[listener][talker]
	}{
		{"mix-minus", func([]*Party) {}, [3][3]bool{{false, true, true}, {true, false, true}, {true, true, false}}},
		{"C listens", func(ps []*Party) { ps[2].TalkTo() }, [3][3]bool{{false, true, false}, {true, false, false}, {true, true, false}}},
		{"C whispers to B", func(ps []*Party) { ps[2].TalkTo(ps[1]) }, [3][3]bool{{false, true, false}, {true, false, true}, {true, true, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := newPool(t)
			ctx := t.Context()
			m := NewMixer(1, nil)
			conf := m.NewConference()
			defer conf.Close()
			var far []*Session
			var ps []*Party
			var lv [3]*levels
			for i, codec := range []Codec{PCMU, PCMA, PCMU} {
				f, gw := pair(t, pool, codec, codec)
				run(t, ctx, f, gw)
				p, err := conf.Join(gw)
				if err != nil {
					t.Fatal(err)
				}
				l := &levels{}
				f.AddTap(func(frame []int16) {
					var x [3]float64
					for k, fr := range freqs {
						x[k] = toneLevel(frame, fr)
					}
					l.mu.Lock()
					l.frames = append(l.frames, x)
					l.mu.Unlock()
				})
				far, ps, lv[i] = append(far, f), append(ps, p), l
			}
			tc.set(ps)
			const toneFrames = 50
			var wg sync.WaitGroup
			for i, f := range far {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_ = Play(ctx, f, sine(freqs[i], 8000, toneFrames*FrameSamples), false, nil)
				}()
			}
			wg.Wait()
			// Everything sent has been mixed and received well before
			// each far end has been sent 15 more frames.
			var seen [3]int
			for i := range lv {
				seen[i] = lv[i].count()
			}
			deadline := time.Now().Add(5 * time.Second)
			for i := range lv {
				for lv[i].count() < seen[i]+15 {
					if time.Now().After(deadline) {
						t.Fatalf("far end %d receives nothing more", i)
					}
					time.Sleep(FrameDuration)
				}
			}
			names := "ABC"
			for li := range lv {
				lv[li].mu.Lock()
				frames := lv[li].frames
				lv[li].mu.Unlock()
				for ti := range freqs {
					loud, peak := 0, 0.0
					for _, x := range frames {
						if x[ti] > 4000 {
							loud++
						}
						peak = max(peak, x[ti])
					}
					switch {
					case tc.hear[li][ti] && loud < toneFrames/2:
						t.Errorf("%c hears %c's tone in %d frames, want at least %d", names[li], names[ti], loud, toneFrames/2)
					case !tc.hear[li][ti] && peak > 1000:
						t.Errorf("%c hears %c's tone at level %.0f, want nothing", names[li], names[ti], peak)
					}
				}
			}
			// A leg that ends leaves the conference; the others go on.
			ps[2].Session().Close()
			waitParties(t, conf, 2)
			if st := m.Stats(); st.Frames == 0 {
				t.Errorf("stats %+v after a call", st)
			}
		})
	}
}

// TestPartyLeavesWhenCallEnds: the call's context ending ends the
// session's Run; its party leaves the conference.
func TestPartyLeavesWhenCallEnds(t *testing.T) {
	pool := newPool(t)
	f, gw := pair(t, pool, PCMU, PCMU)
	ctx, cancel := context.WithCancel(t.Context())
	run(t, ctx, f, gw)
	conf := NewMixer(1, nil).NewConference()
	defer conf.Close()
	if _, err := conf.Join(gw); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-gw.Done()
	waitParties(t, conf, 0)
}
