package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrMaxSteps is the Outcome.Err of a call stopped by the step limit.
var ErrMaxSteps = errors.New("ivr: step limit reached")

// ErrBrokenFlow is the Outcome.Err of a call that reached a node the flow does not have.
var ErrBrokenFlow = errors.New("ivr: broken flow")

// Input is what Run knows about the call before the IVR starts.
type Input struct {
	// CallID identifies the call in logs and in the voicemail file name.
	CallID string
	// ANI is the calling number as received.
	ANI string
	// DNIS is the dialled number (or WebRTC entry name).
	DNIS string
	// E164 is the calling number in E.164 form, when known.
	E164 string
	// Country is the caller's ISO country code, when known.
	Country string
	// Language is the call's initial language; "" or an unconfigured language means the
	// set's default.
	Language string
	// Now is the clock for hours nodes and path timestamps; nil means time.Now.
	Now func() time.Time
	// Lookup serves lookup nodes; nil makes every lookup take its error branch.
	Lookup Lookup
	// Callbacks vets the number a callback node is about to accept (the caller's own or
	// one entered); nil accepts every number as it is.
	Callbacks CallbackPolicy
	// RecordingDir is where voicemail files are written; "" means os.TempDir().
	RecordingDir string
	// Logger receives interpreter errors; nil means slog.Default().
	Logger *slog.Logger
	// Metrics counts outcomes; nil disables metrics.
	Metrics *Metrics
	// Hours overrides every hours node: HoursOpen or HoursClosed force that
	// branch (an administrator's override, as for an emergency closure or
	// a demo running around the clock); HoursSchedule follows the flows.
	Hours HoursOverride
}

// HoursOverride forces the branch hours nodes take.
type HoursOverride string

// The hours overrides.
const (
	HoursSchedule HoursOverride = ""
	HoursOpen     HoursOverride = "open"
	HoursClosed   HoursOverride = "closed"
)

// Run walks flow for one call until the IVR ends and returns the outcome. It never blocks
// past ctx: when the caller hangs up (ctx cancelled or a Session error) it returns an
// OutcomeAbandoned with the path so far. It never panics on a validated flow; a runaway
// loop or an internal error yields OutcomeError routed to the default queue.
func Run(ctx context.Context, sess Session, flow *Flow, in Input) Outcome {
	if flow == nil || flow.set == nil {
		return Outcome{Kind: OutcomeError, Err: fmt.Errorf("%w: no flow", ErrBrokenFlow)}
	}
	r := newRun(sess, flow, in)
	out := r.walk(ctx)
	out.Ended = r.now()
	r.in.Metrics.observe(out, out.Ended.Sub(r.start))
	return out
}

// RunSurvey runs a post-call survey flow (survey nodes ending in a hangup) and returns the
// scores by question name along with the full outcome. A question the caller did not
// answer has no score.
func RunSurvey(ctx context.Context, sess Session, flow *Flow, in Input) (map[string]int, Outcome) {
	out := Run(ctx, sess, flow, in)
	if out.Scores == nil {
		out.Scores = map[string]int{}
	}
	return out.Scores, out
}

type run struct {
	sess  Session
	text  TextSession // sess when it shows text (a chat), else nil
	flow  *Flow
	set   *Set
	in    Input
	log   *slog.Logger
	now   func() time.Time
	lang  string
	vars  map[string]string
	path  []Step
	steps int
	start time.Time

	warnedEars bool // the session's lack of Ears was logged
}

func newRun(sess Session, flow *Flow, in Input) *run {
	r := &run{sess: sess, flow: flow, set: flow.set, in: in, now: in.Now, log: in.Logger}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With("call_id", in.CallID)
	r.text, _ = sess.(TextSession)
	r.lang = r.set.defaultLang
	if slices.Contains(r.set.languages, in.Language) {
		r.lang = in.Language
	}
	r.vars = map[string]string{
		"caller.ani":     in.ANI,
		"caller.e164":    in.E164,
		"caller.country": in.Country,
		"call.id":        in.CallID,
		"call.dnis":      in.DNIS,
		"call.language":  r.lang,
		channelVar:       ChannelVoice,
	}
	if r.text != nil {
		r.vars[channelVar] = ChannelChat
	}
	r.start = r.now()
	return r
}

