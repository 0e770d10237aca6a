package pgstore

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/crmcore"
)

func testScript(name string, queues ...string) crmcore.Script {
	return crmcore.Script{Name: name, Queues: queues, Active: true, Steps: []crmcore.ScriptStep{
		{ID: "greet", Text: "Hello {{contact.name}}.", Next: "reason"},
		{ID: "reason", Text: "What is the call about?", Question: &crmcore.ScriptQuestion{Kind: crmcore.QuestionChoice, Label: "Reason",
			Choices: []crmcore.ScriptChoice{{Value: "billing", Next: "amount"}, {Value: "other"}}}},
		{ID: "amount", Text: "Which amount?", Question: &crmcore.ScriptQuestion{Kind: crmcore.QuestionNumber, Label: "Amount", Required: true}},
	}}
}

// TestScriptsVersionsAndAnswers: a script changes by versions; the script
// for a queue is the newest active one naming it, a campaign's first;
// answers are checked against the version they name and replaced on a
// second save.
func TestScriptsVersionsAndAnswers(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	a, err := s.CreateScript(ctx, testScript("Sales", "sales"), "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != 1 || a.ID == "" {
		t.Fatalf("created %+v, want version 1 with an id", a)
	}
	if _, err := s.CreateScript(ctx, crmcore.Script{Name: "bad"}, ""); !errors.Is(err, crmcore.ErrInvalid) {
		t.Errorf("create an invalid script: %v, want ErrInvalid", err)
	}
	if _, err := s.UpdateScript(ctx, crmcore.Script{ID: crmcore.NewID(), Name: "x", Steps: a.Steps}, ""); !errors.Is(err, crmcore.ErrNotFound) {
		t.Errorf("update a missing script: %v, want ErrNotFound", err)
	}
	camp := testScript("Renewals campaign")
	camp.Campaigns = []string{"renewals"}
	if _, err := s.CreateScript(ctx, camp, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ScriptFor(ctx, "sales", ""); err != nil || got.ID != a.ID {
		t.Errorf("script for sales = %q, %v; want Sales", got.Name, err)
	}
	if got, err := s.ScriptFor(ctx, "sales", "renewals"); err != nil || got.Name != "Renewals campaign" {
		t.Errorf("script for campaign renewals = %q, %v", got.Name, err)
	}
	if _, err := s.ScriptFor(ctx, "support", ""); !errors.Is(err, crmcore.ErrNotFound) {
		t.Errorf("script for support: %v, want ErrNotFound", err)
	}

	interaction := crmcore.NewID()
	ans := crmcore.ScriptAnswers{InteractionID: interaction, ScriptID: a.ID, ScriptVersion: 1,
		Answers: []crmcore.ScriptAnswer{{Step: "reason", Value: "billing"}, {Step: "amount", Value: "42.50"}}}
	saved, err := s.SaveScriptAnswers(ctx, ans)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"greet", "reason", "amount"}, saved.Path); d != "" {
		t.Errorf("path (-want +got):\n%s", d)
	}
	// Version 2 drops the amount step; answers to version 1 still hold.
	v2 := a
	v2.Steps = v2.Steps[:2]
	v2.Steps[1].Question = &crmcore.ScriptQuestion{Kind: crmcore.QuestionChoice, Label: "Reason",
		Choices: []crmcore.ScriptChoice{{Value: "billing"}, {Value: "other"}}}
	if got, err := s.UpdateScript(ctx, v2, ""); err != nil || got.Version != 2 {
		t.Fatalf("update = %+v, %v; want version 2", got, err)
	}
	if _, err := s.SaveScriptAnswers(ctx, crmcore.ScriptAnswers{InteractionID: interaction, ScriptID: a.ID, ScriptVersion: 1,
		Answers: []crmcore.ScriptAnswer{{Step: "reason", Value: "refund"}}}); !errors.Is(err, crmcore.ErrInvalid) {
		t.Errorf("answers off the choices: %v, want ErrInvalid", err)
	}
	if _, err := s.SaveScriptAnswers(ctx, crmcore.ScriptAnswers{InteractionID: interaction, ScriptID: a.ID, ScriptVersion: 7}); !errors.Is(err, crmcore.ErrNotFound) {
		t.Errorf("answers to a missing version: %v, want ErrNotFound", err)
	}
	again := ans
	again.Answers = []crmcore.ScriptAnswer{{Step: "reason", Value: "other"}}
	if _, err := s.SaveScriptAnswers(ctx, again); err != nil {
		t.Fatal(err)
	}
	got, err := s.ScriptAnswersOf(ctx, interaction)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ScriptVersion != 1 || cmp.Diff(again.Answers, got[0].Answers) != "" || cmp.Diff([]string{"greet", "reason"}, got[0].Path) != "" {
		t.Errorf("answers on the interaction = %+v, want the second save only", got)
	}
	list, err := s.Scripts(ctx)
	if err != nil || len(list) != 2 || list[1].Version != 2 {
		t.Errorf("scripts = %+v, %v; want 2, Sales at version 2", list, err)
	}
}
