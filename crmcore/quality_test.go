package crmcore

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func testForm() QAForm {
	return QAForm{ID: NewID(), Version: 1, Name: "Voice basics", Active: true, Sections: []QASection{
		{Title: "Opening", Questions: []QAQuestion{
			{ID: "greeting", Text: "Greeted the caller", Kind: QAYesNo, Weight: 10},
			{ID: "verify", Text: "Verified identity", Kind: QAYesNo, Weight: 20, AutoFail: true},
		}},
		{Title: "Handling", Questions: []QAQuestion{
			{ID: "empathy", Text: "Empathy", Kind: QAScale, Max: 5, Weight: 40},
			{ID: "upsell", Text: "Offered the upgrade", Kind: QANAAllowed, Weight: 30},
		}},
	}}
}

func yes() QAAnswer { return QAAnswer{Value: 1} }
func no() QAAnswer  { return QAAnswer{Value: 0} }
func na() QAAnswer  { return QAAnswer{NA: true} }

func TestScoreQA(t *testing.T) {
	f := testForm()
	tests := []struct {
		name    string
		answers map[string]QAAnswer
		want    QAResult
		wantErr bool
	}{
		{"all top", map[string]QAAnswer{"greeting": yes(), "verify": yes(), "empathy": {Value: 5}, "upsell": yes()}, QAResult{Score: 100}, false},
		{"weighted", map[string]QAAnswer{"greeting": no(), "verify": yes(), "empathy": {Value: 3}, "upsell": no()},
			QAResult{Score: 44}, false}, // (0 + 20 + 40·3/5 + 0) / 100
		{"n/a leaves the denominator", map[string]QAAnswer{"greeting": no(), "verify": yes(), "empathy": {Value: 5}, "upsell": na()},
			QAResult{Score: 85.71}, false}, // 60 / 70
		{"auto-fail", map[string]QAAnswer{"greeting": yes(), "verify": no(), "empathy": {Value: 5}, "upsell": yes()},
			QAResult{Score: 0, Failed: true}, false},
		{"missing answer", map[string]QAAnswer{"greeting": yes(), "verify": yes(), "empathy": {Value: 5}}, QAResult{}, true},
		{"n/a not allowed", map[string]QAAnswer{"greeting": na(), "verify": yes(), "empathy": {Value: 5}, "upsell": yes()}, QAResult{}, true},
		{"over the scale", map[string]QAAnswer{"greeting": yes(), "verify": yes(), "empathy": {Value: 6}, "upsell": yes()}, QAResult{}, true},
		{"yes/no over 1", map[string]QAAnswer{"greeting": {Value: 2}, "verify": yes(), "empathy": {Value: 5}, "upsell": yes()}, QAResult{}, true},
		{"negative", map[string]QAAnswer{"greeting": yes(), "verify": yes(), "empathy": {Value: -1}, "upsell": yes()}, QAResult{}, true},
		{"unknown question", map[string]QAAnswer{"greeting": yes(), "verify": yes(), "empathy": {Value: 5}, "upsell": yes(), "x": yes()}, QAResult{}, true},
		{"n/a with a value", map[string]QAAnswer{"greeting": yes(), "verify": yes(), "empathy": {Value: 5}, "upsell": {Value: 1, NA: true}}, QAResult{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ScoreQA(f, tc.answers)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	allNA := QAForm{Sections: []QASection{{Title: "x", Questions: []QAQuestion{{ID: "a", Text: "a", Kind: QANAAllowed, Weight: 1}}}}}
	if got, err := ScoreQA(allNA, map[string]QAAnswer{"a": na()}); err != nil || got.Score != 100 {
		t.Errorf("all N/A: %+v, %v; want 100", got, err)
	}
}

// genForm draws a valid form of 1–12 questions of every kind.
func genForm(t *rapid.T) QAForm {
	n := rapid.IntRange(1, 12).Draw(t, "questions")
	var qs []QAQuestion
	for i := range n {
		q := QAQuestion{ID: fmt.Sprintf("q%d", i), Text: "question", Weight: rapid.IntRange(1, MaxQAWeight).Draw(t, "weight"),
			Kind: rapid.SampledFrom([]QAQuestionKind{QAYesNo, QAScale, QANAAllowed}).Draw(t, "kind")}
		if q.Kind == QAScale {
			q.Max = rapid.IntRange(1, MaxQAScale).Draw(t, "max")
		} else {
			q.AutoFail = rapid.Bool().Draw(t, "autofail")
		}
		qs = append(qs, q)
	}
	f := QAForm{Name: "f", Sections: []QASection{{Title: "s", Questions: qs}}}
	if err := f.Validate(); err != nil {
		t.Fatalf("generated an invalid form: %v", err)
	}
	return f
}

func genAnswers(t *rapid.T, f QAForm) map[string]QAAnswer {
	as := map[string]QAAnswer{}
	for _, q := range f.Questions() {
		if q.Kind == QANAAllowed && rapid.Bool().Draw(t, "na") {
			as[q.ID] = na()
			continue
		}
		as[q.ID] = QAAnswer{Value: rapid.IntRange(0, q.top()).Draw(t, "value")}
	}
	return as
}

// TestScoreQAProperties: the score is within 0–100; failed exactly when
// an auto-fail question is answered no, and then 0; top answers score
// 100; an N/A counts as if the question were not on the form; and
// raising one answer never lowers the score unless it fails.
func TestScoreQAProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := genForm(t)
		as := genAnswers(t, f)
		got, err := ScoreQA(f, as)
		if err != nil {
			t.Fatal(err)
		}
		if got.Score < 0 || got.Score > 100 || math.IsNaN(got.Score) {
			t.Fatalf("score %v out of range", got.Score)
		}
		fail := false
		for _, q := range f.Questions() {
			fail = fail || (q.AutoFail && !as[q.ID].NA && as[q.ID].Value == 0)
		}
		if got.Failed != fail || (fail && got.Score != 0) {
			t.Fatalf("got %+v, auto-fail hit %v", got, fail)
		}
		top := map[string]QAAnswer{}
		for _, q := range f.Questions() {
			top[q.ID] = QAAnswer{Value: q.top()}
		}
		if r, _ := ScoreQA(f, top); r.Score != 100 || r.Failed {
			t.Fatalf("top answers: %+v", r)
		}
		// N/A ≡ the question left off the form.
		var kept []QAQuestion
		for _, q := range f.Questions() {
			if !as[q.ID].NA {
				kept = append(kept, q)
			}
		}
		if len(kept) > 0 {
			g := QAForm{Sections: []QASection{{Title: "s", Questions: kept}}}
			ks := map[string]QAAnswer{}
			for _, q := range kept {
				ks[q.ID] = as[q.ID]
			}
			if r, _ := ScoreQA(g, ks); r != got {
				t.Fatalf("without the N/A questions %+v, with them %+v", r, got)
			}
		}
		// Monotonic in each answer.
		qs := f.Questions()
		q := qs[rapid.IntRange(0, len(qs)-1).Draw(t, "raise")]
		if a := as[q.ID]; !a.NA && a.Value < q.top() {
			up := map[string]QAAnswer{}
			for k, v := range as {
				up[k] = v
			}
			up[q.ID] = QAAnswer{Value: a.Value + 1}
			if r, _ := ScoreQA(f, up); !r.Failed && !got.Failed && r.Score < got.Score {
				t.Fatalf("raising %s lowered the score: %v → %v", q.ID, got.Score, r.Score)
			}
		}
	})
}

