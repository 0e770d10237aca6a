package crmcore

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A Script guides an agent through a conversation: steps of text to say,
// each optionally asking a question whose answer picks the next step. A
// script belongs to queues or campaigns; the desk shows the script of the
// task's queue (or campaign), with {{contact.name}}-style variables filled
// from the screen pop, and the answers are saved on the interaction.
type Script struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Queues    []string     `json:"queues,omitempty"`
	Campaigns []string     `json:"campaigns,omitempty"`
	Steps     []ScriptStep `json:"steps"`
	Version   int          `json:"version"`
	Active    bool         `json:"active"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// ScriptStep is one step: text to say and an optional question. The first
// step starts the script; Next names the step after this one when the
// question's answer does not name one ("" ends the script).
type ScriptStep struct {
	ID       string          `json:"id"`
	Title    string          `json:"title,omitempty"`
	Text     string          `json:"text"`
	Question *ScriptQuestion `json:"question,omitempty"`
	Next     string          `json:"next,omitempty"`
}

// Question kinds.
const (
	QuestionChoice = "choice" // one of Choices; a choice may branch
	QuestionYesNo  = "yes_no" // "yes" or "no"; Choices may branch them
	QuestionText   = "text"   // free text up to MaxScriptAnswerLen
	QuestionNumber = "number" // a decimal number
)

// ScriptQuestion asks the customer something. An answer to a choice (or a
// yes/no whose Choices name "yes" and "no") may name the next step.
type ScriptQuestion struct {
	Kind     string         `json:"kind"`
	Label    string         `json:"label"`
	Required bool           `json:"required,omitempty"`
	Choices  []ScriptChoice `json:"choices,omitempty"`
}

// ScriptChoice is one answer to a choice question; Next, when set, is the
// step it leads to.
type ScriptChoice struct {
	Value string `json:"value"`
	Label string `json:"label,omitempty"`
	Next  string `json:"next,omitempty"`
}

// ScriptAnswers are the answers given along a script on one interaction,
// by step id, in the order the agent went.
type ScriptAnswers struct {
	InteractionID string         `json:"interaction_id"`
	ScriptID      string         `json:"script_id"`
	ScriptVersion int            `json:"script_version"`
	AgentID       string         `json:"agent_id"`
	Path          []string       `json:"path"`
	Answers       []ScriptAnswer `json:"answers"`
	SavedAt       time.Time      `json:"saved_at"`
}

// ScriptAnswer is the answer to one step's question.
type ScriptAnswer struct {
	Step  string `json:"step"`
	Value string `json:"value"`
}

// Script limits.
const (
	MaxScriptSteps     = 200
	MaxScriptChoices   = 20
	MaxScriptTextLen   = 4000
	MaxScriptAnswerLen = 1000
	MaxScriptTargets   = 50
)

var scriptIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate checks the script: ids well formed and unique, every Next and
// every choice's Next naming a step, questions well formed, sizes capped.
// Scripts may branch back to an earlier step (a retry loop); the answers
// are bounded by MaxScriptSteps instead.
func (s *Script) Validate() error {
	s.Name = strings.TrimSpace(s.Name)
	switch {
	case s.Name == "" || utf8.RuneCountInString(s.Name) > 200:
		return invalid("name", "1 to 200 characters")
	case len(s.Steps) == 0 || len(s.Steps) > MaxScriptSteps:
		return invalid("steps", fmt.Sprintf("1 to %d steps", MaxScriptSteps))
	case len(s.Queues)+len(s.Campaigns) > MaxScriptTargets:
		return invalid("queues", fmt.Sprintf("at most %d queues and campaigns", MaxScriptTargets))
	}
	for _, names := range [][]string{s.Queues, s.Campaigns} {
		for _, n := range names {
			if n == "" || len(n) > 64 || HeaderSafe(n) != nil {
				return invalid("queues", fmt.Sprintf("bad queue or campaign name %q", n))
			}
		}
	}
	ids := make(map[string]bool, len(s.Steps))
	for i, st := range s.Steps {
		if !scriptIDRe.MatchString(st.ID) {
			return invalid("steps", fmt.Sprintf("step %d: id %q: want lower-case letters, digits, - and _", i+1, st.ID))
		}
		if ids[st.ID] {
			return invalid("steps", fmt.Sprintf("step %d: id %q used twice", i+1, st.ID))
		}
		ids[st.ID] = true
	}
	for i, st := range s.Steps {
		field := func(what string) error {
			return invalid("steps", fmt.Sprintf("step %d (%s): %s", i+1, st.ID, what))
		}
		if !utf8.ValidString(st.Text) || len(st.Text) > MaxScriptTextLen || len(st.Title) > 200 {
			return field(fmt.Sprintf("text of at most %d bytes of UTF-8", MaxScriptTextLen))
		}
		if st.Next != "" && !ids[st.Next] {
			return field(fmt.Sprintf("next names no step: %q", st.Next))
		}
		if err := checkVariables(st.Text); err != nil {
			return field(err.Error())
		}
		q := st.Question
		if q == nil {
			continue
		}
		if len(q.Label) > 500 || !utf8.ValidString(q.Label) {
			return field("question label of at most 500 bytes")
		}
		switch q.Kind {
		case QuestionChoice:
			if len(q.Choices) < 2 {
				return field("a choice question needs at least two choices")
			}
		case QuestionYesNo:
			for _, c := range q.Choices {
				if c.Value != "yes" && c.Value != "no" {
					return field(`a yes/no question's choices are "yes" and "no"`)
				}
			}
		case QuestionText, QuestionNumber:
			if len(q.Choices) > 0 {
				return field("only choice and yes/no questions have choices")
			}
		default:
			return field(fmt.Sprintf("question kind %q: want choice, yes_no, text or number", q.Kind))
		}
		if len(q.Choices) > MaxScriptChoices {
			return field(fmt.Sprintf("at most %d choices", MaxScriptChoices))
		}
		seen := map[string]bool{}
		for _, c := range q.Choices {
			if c.Value == "" || len(c.Value) > 100 || len(c.Label) > 200 || seen[c.Value] {
				return field(fmt.Sprintf("choice %q: values are 1 to 100 bytes and unique", c.Value))
			}
			seen[c.Value] = true
			if c.Next != "" && !ids[c.Next] {
				return field(fmt.Sprintf("choice %q leads to no step: %q", c.Value, c.Next))
			}
		}
	}
	return nil
}

