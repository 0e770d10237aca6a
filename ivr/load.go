package ivr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize caps the size of a flows file.
const MaxFileSize = 1 << 20

// DefaultMaxSteps is the per-call step limit when the file sets none.
const DefaultMaxSteps = 500

// Limits on node settings. Values outside them are validation errors.
const (
	minTimeout, maxTimeout             = time.Second, 60 * time.Second
	minInterDigit, maxInterDigit       = 500 * time.Millisecond, 30 * time.Second
	minLookupTimeout, maxLookupTimeout = 100 * time.Millisecond, 30 * time.Second
	minRecord, maxRecord               = time.Second, 10 * time.Minute
	maxRetries                         = 9
	maxDigitsLimit                     = 32
	minMaxSteps, maxMaxSteps           = 10, 100_000
)

// Defaults for unset node settings.
const (
	defaultTimeout       = 5 * time.Second
	defaultInterDigit    = 3 * time.Second
	defaultLookupTimeout = 3 * time.Second
	defaultRetries       = 2
	defaultMaxDigits     = 16
	defaultRecord        = 2 * time.Minute
)

var (
	nameRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)
	identRE    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	varRE      = regexp.MustCompile(`^(caller|contact|input|call|ticket|survey)\.[a-z][a-z0-9_]{0,63}$`)
	langRE     = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
	dnisRE     = regexp.MustCompile(`^[A-Za-z0-9+*#@._:-]{1,64}$`)
	targetRE   = regexp.MustCompile(`^(\+?[0-9*#]{1,32}|sip:[A-Za-z0-9+*#@._:;=-]{1,120})$`)
	templateRE = regexp.MustCompile(`\{([a-z]+\.[a-z][a-z0-9_]*)\}`)
	lineRE     = regexp.MustCompile(`line (\d+)`)

	unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type ivr\.(\w+)$`)
)

// specNames names the YAML sections in unknown-field problems.
var specNames = map[string]string{
	"fileSpec": "the top level", "limitsSpec": "limits", "entrySpec": "an entry point",
	"flowSpec": "a flow", "nodeSpec": "a node", "condSpec": "a condition", "questionSpec": "a question",
}

// Options configure loading and validation.
type Options struct {
	// PromptDir is the prompt root (<PromptDir>/<lang>/<name>.wav). When set, every
	// referenced prompt must exist for every configured language. When empty, prompt files
	// are not checked and Play receives paths relative to the working directory.
	PromptDir string
	// Queues are the queue names the ACD configuration defines. When nil, queue names are
	// not checked; when non-nil (even empty), every queue a flow names must be in it.
	Queues []string
	// Logger receives load and reload messages; nil means slog.Default().
	Logger *slog.Logger
	// Recognizer hears the speech nodes (input speech or both); the loader asks it to
	// Check every speech node's grammar. Without one, an input: speech node is an error
	// and an input: both node takes keys only (a warning).
	Recognizer Recognizer
	// NoRecognizer says why Recognizer is nil (e.g. the error of sphinx.New when
	// PocketSphinx is not installed); the problems about speech nodes quote it.
	NoRecognizer error
	// Endpointing tunes how speech nodes find the start and end of what the caller says;
	// zero fields take the defaults.
	Endpointing Endpointing
}

// Load reads, parses and validates a flows file. On success it returns the Set and any
// warnings. When the file has errors it returns a nil Set, every problem found (errors and
// warnings, in line order) and a *ValidationError wrapping ErrInvalid; an unreadable file
// returns the read error.
func Load(file string, opts Options) (*Set, []Problem, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, fmt.Errorf("ivr: load flows: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("ivr: load flows: %w", err)
	}
	return Parse(file, data, opts)
}

// Parse is Load on bytes already read; file names the source in problems.
func Parse(file string, data []byte, opts Options) (*Set, []Problem, error) {
	c := &compiler{file: file, opts: opts, pos: map[string]int{}}
	set := c.parse(data)
	sort.SliceStable(c.problems, func(i, j int) bool { return c.problems[i].Line < c.problems[j].Line })
	if HasErrors(c.problems) {
		return nil, c.problems, &ValidationError{Problems: c.problems}
	}
	set.warnings = c.problems
	return set, c.problems, nil
}

// Validate loads a flows file and returns every problem found (nil when it is clean). A
// file that cannot be read is reported as one problem.
func Validate(file string, opts Options) []Problem {
	_, ps, err := Load(file, opts)
	if err != nil && !errors.Is(err, ErrInvalid) {
		return []Problem{{File: file, Severity: SeverityError, Reason: err.Error()}}
	}
	return ps
}

// compiler turns one file into a Set, collecting problems with positions.
type compiler struct {
	file     string
	opts     Options
	pos      map[string]int // "flows/main/nodes/menu/next" → line
	problems []Problem
	langs    []string
	prompts  *Prompts
	queues   map[string]bool
}

func (c *compiler) problem(sev Severity, line int, flow, node, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: c.file, Line: line, Flow: flow, Node: node, Severity: sev, Reason: fmt.Sprintf(format, args...)})
}

// at returns the line of the deepest known prefix of path.
func (c *compiler) at(path ...string) int {
	for n := len(path); n > 0; n-- {
		if l, ok := c.pos[strings.Join(path[:n], "/")]; ok {
			return l
		}
	}
	return 0
}

func (c *compiler) parse(data []byte) *Set {
	if len(data) > MaxFileSize {
		c.problem(SeverityError, 0, "", "", "file larger than %d bytes", MaxFileSize)
		return nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		c.yamlErrors(err)
		return nil
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		c.problem(SeverityError, root.Line, "", "", "flows file must be a YAML mapping")
		return nil
	}
	c.index(root.Content[0], "")
	var spec fileSpec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			c.yamlErrors(err)
			return nil
		}
		// Type errors leave the offending fields zero; compile the rest to report more.
		c.yamlErrors(err)
	}
	c.checkNodeFields(root.Content[0])
	c.dropDuplicateFieldErrors()
	return c.compile(&spec)
}

// yamlErrors turns a yaml error (syntax or *yaml.TypeError) into problems with lines.
func (c *compiler) yamlErrors(err error) {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		line := 0
		if sm := lineRE.FindStringSubmatch(m); sm != nil {
			line, _ = strconv.Atoi(sm[1])
		}
		m = strings.TrimPrefix(m, "yaml: ")
		if line > 0 {
			m = strings.TrimPrefix(m, "line "+strconv.Itoa(line)+": ")
		}
		if sm := unknownFieldRE.FindStringSubmatch(m); sm != nil {
			m = "unknown field " + sm[1] + " in " + specNames[sm[2]]
		}
		c.problem(SeverityError, line, "", "", "%s", m)
	}
}

// index records the line of every mapping key and sequence item under n.
func (c *compiler) index(n *yaml.Node, prefix string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := prefix + k.Value
			if _, dup := c.pos[p]; !dup {
				c.pos[p] = k.Line
			}
			c.index(v, p+"/")
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			p := prefix + strconv.Itoa(i)
			c.pos[p] = v.Line
			c.index(v, p+"/")
		}
	}
}

// checkNodeFields rejects fields that do not belong to a node's kind.
func (c *compiler) checkNodeFields(doc *yaml.Node) {
	flows := mapValue(doc, "flows")
	if flows == nil || flows.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(flows.Content); i += 2 {
		flowName := flows.Content[i].Value
		nodes := mapValue(flows.Content[i+1], "nodes")
		if nodes == nil || nodes.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(nodes.Content); j += 2 {
			nodeName, body := nodes.Content[j].Value, nodes.Content[j+1]
			if body.Kind != yaml.MappingNode {
				continue
			}
			kindNode := mapValue(body, "kind")
			if kindNode == nil {
				c.problem(SeverityError, nodes.Content[j].Line, flowName, nodeName, "kind is required")
				continue
			}
			kind := parseKind(kindNode.Value)
			if kind == KindInvalid {
				c.problem(SeverityError, kindNode.Line, flowName, nodeName, "unknown kind %q (want %s)", kindNode.Value, strings.Join(kindNames[1:], ", "))
				continue
			}
			allowed := allowedFields[kind]
			for k := 0; k+1 < len(body.Content); k += 2 {
				key := body.Content[k]
				switch key.Value {
				case "kind", "description", "set":
					continue
				}
				if !slices.Contains(allowed, key.Value) {
					c.problem(SeverityError, key.Line, flowName, nodeName, "field %s is not valid for a %s node (valid: %s)", key.Value, kind, strings.Join(allowed, ", "))
				}
			}
		}
	}
}

// dropDuplicateFieldErrors removes the decoder's "unknown field … in a node" problems where
// checkNodeFields reported the same line with the node's kind and valid fields.
func (c *compiler) dropDuplicateFieldErrors() {
	byNode := map[int]bool{}
	for _, p := range c.problems {
		if p.Node != "" {
			byNode[p.Line] = true
		}
	}
	c.problems = slices.DeleteFunc(c.problems, func(p Problem) bool {
		return p.Node == "" && byNode[p.Line] && strings.HasSuffix(p.Reason, " in a node")
	})
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func quote(s string) string { return strconv.Quote(s) }

func (c *compiler) compile(spec *fileSpec) *Set {
	if spec.Version != nil && *spec.Version != 1 {
		c.problem(SeverityError, c.at("version"), "", "", "unsupported version %d (want 1)", *spec.Version)
	}
	set := &Set{file: c.file, byDNIS: map[string]int{}, byWebRTC: map[string]int{}, byChat: map[string]int{}, flows: map[string]*Flow{}}

	// Languages: the default first.
	def := spec.DefaultLanguage
	if def == "" {
		def = "en"
		if len(spec.Languages) > 0 {
			def = spec.Languages[0]
		}
	}
	langs := []string{def}
	for i, l := range spec.Languages {
		if !langRE.MatchString(l) {
			c.problem(SeverityError, c.at("languages", strconv.Itoa(i)), "", "", "invalid language code %q", l)
			continue
		}
		if !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	if !langRE.MatchString(def) {
		c.problem(SeverityError, c.at("default_language"), "", "", "invalid language code %q", def)
	} else if len(spec.Languages) > 0 && !slices.Contains(spec.Languages, def) {
		c.problem(SeverityError, c.at("default_language"), "", "", "default language %s is not in languages", def)
	}
	c.langs = langs
	set.defaultLang, set.languages = def, langs

	if c.opts.PromptDir != "" {
		p, err := OpenPrompts(c.opts.PromptDir, langs...)
		if err != nil {
			c.problem(SeverityError, c.at("languages"), "", "", "%v", err)
			p = unscannedPrompts(c.opts.PromptDir, def)
		}
		c.prompts = p
	} else {
		c.prompts = unscannedPrompts("", def)
	}
	set.prompts = c.prompts
	set.recognizer, set.endpointing = c.opts.Recognizer, c.opts.Endpointing.withDefaults()

	if c.opts.Queues != nil {
		c.queues = make(map[string]bool, len(c.opts.Queues))
		for _, q := range c.opts.Queues {
			c.queues[q] = true
		}
	}
	set.defaultQueue = spec.DefaultQueue
	if spec.DefaultQueue == "" {
		c.problem(SeverityError, 1, "", "", "default_queue is required (error outcomes route there)")
	} else {
		c.checkQueue(c.at("default_queue"), "", "", spec.DefaultQueue)
	}

	set.maxSteps = DefaultMaxSteps
	if spec.Limits.MaxSteps != 0 {
		if spec.Limits.MaxSteps < minMaxSteps || spec.Limits.MaxSteps > maxMaxSteps {
			c.problem(SeverityError, c.at("limits", "max_steps"), "", "", "max_steps %d out of range %d–%d", spec.Limits.MaxSteps, minMaxSteps, maxMaxSteps)
		} else {
			set.maxSteps = spec.Limits.MaxSteps
		}
	}

	if len(spec.Flows) == 0 {
		c.problem(SeverityError, c.at("flows"), "", "", "no flows")
	}
	flowNames := make([]string, 0, len(spec.Flows))
	for name := range spec.Flows {
		flowNames = append(flowNames, name)
	}
	slices.Sort(flowNames)
	for _, name := range flowNames {
		if f := c.compileFlow(name, spec.Flows[name]); f != nil {
			f.set = set
			set.flows[name] = f
		}
	}
	for _, name := range flowNames {
		if f := set.flows[name]; f != nil {
			c.checkGraph(f, spec.Flows)
		}
	}

	for i, e := range spec.EntryPoints {
		line := c.at("entry_points", strconv.Itoa(i))
		ep := EntryPoint{DNIS: e.DNIS, WebRTC: e.WebRTC, Chat: e.Chat, Language: e.Language}
		kinds := 0
		for _, k := range []string{e.DNIS, e.WebRTC, e.Chat} {
			if k != "" {
				kinds++
			}
		}
		switch {
		case kinds != 1:
			c.problem(SeverityError, line, "", "", "entry point needs exactly one of dnis, webrtc, chat")
			continue
		case e.DNIS != "" && !dnisRE.MatchString(e.DNIS):
			c.problem(SeverityError, line, "", "", "invalid dnis %q", e.DNIS)
			continue
		case e.WebRTC != "" && !nameRE.MatchString(e.WebRTC):
			c.problem(SeverityError, line, "", "", "invalid webrtc entry name %q", e.WebRTC)
			continue
		case e.Chat != "" && !nameRE.MatchString(e.Chat):
			c.problem(SeverityError, line, "", "", "invalid chat entry name %q", e.Chat)
			continue
		}
		if e.Language != "" && !slices.Contains(langs, e.Language) {
			c.problem(SeverityError, c.at("entry_points", strconv.Itoa(i), "language"), "", "", "entry point language %s is not in languages", e.Language)
		}
		f, ok := set.flows[e.Flow]
		if !ok {
			if _, exists := spec.Flows[e.Flow]; !exists {
				c.problem(SeverityError, c.at("entry_points", strconv.Itoa(i), "flow"), "", "", "entry point names unknown flow %q", e.Flow)
			}
			continue
		}
		ep.Flow = f
		index, key := set.byDNIS, e.DNIS
		switch {
		case e.WebRTC != "":
			index, key = set.byWebRTC, e.WebRTC
		case e.Chat != "":
			index, key = set.byChat, e.Chat
		}
		if _, dup := index[key]; dup {
			c.problem(SeverityError, line, "", "", "duplicate entry point %q", key)
			continue
		}
		index[key] = len(set.entries)
		set.entries = append(set.entries, ep)
	}
	if len(spec.EntryPoints) == 0 {
		c.problem(SeverityWarning, 1, "", "", "no entry_points: no call can reach these flows")
	}
	c.checkChat(set)
	return set
}

func (c *compiler) checkQueue(line int, flow, node, q string) {
	if !nameRE.MatchString(q) {
		c.problem(SeverityError, line, flow, node, "invalid queue name %q", q)
		return
	}
	if c.queues != nil && !c.queues[q] {
		c.problem(SeverityError, line, flow, node, "unknown queue %q (not in the ACD configuration)", q)
	}
}

func (c *compiler) compileFlow(name string, fs flowSpec) *Flow {
	base := []string{"flows", name}
	if !nameRE.MatchString(name) {
		c.problem(SeverityError, c.at(base...), name, "", "invalid flow name (letters, digits, _ . -; starting with a letter)")
		return nil
	}
	f := &Flow{name: name, start: fs.Start, nodes: make(map[string]*node, len(fs.Nodes))}
	if len(fs.Nodes) == 0 {
		c.problem(SeverityError, c.at(base...), name, "", "flow has no nodes")
		return nil
	}
	names := make([]string, 0, len(fs.Nodes))
	for n := range fs.Nodes {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !nameRE.MatchString(n) {
			c.problem(SeverityError, c.at("flows", name, "nodes", n), name, n, "invalid node name (letters, digits, _ . -; starting with a letter)")
			continue
		}
		ns := fs.Nodes[n]
		f.nodes[n] = c.compileNode(name, n, &ns)
	}
	switch {
	case fs.Start == "":
		c.problem(SeverityError, c.at(base...), name, "", "start is required")
	case f.nodes[fs.Start] == nil && fs.Nodes[fs.Start].Kind == "":
		c.problem(SeverityError, c.at("flows", name, "start"), name, "", "start names unknown node %q", fs.Start)
	}
	return f
}

// nodeCtx carries a node's identity for problems.
type nodeCtx struct {
	c          *compiler
	flow, node string
	base       []string
}

func (x nodeCtx) line(field ...string) int {
	return x.c.at(append(slices.Clone(x.base), field...)...)
}

func (x nodeCtx) errf(field string, format string, args ...any) {
	x.report(SeverityError, field, format, args...)
}

func (x nodeCtx) warnf(field string, format string, args ...any) {
	x.report(SeverityWarning, field, format, args...)
}

func (x nodeCtx) report(sev Severity, field string, format string, args ...any) {
	var l int
	if field == "" {
		l = x.line()
	} else {
		l = x.line(strings.Split(field, "/")...)
	}
	x.c.problem(sev, l, x.flow, x.node, format, args...)
}

// required reports a missing field.
func (x nodeCtx) required(field, value string) {
	if value == "" {
		x.errf("", "%s is required", field)
	}
}

func (x nodeCtx) duration(field string, v *time.Duration, def, lo, hi time.Duration) time.Duration {
	if v == nil {
		return def
	}
	if *v < lo || *v > hi {
		x.errf(field, "%s %v out of range %v–%v", field, *v, lo, hi)
		return def
	}
	return *v
}

func (x nodeCtx) integer(field string, v *int, def, lo, hi int) int {
	if v == nil {
		return def
	}
	if *v < lo || *v > hi {
		x.errf(field, "%s %d out of range %d–%d", field, *v, lo, hi)
		return def
	}
	return *v
}

func (c *compiler) compileNode(flow, name string, ns *nodeSpec) *node {
	x := nodeCtx{c: c, flow: flow, node: name, base: []string{"flows", flow, "nodes", name}}
	n := &node{name: name, kind: parseKind(ns.Kind), line: x.line()}

	setKeys := make([]string, 0, len(ns.Set))
	for k := range ns.Set {
		setKeys = append(setKeys, k)
	}
	slices.Sort(setKeys)
	for _, k := range setKeys {
		if k == channelVar {
			x.errf("set/"+k, "cannot set variable %s (the session's channel sets it)", k)
			continue
		}
		if !varRE.MatchString(k) || strings.HasPrefix(k, "caller.") {
			x.errf("set/"+k, "cannot set variable %q (want call.*, input.*, contact.*, ticket.* or survey.* names)", k)
			continue
		}
		n.set = append(n.set, assign{name: k, value: ns.Set[k]})
	}

	n.prompts = c.promptList(x, "prompts", ns.Prompts)
	n.invalidPrompts = c.promptList(x, "invalid_prompts", ns.InvalidPrompts)
	n.timeoutPrompts = c.promptList(x, "timeout_prompts", ns.TimeoutPrompts)
	n.afterPrompts = c.promptList(x, "after_prompts", ns.AfterPrompts)
	n.confirmPrompts = c.promptList(x, "confirm_prompts", ns.ConfirmPrompts)
	n.enterPrompts = c.promptList(x, "enter_prompts", ns.EnterPrompts)
	n.refusedPrompts = c.promptList(x, "refused_prompts", ns.RefusedPrompts)
	n.next, n.def = ns.Next, ns.Default
	n.retries = x.integer("retries", ns.Retries, defaultRetries, 0, maxRetries)
	if n.kind != KindLookup {
		n.timeout = x.duration("timeout", ns.Timeout, defaultTimeout, minTimeout, maxTimeout)
	}

	switch n.kind {
	case KindPlay:
		x.required("next", ns.Next)
		if len(ns.Prompts) == 0 {
			x.errf("", "prompts is required")
		}
		n.interruptible = ns.Interruptible != nil && *ns.Interruptible
	case KindMenu:
		n.interruptible = ns.Interruptible == nil || *ns.Interruptible
		x.required("default", ns.Default)
		if len(ns.Options) == 0 {
			x.errf("", "options is required (digit: node)")
		}
		n.options = make(map[byte]string, len(ns.Options))
		for k, v := range ns.Options {
			if len(k) != 1 || !isDTMF(k[0]) {
				x.errf("options/"+k, "option key %q is not one DTMF digit (0-9, *, #, A-D; quote * and #)", k)
				continue
			}
			if v == "" {
				x.errf("options/"+k, "option %s has no target node", k)
				continue
			}
			n.options[k[0]] = v
		}
		n.labels = compileLabels(x, ns)
		if ns.Var != "" {
			n.varName = inputVar(x, ns.Var)
		}
		c.compileSpeech(x, ns, n)
	case KindGather:
		x.required("next", ns.Next)
		x.required("default", ns.Default)
		n.varName = inputVar(x, ns.Var)
		n.collect = c.collectSpec(x, ns, 1, defaultMaxDigits)
		n.confirm = ns.Confirm
		if ns.Confirm {
			c.checkPrompts(x, "confirm", []prompt{{name: "you_entered"}, {say: SayDigits}, {name: "confirm_entry"}})
		}
		c.compileSpeech(x, ns, n)
	case KindLookup:
		switch ns.Lookup {
		case "caller":
			n.key = "{caller.ani}"
		case "ticket":
			x.required("key", ns.Key)
		default:
			x.errf("lookup", "lookup %q: want caller or ticket", ns.Lookup)
		}
		if ns.Key != "" {
			n.key = ns.Key
		}
		n.lookup = ns.Lookup
		n.timeout = x.duration("timeout", ns.Timeout, defaultLookupTimeout, minLookupTimeout, maxLookupTimeout)
		x.required("found", ns.Found)
		x.required("not_found", ns.NotFound)
		x.required("error", ns.Error)
		n.found, n.notFound, n.onError = ns.Found, ns.NotFound, ns.Error
	case KindBranch:
		x.required("default", ns.Default)
		if len(ns.Conditions) == 0 {
			x.errf("", "conditions is required")
		}
		for i, cs := range ns.Conditions {
			if cd, ok := c.compileCond(x, strconv.Itoa(i), cs); ok {
				n.conds = append(n.conds, cd)
			}
		}
	case KindHours:
		n.sched = c.compileSchedule(x, ns)
		x.required("open", ns.Open)
		x.required("closed", ns.Closed)
		n.open, n.closed = ns.Open, ns.Closed
	case KindLanguage:
		x.required("next", ns.Next)
		if !slices.Contains(c.langs, ns.Language) {
			x.errf("language", "language %q is not in languages %v", ns.Language, c.langs)
		}
		n.language = ns.Language
	case KindQueue:
		x.required("queue", ns.Queue)
		if ns.Queue != "" {
			c.checkQueue(x.line("queue"), flow, name, ns.Queue)
		}
		n.queue = ns.Queue
		n.priority = x.integer("priority", ns.Priority, 0, 0, 100)
		skills := make([]string, 0, len(ns.Skills))
		for s := range ns.Skills {
			skills = append(skills, s)
		}
		slices.Sort(skills)
		for _, s := range skills {
			lvl := ns.Skills[s]
			if lvl < 1 || lvl > 5 {
				x.errf("skills/"+s, "skill %s level %d out of range 1–5", s, lvl)
				continue
			}
			if !nameRE.MatchString(s) && !templateRE.MatchString(s) {
				x.errf("skills/"+s, "invalid skill name %q", s)
				continue
			}
			n.skills = append(n.skills, skillTmpl{name: s, level: lvl})
		}
	case KindVoicemail:
		n.maxLength = x.duration("max_length", ns.MaxLength, defaultRecord, minRecord, maxRecord)
		if ns.Queue != "" {
			c.checkQueue(x.line("queue"), flow, name, ns.Queue)
		}
		n.queue = ns.Queue
	case KindCallback:
		x.required("default", ns.Default)
		if ns.Queue != "" {
			c.checkQueue(x.line("queue"), flow, name, ns.Queue)
		}
		n.queue = ns.Queue
		n.collect = c.collectSpec(x, ns, 7, 15)
		c.checkPrompts(x, "prompts", []prompt{{say: SayDigits}})
	case KindTransfer:
		if !targetRE.MatchString(ns.Target) {
			x.errf("target", "target %q must be a phone number (+15551234567) or a sip: URI", ns.Target)
		}
		n.target = ns.Target
	case KindHangup:
	case KindGoto:
		if (ns.Next == "") == (ns.Flow == "") {
			x.errf("", "goto needs exactly one of next, flow")
		}
		n.flow = ns.Flow
	case KindSurvey:
		x.required("next", ns.Next)
		if len(ns.Questions) == 0 {
			x.errf("", "questions is required")
		}
		seen := map[string]bool{}
		for i, qs := range ns.Questions {
			qx := nodeCtx{c: c, flow: flow, node: name, base: append(slices.Clone(x.base), "questions", strconv.Itoa(i))}
			q := question{name: qs.Name}
			if !identRE.MatchString(qs.Name) || seen[qs.Name] {
				qx.errf("name", "question name %q must be a unique lower-case name", qs.Name)
			}
			seen[qs.Name] = true
			switch qs.Scale {
			case "1-5":
				q.lo, q.hi = 1, 5
			case "0-10":
				q.lo, q.hi = 0, 10
			default:
				qx.errf("scale", "scale %q: want 1-5 or 0-10", qs.Scale)
			}
			if len(qs.Prompts) == 0 {
				qx.errf("", "question prompts are required")
			}
			q.prompts = c.promptList(qx, "prompts", qs.Prompts)
			q.invalidPrompts = c.promptList(qx, "invalid_prompts", qs.InvalidPrompts)
			q.timeout = qx.duration("timeout", qs.Timeout, defaultTimeout, minTimeout, maxTimeout)
			q.retries = qx.integer("retries", qs.Retries, 1, 0, maxRetries)
			n.questions = append(n.questions, q)
		}
	}
	return n
}

// inputVar checks a node's var and returns the variable it names.
func inputVar(x nodeCtx, v string) string {
	if !identRE.MatchString(v) {
		x.errf("var", "var %q must be a lower-case name (stored as input.<var>)", v)
	}
	return "input." + v
}

// maxLabel caps a menu button's label, in characters.
const maxLabel = 40

// compileLabels checks a menu's labels: each names one of its options and is a short line
// of printable text.
func compileLabels(x nodeCtx, ns *nodeSpec) map[byte]string {
	if len(ns.Labels) == 0 {
		return nil
	}
	labels := make(map[byte]string, len(ns.Labels))
	for k, v := range ns.Labels {
		if _, ok := ns.Options[k]; !ok {
			x.errf("labels/"+k, "label key %q is not an option of this menu", k)
			continue
		}
		printable := strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
		if strings.TrimSpace(v) == "" || utf8.RuneCountInString(v) > maxLabel || !printable {
			x.errf("labels/"+k, "label of option %s must be 1–%d printable characters", k, maxLabel)
			continue
		}
		labels[k[0]] = v
	}
	return labels
}

func isDTMF(b byte) bool {
	return (b >= '0' && b <= '9') || b == '*' || b == '#' || (b >= 'A' && b <= 'D')
}

func (c *compiler) collectSpec(x nodeCtx, ns *nodeSpec, defMin, defMax int) collectSpec {
	cs := collectSpec{terminator: '#'}
	cs.min = x.integer("min_digits", ns.MinDigits, defMin, 1, maxDigitsLimit)
	cs.max = x.integer("max_digits", ns.MaxDigits, max(defMax, cs.min), 1, maxDigitsLimit)
	if cs.min > cs.max {
		x.errf("min_digits", "min_digits %d is greater than max_digits %d", cs.min, cs.max)
	}
	if ns.Terminator != nil {
		switch *ns.Terminator {
		case "#", "*":
			cs.terminator = (*ns.Terminator)[0]
		case "":
			cs.terminator = 0
		default:
			x.errf("terminator", "terminator %q: want \"#\", \"*\" or \"\"", *ns.Terminator)
		}
	}
	cs.first = x.duration("first_digit_timeout", ns.FirstDigitTimeout, defaultTimeout, minTimeout, maxTimeout)
	cs.inter = x.duration("inter_digit_timeout", ns.InterDigitTimeout, defaultInterDigit, minInterDigit, maxInterDigit)
	if ns.Pattern != "" {
		re, err := regexp.Compile("^(?:" + ns.Pattern + ")$")
		if err != nil {
			x.errf("pattern", "pattern: %v", err)
		}
		cs.pattern = re
	}
	return cs
}

func (c *compiler) compileCond(x nodeCtx, idx string, cs condSpec) (cond, bool) {
	field := "conditions/" + idx
	if !varRE.MatchString(cs.Var) {
		x.errf(field, "condition var %q is not a variable (caller.*, contact.*, input.*, call.*, ticket.*, survey.*)", cs.Var)
		return cond{}, false
	}
	cd := cond{varName: cs.Var, next: cs.Next}
	ops := 0
	if cs.Equals != nil {
		ops++
		cd.op, cd.str = opEquals, *cs.Equals
	}
	if cs.NotEquals != nil {
		ops++
		cd.op, cd.str = opNotEquals, *cs.NotEquals
	}
	if cs.In != nil {
		ops++
		cd.op, cd.list = opIn, cs.In
	}
	for _, nc := range []struct {
		v  *float64
		op condOp
	}{{cs.Lt, opLt}, {cs.Le, opLe}, {cs.Gt, opGt}, {cs.Ge, opGe}} {
		if nc.v != nil {
			ops++
			cd.op, cd.num = nc.op, *nc.v
		}
	}
	if cs.Exists != nil {
		ops++
		cd.op, cd.exists = opExists, *cs.Exists
	}
	if ops != 1 {
		x.errf(field, "condition needs exactly one of equals, not_equals, in, lt, le, gt, ge, exists")
		return cond{}, false
	}
	if cs.Next == "" {
		x.errf(field, "condition next is required")
		return cond{}, false
	}
	return cd, true
}

func (c *compiler) compileSchedule(x nodeCtx, ns *nodeSpec) *schedule {
	if ns.Timezone == "" {
		x.errf("", "timezone is required (e.g. America/New_York)")
		return nil
	}
	loc, err := time.LoadLocation(ns.Timezone)
	if err != nil || ns.Timezone == "Local" {
		x.errf("timezone", "unknown timezone %q", ns.Timezone)
		return nil
	}
	s := &schedule{loc: loc, holidays: map[string]bool{}}
	if len(ns.Weekly) == 0 {
		x.errf("", "weekly is required (mon: [\"09:00-17:00\"], …)")
	}
	for day, spans := range ns.Weekly {
		wd, ok := weekdays[day]
		if !ok {
			x.errf("weekly/"+day, "unknown day %q (want mon, tue, wed, thu, fri, sat, sun)", day)
			continue
		}
		for i, sp := range spans {
			parsed, err := parseSpan(sp)
			if err != nil {
				x.errf("weekly/"+day+"/"+strconv.Itoa(i), "%v", err)
				continue
			}
			s.weekly[wd] = append(s.weekly[wd], parsed)
		}
	}
	for i, h := range ns.Holidays {
		d, err := time.Parse(time.DateOnly, h)
		if err != nil {
			x.errf("holidays/"+strconv.Itoa(i), "holiday %q: want YYYY-MM-DD", h)
			continue
		}
		s.holidays[d.Format(time.DateOnly)] = true
	}
	return s
}

// promptList compiles a prompt list and checks every prompt exists for every language.
func (c *compiler) promptList(x nodeCtx, field string, specs []promptSpec) []prompt {
	if len(specs) == 0 {
		return nil
	}
	out := make([]prompt, 0, len(specs))
	for i, ps := range specs {
		line := x.line(field, strconv.Itoa(i))
		if ps.bad != "" {
			x.c.problem(SeverityError, line, x.flow, x.node, "%s", ps.bad)
			continue
		}
		p := prompt{name: ps.Name, value: ps.Value, currency: ps.Currency}
		if ps.Say != "" {
			p.name = ""
			p.say = parseSayKind(ps.Say)
			if p.say == SayNone {
				x.c.problem(SeverityError, line, x.flow, x.node, "say %q: want digits, number, date, time or currency", ps.Say)
				continue
			}
			if ps.Value == "" {
				x.c.problem(SeverityError, line, x.flow, x.node, "say %s needs a value", ps.Say)
				continue
			}
			if ps.Currency != "" && p.say != SayCurrency {
				x.c.problem(SeverityError, line, x.flow, x.node, "currency is only valid with say: currency")
				continue
			}
			if ps.Currency != "" && ps.Currency != "USD" && ps.Currency != "EUR" {
				x.c.problem(SeverityError, line, x.flow, x.node, "currency %q: want USD or EUR", ps.Currency)
				continue
			}
		} else if !promptNameRE.MatchString(ps.Name) {
			x.c.problem(SeverityError, line, x.flow, x.node, "invalid prompt name %q (lower-case letters, digits, _)", ps.Name)
			continue
		}
		out = append(out, p)
	}
	c.checkPromptsAt(x, field, out)
	return out
}

func (c *compiler) checkPrompts(x nodeCtx, field string, ps []prompt) {
	c.checkPromptsAt(x, field, ps)
}

// checkPromptsAt reports every prompt (and say vocabulary word) missing in a language.
func (c *compiler) checkPromptsAt(x nodeCtx, field string, ps []prompt) {
	if c.prompts == nil || c.prompts.have == nil {
		return
	}
	for _, lang := range c.langs {
		var missing []string
		for _, p := range ps {
			names := []string{p.name}
			if p.say != SayNone {
				names = sayVocabulary(lang, p.say)
			}
			for _, name := range names {
				if !c.prompts.Has(lang, name) && !slices.Contains(missing, name) {
					missing = append(missing, name)
				}
			}
		}
		if len(missing) > 0 {
			x.errf(field, "prompt %s missing for language %s (in %s)", strings.Join(missing, ", "), lang, c.prompts.root)
		}
	}
}

// checkGraph checks a flow's edges: targets exist, every reachable node can reach an end,
// unreachable nodes (warnings).
func (c *compiler) checkGraph(f *Flow, specs map[string]flowSpec) {
	fieldOf := func(n *node, target string) string {
		switch target {
		case n.next:
			return "next"
		case n.def:
			return "default"
		case n.found:
			return "found"
		case n.notFound:
			return "not_found"
		case n.onError:
			return "error"
		case n.open:
			return "open"
		case n.closed:
			return "closed"
		}
		for d, t := range n.options {
			if t == target {
				return "options/" + string(d)
			}
		}
		for i, cd := range n.conds {
			if cd.next == target {
				return "conditions/" + strconv.Itoa(i) + "/next"
			}
		}
		return ""
	}
	broken := map[string]bool{}
	for _, p := range c.problems {
		if p.Flow == f.name && p.Node != "" && p.Severity == SeverityError {
			broken[p.Node] = true
		}
	}
	for _, name := range f.NodeNames() {
		n := f.nodes[name]
		x := nodeCtx{c: c, flow: f.name, node: name, base: []string{"flows", f.name, "nodes", name}}
		for _, t := range n.targets() {
			if _, ok := f.nodes[t]; !ok {
				x.errf(fieldOf(n, t), "target %q does not exist in flow %s", t, f.name)
				broken[name] = true
			}
		}
		if n.kind == KindGoto && n.flow != "" {
			if _, ok := specs[n.flow]; !ok {
				x.errf("flow", "goto names unknown flow %q", n.flow)
				broken[name] = true
			}
		}
	}
	if _, ok := f.nodes[f.start]; !ok {
		return
	}
	// Reachability from start.
	reach := map[string]bool{f.start: true}
	queue := []string{f.start}
	for len(queue) > 0 {
		n := f.nodes[queue[0]]
		queue = queue[1:]
		for _, t := range n.targets() {
			if _, ok := f.nodes[t]; ok && !reach[t] {
				reach[t] = true
				queue = append(queue, t)
			}
		}
	}
	// Nodes that can reach an end (terminal, goto another flow, or already broken).
	ends := map[string]bool{}
	rev := map[string][]string{}
	for name, n := range f.nodes {
		if n.kind.Terminal() || (n.kind == KindGoto && n.flow != "") || broken[name] || n.kind == KindInvalid {
			ends[name] = true
		}
		for _, t := range n.targets() {
			rev[t] = append(rev[t], name)
		}
	}
	queue = queue[:0]
	for name := range ends {
		queue = append(queue, name)
	}
	for len(queue) > 0 {
		t := queue[0]
		queue = queue[1:]
		for _, from := range rev[t] {
			if !ends[from] {
				ends[from] = true
				queue = append(queue, from)
			}
		}
	}
	for _, name := range f.NodeNames() {
		n := f.nodes[name]
		switch {
		case !reach[name]:
			c.problem(SeverityWarning, n.line, f.name, name, "unreachable from start node %s", f.start)
		case !ends[name]:
			c.problem(SeverityError, n.line, f.name, name, "no path from this node ends the call (loop without queue, hangup, transfer, voicemail or callback)")
		}
	}
}
