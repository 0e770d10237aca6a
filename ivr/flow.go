package ivr

import (
	"regexp"
	"slices"
	"time"
)

// NodeKind is the kind of a flow node.
type NodeKind uint8

// The node kinds of a flow.
const (
	// KindInvalid is the zero NodeKind; no loaded node has it.
	KindInvalid NodeKind = iota
	// KindPlay plays prompts (files or say items), optionally interruptible, then goes to next.
	KindPlay
	// KindMenu plays a prompt and maps one digit to the next node, with retries.
	KindMenu
	// KindGather collects 1..N digits into an input.* variable, with optional confirmation.
	KindGather
	// KindLookup makes a data dip (caller by ANI, ticket by number) and branches on the result.
	KindLookup
	// KindBranch tests variables and goes to the first matching condition's node.
	KindBranch
	// KindHours checks a business-hours schedule and goes to open or closed.
	KindHours
	// KindLanguage sets the caller's language (prompt set and routing attribute).
	KindLanguage
	// KindQueue ends the IVR with a routing request.
	KindQueue
	// KindVoicemail records a message and ends the IVR.
	KindVoicemail
	// KindCallback confirms a callback number and ends the IVR.
	KindCallback
	// KindTransfer ends the IVR with a transfer to an external number.
	KindTransfer
	// KindHangup ends the call.
	KindHangup
	// KindGoto jumps to another node or to the start of another flow.
	KindGoto
	// KindSurvey asks post-call questions scored 1–5 or 0–10.
	KindSurvey
)

var kindNames = [...]string{
	KindInvalid:   "invalid",
	KindPlay:      "play",
	KindMenu:      "menu",
	KindGather:    "gather",
	KindLookup:    "lookup",
	KindBranch:    "branch",
	KindHours:     "hours",
	KindLanguage:  "language",
	KindQueue:     "queue",
	KindVoicemail: "voicemail",
	KindCallback:  "callback",
	KindTransfer:  "transfer",
	KindHangup:    "hangup",
	KindGoto:      "goto",
	KindSurvey:    "survey",
}