// errHangup marks a Session error: the call is gone.
type errHangup struct{ err error }

func (e errHangup) Error() string { return "ivr: caller hung up: " + e.err.Error() }
func (e errHangup) Unwrap() error { return e.err }

func (r *run) outcome(kind OutcomeKind, n *node) Outcome {
	o := Outcome{
		Kind:     kind,
		Flow:     r.flow.name,
		Language: r.lang,
		Vars:     r.vars,
		Path:     r.path,
		Started:  r.start,
	}
	if n != nil {
		o.Node = n.name
	}
	for k, v := range r.vars {
		if name, ok := strings.CutPrefix(k, "survey."); ok {
			if score, err := strconv.Atoi(v); err == nil {
				if o.Scores == nil {
					o.Scores = map[string]int{}
				}
				o.Scores[name] = score
			}
		}
	}
	return o
}

func (r *run) fail(n *node, err error) Outcome {
	r.log.Error("ivr: flow failed, routing to default queue", "flow", r.flow.name, "node", nodeName(n), "queue", r.set.defaultQueue, "err", err)
	o := r.outcome(OutcomeError, n)
	o.Queue = r.set.defaultQueue
	o.Err = err
	return o
}

func nodeName(n *node) string {
	if n == nil {
		return ""
	}
	return n.name
}

func (r *run) abandoned(n *node) Outcome {
	r.event(n, "hangup")
	return r.outcome(OutcomeAbandoned, n)
}

func (r *run) visit(n *node) {
	r.path = append(r.path, Step{At: r.now(), Flow: r.flow.name, Node: n.name, Kind: n.kind})
}

func (r *run) event(n *node, ev string) {
	s := Step{At: r.now(), Flow: r.flow.name, Event: ev}
	if n != nil {
		s.Node, s.Kind = n.name, n.kind
	}
	r.path = append(r.path, s)
}

func (r *run) digit(n *node, d byte) {
	r.path = append(r.path, Step{At: r.now(), Flow: r.flow.name, Node: n.name, Kind: n.kind, Digit: d})
}

// walk is the interpreter loop: one iteration per node visit.
func (r *run) walk(ctx context.Context) Outcome {
	cur := r.flow.start
	var prev *node
	for {
		if ctx.Err() != nil {
			return r.abandoned(prev)
		}
		n, ok := r.flow.nodes[cur]
		if !ok {
			return r.fail(prev, fmt.Errorf("%w: flow %s has no node %q", ErrBrokenFlow, r.flow.name, cur))
		}
		r.steps++
		if r.steps > r.set.maxSteps {
			r.event(n, "max_steps")
			return r.fail(n, fmt.Errorf("%w: %d steps in flow %s at node %s", ErrMaxSteps, r.set.maxSteps, r.flow.name, n.name))
		}
		r.visit(n)
		for _, a := range n.set {
			r.vars[a.name] = r.expand(a.value)
		}
		next, out, err := r.exec(ctx, n)
		switch {
		case err != nil && (ctx.Err() != nil || errors.As(err, new(errHangup))):
			return r.abandoned(n)
		case err != nil:
			return r.fail(n, err)
		case out != nil:
			return *out
		}
		if n.kind == KindGoto && n.flow != "" {
			f, ok := r.set.flows[n.flow]
			if !ok {
				return r.fail(n, fmt.Errorf("%w: goto unknown flow %q", ErrBrokenFlow, n.flow))
			}
			r.flow, next = f, f.start
		}
		prev, cur = n, next
	}
}

