// Package ivrtest has in-memory fakes for testing IVR flows without a phone line: a
// scripted Session (digits, timeouts, hang-ups, recordings, speech), a Recognizer that
// understands the scripted speech, a Lookup backed by maps, and ReadWAV for prompts and
// speech fixtures.
package ivrtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"switchboard/ivr"
)

// ErrHangup is returned by a Session after a scripted hang-up.
var ErrHangup = errors.New("ivrtest: caller hung up")

// ErrScript is returned when the flow asks for something the script does not have next
// (e.g. a digit when the script expects a recording), or when the script is exhausted.
// Run treats it as a hang-up, so the test sees an abandoned outcome it did not expect.
var ErrScript = errors.New("ivrtest: script mismatch")

type eventKind uint8

const (
	evKeys eventKind = iota + 1
	evTimeout
	evHangup
	evRecord
	evHangupAt
	evHangupWait
	evSay
	evBargeIn
	evTalkOver
)

// Event is one scripted caller action.
type Event struct {
	kind       eventKind
	keys       string
	length     time.Duration
	hangup     bool
	prompt     string
	text       string
	confidence float64
}

// Keys scripts DTMF digits, consumed one per ReadDigit (they may be pressed during a prompt).
func Keys(digits string) Event { return Event{kind: evKeys, keys: digits} }

// Timeout scripts one ReadDigit that times out.
func Timeout() Event { return Event{kind: evTimeout} }

// Hangup scripts a hang-up: the next Play, ReadDigit or Record fails and the call context
// is cancelled.
func Hangup() Event { return Event{kind: evHangup} }

// HangupAt scripts a hang-up in the middle of the first Play that includes the named
// prompt (its file is <name>.wav); earlier Plays pass. A ReadDigit or Record reached first
// is a script mismatch.
func HangupAt(prompt string) Event { return Event{kind: evHangupAt, prompt: prompt} }

// HangupWhileWaiting scripts a hang-up while the IVR waits for the caller: Plays pass, and
// the next ReadDigit or Record fails.
func HangupWhileWaiting() Event { return Event{kind: evHangupWait} }

// Say scripts the caller saying text when the IVR next waits for an answer (after its
// prompt), heard by Recognizer with confidence 0.9.
func Say(text string) Event { return SayWith(text, 0.9) }

// SayWith is Say with the confidence Recognizer reports, 0 to 1.
func SayWith(text string, confidence float64) Event {
	return Event{kind: evSay, text: text, confidence: confidence}
}

// BargeIn scripts the caller saying text over the next prompt played while the IVR
// listens: that Play blocks until the IVR stops it, as a barge-in must. The confidence is
// 0.9.
func BargeIn(text string) Event { return Event{kind: evBargeIn, text: text, confidence: 0.9} }

// TalkOver scripts the caller talking over the next prompt played while the IVR listens
// and not pausing (an utterance that has not ended, or a noisy line): that Play blocks
// until the IVR stops it. A key scripted next is pressed while they talk.
func TalkOver() Event { return Event{kind: evTalkOver, text: "chatter", confidence: 0.9} }

// Record scripts a recording of length d ended by '#' (or the maximum).
func Record(d time.Duration) Event { return Event{kind: evRecord, length: d} }

// RecordThenHangup scripts a recording of length d ended by the caller hanging up.
func RecordThenHangup(d time.Duration) Event { return Event{kind: evRecord, length: d, hangup: true} }

// String describes the event for script-mismatch errors.
func (e Event) String() string {
	switch e.kind {
	case evKeys:
		return fmt.Sprintf("Keys(%q)", e.keys)
	case evTimeout:
		return "Timeout()"
	case evHangup:
		return "Hangup()"
	case evHangupAt:
		return fmt.Sprintf("HangupAt(%q)", e.prompt)
	case evHangupWait:
		return "HangupWhileWaiting()"
	case evRecord:
		return fmt.Sprintf("Record(%v, hangup=%v)", e.length, e.hangup)
	case evSay:
		return fmt.Sprintf("SayWith(%q, %v)", e.text, e.confidence)
	case evBargeIn:
		return fmt.Sprintf("BargeIn(%q)", e.text)
	case evTalkOver:
		return "TalkOver()"
	}
	return "invalid event"
}

