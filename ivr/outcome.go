package ivr

import (
	"maps"
	"strconv"
	"strings"
	"time"
)

// OutcomeKind is how a call left the IVR.
type OutcomeKind uint8

// The outcome kinds.
const (
	// OutcomeQueue: route the call to Outcome.Queue with the skills, priority and language.
	OutcomeQueue OutcomeKind = iota + 1
	// OutcomeHangup: the flow hung up (e.g. closed, goodbye).
	OutcomeHangup
	// OutcomeTransfer: transfer the call to Outcome.TransferTarget.
	OutcomeTransfer
	// OutcomeVoicemail: the caller left Outcome.VoicemailFile; turn it into a ticket.
	OutcomeVoicemail
	// OutcomeCallback: call the caller back at Outcome.CallbackNumber.
	OutcomeCallback
	// OutcomeAbandoned: the caller hung up in the IVR; Path holds how far they got.
	OutcomeAbandoned
	// OutcomeError: the flow failed (runaway loop, broken node); Queue is the default queue
	// and Err says why. Route the call there.
	OutcomeError
)

var outcomeNames = [...]string{
	0:                "invalid",
	OutcomeQueue:     "queue",
	OutcomeHangup:    "hangup",
	OutcomeTransfer:  "transfer",
	OutcomeVoicemail: "voicemail",
	OutcomeCallback:  "callback",
	OutcomeAbandoned: "abandoned",
	OutcomeError:     "error",
}

// String returns the outcome kind's name (also the metrics label).
func (k OutcomeKind) String() string {
	if int(k) < len(outcomeNames) {
		return outcomeNames[k]
	}
	return "invalid"
}

// Skill is one required skill of a routing request.
type Skill struct {
	// Name is the skill name (e.g. "support", or a language such as "es").
	Name string
	// MinLevel is the lowest acceptable agent level, 1–5.
	MinLevel int
}

// Outcome is what Run returns: how the call left the IVR and everything collected on the way.
type Outcome struct {
	// Kind says how the call left the IVR.
	Kind OutcomeKind
	// Flow is the flow the call was in when it ended.
	Flow string
	// Node is the node that ended the IVR ("" when abandoned between nodes).
	Node string
	// Queue is the queue to route to (queue, error), the voicemail's or callback's queue, if any.
	Queue string
	// Skills are the required skills with minimum levels, sorted by name.
	Skills []Skill
	// Priority is the routing priority, 0–100, higher is more urgent.
	Priority int
	// Language is the caller's language at the end of the IVR.
	Language string
	// Vars holds every variable (caller.*, contact.*, input.*, call.*, ticket.*, survey.*).
	Vars map[string]string
	// Path is every visited node, digit and notable event, in order.
	Path []Step
	// VoicemailFile is the recorded message (voicemail).
	VoicemailFile string
	// VoicemailLength is the recorded length (voicemail).
	VoicemailLength time.Duration
	// CallbackNumber is the confirmed number to call back (callback).
	CallbackNumber string
	// TransferTarget is the external number or URI (transfer).
	TransferTarget string
	// Scores holds survey answers by question name.
	Scores map[string]int
	// Started and Ended bound the run on the Input clock.
	Started, Ended time.Time
	// Err says why an error outcome happened (nil otherwise).
	Err error
}

// Clone returns a deep copy of the outcome.
func (o Outcome) Clone() Outcome {
	o.Skills = append([]Skill(nil), o.Skills...)
	o.Vars = maps.Clone(o.Vars)
	o.Path = append([]Step(nil), o.Path...)
	o.Scores = maps.Clone(o.Scores)
	return o
}

// Step is one entry of the IVR path: a node visit, a DTMF digit, or an event.
type Step struct {
	// At is when it happened, on the Input clock.
	At time.Time
	// Flow and Node say where.
	Flow, Node string
	// Kind is the node's kind.
	Kind NodeKind
	// Digit is the DTMF digit for a digit step, 0 otherwise.
	Digit byte
	// Event names what happened for an event step ("timeout", "invalid", "found", "open",
	// "max_retries", "hangup", "speech", …); "" for a visit or digit.
	Event string
	// Speech is what the recognizer heard for a speech step (Event "speech"), "" when it
	// heard no words.
	Speech string
	// Confidence is the recognizer's confidence in Speech, 0 to 1, for a speech step.
	Confidence float64
}

// speechEvent is the Event of a speech step.
const speechEvent = "speech"

// String formats a visit as "node", a digit as "dtmf:1", a speech step as
// `speech:"billing"@0.87`, an event as "node:event".
func (s Step) String() string {
	switch {
	case s.Digit != 0:
		return "dtmf:" + string(s.Digit)
	case s.Event == speechEvent:
		return "speech:" + strconv.Quote(s.Speech) + "@" + strconv.FormatFloat(s.Confidence, 'f', 2, 64)
	case s.Event != "":
		return s.Node + ":" + s.Event
	}
	return s.Node
}

// PathString joins a path's steps with spaces, the compact form shown in a screen pop.
func PathString(path []Step) string {
	parts := make([]string, len(path))
	for i, s := range path {
		parts[i] = s.String()
	}
	return strings.Join(parts, " ")
}