// exec runs one node: it returns the next node, or a final outcome, or an error (errHangup
// when the call is gone).
func (r *run) exec(ctx context.Context, n *node) (string, *Outcome, error) {
	switch n.kind {
	case KindPlay:
		return n.next, nil, r.play(ctx, n, n.prompts, n.interruptible)
	case KindMenu:
		next, err := r.menu(ctx, n)
		return next, nil, err
	case KindGather:
		next, err := r.gather(ctx, n)
		return next, nil, err
	case KindLookup:
		next, err := r.lookup(ctx, n)
		return next, nil, err
	case KindBranch:
		for _, c := range n.conds {
			if r.test(c) {
				return c.next, nil, nil
			}
		}
		return n.def, nil, nil
	case KindHours:
		open := n.sched != nil && n.sched.open(r.now())
		if r.in.Hours != HoursSchedule {
			open = r.in.Hours == HoursOpen
		}
		if open {
			r.event(n, "open")
			return n.open, nil, nil
		}
		r.event(n, "closed")
		return n.closed, nil, nil
	case KindLanguage:
		r.lang = n.language
		r.vars["call.language"] = n.language
		return n.next, nil, nil
	case KindGoto:
		return n.next, nil, nil
	case KindSurvey:
		return n.next, nil, r.survey(ctx, n)
	case KindQueue:
		if err := r.play(ctx, n, n.prompts, false); err != nil {
			return "", nil, err
		}
		o := r.outcome(OutcomeQueue, n)
		o.Queue, o.Priority, o.Skills = n.queue, n.priority, r.skills(n)
		return "", &o, nil
	case KindTransfer:
		if err := r.play(ctx, n, n.prompts, false); err != nil {
			return "", nil, err
		}
		o := r.outcome(OutcomeTransfer, n)
		o.TransferTarget = n.target
		return "", &o, nil
	case KindHangup:
		// The flow ends here whether or not the caller stays for the goodbye.
		_ = r.play(ctx, n, n.prompts, false)
		o := r.outcome(OutcomeHangup, n)
		return "", &o, nil
	case KindVoicemail:
		return r.voicemail(ctx, n)
	case KindCallback:
		return r.callback(ctx, n)
	}
	return "", nil, fmt.Errorf("%w: node %s has kind %v", ErrBrokenFlow, n.name, n.kind)
}

// play resolves and plays a prompt list. A say item whose value cannot be spoken is logged
// and skipped.
func (r *run) play(ctx context.Context, n *node, ps []prompt, interruptible bool) error {
	if len(ps) == 0 {
		return nil
	}
	if r.text != nil {
		return r.show(ctx, r.promptText(n, ps), nil)
	}
	files := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.say == SayNone {
			files = append(files, r.set.prompts.Path(r.lang, p.name))
			continue
		}
		value := r.expand(p.value)
		if p.currency != "" {
			value += " " + p.currency
		}
		words, err := Say(r.lang, p.say, value)
		if err != nil {
			r.log.Warn("ivr: say skipped", "flow", r.flow.name, "node", n.name, "err", err)
			r.event(n, "say_error")
			continue
		}
		for _, w := range words {
			files = append(files, r.set.prompts.Path(r.lang, w))
		}
	}
	if err := r.sess.Play(ctx, files, interruptible); err != nil {
		return errHangup{err}
	}
	return nil
}

// playNames plays named prompts with the digits of say where a name is ""; the caller
// answers 1 or 2 (a TextSession shows those as buttons).
func (r *run) playNames(ctx context.Context, names []string, say string, interruptible bool) error {
	if r.text != nil {
		ps := make([]prompt, len(names))
		for i, name := range names {
			ps[i] = prompt{name: name}
			if name == "" {
				ps[i] = prompt{say: SayDigits, value: say}
			}
		}
		return r.show(ctx, r.promptText(nil, ps), confirmButtons)
	}
	files := make([]string, 0, len(names)+len(say))
	for _, name := range names {
		if name == "" {
			for _, w := range sayDigits(say) {
				files = append(files, r.set.prompts.Path(r.lang, w))
			}
			continue
		}
		files = append(files, r.set.prompts.Path(r.lang, name))
	}
	if err := r.sess.Play(ctx, files, interruptible); err != nil {
		return errHangup{err}
	}
	return nil
}

func (r *run) readDigit(ctx context.Context, n *node, timeout time.Duration) (byte, bool, error) {
	d, ok, err := r.sess.ReadDigit(ctx, timeout)
	if err != nil {
		return 0, false, errHangup{err}
	}
	if ok {
		r.digit(n, d)
	}
	return d, ok, nil
}