// Session is a scripted ivr.Session. It is safe for concurrent use: Run reads digits on
// another goroutine while a speech node listens. It has ivr.Ears: scripted speech (Say,
// BargeIn) reaches the IVR as audio frames that Recognizer understands.
type Session struct {
	mu          sync.Mutex
	script      []Event
	cancel      context.CancelFunc
	played      [][]string
	recorded    []string
	reads       []time.Duration
	gone        bool
	ear         *func([]int16)
	interrupted int
}

var (
	_ ivr.Session = (*Session)(nil)
	_ ivr.Ears    = (*Session)(nil)
)

// NewSession returns a session that plays out script. Use Context to get the call context
// it cancels on a scripted hang-up.
func NewSession(script ...Event) *Session {
	return &Session{script: script}
}

// Context returns a child of parent that the session cancels when the script hangs up,
// like the gateway cancels a call's context on BYE.
func (s *Session) Context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
	return ctx, cancel
}

// hangup marks the call gone; s.mu is held.
func (s *Session) hangup() error {
	s.gone = true
	if s.cancel != nil {
		s.cancel()
	}
	return ErrHangup
}

// front returns the next script event, dropping drained Keys events; s.mu is held.
func (s *Session) front() (Event, bool) {
	for len(s.script) > 0 && s.script[0].kind == evKeys && s.script[0].keys == "" {
		s.script = s.script[1:]
	}
	if len(s.script) == 0 {
		return Event{}, false
	}
	return s.script[0], true
}

// Play records the files; a scripted hang-up next makes it fail (hang-up mid-prompt).
func (s *Session) Play(ctx context.Context, files []string, interruptible bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return ErrHangup
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.played = append(s.played, append([]string(nil), files...))
	ev, ok := s.front()
	switch {
	case ok && (ev.kind == evBargeIn || ev.kind == evTalkOver) && s.ear != nil:
		s.script = s.script[1:]
		ear := *s.ear
		s.mu.Unlock()
		speak(ear, ev)
		err := waitStopped(ctx)
		s.mu.Lock()
		if err == nil {
			s.interrupted++
			return ctx.Err()
		}
		return err
	case ok && ev.kind == evHangup:
		s.script = s.script[1:]
		return s.hangup()
	case ok && ev.kind == evHangupAt:
		for _, f := range files {
			if strings.TrimSuffix(filepath.Base(f), ".wav") == ev.prompt {
				s.script = s.script[1:]
				return s.hangup()
			}
		}
	}
	return nil
}

// ReadDigit consumes the next scripted digit, timeout or hang-up.
func (s *Session) ReadDigit(ctx context.Context, timeout time.Duration) (byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return 0, false, ErrHangup
	}
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	s.reads = append(s.reads, timeout)
	ev, ok := s.front()
	if !ok {
		return 0, false, fmt.Errorf("%w: ReadDigit after the end of the script", ErrScript)
	}
	switch ev.kind {
	case evKeys:
		d := ev.keys[0]
		s.script[0].keys = ev.keys[1:]
		return d, true, nil
	case evTimeout:
		s.script = s.script[1:]
		return 0, false, nil
	case evHangup, evHangupWait:
		s.script = s.script[1:]
		return 0, false, s.hangup()
	case evSay:
		if s.ear == nil {
			break
		}
		s.script = s.script[1:]
		ear := *s.ear
		s.mu.Unlock()
		speak(ear, ev)
		err := waitStopped(ctx)
		s.mu.Lock()
		if err == nil {
			err = ctx.Err()
		}
		return 0, false, err
	}
	return 0, false, fmt.Errorf("%w: ReadDigit but the script has %s next", ErrScript, ev)
}

