package media

import (
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrConferenceClosed is returned by Join on a closed conference.
var ErrConferenceClosed = errors.New("media: conference closed")

// ErrInConference is returned by Join for a session that is already a
// party of a conference of the same mixer: it would be sent two streams.
var ErrInConference = errors.New("media: session already in a conference")

// Mixer mixes the audio of conferences: three-way calls, consultation
// merges, supervisors listening, whispering or barging in. Like the
// Pacer, it runs on a few clock shards (one goroutine each, running only
// while it has conferences) instead of a goroutine per conference or
// party. A shard ticks mixPhases times per frame; each conference has a
// phase, and every 20 ms, on its phase's tick, the shard mixes one frame
// of it and sends each party its own mix with Session.WriteFrame, inside
// one batch of the mixer's MuxSet. The phases spread the work and the
// packets of many conferences over the frame: a tick carries a quarter
// of them, so a frame waits for a quarter of the mixing and sending
// rather than all of it. It is safe for concurrent use.
type Mixer struct {
	set    *MuxSet
	shards []*mixShard
	next   atomic.Uint32

	mu      sync.Mutex
	members map[*Session]*Party // every party of the mixer's conferences
}

// MixerStats counts the frames of a mixer since it was created.
//
// Frame n of a conference is due n·20 ms after the first tick of its
// phase on its shard's clock. A frame is late when
// it is handed to the party's session (sent, or queued in a MuxSet batch
// that leaves when the shard's tick ends) more than half a frame (10 ms)
// after its due time, or when it is never sent: a shard that falls more
// than three frames behind skips the older frames (the conference's clock
// slips) rather than sending a burst.
type MixerStats struct {
	Frames uint64 // frames due to parties, one per party every 20 ms
	Late   uint64 // of those, frames late or skipped
}

// NewMixer creates a mixer with the given number of clock shards (0: one
// per CPU the runtime uses). set may be nil; with a set, each shard's tick
// is one batch of it, so the frames of many parties leave in a few
// sendmmsg calls.
func NewMixer(shards int, set *MuxSet) *Mixer {
	if shards <= 0 {
		shards = runtime.GOMAXPROCS(0)
	}
	m := &Mixer{set: set, members: map[*Session]*Party{}}
	for range shards {
		m.shards = append(m.shards, &mixShard{m: m})
	}
	return m
}

// Stats returns the mixer's frame counters.
func (m *Mixer) Stats() MixerStats {
	var st MixerStats
	for _, sh := range m.shards {
		st.Frames += sh.frames.Load()
		st.Late += sh.late.Load()
	}
	return st
}

// mixPhases is the number of shard ticks per frame: each conference is
// mixed on one of them.
const (
	mixPhases = 4
	mixTick   = FrameDuration / mixPhases
)

// NewConference creates an empty conference; conferences are spread
// evenly over the mixer's shards, then over the phases of each. It costs
// nothing until its first party joins.
func (m *Mixer) NewConference() *Conference {
	n := int(m.next.Add(1))
	return &Conference{m: m, sh: m.shards[n%len(m.shards)], phase: n / len(m.shards) % mixPhases}
}

type mixShard struct {
	m      *Mixer
	clock  clockShard[*Conference]
	frames atomic.Uint64
	late   atomic.Uint64
}

// tick mixes what is due of the shard's conferences inside one batch of
// the mixer's MuxSet; it reports whether one of them ended.
func (sh *mixShard) tick(now time.Time, confs []*Conference) bool {
	if sh.m.set != nil {
		sh.m.set.hold()
		defer sh.m.set.release()
	}
	ended := false
	for _, c := range confs {
		if !c.tick(now) {
			ended = true
		}
	}
	return ended
}

// Conference is a set of parties whose audio is mixed: each party hears
// the sum of the parties that talk to it, never itself (mix-minus). Every
// method is safe for concurrent use.
type Conference struct {
	m     *Mixer
	sh    *mixShard
	phase int // the shard's tick, within a frame, on which it is mixed

	// mu guards everything below and is held for a whole tick of the
	// conference, so that once Leave or Close returns the mixer sends the
	// party's session nothing more.
	mu        sync.Mutex
	parties   []*Party
	closed    bool
	scheduled bool // on its shard's clock
	clk       frameClock
	sum       [FrameSamples]int32 // scratch: what the parties talking to all say
}

// Party is one session's place in a conference.
type Party struct {
	c         *Conference
	s         *Session
	talk      atomic.Pointer[talkMask]
	removeTap func()

	jmu sync.Mutex // guards jb: the session's receive goroutine fills it
	jb  jitterBuffer

	// Guarded by c.mu: the tick's state and scratch.
	gone  bool
	mask  *talkMask           // talk mask of the frame being mixed
	heard bool                // in holds audio for the frame being mixed
	in    [FrameSamples]int16 // what the party said
	acc   [FrameSamples]int32 // what the party hears
	out   [FrameSamples]int16 // acc, clipped
}

// talkMask says whom a party talks to: everyone, or only the parties in to
// (nobody when to is empty).
type talkMask struct {
	all bool
	to  []*Party
}

var talkAll = &talkMask{all: true}

// Join adds s to the conference: s hears every party that talks to it
// and talks to every party. Its received audio reaches the conference
// through an audio tap; what it hears is sent to it every 20 ms.
//
// Join unbridges s: the conference replaces the relay, so s stops relaying
// to its peer and, when that peer relays to s, the peer stops too (a
// bridged caller and agent joining a conference both leave their bridge).
// Leave does not restore it. While s is a party nothing else may send it
// audio (a prompt would interleave with the mix); digits it receives still
// reach its OnDigit callback and are not relayed.
//
// It fails with ErrConferenceClosed on a closed conference,
// ErrSessionClosed for a closed session and ErrInConference for a session
// already in a conference of the same mixer.
func (c *Conference) Join(s *Session) (*Party, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrConferenceClosed
	}
	if s.closed.Load() {
		c.mu.Unlock()
		return nil, ErrSessionClosed
	}
	p := &Party{c: c, s: s}
	c.m.mu.Lock()
	if c.m.members[s] != nil {
		c.m.mu.Unlock()
		c.mu.Unlock()
		return nil, ErrInConference
	}
	c.m.members[s] = p
	c.m.mu.Unlock()
	if peer := s.peer.Swap(nil); peer != nil {
		peer.Unpeer(s)
	}
	p.talk.Store(talkAll)
	p.removeTap = s.AddTap(p.receive)
	c.parties = append(c.parties, p)
	schedule := !c.scheduled
	if schedule {
		c.scheduled = true
		c.clk = frameClock{offset: time.Duration(c.phase) * mixTick}
	}
	c.mu.Unlock()
	// Outside c.mu: the shard's clock holds its own lock while it asks
	// conferences whether they ended.
	if schedule {
		c.sh.clock.add(c, mixTick, c.sh.tick)
	}
	return p, nil
}