func (r *run) menu(ctx context.Context, n *node) (string, error) {
	for attempt := 0; ; attempt++ {
		var a answer
		var err error
		ears, listening := r.listens(n)
		if listening {
			a, err = r.speechTurn(ctx, n, ears, n.prompts, n.interruptible, n.noInput)
		} else {
			if r.text != nil {
				err = r.show(ctx, r.promptText(n, n.prompts), menuButtons(n))
			} else {
				err = r.play(ctx, n, n.prompts, n.interruptible)
			}
			if err == nil {
				a.digit, a.got, err = r.readDigit(ctx, n, n.timeout)
			}
		}
		if err != nil {
			return "", err
		}
		retry := n.timeoutPrompts
		switch {
		case a.heard != nil:
			if key, ok := n.accepted(a.heard); ok {
				if next, found := n.options[key[0]]; found {
					r.setVar(n, key, a.heard)
					return next, nil
				}
			}
			r.event(n, "invalid")
			retry = n.invalidPrompts
		case a.got:
			if next, found := n.options[a.digit]; found && !(listening && n.input == inputSpeech) {
				r.setVar(n, string(a.digit), nil)
				return next, nil
			}
			r.event(n, "invalid")
			retry = n.invalidPrompts
		default:
			r.event(n, "timeout")
		}
		if err := r.play(ctx, n, retry, false); err != nil {
			return "", err
		}
		if attempt >= n.retries {
			r.event(n, "max_retries")
			return n.def, nil
		}
	}
}

// setVar stores a menu's or gather's answer in its variable, with what was heard when it
// was spoken (rec nil: keyed or typed).
func (r *run) setVar(n *node, value string, rec *Recognition) {
	if n.varName == "" {
		return
	}
	r.vars[n.varName] = value
	r.setSpeechVars(n.varName, rec)
}

// collect reads up to c.max digits: first-digit timeout, then inter-digit timeouts, ended by
// the terminator, the maximum, or an inter-digit timeout. got is false when nothing at all
// was entered. A TextSession's reply is read to its end, past the maximum (TextPrompt.Reply
// bounds it), so that too long a reply is invalid rather than cut.
func (r *run) collect(ctx context.Context, n *node, c collectSpec) (digits string, got bool, err error) {
	return r.collectFrom(ctx, n, c, nil)
}

// collectFrom is collect after the digits b were already read (a key that answered a
// speech turn).
func (r *run) collectFrom(ctx context.Context, n *node, c collectSpec, b []byte) (digits string, got bool, err error) {
	timeout := c.first
	if len(b) > 0 {
		got, timeout = true, c.inter
		if c.terminator != 0 && b[len(b)-1] == c.terminator {
			return string(b[:len(b)-1]), true, nil
		}
	}
	for len(b) < c.max || (r.text != nil && len(b) <= maxDigitsLimit) {
		d, ok, err := r.readDigit(ctx, n, timeout)
		if err != nil {
			return "", false, err
		}
		if !ok {
			break
		}
		got = true
		if c.terminator != 0 && d == c.terminator {
			break
		}
		b = append(b, d)
		timeout = c.inter
	}
	return string(b), got, nil
}

// valid checks collected digits against the spec; a character off the keypad (a chat's
// TextInvalid) is never valid.
func (c collectSpec) valid(s string) bool {
	if len(s) < c.min || len(s) > c.max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDTMF(s[i]) {
			return false
		}
	}
	return c.pattern == nil || c.pattern.MatchString(s)
}

// confirmDigits plays "you entered … press 1 if correct" and reports whether 1 was pressed.
func (r *run) confirmDigits(ctx context.Context, n *node, names []string, digits string) (bool, error) {
	if err := r.playNames(ctx, names, digits, true); err != nil {
		return false, err
	}
	d, ok, err := r.readDigit(ctx, n, n.timeout)
	if err != nil {
		return false, err
	}
	if ok && d == '1' {
		r.event(n, "confirmed")
		return true, nil
	}
	r.event(n, "not_confirmed")
	return false, nil
}

