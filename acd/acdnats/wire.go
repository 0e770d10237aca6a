package acdnats

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"switchboard/acd"
)

// Message kinds. Up: node to leader, on the leader's subject; down: leader
// to node, on the node's subject.
const (
	// up, requests (answered with reply)
	kindEnqueue  = "enqueue"
	kindAdopt    = "adopt"
	kindTransfer = "transfer"
	// up, one-way
	kindHello   = "hello"
	kindResult  = "result"  // a long operation's result
	kindGone    = "gone"    // a leg ended
	kindSettled = "settled" // the node re-announced its calls to the epoch's leader
	// down, one-way
	kindRing     = "ring"
	kindAccept   = "accept"
	kindCancel   = "cancel" // ends a ring, bridge, dial or voicemail in progress
	kindBridge   = "bridge"
	kindRelay    = "relay"      // bridge a caller to a leg on another node
	kindConf     = "conference" // mix a call's legs held on one node
	kindMonitor  = "monitor"    // mix a supervisor into a call through a relay leg
	kindUnmon    = "unmonitor"  // take them out
	kindExpect   = "expect"
	kindDial     = "dial"
	kindMail     = "voicemail"
	kindHangup   = "hangup"
	kindHold     = "hold"
	kindEvent    = "event"
	kindAttach   = "attach"
	kindLeader   = "leader"
	kindAfter    = "aftercall" // the caller is the node's to finish (survey or hang-up)
	kindNodeLost = "lost"      // down: the leader took this node for lost
)

// msg is every message on the bus: Kind says which fields are set. Epoch
// fences an old leader: a node ignores the down messages of a leader whose
// epoch is below the highest it has seen.
type msg struct {
	Kind  string `json:"k"`
	Epoch uint64 `json:"e,omitempty"`
	Node  string `json:"n,omitempty"` // the sender (up), the leader (kindLeader)
	Op    string `json:"op,omitempty"`
	// SIP is the sender's SIP address for relays (hello).
	SIP string `json:"sip,omitempty"`

	Call    *acd.CallInfo       `json:"call,omitempty"`
	Request *acd.CallRequest    `json:"req,omitempty"`
	Data    json.RawMessage     `json:"data,omitempty"` // Request's or Call's opaque data
	Agent   acd.AgentID         `json:"agent,omitempty"`
	Target  *acd.TransferTarget `json:"to,omitempty"`
	// Endpoint and Accept of a ring (Accept: wait for the desk's accept).
	Endpoint  string `json:"ep,omitempty"`
	HasAccept bool   `json:"acc,omitempty"`
	// Leg handles on the node that holds them; LegID is the leg's own id.
	Leg      string    `json:"leg,omitempty"`
	LegID    string    `json:"legid,omitempty"`
	Peer     string    `json:"peer,omitempty"`
	PeerID   string    `json:"peerid,omitempty"`
	Number   string    `json:"num,omitempty"`
	Token    string    `json:"tok,omitempty"`
	On       bool      `json:"on,omitempty"`
	Answered time.Time `json:"ans,omitzero"`
	Text     string    `json:"text,omitempty"` // recording, ticket id
	// Legs are the handles of a conference's legs, the customer's first.
	Legs []string `json:"legs,omitempty"`
	// Event is a forwarded engine event, its type in EventType.
	EventType string          `json:"et,omitempty"`
	Event     json.RawMessage `json:"ev,omitempty"`

	Err *wireErr `json:"err,omitempty"`
	OK  bool     `json:"ok,omitempty"`
}

// wireErr carries an error across the bus so that errors.Is still finds
// the engine's sentinel errors on the other side.
type wireErr struct {
	Code string `json:"code"`
	Msg  string `json:"msg"`
}

var sentinels = map[string]error{
	"closed": acd.ErrClosed, "unknown_queue": acd.ErrUnknownQueue, "unknown_agent": acd.ErrUnknownAgent,
	"unknown_call": acd.ErrUnknownCall, "duplicate": acd.ErrDuplicate, "busy": acd.ErrAgentBusy,
	"no_call": acd.ErrNoCall, "queue_full": acd.ErrQueueFull, "not_supported": acd.ErrNotSupported,
	"invalid": acd.ErrInvalidArgument, "rejected": acd.ErrRejected, "no_answer": acd.ErrNoAnswer,
	"no_leader": ErrNoLeader, "node_lost": ErrNodeLost,
}

