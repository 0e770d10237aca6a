package media

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrInterrupted is returned by Play when the interrupt channel fired.
var ErrInterrupted = errors.New("media: playback interrupted")

// Play sends samples to s as 20 ms frames paced against the wall clock
// (frame n leaves at start + n·20 ms, so timer slack never accumulates).
// It returns ErrInterrupted as soon as interrupt is readable (barge-in),
// ctx.Err() when ctx ends and ErrSessionClosed when the session closed.
// With loop set it repeats until one of those happens (music on hold).
func Play(ctx context.Context, s *Session, samples []int16, loop bool, interrupt <-chan struct{}) error {
	if len(samples) == 0 {
		return nil
	}
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	frame := make([]int16, FrameSamples)
	for n, off := 0, 0; ; n++ {
		if off >= len(samples) {
			if !loop {
				return nil
			}
			off = 0
		}
		end := min(off+FrameSamples, len(samples))
		k := copy(frame, samples[off:end])
		clear(frame[k:])
		off = end
		if err := s.WriteFrame(frame); err != nil {
			return err
		}
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * FrameDuration)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-interrupt:
			return ErrInterrupted
		case <-s.Done():
			return ErrSessionClosed
		case <-timer.C:
		}
	}
}

// StereoRecorder writes two sessions' incoming audio to one stereo WAV:
// left is what a receives (the caller), right what b receives (the
// agent). Each side is buffered and a 20 ms clock interleaves one frame of
// each, padding silence where a side sent nothing, so the channels stay
// aligned in time.
type StereoRecorder struct {
	w      *WAVWriter
	mu     sync.Mutex
	left   []int16
	right  []int16
	remove []func()
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	err    error
}

// maxRecBacklog bounds the per-side buffer (200 ms) so a stalled clock
// cannot grow memory; older samples are dropped.
const maxRecBacklog = 10 * FrameSamples

// NewStereoRecorder starts recording a (left) and b (right) to path.
// Either session may be nil (silence on that side).
func NewStereoRecorder(path string, a, b *Session) (*StereoRecorder, error) {
	w, err := CreateWAV(path, 2)
	if err != nil {
		return nil, err
	}
	r := &StereoRecorder{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	if a != nil {
		r.remove = append(r.remove, a.AddTap(func(p []int16) { r.push(&r.left, p) }))
	}
	if b != nil {
		r.remove = append(r.remove, b.AddTap(func(p []int16) { r.push(&r.right, p) }))
	}
	go r.run()
	return r, nil
}

func (r *StereoRecorder) push(dst *[]int16, p []int16) {
	r.mu.Lock()
	*dst = append(*dst, p...)
	if over := len(*dst) - maxRecBacklog; over > 0 {
		*dst = append((*dst)[:0], (*dst)[over:]...)
	}
	r.mu.Unlock()
}

func (r *StereoRecorder) run() {
	defer close(r.done)
	t := time.NewTicker(FrameDuration)
	defer t.Stop()
	frame := make([]int16, 2*FrameSamples)
	flush := func(final bool) {
		for {
			r.mu.Lock()
			if final && len(r.left) == 0 && len(r.right) == 0 {
				r.mu.Unlock()
				return
			}
			clear(frame)
			nl := min(len(r.left), FrameSamples)
			nr := min(len(r.right), FrameSamples)
			for i := range nl {
				frame[2*i] = r.left[i]
			}
			for i := range nr {
				frame[2*i+1] = r.right[i]
			}
			r.left = append(r.left[:0], r.left[nl:]...)
			r.right = append(r.right[:0], r.right[nr:]...)
			r.mu.Unlock()
			if err := r.w.WriteFrames(frame); err != nil && r.err == nil {
				r.err = err
			}
			if !final {
				return
			}
		}
	}
	for {
		select {
		case <-r.stop:
			flush(true)
			return
		case <-t.C:
			flush(false)
		}
	}
}

// Stop ends the recording and finalises the file. It is idempotent.
func (r *StereoRecorder) Stop() error {
	r.once.Do(func() {
		for _, f := range r.remove {
			f()
		}
		close(r.stop)
		<-r.done
		if err := r.w.Close(); r.err == nil {
			r.err = err
		}
	})
	return r.err
}
