package media

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// ErrInterrupted is returned by Play when the interrupt channel fired.
var ErrInterrupted = errors.New("media: playback interrupted")

// defaultPacer serves Play.
var defaultPacer = NewPacer(0, nil)

// Play plays samples to s on a process-wide Pacer without batched sends;
// see Pacer.Play. A gateway with a MuxSet uses its own Pacer.
func Play(ctx context.Context, s *Session, samples []int16, loop bool, interrupt <-chan struct{}) error {
	return defaultPacer.Play(ctx, s, samples, loop, interrupt)
}

// Pacer sends the audio of every playback (prompts, music on hold, test
// tones) from a few goroutines on a shared 20 ms clock, instead of a
// goroutine and a timer per playing leg: each shard wakes every 20 ms and
// sends every due frame of its streams, inside one batch of its MuxSet so
// the packets of many calls leave in a few sendmmsg calls. A shard's
// goroutine runs only while it has streams.
type Pacer struct {
	set    *MuxSet
	shards []*pacerShard
	next   atomic.Uint32
}

// NewPacer creates a pacer with the given number of shards (0: one per
// CPU the runtime uses). set may be nil.
func NewPacer(shards int, set *MuxSet) *Pacer {
	if shards <= 0 {
		shards = runtime.GOMAXPROCS(0)
	}
	p := &Pacer{set: set}
	for range shards {
		p.shards = append(p.shards, &pacerShard{p: p})
	}
	return p
}

// maxCatchUp bounds the frames a late stream sends in one tick; beyond it
// the stream's clock slips instead of bursting.
const maxCatchUp = 3

type pacerShard struct {
	p     *Pacer
	clock clockShard[*stream]
	frame []int16 // the clock goroutine's scratch frame
}

// stream is one playback. Its mutex orders the shard's sends against
// Play's return: once Play has returned, no frame of it is sent.
type stream struct {
	mu       sync.Mutex
	s        *Session
	samples  []int16
	loop     bool
	off      int
	start    time.Time
	sent     int
	stopped  bool
	finished chan error
}

// Play sends samples to s as 20 ms frames, frame n at start + n·20 ms on
// the shared clock (the first at once). It returns ErrInterrupted as soon
// as interrupt is readable (barge-in), ctx.Err() when ctx ends and
// ErrSessionClosed when the session closed. With loop set it repeats until
// one of those happens (music on hold).
func (p *Pacer) Play(ctx context.Context, s *Session, samples []int16, loop bool, interrupt <-chan struct{}) error {
	if len(samples) == 0 {
		return nil
	}
	st := &stream{s: s, samples: samples, loop: loop, start: time.Now(), finished: make(chan error, 1)}
	frame := make([]int16, FrameSamples)
	st.mu.Lock()
	ok := st.step(frame)
	st.mu.Unlock()
	if !ok {
		return <-st.finished
	}
	p.shards[int(p.next.Add(1))%len(p.shards)].add(st)
	select {
	case err := <-st.finished:
		return err
	case <-ctx.Done():
		st.stop()
		return ctx.Err()
	case <-interrupt:
		st.stop()
		return ErrInterrupted
	case <-s.Done():
		st.stop()
		return ErrSessionClosed
	}
}

func (st *stream) stop() {
	st.mu.Lock()
	st.stopped = true
	st.mu.Unlock()
}

// step sends the stream's next frame; st.mu is held. It reports false
// when the stream has ended (and tells Play why): a one-shot stream ends
// on the step after its last frame, so Play lasts as long as the audio.
func (st *stream) step(frame []int16) bool {
	if st.stopped {
		return false
	}
	if st.off >= len(st.samples) {
		if !st.loop {
			st.end(nil)
			return false
		}
		st.off = 0
	}
	end := min(st.off+FrameSamples, len(st.samples))
	k := copy(frame, st.samples[st.off:end])
	clear(frame[k:])
	st.off = end
	if err := st.s.WriteFrame(frame); err != nil {
		st.end(err)
		return false
	}
	st.sent++
	return true
}

func (st *stream) end(err error) {
	st.stopped = true
	st.finished <- err
}

// tick sends every due frame of the stream; it reports false once the
// stream is over.
func (st *stream) tick(now time.Time, frame []int16) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	due := int(now.Sub(st.start)/FrameDuration) + 1
	if behind := due - st.sent - maxCatchUp; behind > 0 {
		st.start = st.start.Add(time.Duration(behind) * FrameDuration)
		due -= behind
	}
	for st.sent < due {
		if !st.step(frame) {
			return false
		}
	}
	return !st.stopped
}

func (sh *pacerShard) add(st *stream) { sh.clock.add(st, FrameDuration, sh.tick) }

// tick sends every due frame of the shard's streams inside one batch of
// the pacer's MuxSet; it reports whether one of them ended.
func (sh *pacerShard) tick(now time.Time, work []*stream) bool {
	if sh.frame == nil {
		sh.frame = make([]int16, FrameSamples)
	}
	if sh.p.set != nil {
		sh.p.set.hold()
		defer sh.p.set.release()
	}
	ended := false
	for _, st := range work {
		if !st.tick(now, sh.frame) {
			ended = true
		}
	}
	return ended
}