func toWire(err error) *wireErr {
	if err == nil {
		return nil
	}
	for code, s := range sentinels {
		if errors.Is(err, s) {
			return &wireErr{Code: code, Msg: err.Error()}
		}
	}
	return &wireErr{Msg: err.Error()}
}

// remoteError is an error that crossed the bus.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

func (w *wireErr) err() error {
	if w == nil {
		return nil
	}
	return &remoteError{msg: w.Msg, sentinel: sentinels[w.Code]}
}

// Errors of the bus.
var (
	// ErrNoLeader: no leader answered within the time allowed.
	ErrNoLeader = errors.New("acdnats: no leader answered")
	// ErrNodeLost: the node holding a leg stopped answering.
	ErrNodeLost = errors.New("acdnats: node lost")
)

// encodeEvent encodes an engine event forwarded to the node that holds
// its call: only what a call's journey needs (records, hold
// announcements), without the data attached in the leader's process.
func encodeEvent(ev acd.Event) (string, json.RawMessage, error) {
	var name string
	switch e := ev.(type) {
	case *acd.CallQueued:
		name = "queued"
		c := *e
		c.Call.Data, c.Call.Handle = nil, nil
		ev = &c
	case *acd.CallPosition:
		name = "position"
	case *acd.CallOffered:
		name = "offered"
		c := *e
		c.Call.Data, c.Call.Handle = nil, nil
		ev = &c
	case *acd.CallAnswered:
		name = "answered"
	case *acd.CallEnded:
		name = "ended"
	case *acd.InteractionCompleted:
		name = "completed"
		c := *e
		c.Interaction.Data = nil
		ev = &c
	default:
		return "", nil, fmt.Errorf("acdnats: event %T is not forwarded", ev)
	}
	b, err := json.Marshal(ev)
	return name, b, err
}

// decodeEvent is encodeEvent's inverse.
func decodeEvent(name string, b json.RawMessage) (acd.Event, error) {
	var ev acd.Event
	switch name {
	case "queued":
		ev = new(acd.CallQueued)
	case "position":
		ev = new(acd.CallPosition)
	case "offered":
		ev = new(acd.CallOffered)
	case "answered":
		ev = new(acd.CallAnswered)
	case "ended":
		ev = new(acd.CallEnded)
	case "completed":
		ev = new(acd.InteractionCompleted)
	default:
		return nil, fmt.Errorf("acdnats: unknown event %q", name)
	}
	if err := json.Unmarshal(b, ev); err != nil {
		return nil, fmt.Errorf("acdnats: event %q: %w", name, err)
	}
	return ev, nil
}

// eventCall is the call an event is about ("" for events not forwarded).
func eventCall(ev acd.Event) acd.CallID {
	switch e := ev.(type) {
	case *acd.CallQueued:
		return e.Call.ID
	case *acd.CallPosition:
		return e.CallID
	case *acd.CallOffered:
		return e.Call.ID
	case *acd.CallAnswered:
		return e.CallID
	case *acd.CallEnded:
		return e.CallID
	case *acd.InteractionCompleted:
		return e.Interaction.CallID
	}
	return ""
}

// Subjects. A node's id may hold characters NATS gives a meaning to
// (a host name's dots), so its subject token is the id in hex.
func leaderSubject(prefix string) string { return prefix + ".acd.up" }
func announceSubject(prefix string) string {
	return prefix + ".acd.leader"
}
func nodeSubject(prefix, node string) string {
	return prefix + ".acd.node." + hex.EncodeToString([]byte(node))
}

// stripCall returns c without its adapter-side attachments, for the wire.
func stripCall(c acd.CallInfo) *acd.CallInfo {
	c.Data, c.Handle = nil, nil
	return &c
}
