package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"switchboard/acd"
	"switchboard/acd/voice"
	"switchboard/ivr"
	"switchboard/sip/media"
)

// Agents connects the ACD engine to the gateway. It rings agents — on the
// WebRTC softphone the agent's browser keeps connected (a nailed-up leg, as
// Amazon Connect's persistent connection) or else on their registered SIP
// phone —, bridges caller and agent, dials customers through the trunk for
// click-to-dial and callbacks, and takes voicemail.
//
// A softphone leg outlives the calls it carries: the engine sees a per-call
// view of it (softLeg) whose Hangup ends the call, not the browser's leg.
type Agents struct {
	g    *Gateway
	opts AgentsOptions

	mu         sync.Mutex
	softphones map[acd.AgentID]*Call
	bridges    map[string][2]*Call    // caller leg id (the ACD call id) → caller, agent
	rooms      map[string]*room       // call id → its mixed audio (conference, monitored bridge)
	monitors   map[string]string      // supervisor → the call they monitor
	recordings map[string]string      // call id → its recording's file, until collected
	recs       map[string]*callRec    // call id → its recording while the caller is up
	agentLegs  map[string]acd.AgentID // SIP leg id → the agent whose phone it is
}

// AgentsOptions configures Agents.
type AgentsOptions struct {
	// RingTimeout bounds ringing a SIP phone (the engine's offer timeout
	// usually fires first). Zero: 30 s.
	RingTimeout time.Duration
	// CallerID is the number presented to customers on outbound calls.
	CallerID string
	// VoicemailGreeting are the prompt files played before recording.
	VoicemailGreeting []string
	// VoicemailMax is the longest voicemail recorded (zero: 2 minutes).
	VoicemailMax time.Duration
	// RecordCalls records every call that reaches an agent to a stereo
	// WAV under the gateway's recording directory: the caller on the left,
	// what the caller hears (agents, conference, music on hold) on the
	// right.
	RecordCalls bool
}

var (
	_ acd.Ringer         = (*Agents)(nil)
	_ acd.Bridger        = (*Agents)(nil)
	_ acd.Dialer         = (*Agents)(nil)
	_ acd.VoicemailTaker = (*Agents)(nil)
	_ acd.Leg            = (*Call)(nil)
	_ acd.Holder         = (*Call)(nil)
	_ voice.Call         = (*Call)(nil)
	_ ivr.Ears           = (*Call)(nil)
)

// ErrNoEndpoint is returned when an agent has neither a connected softphone
// nor a registered phone.
var ErrNoEndpoint = errors.New("sip: agent has no reachable endpoint")

// NewAgents returns the ACD adapter over g.
func NewAgents(g *Gateway, opts AgentsOptions) *Agents {
	if opts.RingTimeout <= 0 {
		opts.RingTimeout = 30 * time.Second
	}
	if opts.VoicemailMax <= 0 {
		opts.VoicemailMax = 2 * time.Minute
	}
	return &Agents{g: g, opts: opts, softphones: map[acd.AgentID]*Call{},
		bridges: map[string][2]*Call{}, rooms: map[string]*room{}, monitors: map[string]string{}, recs: map[string]*callRec{}, recordings: map[string]string{},
		agentLegs: map[string]acd.AgentID{}}
}

// Connect answers the browser's SDP offer for agentID's softphone, replacing
// any earlier leg of the same agent, and returns the SDP answer.
func (a *Agents) Connect(ctx context.Context, agentID, offerSDP string) (string, error) {
	leg, answer, err := a.g.AcceptWebRTC(ctx, offerSDP, WebRTCInfo{ANI: agentID, DNIS: "softphone"})
	if err != nil {
		return "", err
	}
	id := acd.AgentID(agentID)
	a.mu.Lock()
	old := a.softphones[id]
	a.softphones[id] = leg
	a.mu.Unlock()
	if old != nil {
		_ = old.Hangup(context.WithoutCancel(ctx))
	}
	context.AfterFunc(leg.Context(), func() {
		a.mu.Lock()
		if a.softphones[id] == leg {
			delete(a.softphones, id)
		}
		a.mu.Unlock()
	})
	return answer, nil
}