func (r *run) gather(ctx context.Context, n *node) (string, error) {
	for attempt := 0; ; attempt++ {
		a, err := r.gatherAnswer(ctx, n)
		if err != nil {
			return "", err
		}
		value, valid := a.value, a.got && n.collect.valid(a.value)
		switch {
		case a.chosen:
			valid = true
		case a.heard != nil:
			value, valid = n.accepted(a.heard)
			if valid && n.grammar.Kind() == GrammarDigits {
				valid = n.collect.valid(value)
			}
		case a.refused:
			valid = false
		}
		var retry []prompt
		switch {
		case a.heard == nil && !a.got:
			r.event(n, "timeout")
			retry = n.timeoutPrompts
		case !valid:
			r.event(n, "invalid")
			retry = n.invalidPrompts
		default:
			ok := true
			if n.confirm {
				ok, err = r.confirmDigits(ctx, n, []string{"you_entered", "", "confirm_entry"}, value)
				if err != nil {
					return "", err
				}
			}
			if ok {
				r.setVar(n, value, a.heard)
				return n.next, nil
			}
		}
		if err := r.play(ctx, n, retry, false); err != nil {
			return "", err
		}
		if attempt >= n.retries {
			r.event(n, "max_retries")
			return n.def, nil
		}
	}
}

// gathered is one answer to a gather.
type gathered struct {
	value   string       // the digits keyed, or the phrase value a chat chose
	got     bool         // anything was keyed or chosen
	chosen  bool         // value is a phrase value a chat chose from the buttons
	refused bool         // keys pressed where only speech is taken
	heard   *Recognition // what was said
}

// gatherAnswer prompts for and reads one answer of a gather: keyed digits, what was
// heard, or (in a chat) a phrase value chosen from buttons or typed.
func (r *run) gatherAnswer(ctx context.Context, n *node) (gathered, error) {
	if ears, ok := r.listens(n); ok {
		a, err := r.speechTurn(ctx, n, ears, n.prompts, true, n.noInput)
		switch {
		case err != nil:
			return gathered{}, err
		case a.heard != nil:
			return gathered{heard: a.heard}, nil
		case !a.got:
			return gathered{}, nil
		case n.input == inputSpeech:
			return gathered{value: string(a.digit), got: true, refused: true}, nil
		}
		digits, got, err := r.collectFrom(ctx, n, n.collect, []byte{a.digit})
		return gathered{value: digits, got: got}, err
	}
	if r.text != nil && n.grammar != nil && n.grammar.Kind() == GrammarPhrases {
		values := phraseValues(n.grammar)
		if err := r.show(ctx, r.promptText(n, n.prompts), valueButtons(n.grammar, values)); err != nil {
			return gathered{}, err
		}
		reply, got, err := r.collect(ctx, n, collectSpec{min: 1, max: 1, first: n.noInput, inter: n.collect.inter})
		if err != nil || !got {
			return gathered{}, err
		}
		if i := strings.IndexByte(keypadOrder, reply[0]); len(reply) == 1 && i >= 0 && i < len(values) {
			return gathered{value: values[i], got: true, chosen: true}, nil
		}
		return gathered{value: reply, got: true, refused: true}, nil
	}
	if err := r.play(ctx, n, n.prompts, true); err != nil {
		return gathered{}, err
	}
	digits, got, err := r.collect(ctx, n, n.collect)
	return gathered{value: digits, got: got}, err
}