// step returns the step named id.
func (s *Script) step(id string) (ScriptStep, bool) {
	i := slices.IndexFunc(s.Steps, func(st ScriptStep) bool { return st.ID == id })
	if i < 0 {
		return ScriptStep{}, false
	}
	return s.Steps[i], true
}

// Walk follows the script from its first step with the answers given in
// order, checks each answer against its step's question, and returns the
// steps visited. The answers must follow the script's branches: each
// answer is for the step the walk is at; a step without a question moves
// on to its Next. Walking stops at the end of the script or where the
// answers run out (an agent may save part of a script); a required
// question left unanswered before the end is allowed only then.
func (s *Script) Walk(answers []ScriptAnswer) (path []string, err error) {
	if len(answers) > MaxScriptSteps {
		return nil, invalid("answers", fmt.Sprintf("at most %d answers", MaxScriptSteps))
	}
	cur, next := s.Steps[0], 0
	for range MaxScriptSteps * 2 {
		path = append(path, cur.ID)
		to := cur.Next
		if q := cur.Question; q != nil {
			if next == len(answers) {
				return path, nil
			}
			a := answers[next]
			if a.Step != cur.ID {
				return nil, invalid("answers", fmt.Sprintf("answer %d is for step %q; the script is at step %q", next+1, a.Step, cur.ID))
			}
			next++
			if err := q.check(a.Value); err != nil {
				return nil, invalid("answers", fmt.Sprintf("step %q: %v", cur.ID, err))
			}
			if i := slices.IndexFunc(q.Choices, func(c ScriptChoice) bool { return c.Value == a.Value }); i >= 0 && q.Choices[i].Next != "" {
				to = q.Choices[i].Next
			}
		}
		if to == "" {
			if next < len(answers) {
				return nil, invalid("answers", fmt.Sprintf("answer %d comes after the end of the script", next+1))
			}
			return path, nil
		}
		cur, _ = s.step(to)
	}
	return nil, invalid("answers", "the answers loop through the script too long")
}

// check validates one answer to q.
func (q *ScriptQuestion) check(v string) error {
	if !utf8.ValidString(v) || len(v) > MaxScriptAnswerLen {
		return fmt.Errorf("answers are at most %d bytes of UTF-8", MaxScriptAnswerLen)
	}
	if v == "" {
		if q.Required {
			return fmt.Errorf("an answer is required")
		}
		return nil
	}
	switch q.Kind {
	case QuestionChoice:
		if !slices.ContainsFunc(q.Choices, func(c ScriptChoice) bool { return c.Value == v }) {
			return fmt.Errorf("%q is not one of the choices", v)
		}
	case QuestionYesNo:
		if v != "yes" && v != "no" {
			return fmt.Errorf(`want "yes" or "no", not %q`, v)
		}
	case QuestionNumber:
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
	}
	return nil
}

var scriptVarRe = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// ScriptVariables are the names a script's text may use as {{name}}; the
// desk fills them from the screen pop and inserts the result as text.
var ScriptVariables = []string{"contact.name", "contact.first_name", "contact.email", "contact.phone",
	"account.name", "agent.name", "queue", "caller.number", "ticket.number", "ticket.subject"}

// checkVariables reports the first {{name}} in text that is no ScriptVariables name.
func checkVariables(text string) error {
	for _, m := range scriptVarRe.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(ScriptVariables, m[1]) {
			return fmt.Errorf("unknown variable {{%s}} (known: %s)", m[1], strings.Join(ScriptVariables, ", "))
		}
	}
	return nil
}