// Disconnect hangs up agentID's softphone leg, if any.
func (a *Agents) Disconnect(agentID string) {
	a.mu.Lock()
	leg := a.softphones[acd.AgentID(agentID)]
	delete(a.softphones, acd.AgentID(agentID))
	a.mu.Unlock()
	if leg != nil {
		_ = leg.Hangup(context.Background())
	}
}

// Softphones returns how many agent softphone legs are connected (they are
// legs of the gateway that carry no call between calls).
func (a *Agents) Softphones() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.softphones)
}

// HasSoftphone reports whether agentID's browser softphone is connected
// to this gateway.
func (a *Agents) HasSoftphone(id acd.AgentID) bool { return a.softphone(id) != nil }

func (a *Agents) softphone(id acd.AgentID) *Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.softphones[id]
}

// Ring offers a call to an agent. On a connected softphone it waits for the
// agent to accept in the desk; otherwise it rings the agent's registered SIP
// endpoint (o.Endpoint, a username or sip: URI) and returns when it answers.
func (a *Agents) Ring(ctx context.Context, o acd.Offer) (acd.Leg, error) {
	if leg := a.softphone(o.Agent); leg != nil {
		select {
		case <-o.Accept:
			cctx, cancel := context.WithCancel(leg.Context())
			return &softLeg{call: leg, ctx: cctx, cancel: cancel}, nil
		case <-leg.Context().Done():
			return nil, fmt.Errorf("%w: softphone of %s disconnected", ErrNoAnswer, o.Agent)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	target := strings.TrimPrefix(o.Endpoint, "sip:")
	registered := func() bool {
		bs, err := a.g.Registrar().Lookup(ctx, target)
		return err == nil && len(bs) > 0
	}
	if o.Endpoint == "" || (!strings.Contains(target, "@") && !registered()) {
		return nil, fmt.Errorf("%w: %s", ErrNoEndpoint, o.Agent)
	}
	if strings.Contains(target, "@") {
		target = o.Endpoint
	}
	callerID := o.Call.E164
	if callerID == "" {
		callerID = o.Call.ANI
	}
	c, err := a.g.Dial(ctx, target, DialOptions{Timeout: a.opts.RingTimeout, CallerID: callerID, CallerName: o.Call.Queue})
	if err != nil || c == nil {
		return nil, err
	}
	a.mu.Lock()
	a.agentLegs[c.ID()] = o.Agent
	a.mu.Unlock()
	context.AfterFunc(c.Context(), func() {
		a.mu.Lock()
		delete(a.agentLegs, c.ID())
		a.mu.Unlock()
	})
	return c, nil
}

// Transferer is the engine's blind transfer (*acd.Engine satisfies it).
type Transferer interface {
	Transfer(ctx context.Context, id acd.AgentID, to acd.TransferTarget) error
}

// TransferTargets resolves the user part of a REFER's Refer-To: a queue
// name, an agent (by SIP username), or else a number to dial.
type TransferTargets struct {
	IsQueue    func(name string) bool
	AgentBySIP func(ctx context.Context, username string) (acd.AgentID, bool)
}

// Transfers returns a gateway event handler (WithEventHandler) that turns
// a blind transfer requested by an agent's desk phone (REFER) into the
// engine's transfer of that agent's call.
func (a *Agents) Transfers(e Transferer, targets TransferTargets, log *slog.Logger) func(Event) {
	return func(ev Event) {
		if ev.Type != EventTransfer || ev.Call == nil {
			return
		}
		a.mu.Lock()
		agent, ok := a.agentLegs[ev.Call.ID()]
		a.mu.Unlock()
		if !ok {
			log.Warn("sip: REFER from a leg that is no agent's phone", "call_id", ev.Call.ID(), "target", ev.Target)
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var to acd.TransferTarget
			switch {
			case targets.IsQueue != nil && targets.IsQueue(ev.Target):
				to.Queue = ev.Target
			default:
				if id, ok := lookupAgent(ctx, targets, ev.Target); ok {
					to.Agent = id
				} else {
					to.Number = ev.Target
				}
			}
			if err := e.Transfer(ctx, agent, to); err != nil {
				log.Warn("sip: transfer requested by the phone failed", "agent_id", string(agent), "target", ev.Target, "err", err)
			}
		}()
	}
}

func lookupAgent(ctx context.Context, t TransferTargets, user string) (acd.AgentID, bool) {
	if t.AgentBySIP == nil {
		return "", false
	}
	return t.AgentBySIP(ctx, user)
}

// asLeg converts Dial's result to an acd.Leg without the typed-nil trap: a
// failed dial yields a nil interface, not an interface holding a nil *Call.
func asLeg(c *Call, err error) (acd.Leg, error) {
	if err != nil || c == nil {
		return nil, err
	}
	return c, nil
}

// Bridge relays audio between caller and agent until one of them ends or
// ctx is cancelled.
func (a *Agents) Bridge(ctx context.Context, caller, agent acd.Leg) error {
	c, err := legCall(caller)
	if err != nil {
		return err
	}
	b, err := legCall(agent)
	if err != nil {
		return err
	}
	ctx, stop := softLegContext(ctx, []acd.Leg{caller, agent})
	defer stop()
	if err := a.record(caller.ID(), c); err != nil {
		return err
	}
	a.mu.Lock()
	a.bridges[caller.ID()] = [2]*Call{c, b}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if a.bridges[caller.ID()] == [2]*Call{c, b} {
			delete(a.bridges, caller.ID())
		}
		r := a.rooms[caller.ID()]
		a.mu.Unlock()
		if r != nil && r.bridge == [2]*Call{c, b} {
			a.closeRoom(caller.ID(), r)
		}
	}()
	return a.g.Bridge(ctx, c, b)
}

// record starts recording the call of customer leg c (id, the ACD call's)
// when calls are recorded and it is not yet: one file per call, from the
// caller's side (media.NewLegRecorder), from their first bridge to their
// hang-up, across transfers, consultations and conferences.
func (a *Agents) record(id string, c *Call) error {
	if !a.opts.RecordCalls {
		return nil
	}
	a.mu.Lock()
	if _, ok := a.recs[id]; ok {
		a.mu.Unlock()
		return nil
	}
	cr := &callRec{}
	a.recs[id] = cr
	a.mu.Unlock()
	file := filepath.Join(a.g.cfg.RecordingDir, "call-"+safeFileName(id)+".wav")
	path, err := a.g.recordingPath(file)
	var rec *media.StereoRecorder
	if err == nil {
		rec, err = media.NewLegRecorder(path, c.sess)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		delete(a.recs, id)
		return fmt.Errorf("sip: record call %q: %w", id, err)
	}
	cr.rec = rec
	a.recordings[id] = file
	context.AfterFunc(c.ctx, func() {
		if err := rec.Stop(); err != nil {
			a.g.log.Warn("sip: recording", "call_id", id, "err", err)
		}
		a.mu.Lock()
		delete(a.recs, id)
		a.mu.Unlock()
	})
	return nil
}

// callRec is a customer call's recording (nil until it started).
type callRec struct{ rec *media.StereoRecorder }

// ErrNotRecorded is returned when pausing the recording of a call that is
// not being recorded.
var ErrNotRecorded = errors.New("sip: call is not being recorded")

// PauseRecording pauses (on) or resumes the recording of callID: while
// paused, silence is written (an agent taking a card number).
func (a *Agents) PauseRecording(_ context.Context, callID string, on bool) error {
	a.mu.Lock()
	cr := a.recs[callID]
	a.mu.Unlock()
	if cr == nil || cr.rec == nil {
		return fmt.Errorf("%w: %q", ErrNotRecorded, callID)
	}
	cr.rec.Pause(on)
	return nil
}

// Recording returns the file a call was recorded to and forgets it ("" when
// the call was not recorded).
func (a *Agents) Recording(callID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.recordings[callID]
	delete(a.recordings, callID)
	return f
}

// ErrNotConnected is returned for monitoring a call that is not connected
// to an agent (waiting, ended, or on another node).
var ErrNotConnected = errors.New("sip: call is not connected to an agent")

// Listen lets supervisorID monitor callID on their connected softphone,
// in mode listen (hear both parties), whisper (and be heard by the agent
// only) or barge (be heard by both), until StopListening, the end of the
// call or the supervisor's hang-up. Listening again changes the mode; a
// supervisor monitors one call at a time. The call's audio is mixed while
// a supervisor is in it (room), relayed again once the last one leaves.
func (a *Agents) Listen(ctx context.Context, supervisorID, callID, mode string) error {
	sup := a.softphone(acd.AgentID(supervisorID))
	if sup == nil {
		return fmt.Errorf("%w: connect the desktop softphone to listen", ErrNoEndpoint)
	}
	return a.listen(ctx, supervisorID, callID, mode, sup)
}

// ListenOn is Listen with the supervisor on leg, a leg of this gateway:
// in a cluster, the relay leg to the node where the supervisor's
// softphone is.
func (a *Agents) ListenOn(ctx context.Context, supervisorID, callID, mode string, leg acd.Leg) error {
	c, err := legCall(leg)
	if err != nil {
		return err
	}
	return a.listen(ctx, supervisorID, callID, mode, c)
}

// SoftphoneLeg returns a view of agent id's connected softphone as a leg
// (its Hangup ends the view, not the softphone), for bridging it to a
// relay leg; false when the agent has no softphone connected.
func (a *Agents) SoftphoneLeg(id acd.AgentID) (acd.Leg, bool) {
	c := a.softphone(id)
	if c == nil {
		return nil, false
	}
	ctx, cancel := context.WithCancel(c.Context())
	return &softLeg{call: c, ctx: ctx, cancel: cancel}, true
}

func (a *Agents) listen(ctx context.Context, supervisorID, callID, mode string, sup *Call) error {
	if mode == "" {
		mode = ModeListen
	}
	if mode != ModeListen && mode != ModeWhisper && mode != ModeBarge {
		return fmt.Errorf("%w: %q", ErrListenMode, mode)
	}
	a.mu.Lock()
	prev, watching := a.monitors[supervisorID]
	r := a.rooms[callID]
	legs, bridged := a.bridges[callID]
	a.mu.Unlock()
	if watching && prev == callID && r != nil && r.setMode(supervisorID, mode) {
		return nil
	}
	if watching {
		_ = a.StopListening(ctx, supervisorID, prev)
	}
	a.mu.Lock()
	r = a.rooms[callID]
	created := false
	if r == nil {
		if !bridged {
			a.mu.Unlock()
			return fmt.Errorf("%w: %q", ErrNotConnected, callID)
		}
		r = a.g.newRoom(legs[1])
		r.bridge = legs
		a.rooms[callID] = r
		created = true
	}
	a.monitors[supervisorID] = callID
	a.mu.Unlock()
	if created {
		for _, c := range legs {
			if err := r.join(c, "", ""); err != nil {
				a.closeRoom(callID, r)
				return err
			}
		}
	}
	if err := r.join(sup, mode, supervisorID); err != nil {
		_ = a.StopListening(ctx, supervisorID, callID)
		return err
	}
	context.AfterFunc(sup.Context(), func() { _ = a.StopListening(context.Background(), supervisorID, callID) })
	return nil
}

// StopListening ends supervisorID's monitoring of callID; unknown pairs are
// ignored.
func (a *Agents) StopListening(_ context.Context, supervisorID, callID string) error {
	a.mu.Lock()
	if a.monitors[supervisorID] == callID {
		delete(a.monitors, supervisorID)
	}
	r := a.rooms[callID]
	a.mu.Unlock()
	if r == nil {
		return nil
	}
	if r.leaveSup(supervisorID) == 0 && r.bridge[0] != nil {
		a.closeRoom(callID, r)
	}
	return nil
}

// closeRoom ends the room a supervisor opened on a bridge and relays the
// bridge's audio again (unless a party is on hold: resuming relays it).
func (a *Agents) closeRoom(callID string, r *room) {
	a.mu.Lock()
	if a.rooms[callID] == r {
		delete(a.rooms, callID)
	}
	a.mu.Unlock()
	r.close()
	x, y := r.bridge[0], r.bridge[1]
	if x == nil {
		return
	}
	x.mu.Lock()
	y.mu.Lock()
	relay := x.peer == y && y.peer == x && !x.localHold && !y.localHold
	y.mu.Unlock()
	x.mu.Unlock()
	if relay {
		x.sess.SetPeer(y.sess)
		y.sess.SetPeer(x.sess)
	}
}

// Dial calls a customer number through the trunk and returns the answered
// leg. The gateway's dial policy decides on the number for the call's role
// (acd.DialRole: callback, or the agent who asked).
// A busy number's error wraps acd.ErrBusy, an unanswered one's
// acd.ErrNoAnswer.
func (a *Agents) Dial(ctx context.Context, number string, call acd.CallInfo) (acd.Leg, error) {
	c, err := a.g.Dial(ctx, number, DialOptions{Timeout: a.opts.RingTimeout, CallerID: a.opts.CallerID, Role: acd.DialRole(call)})
	switch {
	case errors.Is(err, ErrBusy):
		err = fmt.Errorf("%w (%w)", err, acd.ErrBusy)
	case errors.Is(err, ErrNoAnswer):
		err = fmt.Errorf("%w (%w)", err, acd.ErrNoAnswer)
	}
	return asLeg(c, err)
}

var _ acd.Reacher = (*Agents)(nil)

// Reachable implements acd.Reacher: a registered user, a sip: URI, or a
// customer number when a trunk is configured.
func (a *Agents) Reachable(ctx context.Context, number string) error {
	if a.g.cfg.Trunk == "" && isNumber(number) {
		if bs, err := a.g.Registrar().Lookup(ctx, number); err == nil && len(bs) == 0 {
			return fmt.Errorf("%w: no outbound trunk is configured (sip.trunk)", ErrNotFound)
		}
	}
	_, _, err := a.g.dialTargets(ctx, number)
	return err
}

// TakeVoicemail plays the greeting to the caller and records their message
// under the gateway's recording directory.
func (a *Agents) TakeVoicemail(ctx context.Context, caller acd.Leg, call acd.CallInfo) (string, error) {
	c, err := legCall(caller)
	if err != nil {
		return "", err
	}
	if len(a.opts.VoicemailGreeting) > 0 {
		if err := c.Play(ctx, a.opts.VoicemailGreeting, true); err != nil {
			return "", err
		}
	}
	file := filepath.Join(a.g.cfg.RecordingDir, "voicemail-"+safeFileName(string(call.ID))+".wav")
	if _, err := c.Record(ctx, file, a.opts.VoicemailMax); err != nil {
		return "", err
	}
	return file, nil
}

func legCall(l acd.Leg) (*Call, error) {
	switch v := l.(type) {
	case *Call:
		return v, nil
	case *softLeg:
		return v.call, nil
	}
	return nil, fmt.Errorf("sip: leg %T is not a gateway leg", l)
}

// softLeg is one call's view of an agent's nailed-up softphone leg.
type softLeg struct {
	call   *Call
	ctx    context.Context
	cancel context.CancelFunc
}

func (s *softLeg) ID() string                   { return s.call.ID() }
func (s *softLeg) Context() context.Context     { return s.ctx }
func (s *softLeg) Hangup(context.Context) error { s.cancel(); return nil }
func (s *softLeg) Hold(ctx context.Context, on bool) error {
	return s.call.Hold(ctx, on)
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}