func (r *run) lookup(ctx context.Context, n *node) (string, error) {
	key := r.expand(n.key)
	if n.lookup == "caller" && r.vars["caller.e164"] != "" && n.key == "{caller.ani}" {
		key = r.vars["caller.e164"]
	}
	if r.in.Lookup == nil || key == "" {
		r.event(n, "error")
		return n.onError, nil
	}
	lctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	began := r.now()
	var found bool
	var err error
	switch n.lookup {
	case "caller":
		var c Caller
		c, found, err = r.in.Lookup.LookupCaller(lctx, key)
		if err == nil && found {
			r.vars["contact.id"] = c.ContactID
			r.vars["contact.name"] = c.Name
			r.vars["contact.segment"] = c.Segment
			r.vars["contact.open_tickets"] = strconv.Itoa(c.OpenTickets)
		}
	case "ticket":
		var t Ticket
		t, found, err = r.in.Lookup.LookupTicket(lctx, key)
		if err == nil && found {
			if t.Number == "" {
				t.Number = key
			}
			r.vars["ticket.number"] = t.Number
			r.vars["ticket.status"] = t.Status
			r.vars["ticket.subject"] = t.Subject
		}
	}
	result := "not_found"
	switch {
	case err != nil:
		result = "error"
	case found:
		result = "found"
	}
	r.in.Metrics.lookup(n.lookup, result, r.now().Sub(began))
	switch {
	case ctx.Err() != nil:
		return "", errHangup{ctx.Err()}
	case err != nil:
		r.log.Warn("ivr: lookup failed", "flow", r.flow.name, "node", n.name, "lookup", n.lookup, "err", err)
		r.event(n, "error")
		return n.onError, nil
	case found:
		r.event(n, "found")
		return n.found, nil
	}
	r.event(n, "not_found")
	return n.notFound, nil
}

func (r *run) test(c cond) bool {
	v, ok := r.vars[c.varName]
	return c.holds(v, ok && v != "")
}

// holds evaluates the condition on a variable's value v; set is false when the variable is
// unset or empty.
func (c cond) holds(v string, set bool) bool {
	ok := set
	switch c.op {
	case opExists:
		return ok == c.exists
	case opEquals:
		return v == c.str
	case opNotEquals:
		return v != c.str
	case opIn:
		return slices.Contains(c.list, v)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if !ok || err != nil {
		return false
	}
	switch c.op {
	case opLt:
		return f < c.num
	case opLe:
		return f <= c.num
	case opGt:
		return f > c.num
	case opGe:
		return f >= c.num
	}
	return false
}

func (r *run) skills(n *node) []Skill {
	out := make([]Skill, 0, len(n.skills))
	for _, s := range n.skills {
		name := r.expand(s.name)
		if name == "" {
			continue
		}
		if i := slices.IndexFunc(out, func(k Skill) bool { return k.Name == name }); i >= 0 {
			out[i].MinLevel = max(out[i].MinLevel, s.level)
			continue
		}
		out = append(out, Skill{Name: name, MinLevel: s.level})
	}
	slices.SortFunc(out, func(a, b Skill) int { return strings.Compare(a.Name, b.Name) })
	return out
}

var fileSafeRE = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func (r *run) voicemail(ctx context.Context, n *node) (string, *Outcome, error) {
	if err := r.play(ctx, n, n.prompts, false); err != nil {
		return "", nil, err
	}
	dir := r.in.RecordingDir
	if dir == "" {
		dir = os.TempDir()
	}
	id := fileSafeRE.ReplaceAllString(r.in.CallID, "_")
	if len(id) > 64 {
		id = id[:64]
	}
	if id == "" {
		id = "call"
	}
	file := filepath.Join(dir, fmt.Sprintf("voicemail-%s-%s.wav", id, r.now().UTC().Format("20060102T150405.000000000")))
	length, err := r.sess.Record(ctx, file, n.maxLength)
	if err != nil && length <= 0 {
		return "", nil, errHangup{err}
	}
	r.event(n, "recorded")
	if err == nil {
		_ = r.play(ctx, n, n.afterPrompts, false)
	}
	o := r.outcome(OutcomeVoicemail, n)
	o.Queue, o.VoicemailFile, o.VoicemailLength = n.queue, file, length
	return "", &o, nil
}

// callback offers a callback to the caller's number (or one they enter), confirms it, and
// ends the IVR; after the retries it goes to default.
func (r *run) callback(ctx context.Context, n *node) (string, *Outcome, error) {
	number := r.vars["caller.e164"]
	if number == "" {
		number = r.vars["caller.ani"]
	}
	if len(sayDigits(number)) == 0 {
		number = ""
	}
	if number != "" {
		var err error
		if number, err = r.vetCallback(ctx, n, number); err != nil {
			return "", nil, err
		}
	}
	offerNames := promptNames(n.prompts)
	for attempt := 0; ; attempt++ {
		if number == "" {
			if err := r.play(ctx, n, n.enterPrompts, true); err != nil {
				return "", nil, err
			}
			digits, got, err := r.collect(ctx, n, n.collect)
			if err != nil {
				return "", nil, err
			}
			switch {
			case !got:
				r.event(n, "timeout")
				if err := r.play(ctx, n, n.timeoutPrompts, false); err != nil {
					return "", nil, err
				}
			case !n.collect.valid(digits):
				r.event(n, "invalid")
				if err := r.play(ctx, n, n.invalidPrompts, false); err != nil {
					return "", nil, err
				}
			default:
				if number, err = r.vetCallback(ctx, n, digits); err != nil {
					return "", nil, err
				}
			}
		}
		if number != "" {
			names := slices.Concat(offerNames, []string{""}, promptNames(n.confirmPrompts))
			if err := r.playNames(ctx, names, number, true); err != nil {
				return "", nil, err
			}
			d, ok, err := r.readDigit(ctx, n, n.timeout)
			if err != nil {
				return "", nil, err
			}
			switch {
			case ok && d == '1':
				r.event(n, "confirmed")
				_ = r.play(ctx, n, n.afterPrompts, false)
				o := r.outcome(OutcomeCallback, n)
				o.Queue, o.CallbackNumber = n.queue, number
				return "", &o, nil
			case ok && d == '2':
				r.event(n, "enter_number")
				number = ""
			case ok:
				r.event(n, "invalid")
				if err := r.play(ctx, n, n.invalidPrompts, false); err != nil {
					return "", nil, err
				}
			default:
				r.event(n, "timeout")
				if err := r.play(ctx, n, n.timeoutPrompts, false); err != nil {
					return "", nil, err
				}
			}
		}
		if attempt >= n.retries {
			r.event(n, "max_retries")
			return n.def, nil, nil
		}
	}
}

// vetCallback checks number against the callback policy and returns it in the form to dial.
// A refused number is logged and explained to the caller (refused_prompts, else
// invalid_prompts) and comes back "".
func (r *run) vetCallback(ctx context.Context, n *node, number string) (string, error) {
	if r.in.Callbacks == nil {
		return number, nil
	}
	dial, err := r.in.Callbacks.CheckCallback(number)
	if err == nil {
		return dial, nil
	}
	r.event(n, "refused")
	r.log.Info("ivr: callback number refused", "node", n.name, "err", err)
	prompts := n.refusedPrompts
	if len(prompts) == 0 {
		prompts = n.invalidPrompts
	}
	return "", r.play(ctx, n, prompts, false)
}

// promptNames returns the names of plain prompt items (say items are skipped).
func promptNames(ps []prompt) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.say == SayNone {
			out = append(out, p.name)
		}
	}
	return out
}

