package ivr

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// The YAML shape of a flows file. These types are decoded with KnownFields(true); the
// compiler in load.go turns them into the immutable model in flow.go.

type fileSpec struct {
	Version         *int                `yaml:"version"`
	DefaultLanguage string              `yaml:"default_language"`
	Languages       []string            `yaml:"languages"`
	DefaultQueue    string              `yaml:"default_queue"`
	Limits          limitsSpec          `yaml:"limits"`
	EntryPoints     []entrySpec         `yaml:"entry_points"`
	Flows           map[string]flowSpec `yaml:"flows"`
}

type limitsSpec struct {
	MaxSteps int `yaml:"max_steps"`
}

type entrySpec struct {
	DNIS     string `yaml:"dnis"`
	WebRTC   string `yaml:"webrtc"`
	Chat     string `yaml:"chat"`
	Flow     string `yaml:"flow"`
	Language string `yaml:"language"`
}

type flowSpec struct {
	Description string              `yaml:"description"`
	Start       string              `yaml:"start"`
	Nodes       map[string]nodeSpec `yaml:"nodes"`
}

type nodeSpec struct {
	Kind        string            `yaml:"kind"`
	Description string            `yaml:"description"`
	Set         map[string]string `yaml:"set"`

	Prompts        []promptSpec      `yaml:"prompts"`
	Interruptible  *bool             `yaml:"interruptible"`
	Next           string            `yaml:"next"`
	Default        string            `yaml:"default"`
	Options        map[string]string `yaml:"options"`
	Labels         map[string]string `yaml:"labels"`
	Timeout        *time.Duration    `yaml:"timeout"`
	Retries        *int              `yaml:"retries"`
	InvalidPrompts []promptSpec      `yaml:"invalid_prompts"`
	TimeoutPrompts []promptSpec      `yaml:"timeout_prompts"`

	Var               string         `yaml:"var"`
	MinDigits         *int           `yaml:"min_digits"`
	MaxDigits         *int           `yaml:"max_digits"`
	Terminator        *string        `yaml:"terminator"`
	FirstDigitTimeout *time.Duration `yaml:"first_digit_timeout"`
	InterDigitTimeout *time.Duration `yaml:"inter_digit_timeout"`
	Pattern           string         `yaml:"pattern"`
	Confirm           bool           `yaml:"confirm"`

	Input      string              `yaml:"input"`
	Phrases    map[string][]string `yaml:"phrases"`
	Grammar    string              `yaml:"grammar"`
	Confidence *float64            `yaml:"confidence"`
	NoInput    *time.Duration      `yaml:"no_input"`

	Lookup   string `yaml:"lookup"`
	Key      string `yaml:"key"`
	Found    string `yaml:"found"`
	NotFound string `yaml:"not_found"`
	Error    string `yaml:"error"`

	Conditions []condSpec `yaml:"conditions"`

	Timezone string              `yaml:"timezone"`
	Weekly   map[string][]string `yaml:"weekly"`
	Holidays []string            `yaml:"holidays"`
	Open     string              `yaml:"open"`
	Closed   string              `yaml:"closed"`

	Language string `yaml:"language"`

	Queue    string         `yaml:"queue"`
	Skills   map[string]int `yaml:"skills"`
	Priority *int           `yaml:"priority"`

	MaxLength      *time.Duration `yaml:"max_length"`
	AfterPrompts   []promptSpec   `yaml:"after_prompts"`
	ConfirmPrompts []promptSpec   `yaml:"confirm_prompts"`
	EnterPrompts   []promptSpec   `yaml:"enter_prompts"`
	RefusedPrompts []promptSpec   `yaml:"refused_prompts"`

	Target string `yaml:"target"`
	Flow   string `yaml:"flow"`

	Questions []questionSpec `yaml:"questions"`
}

type condSpec struct {
	Var       string   `yaml:"var"`
	Equals    *string  `yaml:"equals"`
	NotEquals *string  `yaml:"not_equals"`
	In        []string `yaml:"in"`
	Lt        *float64 `yaml:"lt"`
	Le        *float64 `yaml:"le"`
	Gt        *float64 `yaml:"gt"`
	Ge        *float64 `yaml:"ge"`
	Exists    *bool    `yaml:"exists"`
	Next      string   `yaml:"next"`
}

type questionSpec struct {
	Name           string         `yaml:"name"`
	Prompts        []promptSpec   `yaml:"prompts"`
	InvalidPrompts []promptSpec   `yaml:"invalid_prompts"`
	Scale          string         `yaml:"scale"`
	Timeout        *time.Duration `yaml:"timeout"`
	Retries        *int           `yaml:"retries"`
}

// promptSpec is either a scalar prompt name or a mapping {say, value, currency}. Problems
// are kept in bad (with the line) rather than returned, so that one bad item does not stop
// the decoder from reporting everything else.
type promptSpec struct {
	Name     string
	Say      string
	Value    string
	Currency string
	line     int
	bad      string
}

// UnmarshalYAML accepts "name" or {say: kind, value: v, currency: USD}.
func (p *promptSpec) UnmarshalYAML(n *yaml.Node) error {
	p.line = n.Line
	switch n.Kind {
	case yaml.ScalarNode:
		p.Name = n.Value
		return nil
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				p.bad = "prompt item field " + k.Value + " must be a scalar"
				p.line = k.Line
				return nil
			}
			switch k.Value {
			case "say":
				p.Say = v.Value
			case "value":
				p.Value = v.Value
			case "currency":
				p.Currency = v.Value
			default:
				p.bad = "unknown prompt item field " + quote(k.Value) + " (want say, value, currency)"
				p.line = k.Line
				return nil
			}
		}
		if p.Say == "" {
			p.bad = "prompt item mapping needs say: digits|number|date|time|currency"
		}
		return nil
	default:
		p.bad = "prompt item must be a prompt name or a {say, value} mapping"
		return nil
	}
}

// allowedFields lists the YAML fields each node kind accepts (besides kind, description, set).
var allowedFields = map[NodeKind][]string{
	KindPlay:      {"prompts", "interruptible", "next"},
	KindMenu:      {"prompts", "interruptible", "options", "labels", "var", "input", "phrases", "confidence", "no_input", "timeout", "retries", "invalid_prompts", "timeout_prompts", "default"},
	KindGather:    {"prompts", "var", "min_digits", "max_digits", "terminator", "first_digit_timeout", "inter_digit_timeout", "pattern", "confirm", "input", "phrases", "grammar", "confidence", "no_input", "retries", "invalid_prompts", "timeout_prompts", "next", "default"},
	KindLookup:    {"lookup", "key", "timeout", "found", "not_found", "error"},
	KindBranch:    {"conditions", "default"},
	KindHours:     {"timezone", "weekly", "holidays", "open", "closed"},
	KindLanguage:  {"language", "next"},
	KindQueue:     {"prompts", "queue", "skills", "priority"},
	KindVoicemail: {"prompts", "max_length", "after_prompts", "queue"},
	KindCallback:  {"prompts", "confirm_prompts", "enter_prompts", "refused_prompts", "after_prompts", "queue", "min_digits", "max_digits", "timeout", "first_digit_timeout", "inter_digit_timeout", "retries", "invalid_prompts", "timeout_prompts", "default"},
	KindTransfer:  {"prompts", "target"},
	KindHangup:    {"prompts"},
	KindGoto:      {"next", "flow"},
	KindSurvey:    {"prompts", "questions", "next"},
}