// Parties returns the number of parties.
func (c *Conference) Parties() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.parties)
}

// Close makes every party leave and refuses new ones. It is idempotent.
func (c *Conference) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for len(c.parties) > 0 {
		c.leaveLocked(c.parties[len(c.parties)-1])
	}
}

// Session returns the party's session.
func (p *Party) Session() *Session { return p.s }

// TalkTo makes only the given parties of the conference hear p (a
// supervisor whispering to the agent); TalkTo() makes nobody hear it (a
// supervisor listening, a muted party). p itself and parties of other
// conferences are ignored. What p hears does not change. It takes effect
// from the next frame mixed.
func (p *Party) TalkTo(ps ...*Party) {
	m := &talkMask{}
	for _, q := range ps {
		if q != nil && q != p && q.c == p.c && !slices.Contains(m.to, q) {
			m.to = append(m.to, q)
		}
	}
	p.talk.Store(m)
}

// TalkToAll makes every party hear p again (a supervisor barging in). It
// takes effect from the next frame mixed.
func (p *Party) TalkToAll() { p.talk.Store(talkAll) }

// Leave removes p from its conference: its tap is removed and, once Leave
// returns, the mixer sends its session nothing more; the session is
// otherwise untouched. A party whose session closes leaves by itself
// within a few milliseconds (at its shard's next tick). It is idempotent.
func (p *Party) Leave() {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.c.leaveLocked(p)
}

func (c *Conference) leaveLocked(p *Party) {
	if p.gone {
		return
	}
	p.gone = true
	if i := slices.Index(c.parties, p); i >= 0 {
		c.parties = slices.Delete(c.parties, i, i+1)
	}
	p.removeTap()
	c.m.mu.Lock()
	if c.m.members[p.s] == p {
		delete(c.m.members, p.s)
	}
	c.m.mu.Unlock()
}

// receive is the party's audio tap: it runs on the session's receive
// goroutine.
func (p *Party) receive(samples []int16) {
	p.jmu.Lock()
	p.jb.push(samples)
	p.jmu.Unlock()
}

// ended reports whether the conference has left its shard's clock: closed,
// or without parties (the clock then drops it; a later Join puts it back).
func (c *Conference) ended() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || len(c.parties) == 0 {
		c.scheduled = false
		return true
	}
	return false
}

// tick mixes and sends the frames due at now, the time of one of the
// shard's ticks (most of which find none due); it reports false when the
// conference has no party left.
func (c *Conference) tick(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < len(c.parties); {
		if p := c.parties[i]; p.s.closed.Load() {
			c.leaveLocked(p)
		} else {
			i++
		}
	}
	if c.closed || len(c.parties) == 0 {
		return false
	}
	send, skipped := c.clk.advance(now)
	if send+skipped == 0 {
		return true
	}
	frames := uint64(skipped * len(c.parties))
	late := frames
	for range send {
		f, l := c.mixLocked(c.clk.nextDue())
		frames += uint64(f)
		late += uint64(l)
	}
	c.sh.frames.Add(frames)
	c.sh.late.Add(late)
	return true
}