func (r *run) survey(ctx context.Context, n *node) error {
	for _, q := range n.questions {
		for attempt := 0; ; attempt++ {
			if err := r.play(ctx, n, q.prompts, true); err != nil {
				return err
			}
			width := 1
			if q.hi >= 10 {
				width = 2
			}
			digits, got, err := r.collect(ctx, n, collectSpec{min: 1, max: width, terminator: '#', first: q.timeout, inter: defaultInterDigit})
			if err != nil {
				return err
			}
			score, convErr := strconv.Atoi(digits)
			if got && convErr == nil && score >= q.lo && score <= q.hi {
				r.vars["survey."+q.name] = strconv.Itoa(score)
				r.event(n, "answered")
				break
			}
			if got {
				r.event(n, "invalid")
				if err := r.play(ctx, n, q.invalidPrompts, false); err != nil {
					return err
				}
			} else {
				r.event(n, "timeout")
			}
			if attempt >= q.retries {
				r.event(n, "skipped")
				break
			}
		}
	}
	return nil
}

// expand replaces {ns.name} references with variable values ("" when unset).
func (r *run) expand(s string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	return templateRE.ReplaceAllStringFunc(s, func(m string) string {
		return r.vars[m[1:len(m)-1]]
	})
}

func errorsIsMaxSteps(err error) bool { return errors.Is(err, ErrMaxSteps) }
