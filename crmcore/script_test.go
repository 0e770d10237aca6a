package crmcore

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// renewalScript asks whether the customer renews; "no" branches to an
// offer, which loops back to the question once declined.
func renewalScript() Script {
	return Script{Name: "Renewal", Queues: []string{"sales"}, Steps: []ScriptStep{
		{ID: "greet", Text: "Hello {{contact.name}}, this is {{agent.name}}.", Next: "renew"},
		{ID: "renew", Text: "Your plan ends soon.", Question: &ScriptQuestion{Kind: QuestionYesNo, Label: "Renew?", Required: true,
			Choices: []ScriptChoice{{Value: "yes", Next: "seats"}, {Value: "no", Next: "offer"}}}},
		{ID: "offer", Text: "We can offer 20 % off.", Question: &ScriptQuestion{Kind: QuestionChoice, Label: "Offer",
			Choices: []ScriptChoice{{Value: "accepted", Next: "seats"}, {Value: "declined", Next: "bye"}, {Value: "think", Next: "renew"}}}},
		{ID: "seats", Text: "How many seats?", Question: &ScriptQuestion{Kind: QuestionNumber, Label: "Seats"}, Next: "notes"},
		{ID: "notes", Text: "Anything else?", Question: &ScriptQuestion{Kind: QuestionText, Label: "Notes"}, Next: "bye"},
		{ID: "bye", Text: "Thank you, {{contact.first_name}}."},
	}}
}

func TestScriptValidate(t *testing.T) {
	good := renewalScript()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Script)
		field string
		want  string
	}{
		{"no name", func(s *Script) { s.Name = " " }, "name", ""},
		{"no steps", func(s *Script) { s.Steps = nil }, "steps", ""},
		{"bad id", func(s *Script) { s.Steps[0].ID = "Greet!" }, "steps", "id"},
		{"id twice", func(s *Script) { s.Steps[1].ID = "greet" }, "steps", "used twice"},
		{"next to nowhere", func(s *Script) { s.Steps[0].Next = "nowhere" }, "steps", "next names no step"},
		{"choice to nowhere", func(s *Script) { s.Steps[2].Question.Choices[0].Next = "x" }, "steps", "leads to no step"},
		{"one choice", func(s *Script) { s.Steps[2].Question.Choices = s.Steps[2].Question.Choices[:1] }, "steps", "two choices"},
		{"yes/no with maybe", func(s *Script) { s.Steps[1].Question.Choices[0].Value = "maybe" }, "steps", "yes"},
		{"unknown kind", func(s *Script) { s.Steps[3].Question.Kind = "date" }, "steps", "kind"},
		{"unknown variable", func(s *Script) { s.Steps[0].Text = "Hi {{contact.ssn}}" }, "steps", "unknown variable"},
		{"bad queue", func(s *Script) { s.Queues = []string{"sales\r\nX: y"} }, "queues", ""},
		{"huge text", func(s *Script) { s.Steps[0].Text = strings.Repeat("a", MaxScriptTextLen+1) }, "steps", "text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := renewalScript()
			tc.edit(&s)
			err := s.Validate()
			var ve *FieldError
			if !errors.As(err, &ve) || ve.Field != tc.field || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want a %q error mentioning %q", err, tc.field, tc.want)
			}
		})
	}
}

func TestScriptWalk(t *testing.T) {
	s := renewalScript()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	a := func(kv ...string) []ScriptAnswer {
		var out []ScriptAnswer
		for i := 0; i < len(kv); i += 2 {
			out = append(out, ScriptAnswer{Step: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		answers []ScriptAnswer
		path    []string
		err     string
	}{
		{"renews", a("renew", "yes", "seats", "12", "notes", "call back in May"), []string{"greet", "renew", "seats", "notes", "bye"}, ""},
		{"declines the offer", a("renew", "no", "offer", "declined"), []string{"greet", "renew", "offer", "bye"}, ""},
		{"thinks, then renews", a("renew", "no", "offer", "think", "renew", "yes", "seats", "3", "notes", ""), []string{"greet", "renew", "offer", "renew", "seats", "notes", "bye"}, ""},
		{"part of the script", a("renew", "yes"), []string{"greet", "renew", "seats"}, ""},
		{"nothing answered", nil, []string{"greet", "renew"}, ""},
		{"off the branch", a("renew", "yes", "offer", "accepted"), nil, `answer 2 is for step "offer"`},
		{"not a choice", a("renew", "no", "offer", "maybe"), nil, "not one of the choices"},
		{"not a number", a("renew", "yes", "seats", "a dozen"), nil, "not a number"},
		{"required left empty", a("renew", ""), nil, "required"},
		{"after the end", a("renew", "no", "offer", "declined", "notes", "x"), nil, "after the end"},
		{"too long", a("renew", "yes", "seats", "1", "notes", strings.Repeat("x", MaxScriptAnswerLen+1)), nil, "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, err := s.Walk(tc.answers)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Walk = %v, %v; want an error mentioning %q", path, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.path, path); d != "" {
				t.Errorf("path (-want +got):\n%s", d)
			}
		})
	}
	// Going round a loop is bounded by the number of answers.
	var loop []ScriptAnswer
	for range MaxScriptSteps / 2 {
		loop = append(loop, a("renew", "no", "offer", "think")...)
	}
	if path, err := s.Walk(loop); err != nil || len(path) != len(loop)+2 {
		t.Errorf("Walk of %d answers round a loop = %d steps, %v", len(loop), len(path), err)
	}
	if _, err := s.Walk(append(loop, a("renew", "yes")...)); err == nil {
		t.Errorf("Walk of %d answers succeeded", len(loop)+1)
	}
}