// mixLocked mixes one frame due at due and sends each party its mix; it
// returns the frames sent and how many of them were late. c.mu is held.
//
// Each party hears the parties that talk to everyone, minus itself, plus
// the parties that talk only to a set including it: one sum for the
// conference, then a correction per party, rather than a sum per pair.
func (c *Conference) mixLocked(due time.Time) (frames, late int) {
	clear(c.sum[:])
	for _, p := range c.parties {
		p.mask = p.talk.Load()
		p.jmu.Lock()
		p.heard = p.jb.pop(p.in[:])
		p.jmu.Unlock()
		if p.heard && p.mask.all {
			addFrame(&c.sum, &p.in)
		}
	}
	for _, p := range c.parties {
		p.acc = c.sum
		if p.heard && p.mask.all {
			subFrame(&p.acc, &p.in)
		}
	}
	for _, p := range c.parties {
		if !p.heard || p.mask.all {
			continue
		}
		for _, q := range p.mask.to {
			if q.c == c && !q.gone {
				addFrame(&q.acc, &p.in)
			}
		}
	}
	for _, p := range c.parties {
		for i, v := range p.acc {
			p.out[i] = int16(max(-32768, min(32767, v)))
		}
		_ = p.s.WriteFrame(p.out[:]) // a closed session leaves at the next tick
		frames++
		if time.Since(due) > FrameDuration/2 {
			late++
		}
	}
	return frames, late
}

func addFrame(dst *[FrameSamples]int32, src *[FrameSamples]int16) {
	for i, v := range src {
		dst[i] += int32(v)
	}
}

func subFrame(dst *[FrameSamples]int32, src *[FrameSamples]int16) {
	for i, v := range src {
		dst[i] -= int32(v)
	}
}

// frameClock is a conference's frame schedule on its shard's clock: frame
// n is due at start + n·FrameDuration, start being the time of the first
// tick that saw the conference plus the conference's phase (offset). The
// shard's clock ticks every mixTick on that grid (a ticker's time is when
// the tick was due, not when it was read).
type frameClock struct {
	offset time.Duration
	start  time.Time
	next   int // the next frame to send
}

// advance returns how many frames are due to be sent at now, a tick of
// the shard's clock, at most maxCatchUp, and how many older ones are
// skipped because the clock fell further behind than that. A ticker's
// times stray from its grid by a few microseconds either way: now counts
// as the nearest tick.
func (k *frameClock) advance(now time.Time) (send, skipped int) {
	if k.start.IsZero() {
		k.start = now.Add(k.offset)
	}
	d := now.Sub(k.start) + mixTick/2
	if d < 0 {
		return 0, 0
	}
	due := int(d/FrameDuration) + 1
	if behind := due - k.next - maxCatchUp; behind > 0 {
		k.next += behind
		skipped = behind
	}
	return max(due-k.next, 0), skipped
}

// nextDue returns the due time of the next frame and counts it sent.
func (k *frameClock) nextDue() time.Time {
	t := k.start.Add(time.Duration(k.next) * FrameDuration)
	k.next++
	return t
}

// jitterFrames is the depth of a party's jitter buffer, in frames: enough
// to absorb packets bunched by the network or by a socket reader's batch,
// small enough to add little delay (the oldest audio is dropped beyond it).
const jitterFrames = 3

// jitterBuffer holds a party's received samples until the mixer takes
// them, a frame per tick.
type jitterBuffer struct {
	buf  [jitterFrames * FrameSamples]int16
	head int // index of the oldest sample
	n    int // samples held
}

// push appends samples, dropping the oldest beyond the buffer's depth.
func (j *jitterBuffer) push(samples []int16) {
	if over := len(samples) - len(j.buf); over > 0 {
		samples = samples[over:]
	}
	if drop := j.n + len(samples) - len(j.buf); drop > 0 {
		j.head = (j.head + drop) % len(j.buf)
		j.n -= drop
	}
	tail := (j.head + j.n) % len(j.buf)
	k := copy(j.buf[tail:], samples)
	copy(j.buf[:], samples[k:])
	j.n += len(samples)
}

// pop moves the oldest frame into dst (FrameSamples long) and reports
// whether there was a whole one; otherwise dst is untouched and the
// samples wait for the rest of their frame.
func (j *jitterBuffer) pop(dst []int16) bool {
	if j.n < FrameSamples {
		return false
	}
	k := copy(dst[:FrameSamples], j.buf[j.head:])
	copy(dst[k:FrameSamples], j.buf[:])
	j.head = (j.head + FrameSamples) % len(j.buf)
	j.n -= FrameSamples
	return true
}