func TestQAFormValidate(t *testing.T) {
	mod := func(fn func(*QAForm)) QAForm { f := testForm(); fn(&f); return f }
	tests := []struct {
		name  string
		f     QAForm
		field string
	}{
		{"no name", mod(func(f *QAForm) { f.Name = "" }), "name"},
		{"bad channel", mod(func(f *QAForm) { f.Channels = []Channel{"fax"} }), "channels"},
		{"no sections", mod(func(f *QAForm) { f.Sections = nil }), "sections"},
		{"empty section", mod(func(f *QAForm) { f.Sections[0].Questions = nil }), "sections[0].questions"},
		{"duplicate id", mod(func(f *QAForm) { f.Sections[1].Questions[0].ID = "greeting" }), "sections[1].questions[0].id"},
		{"bad id", mod(func(f *QAForm) { f.Sections[0].Questions[0].ID = "Hi there" }), "sections[0].questions[0].id"},
		{"weight 0", mod(func(f *QAForm) { f.Sections[0].Questions[0].Weight = 0 }), "sections[0].questions[0].weight"},
		{"scale without max", mod(func(f *QAForm) { f.Sections[1].Questions[0].Max = 0 }), "sections[1].questions[0].max"},
		{"auto-fail scale", mod(func(f *QAForm) { f.Sections[1].Questions[0].AutoFail = true }), "sections[1].questions[0].auto_fail"},
		{"unknown kind", mod(func(f *QAForm) { f.Sections[0].Questions[0].Kind = "essay" }), "sections[0].questions[0].kind"},
		{"no text", mod(func(f *QAForm) { f.Sections[0].Questions[0].Text = "" }), "sections[0].questions[0].text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fe *FieldError
			if err := tc.f.Validate(); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("err = %v, want a field error on %s", err, tc.field)
			}
		})
	}
	f := testForm()
	if err := f.Validate(); err != nil {
		t.Errorf("valid form: %v", err)
	}
}

// TestQAStateTransitions checks every pair of states against the table.
func TestQAStateTransitions(t *testing.T) {
	all := []QAState{QAAssigned, QADraft, QASubmitted, QAAcknowledged, QADisputed, QAResolved}
	allowed := map[[2]QAState]bool{
		{QAAssigned, QADraft}: true, {QAAssigned, QASubmitted}: true, {QADraft, QADraft}: true, {QADraft, QASubmitted}: true,
		{QASubmitted, QAAcknowledged}: true, {QASubmitted, QADisputed}: true, {QADisputed, QAResolved}: true,
	}
	for _, from := range all {
		for _, to := range all {
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				err := from.To(to)
				if got := err == nil; got != allowed[[2]QAState{from, to}] {
					t.Errorf("allowed = %v, want %v (%v)", got, !got, err)
				}
				if err != nil && !errors.Is(err, ErrInvalidTransition) {
					t.Errorf("err = %v, want ErrInvalidTransition", err)
				}
			})
		}
	}
	if QAState("x").Valid() || QAState("x").To(QADraft) == nil {
		t.Error("unknown state accepted")
	}
}