// ended reports whether the stream is over (clockShard drops it).
func (st *stream) ended() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.stopped
}

// clockShard drives a set of items from one goroutine on a shared ticker —
// a shard of the pacer, or of the recorders' clock — instead of a
// goroutine and a timer per item. The goroutine runs only while the shard
// has items.
type clockShard[T interface{ ended() bool }] struct {
	mu      sync.Mutex
	items   []T
	running bool
}

// add adds x; the shard's goroutine calls tick every period with the
// items, and drops those that ended when tick reports that one did.
func (sh *clockShard[T]) add(x T, every time.Duration, tick func(now time.Time, items []T) bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.items = append(sh.items, x)
	if !sh.running {
		sh.running = true
		go sh.run(every, tick)
	}
}

// run is the shard's clock; it returns when the shard has no items.
func (sh *clockShard[T]) run(every time.Duration, tick func(now time.Time, items []T) bool) {
	t := time.NewTicker(every)
	defer t.Stop()
	var work []T
	for now := range t.C {
		sh.mu.Lock()
		work = append(work[:0], sh.items...)
		sh.mu.Unlock()
		ended := tick(now, work)
		clear(work)
		if !ended {
			continue
		}
		sh.mu.Lock()
		kept := sh.items[:0]
		for _, x := range sh.items {
			if !x.ended() {
				kept = append(kept, x)
			}
		}
		clear(sh.items[len(kept):])
		sh.items = kept
		if len(kept) == 0 {
			sh.running = false
			sh.mu.Unlock()
			return
		}
		sh.mu.Unlock()
	}
}

// StereoRecorder writes two sessions' incoming audio to one stereo WAV:
// left is what a receives (the caller), right what b receives (the
// agent). Each side is buffered and a clock interleaves one 20 ms frame of
// each per 20 ms elapsed since the start, padding silence where a side sent
// nothing, so the channels stay aligned in time. The clock is shared, like
// the pacer's: a few goroutines (one per CPU) tick every 20 ms instead of a
// goroutine and a timer per call, so many recordings wake the scheduler a
// few times per tick rather than once per call. Each recorder writes what
// is due every recTick, on its own phase of the clock, so that each tick
// writes a tenth of the recordings: every recording written at once
// would hold every CPU for a while at each tick and delay everything else
// (screen pops) by as much.
type StereoRecorder struct {
	w      *WAVWriter
	start  time.Time
	phase  int // the clock tick, modulo recPhases, on which it writes
	remove []func()
	once   sync.Once
	paused atomic.Bool

	mu       sync.Mutex // guards left, right, released
	left     []int16
	right    []int16
	released bool // buffers returned to recSides

	wmu     sync.Mutex // orders the clock's writes against Stop's last one; guards the rest
	written int        // frames written
	stopped bool
	err     error
}

// recTick is how often a recorder writes what accumulated; its clock ticks
// every FrameDuration and each recorder writes on one tick in recPhases.
const (
	recTick   = 10 * FrameDuration
	recPhases = int(recTick / FrameDuration)
)

// maxRecBacklog bounds the per-side buffer (1 s, five ticks) so a stalled
// clock cannot grow memory; older samples are dropped.
const maxRecBacklog = 50 * FrameSamples

// recSides pools the per-side buffers of recorders (two ticks of samples
// each; a late clock grows them up to maxRecBacklog).
var recSides = sync.Pool{New: func() any { b := make([]int16, 0, 2*recTick/FrameDuration*FrameSamples); return &b }}

// recClock is the recorders' shared clock.
var recClock = newRecorderClock(runtime.GOMAXPROCS(0))

type recorderClock struct {
	shards []*recShard
	next   atomic.Uint32
}

type recShard struct {
	clock  clockShard[*StereoRecorder]
	frames []int16 // the clock goroutine's scratch: a second of stereo frames
	ticks  int     // owned by the clock goroutine
}

func newRecorderClock(shards int) *recorderClock {
	c := &recorderClock{}
	for range max(shards, 1) {
		c.shards = append(c.shards, &recShard{})
	}
	return c
}

func (c *recorderClock) add(r *StereoRecorder) {
	sh := c.place(r)
	sh.clock.add(r, FrameDuration, sh.tick)
}

// place spreads recorders evenly over the shards, then over the phases of
// each: it sets r's phase and returns its shard.
func (c *recorderClock) place(r *StereoRecorder) *recShard {
	n := int(c.next.Add(1))
	r.phase = n / len(c.shards) % recPhases
	return c.shards[n%len(c.shards)]
}

// tick writes what is due for the shard's recorders whose phase this tick
// is; it reports whether one of them has stopped.
func (sh *recShard) tick(now time.Time, work []*StereoRecorder) bool {
	if sh.frames == nil {
		sh.frames = make([]int16, 2*maxRecBacklog)
	}
	sh.ticks = (sh.ticks + 1) % recPhases
	ended := false
	for _, r := range work {
		if r.phase == sh.ticks && !r.tick(now, sh.frames) {
			ended = true
		}
	}
	return ended
}