// String returns the kind's name as written in YAML.
func (k NodeKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// Terminal reports whether a node of this kind ends the IVR.
func (k NodeKind) Terminal() bool {
	switch k {
	case KindQueue, KindVoicemail, KindCallback, KindTransfer, KindHangup:
		return true
	}
	return false
}

func parseKind(s string) NodeKind {
	for k, name := range kindNames {
		if name == s && k != int(KindInvalid) {
			return NodeKind(k)
		}
	}
	return KindInvalid
}

// Set is one loaded, validated flows file: languages, default queue, entry points and flows.
// A Set is immutable and safe for concurrent use.
type Set struct {
	file         string
	defaultLang  string
	languages    []string
	defaultQueue string
	maxSteps     int
	entries      []EntryPoint
	byDNIS       map[string]int
	byWebRTC     map[string]int
	byChat       map[string]int
	flows        map[string]*Flow
	prompts      *Prompts
	warnings     []Problem
	recognizer   Recognizer
	endpointing  Endpointing
}

// EntryPoint maps a dialled number, a WebRTC entry name or a web chat entry name to a flow.
type EntryPoint struct {
	// DNIS is the dialled number ("" for a WebRTC or chat entry point).
	DNIS string
	// WebRTC is the WebRTC entry name ("" for the others).
	WebRTC string
	// Chat is the web chat entry name ("" for the others); its flows are shown as text.
	Chat string
	// Flow is the flow the call runs.
	Flow *Flow
	// Language is the entry point's initial language ("" means the set's default).
	Language string
}

// File returns the path the set was loaded from.
func (s *Set) File() string { return s.file }

// DefaultLanguage returns the language used when a call has none.
func (s *Set) DefaultLanguage() string { return s.defaultLang }

// Languages returns the configured languages, the default first.
func (s *Set) Languages() []string { return slices.Clone(s.languages) }

// DefaultQueue returns the queue that error outcomes route to.
func (s *Set) DefaultQueue() string { return s.defaultQueue }

// MaxSteps returns the per-call step limit.
func (s *Set) MaxSteps() int { return s.maxSteps }

// Prompts returns the prompt resolver the set was loaded with.
func (s *Set) Prompts() *Prompts { return s.prompts }

// Warnings returns the non-fatal problems found when the set was loaded.
func (s *Set) Warnings() []Problem { return slices.Clone(s.warnings) }

// EntryPoints returns every entry point in file order.
func (s *Set) EntryPoints() []EntryPoint { return slices.Clone(s.entries) }

// ForDNIS returns the entry point for a dialled number.
func (s *Set) ForDNIS(dnis string) (EntryPoint, bool) {
	i, ok := s.byDNIS[dnis]
	if !ok {
		return EntryPoint{}, false
	}
	return s.entries[i], true
}

// ForWebRTC returns the entry point for a WebRTC entry name.
func (s *Set) ForWebRTC(name string) (EntryPoint, bool) {
	i, ok := s.byWebRTC[name]
	if !ok {
		return EntryPoint{}, false
	}
	return s.entries[i], true
}

// ForChat returns the entry point for a web chat entry name.
func (s *Set) ForChat(name string) (EntryPoint, bool) {
	i, ok := s.byChat[name]
	if !ok {
		return EntryPoint{}, false
	}
	return s.entries[i], true
}

// Flow returns the named flow (e.g. a survey flow run after the call).
func (s *Set) Flow(name string) (*Flow, bool) {
	f, ok := s.flows[name]
	return f, ok
}

// FlowNames returns the names of all flows, sorted.
func (s *Set) FlowNames() []string {
	names := make([]string, 0, len(s.flows))
	for n := range s.flows {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Flow is one graph of nodes. It is immutable after loading and belongs to its Set.
type Flow struct {
	name  string
	start string
	nodes map[string]*node
	set   *Set
}

// Name returns the flow's name.
func (f *Flow) Name() string { return f.name }

// Set returns the set the flow belongs to.
func (f *Flow) Set() *Set { return f.set }

// Start returns the name of the first node.
func (f *Flow) Start() string { return f.start }

// NodeNames returns the names of the flow's nodes, sorted.
func (f *Flow) NodeNames() []string {
	names := make([]string, 0, len(f.nodes))
	for n := range f.nodes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NodeKind returns the kind of the named node.
func (f *Flow) NodeKind(name string) (NodeKind, bool) {
	n, ok := f.nodes[name]
	if !ok {
		return KindInvalid, false
	}
	return n.kind, true
}

// Grammar returns what the named node listens for when it takes speech (a menu's or
// gather's input speech or both), or nil.
func (f *Flow) Grammar(node string) *Grammar {
	if n, ok := f.nodes[node]; ok {
		return n.grammar
	}
	return nil
}

// SayKind is what a say prompt item speaks.
type SayKind uint8

// The say kinds.
const (
	// SayNone marks a plain prompt item.
	SayNone SayKind = iota
	// SayDigits speaks each digit (and * #) of the value.
	SayDigits
	// SayNumber speaks a whole number 0–999999.
	SayNumber
	// SayDate speaks a date (YYYY-MM-DD or RFC 3339): weekday, month, day.
	SayDate
	// SayTime speaks a time of day (HH:MM or RFC 3339).
	SayTime
	// SayCurrency speaks an amount (123.45) in dollars or euros.
	SayCurrency
)

var sayNames = [...]string{SayNone: "", SayDigits: "digits", SayNumber: "number", SayDate: "date", SayTime: "time", SayCurrency: "currency"}

// String returns the say kind's name as written in YAML.
func (k SayKind) String() string {
	if int(k) < len(sayNames) {
		return sayNames[k]
	}
	return "invalid"
}

// prompt is one item of a prompt list: a named prompt or a say of a (templated) value.
type prompt struct {
	name     string
	say      SayKind
	value    string
	currency string
}

type assign struct {
	name, value string
}

type collectSpec struct {
	min, max   int
	terminator byte
	first      time.Duration
	inter      time.Duration
	pattern    *regexp.Regexp
}

type cond struct {
	varName string
	op      condOp
	str     string
	list    []string
	num     float64
	exists  bool
	next    string
}

type condOp uint8

const (
	opEquals condOp = iota + 1
	opNotEquals
	opIn
	opLt
	opLe
	opGt
	opGe
	opExists
)

type skillTmpl struct {
	name  string
	level int
}

type question struct {
	name           string
	prompts        []prompt
	invalidPrompts []prompt
	lo, hi         int
	timeout        time.Duration
	retries        int
}

// node is one compiled node. Fields unused by a kind stay zero.
type node struct {
	name string
	kind NodeKind
	line int

	set            []assign
	prompts        []prompt
	interruptible  bool
	next           string
	def            string
	options        map[byte]string
	labels         map[byte]string
	timeout        time.Duration
	retries        int
	invalidPrompts []prompt
	timeoutPrompts []prompt

	varName string
	collect collectSpec
	confirm bool

	input      inputMode
	grammar    *Grammar // nil unless input is speech or both
	confidence float64
	noInput    time.Duration

	lookup   string
	key      string
	found    string
	notFound string
	onError  string

	conds []cond

	sched  *schedule
	open   string
	closed string

	language string

	queue    string
	skills   []skillTmpl
	priority int

	maxLength      time.Duration
	afterPrompts   []prompt
	confirmPrompts []prompt
	enterPrompts   []prompt
	refusedPrompts []prompt

	target string
	flow   string

	questions []question
}

// targets returns every node name this node can go to, in a stable order.
func (n *node) targets() []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	add(n.next)
	keys := make([]byte, 0, len(n.options))
	for k := range n.options {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		add(n.options[k])
	}
	for _, c := range n.conds {
		add(c.next)
	}
	add(n.found)
	add(n.notFound)
	add(n.onError)
	add(n.open)
	add(n.closed)
	add(n.def)
	return out
}