// TestEvaluationLifecycle walks an evaluation through its machine and
// checks that a refused step changes nothing.
func TestEvaluationLifecycle(t *testing.T) {
	f := testForm()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	agent, sup := NewID(), NewID()
	in := Interaction{ID: NewID(), AgentID: agent, Channel: ChannelPhone, Outcome: OutcomeAnswered}
	e, err := NewEvaluation(in, f, sup, now)
	if err != nil || e.State != QADraft {
		t.Fatalf("new = %+v, %v", e, err)
	}
	if _, err := NewEvaluation(Interaction{ID: NewID(), Outcome: OutcomeAbandoned}, f, sup, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("no agent: %v", err)
	}
	voiceOnly := f
	voiceOnly.Channels = []Channel{ChannelChat}
	if _, err := NewEvaluation(in, voiceOnly, sup, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("wrong channel: %v", err)
	}
	if err := e.Acknowledge(agent, now); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("acknowledge a draft: %v", err)
	}
	if err := e.Grade(f, sup, QAScoring{Answers: map[string]QAAnswer{"greeting": yes()}}, now); err != nil || e.State != QADraft || e.Score != nil {
		t.Fatalf("draft: %+v, %v", e, err)
	}
	before := e
	if err := e.Grade(f, sup, QAScoring{Answers: map[string]QAAnswer{"greeting": yes()}, Submit: true}, now); !errors.Is(err, ErrInvalid) || e.State != before.State {
		t.Errorf("submit incomplete: %v, state %s", err, e.State)
	}
	full := map[string]QAAnswer{"greeting": yes(), "verify": yes(), "empathy": {Value: 5}, "upsell": na()}
	if err := e.Grade(f, sup, QAScoring{Answers: full, Submit: true}, now); err != nil || e.State != QASubmitted || *e.Score != 100 || e.SubmittedAt == nil {
		t.Fatalf("submit: %+v, %v", e, err)
	}
	if err := e.Grade(f, sup, QAScoring{Answers: full}, now); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("re-score a submitted evaluation: %v", err)
	}
	if err := e.Dispute(NewID(), "unfair", now); !errors.Is(err, ErrForbidden) {
		t.Errorf("another agent disputes: %v", err)
	}
	if err := e.Dispute(agent, "  ", now); !errors.Is(err, ErrInvalid) || e.State != QASubmitted {
		t.Errorf("dispute without a reason: %v", err)
	}
	if err := e.Dispute(agent, "The caller hung up first", now); err != nil || e.State != QADisputed {
		t.Fatalf("dispute: %v", err)
	}
	if err := e.Acknowledge(agent, now); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("acknowledge after dispute: %v", err)
	}
	if err := e.Resolve("Score stands", now); err != nil || e.State != QAResolved || e.ResolvedAt == nil {
		t.Fatalf("resolve: %v", err)
	}
}

func TestQAWeekStart(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2026-03-02T09:00:00Z", "2026-03-02"}, // Monday
		{"2026-03-08T23:59:00Z", "2026-03-02"}, // Sunday
		{"2026-03-04T01:00:00+05:00", "2026-03-02"},
		{"2027-01-01T00:00:00Z", "2026-12-28"},
	} {
		in, _ := time.Parse(time.RFC3339, tc.in)
		if got := QAWeekStart(in).Format(time.DateOnly); got != tc.want {
			t.Errorf("QAWeekStart(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// FuzzQAForm feeds forms and answers as they arrive over the API: a form
// either fails validation or scores any answers it accepts within 0–100,
// without panicking.
func FuzzQAForm(f *testing.F) {
	form, _ := json.Marshal(testForm())
	f.Add(form, []byte(`{"greeting":{"value":1},"verify":{"value":1},"empathy":{"value":3},"upsell":{"na":true}}`))
	f.Add([]byte(`{"name":"x","sections":[{"title":"t","questions":[{"id":"a","text":"a","kind":"scale","max":10,"weight":100}]}]}`),
		[]byte(`{"a":{"value":10}}`))
	f.Add([]byte(`{"name":"x","sections":[]}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, formJSON, answersJSON []byte) {
		var qf QAForm
		if json.Unmarshal(formJSON, &qf) != nil || qf.Validate() != nil {
			return
		}
		var as map[string]QAAnswer
		if json.Unmarshal(answersJSON, &as) != nil {
			return
		}
		if err := qf.CheckAnswers(as, false); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("CheckAnswers: %v", err)
		}
		r, err := ScoreQA(qf, as)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ScoreQA: %v", err)
			}
			return
		}
		if r.Score < 0 || r.Score > 100 || math.IsNaN(r.Score) || (r.Failed && r.Score != 0) {
			t.Fatalf("result %+v", r)
		}
	})
}