// ended reports whether the recorder has stopped (clockShard drops it).
func (r *StereoRecorder) ended() bool {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	return r.stopped
}

// NewStereoRecorder starts recording a (left) and b (right) to path.
// Either session may be nil (silence on that side).
func NewStereoRecorder(path string, a, b *Session) (*StereoRecorder, error) {
	var left, right func(func([]int16)) func()
	if a != nil {
		left = a.AddTap
	}
	if b != nil {
		right = b.AddTap
	}
	return newStereoRecorder(path, left, right)
}

// NewLegRecorder records one leg's conversation from its side: what it
// says on the left, what it hears on the right (relayed, mixed from a
// conference, music on hold). Recording the caller's leg so follows the
// whole call across transfers, consultations and conferences, and leaves
// out what the caller does not hear (a supervisor's whisper).
func NewLegRecorder(path string, s *Session) (*StereoRecorder, error) {
	return newStereoRecorder(path, s.AddTap, s.AddSendTap)
}

func newStereoRecorder(path string, left, right func(func([]int16)) func()) (*StereoRecorder, error) {
	w, err := CreateWAV(path, 2)
	if err != nil {
		return nil, err
	}
	r := &StereoRecorder{w: w, start: time.Now(),
		left: *recSides.Get().(*[]int16), right: *recSides.Get().(*[]int16)}
	if left != nil {
		r.remove = append(r.remove, left(func(p []int16) { r.push(&r.left, p) }))
	}
	if right != nil {
		r.remove = append(r.remove, right(func(p []int16) { r.push(&r.right, p) }))
	}
	recClock.add(r)
	return r, nil
}

// Pause stops (on) or resumes keeping audio: while paused the recording
// runs on in silence, so that what is said then (a card number) is never
// written and the file's timeline still matches the call's.
func (r *StereoRecorder) Pause(on bool) { r.paused.Store(on) }

// Paused reports whether the recording is paused.
func (r *StereoRecorder) Paused() bool { return r.paused.Load() }

func (r *StereoRecorder) push(dst *[]int16, p []int16) {
	if r.paused.Load() {
		return
	}
	r.mu.Lock()
	if r.released {
		r.mu.Unlock()
		return
	}
	*dst = append(*dst, p...)
	if over := len(*dst) - maxRecBacklog; over > 0 {
		*dst = append((*dst)[:0], (*dst)[over:]...)
	}
	r.mu.Unlock()
}

// tick writes the frames due at now (at most a second's worth: a clock
// that stalled longer loses time, not memory); it reports false once the
// recorder has stopped. frames has room for maxRecBacklog stereo samples.
func (r *StereoRecorder) tick(now time.Time, frames []int16) bool {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.stopped {
		return false
	}
	due := int(now.Sub(r.start)/FrameDuration) - r.written
	r.writeLocked(min(due, maxRecBacklog/FrameSamples), frames)
	return true
}

// writeLocked interleaves n frames of each side (silence where a side has
// none) and writes them; r.wmu is held.
func (r *StereoRecorder) writeLocked(n int, frames []int16) {
	if n <= 0 {
		return
	}
	out := frames[:2*n*FrameSamples]
	clear(out)
	r.mu.Lock()
	nl := min(len(r.left), n*FrameSamples)
	nr := min(len(r.right), n*FrameSamples)
	for i, v := range r.left[:nl] {
		out[2*i] = v
	}
	for i, v := range r.right[:nr] {
		out[2*i+1] = v
	}
	r.left = append(r.left[:0], r.left[nl:]...)
	r.right = append(r.right[:0], r.right[nr:]...)
	r.mu.Unlock()
	r.written += n
	if err := r.w.WriteFrames(out); err != nil && r.err == nil {
		r.err = err
	}
}

// Stop ends the recording: it writes what is buffered and finalises the
// file. It is idempotent.
func (r *StereoRecorder) Stop() error {
	r.once.Do(func() {
		for _, f := range r.remove {
			f()
		}
		r.wmu.Lock()
		r.stopped = true
		r.mu.Lock()
		n := (max(len(r.left), len(r.right)) + FrameSamples - 1) / FrameSamples
		r.mu.Unlock()
		r.writeLocked(n, make([]int16, 2*n*FrameSamples))
		if err := r.w.Close(); r.err == nil {
			r.err = err
		}
		r.wmu.Unlock()
		// A tap already running when it was removed may still push: it
		// finds the recorder released, not a buffer back in the pool.
		r.mu.Lock()
		l, rt := r.left[:0], r.right[:0]
		r.left, r.right, r.released = nil, nil, true
		r.mu.Unlock()
		recSides.Put(&l)
		recSides.Put(&rt)
	})
	r.wmu.Lock()
	defer r.wmu.Unlock()
	return r.err
}