// Record consumes a scripted recording and writes a short empty μ-law WAV to file.
func (s *Session) Record(ctx context.Context, file string, max time.Duration) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return 0, ErrHangup
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	ev, ok := s.front()
	if !ok {
		return 0, fmt.Errorf("%w: Record after the end of the script", ErrScript)
	}
	switch ev.kind {
	case evHangup, evHangupWait:
		s.script = s.script[1:]
		return 0, s.hangup()
	case evRecord:
	default:
		return 0, fmt.Errorf("%w: Record but the script has %s next", ErrScript, ev)
	}
	s.script = s.script[1:]
	if err := os.WriteFile(file, emptyWAV(), 0o644); err != nil {
		return 0, err
	}
	s.recorded = append(s.recorded, file)
	length := min(ev.length, max)
	if ev.hangup {
		return length, s.hangup()
	}
	return length, nil
}

// HearCaller registers f for the caller's audio: scripted speech is played into it.
func (s *Session) HearCaller(f func(frame []int16)) (stop func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ear := &f
	s.ear = ear
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.ear == ear {
			s.ear = nil
		}
	}
}

// Interrupted counts the prompts a BargeIn stopped.
func (s *Session) Interrupted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interrupted
}

// Played returns every Play call's files, in order.
func (s *Session) Played() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]string, len(s.played))
	copy(out, s.played)
	return out
}

// Recorded returns the files written by Record.
func (s *Session) Recorded() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.recorded...)
}

// ReadTimeouts returns the timeout of every ReadDigit call, in order.
func (s *Session) ReadTimeouts() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.reads...)
}

// Remaining reports how many script events were not consumed.
func (s *Session) Remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ev := range s.script {
		if ev.kind != evKeys || ev.keys != "" {
			n++
		}
	}
	return n
}

// emptyWAV is a valid 8 kHz mono μ-law WAV with no samples.
func emptyWAV() []byte {
	b := make([]byte, 0, 44)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, 36)
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 7) // μ-law
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 8000)
	b = binary.LittleEndian.AppendUint32(b, 8000)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 8)
	b = append(b, "data"...)
	return binary.LittleEndian.AppendUint32(b, 0)
}

// Lookup is an in-memory ivr.Lookup. Err, when set, fails every lookup; Block makes every
// lookup wait for its context (to test lookup timeouts and hang-ups during a dip).
type Lookup struct {
	// Callers maps an ANI (E.164) to its contact.
	Callers map[string]ivr.Caller
	// Tickets maps a ticket number to its ticket.
	Tickets map[string]ivr.Ticket
	// Err fails every lookup when non-nil.
	Err error
	// Block makes every lookup block until its context ends.
	Block bool

	mu   sync.Mutex
	keys []string
}

var _ ivr.Lookup = (*Lookup)(nil)

func (l *Lookup) enter(ctx context.Context, key string) error {
	l.mu.Lock()
	l.keys = append(l.keys, key)
	l.mu.Unlock()
	if l.Block {
		<-ctx.Done()
		return ctx.Err()
	}
	return l.Err
}

// LookupCaller returns Callers[ani].
func (l *Lookup) LookupCaller(ctx context.Context, ani string) (ivr.Caller, bool, error) {
	if err := l.enter(ctx, "caller:"+ani); err != nil {
		return ivr.Caller{}, false, err
	}
	c, ok := l.Callers[ani]
	return c, ok, nil
}

// LookupTicket returns Tickets[number].
func (l *Lookup) LookupTicket(ctx context.Context, number string) (ivr.Ticket, bool, error) {
	if err := l.enter(ctx, "ticket:"+number); err != nil {
		return ivr.Ticket{}, false, err
	}
	t, ok := l.Tickets[number]
	return t, ok, nil
}

// Keys returns every lookup made, as "caller:<ani>" or "ticket:<number>".
func (l *Lookup) Keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.keys...)
}
