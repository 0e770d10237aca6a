package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"switchboard/sip/media"
	"switchboard/sip/sdp"
)

// CallState is the lifecycle state of a leg.
type CallState uint8

// Leg states.
const (
	StateNew      CallState = iota // created, nothing sent yet
	StateRinging                   // inbound: INVITE received, not answered; outbound: INVITE sent
	StateAnswered                  // 200/ACK, media flowing
	StateHeld                      // answered, put on hold (by the far end or locally)
	StateEnded                     // hung up
)

// String returns the state name.
func (s CallState) String() string {
	switch s {
	case StateNew:
		return "new"
	case StateRinging:
		return "ringing"
	case StateAnswered:
		return "answered"
	case StateHeld:
		return "held"
	case StateEnded:
		return "ended"
	}
	return fmt.Sprintf("CallState(%d)", uint8(s))
}

// ErrBadTransition is returned by CallState.To for an edge not in the table.
var ErrBadTransition = errors.New("sip: invalid call state transition")

// callTransitions lists the allowed leg-state transitions: a WebRTC leg
// is answered as it is created; any leg may end.
var callTransitions = map[CallState][]CallState{
	StateNew:      {StateRinging, StateAnswered, StateEnded},
	StateRinging:  {StateAnswered, StateEnded},
	StateAnswered: {StateHeld, StateEnded},
	StateHeld:     {StateAnswered, StateEnded},
	StateEnded:    {},
}

// To validates the transition s → next.
func (s CallState) To(next CallState) error {
	for _, n := range callTransitions[s] {
		if n == next {
			return nil
		}
	}
	return fmt.Errorf("%w: %s → %s", ErrBadTransition, s, next)
}

// legKind tells SIP and WebRTC legs apart for metrics.
type legKind string

const (
	kindSIP    legKind = "sip"
	kindWebRTC legKind = "webrtc"
)

// Call is one leg: an inbound caller, an outbound leg to an agent phone or
// customer, or a WebRTC peer. Its Context ends when the leg hangs up
// (either side); every goroutine of the leg (media receive, RTCP,
// playback, recording) ends with it. All methods are safe for concurrent
// use.
type Call struct {
	g       *Gateway
	id      string
	ani     string
	dnis    string
	entry   string    // a web caller's webrtc entry point
	caller  WebCaller // who the web caller said they are
	callID  string
	kind    legKind
	inbound bool
	log     *slog.Logger

	ctx    context.Context
	cancel context.CancelCauseFunc

	sess      *media.Session
	srv       *sipgo.DialogServerSession
	cli       *sipgo.DialogClientSession
	dialogID  string
	closeLeg  func() // extra teardown (WebRTC peer connection)
	sdpSessID uint64
	sdpVer    uint64

	mu        sync.Mutex
	state     CallState
	remoteDir sdp.Direction
	localHold bool
	holdStop  context.CancelFunc
	peer      *Call
	room      *room // the mixed audio the call is in, if any
	digits    []byte
	digitCh   chan struct{}
	endOnce   sync.Once
	result    string
}

// ID returns the stable unique id of the leg (a UUID; the SIP Call-ID is separate).
func (c *Call) ID() string { return c.id }

// SIPCallID returns the SIP Call-ID of the leg's dialog ("" for WebRTC).
func (c *Call) SIPCallID() string { return c.callID }

// ANI returns the caller number or user (From user), sanitised.
func (c *Call) ANI() string { return c.ani }

// DNIS returns the dialled number (Request-URI user).
func (c *Call) DNIS() string { return c.dnis }

// HearCaller implements ivr.Ears: f gets every 20 ms frame of what the
// caller says (decoded, 8 kHz), for speech input in the IVR, until stop.
func (c *Call) HearCaller(f func(frame []int16)) (stop func()) { return c.sess.AddTap(f) }

// WebEntry is, for a web caller, the webrtc entry point of the flows they
// called; "" for every other call.
func (c *Call) WebEntry() string { return c.entry }

// WebCaller is who a web caller said they are; empty for other calls.
func (c *Call) WebCaller() (name, email, phone string, verified bool) {
	return c.caller.Name, c.caller.Email, c.caller.Phone, c.caller.Verified
}

// Context is cancelled when the leg hangs up.
func (c *Call) Context() context.Context { return c.ctx }

// State returns the current state.
func (c *Call) State() CallState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Quality returns the leg's RTP/RTCP statistics (jitter, loss).
func (c *Call) Quality() media.Quality { return c.sess.Quality() }

// Session returns the leg's media session.
func (c *Call) Session() *media.Session { return c.sess }

// setState moves the leg to next if the transition table allows it; a
// refused transition returns an error wrapping ErrBadTransition and
// changes nothing.
func (c *Call) setState(next CallState) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.setStateLocked(next)
}

// setStateLocked is setState with c.mu held. Nothing else assigns c.state.
func (c *Call) setStateLocked(next CallState) error {
	if err := c.state.To(next); err != nil {
		return err
	}
	c.state = next
	return nil
}

// pushDigit queues a received digit for ReadDigit/Play.
func (c *Call) pushDigit(d byte, source string) {
	c.g.m.DTMFDigits.WithLabelValues(source).Inc()
	c.mu.Lock()
	if len(c.digits) < 64 {
		c.digits = append(c.digits, d)
	}
	c.mu.Unlock()
	select {
	case c.digitCh <- struct{}{}:
	default:
	}
	if h := c.g.onEvent; h != nil {
		h(Event{Type: EventDigit, Call: c, Digit: d})
	}
}

func (c *Call) hasDigit() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.digits) > 0
}

// Play sends the WAV files in order with 20 ms pacing. With interruptible
// set it returns nil at the first DTMF digit (already queued or arriving
// during playback), which stays queued for ReadDigit.
func (c *Call) Play(ctx context.Context, files []string, interruptible bool) error {
	for _, f := range files {
		if interruptible && c.hasDigit() {
			return nil
		}
		a, err := c.g.prompt(f)
		if err != nil {
			return err
		}
		var intr <-chan struct{}
		if interruptible {
			ch := make(chan struct{})
			stop := c.watchDigit(ch)
			intr = ch
			err = c.play(ctx, a.Samples, intr)
			stop()
		} else {
			err = c.play(ctx, a.Samples, nil)
		}
		if errors.Is(err, media.ErrInterrupted) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Call) play(ctx context.Context, samples []int16, intr <-chan struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()
	err := c.g.pacer.Play(ctx, c.sess, samples, false, intr)
	if c.ctx.Err() != nil {
		return fmt.Errorf("sip: %w", ErrCallEnded)
	}
	return err
}

// watchDigit closes ch when a digit is queued; stop ends the watcher.
func (c *Call) watchDigit(ch chan struct{}) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if c.hasDigit() {
				close(ch)
				return
			}
			select {
			case <-c.digitCh:
				// A signal without a digit is stale (ReadDigit took it):
				// drop it. Otherwise re-signal for other waiters: the digit
				// stays queued.
				if c.hasDigit() {
					select {
					case c.digitCh <- struct{}{}:
					default:
					}
					close(ch)
					return
				}
			case <-done:
				return
			case <-c.ctx.Done():
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// ReadDigit returns the next DTMF digit, waiting up to timeout. ok=false on
// timeout; err only when ctx ended or the call is gone.
func (c *Call) ReadDigit(ctx context.Context, timeout time.Duration) (byte, bool, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		c.mu.Lock()
		if len(c.digits) > 0 {
			d := c.digits[0]
			c.digits = c.digits[1:]
			c.mu.Unlock()
			return d, true, nil
		}
		c.mu.Unlock()
		select {
		case <-c.digitCh:
		case <-t.C:
			return 0, false, nil
		case <-ctx.Done():
			return 0, false, ctx.Err()
		case <-c.ctx.Done():
			return 0, false, fmt.Errorf("sip: %w", ErrCallEnded)
		}
	}
}

// Record writes the caller's audio to a mono WAV until max elapses, '#' is
// pressed or the call ends, and returns the recorded duration.
func (c *Call) Record(ctx context.Context, file string, max time.Duration) (time.Duration, error) {
	path, err := c.g.recordingPath(file)
	if err != nil {
		return 0, err
	}
	w, err := media.CreateWAV(path, 1)
	if err != nil {
		return 0, err
	}
	var mu sync.Mutex
	var werr error
	remove := c.sess.AddTap(func(p []int16) {
		mu.Lock()
		if werr == nil {
			werr = w.WriteFrames(p)
		}
		mu.Unlock()
	})
	t := time.NewTimer(max)
	defer t.Stop()
	var endErr error
loop:
	for {
		select {
		case <-t.C:
			break loop
		case <-ctx.Done():
			endErr = ctx.Err()
			break loop
		case <-c.ctx.Done():
			break loop
		case <-c.digitCh:
			c.mu.Lock()
			hash := false
			for i, d := range c.digits {
				if d == '#' {
					c.digits = append(c.digits[:i], c.digits[i+1:]...)
					hash = true
					break
				}
			}
			c.mu.Unlock()
			if hash {
				break loop
			}
		}
	}
	remove()
	mu.Lock()
	n := w.Samples()
	cerr := w.Close()
	mu.Unlock()
	d := time.Duration(n) * time.Second / 8000
	return d, errors.Join(endErr, werr, cerr)
}

// Hold puts the leg on local hold: relaying with the bridged party stops
// both ways and the leg hears music on hold (if configured). Hold(false)
// resumes.
func (c *Call) Hold(ctx context.Context, on bool) error {
	c.mu.Lock()
	if c.state == StateEnded {
		c.mu.Unlock()
		return fmt.Errorf("sip: %w", ErrCallEnded)
	}
	if c.localHold == on {
		c.mu.Unlock()
		return nil
	}
	c.localHold = on
	peer := c.peer
	if c.holdStop != nil {
		c.holdStop()
		c.holdStop = nil
	}
	var mohCtx context.Context
	if on {
		var cancel context.CancelFunc
		mohCtx, cancel = context.WithCancel(c.ctx)
		c.holdStop = cancel
	}
	if on && c.state == StateAnswered {
		_ = c.setStateLocked(StateHeld)
	} else if !on && c.state == StateHeld {
		_ = c.setStateLocked(StateAnswered)
	}
	r := c.room
	c.mu.Unlock()
	switch {
	case r != nil:
		// Mixed: out of the mix while held (the music plays instead).
		r.hold(c, on)
	case peer != nil:
		if on {
			c.sess.SetPeer(nil)
			peer.sess.SetPeer(nil)
		} else {
			c.sess.SetPeer(peer.sess)
			peer.sess.SetPeer(c.sess)
		}
	}
	if on && c.g.cfg.MusicOnHold != "" {
		a, err := c.g.prompt(c.g.cfg.MusicOnHold)
		if err != nil {
			return err
		}
		c.g.goCall(c, panicDialog, func() { _ = c.g.pacer.Play(mohCtx, c.sess, a.Samples, true, nil) })
	}
	return nil
}

// SendDTMF sends digits as RFC 4733 telephone-events (or SIP INFO when the
// far end did not negotiate telephone-event).
func (c *Call) SendDTMF(ctx context.Context, digits string) error {
	for i := 0; i < len(digits); i++ {
		d := digits[i]
		if _, ok := media.EventForDigit(d); !ok {
			return fmt.Errorf("sip: invalid dtmf digit %q", d)
		}
		if c.sess.DTMFPayloadType() != media.NoDTMF {
			if err := c.sess.SendDigit(ctx, d); err != nil {
				return fmt.Errorf("sip: send dtmf: %w", err)
			}
			continue
		}
		if err := c.sendInfoDTMF(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

func (c *Call) sendInfoDTMF(ctx context.Context, d byte) error {
	req := sipmsg.NewRequest(sipmsg.INFO, c.remoteTarget())
	req.SetBody([]byte(fmt.Sprintf("Signal=%c\r\nDuration=160\r\n", d)))
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/dtmf-relay"))
	var res *sipmsg.Response
	var err error
	switch {
	case c.srv != nil:
		res, err = c.srv.Do(ctx, req)
	case c.cli != nil:
		res, err = c.cli.Do(ctx, req)
	default:
		return fmt.Errorf("sip: no dtmf path on this leg")
	}
	if err != nil {
		return fmt.Errorf("sip: info: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("sip: info answered %d", res.StatusCode)
	}
	return nil
}

func (c *Call) remoteTarget() sipmsg.Uri {
	if c.srv != nil {
		if ct := c.srv.InviteRequest.Contact(); ct != nil {
			return ct.Address
		}
	}
	if c.cli != nil && c.cli.InviteResponse != nil {
		if ct := c.cli.InviteResponse.Contact(); ct != nil {
			return ct.Address
		}
		return c.cli.InviteRequest.Recipient
	}
	return sipmsg.Uri{}
}

// Hangup ends the leg: BYE when answered, a 480 (inbound) or CANCEL
// (outbound) before. It is idempotent.
func (c *Call) Hangup(ctx context.Context) error { return c.hangup(ctx, "local_hangup") }

// hangup is Hangup with the reason the leg's hang-up event carries.
func (c *Call) hangup(ctx context.Context, reason string) error {
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	var err error
	switch {
	case st == StateEnded:
		return nil
	case st == StateRinging && c.srv != nil:
		err = c.srv.Respond(sipmsg.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil)
	case (st == StateAnswered || st == StateHeld) && c.srv != nil:
		bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = c.srv.Bye(bctx)
		cancel()
	case (st == StateAnswered || st == StateHeld) && c.cli != nil:
		bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = c.cli.Bye(bctx)
		cancel()
	}
	c.end(reason)
	if err != nil {
		return fmt.Errorf("sip: hangup: %w", err)
	}
	return nil
}

// end tears the leg down once: state, context, media, bridge, maps, metrics.
func (c *Call) end(reason string) {
	c.endOnce.Do(func() {
		c.mu.Lock()
		prev := c.state
		if err := c.setStateLocked(StateEnded); err != nil {
			// endOnce runs this once and nothing else ends a leg.
			c.log.Error("sip: bug: leg ended twice", "err", err)
		}
		peer := c.peer
		c.peer = nil
		if c.holdStop != nil {
			c.holdStop()
		}
		c.mu.Unlock()
		if peer != nil {
			peer.sess.SetPeer(nil)
			peer.mu.Lock()
			if peer.peer == c {
				peer.peer = nil
			}
			peer.mu.Unlock()
		}
		c.sess.SetPeer(nil)
		c.cancel(fmt.Errorf("%w: %s", ErrCallEnded, reason))
		c.sess.Close()
		if c.closeLeg != nil {
			c.closeLeg()
		}
		if c.srv != nil {
			c.srv.Close()
		}
		if c.cli != nil {
			c.cli.Close()
		}
		c.g.unregisterCall(c, prev != StateNew && prev != StateRinging)
		c.log.Debug("leg ended", "reason", reason)
		if h := c.g.onEvent; h != nil {
			h(Event{Type: EventHangup, Call: c, Reason: reason})
		}
	})
}
