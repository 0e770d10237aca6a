package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/crmcore"
)

func qaTestForm() crmcore.QAForm {
	return crmcore.QAForm{Name: "Calls", Active: true, Channels: []crmcore.Channel{crmcore.ChannelPhone}, Sections: []crmcore.QASection{
		{Title: "Call", Questions: []crmcore.QAQuestion{
			{ID: "greeting", Text: "Greeted the caller", Kind: crmcore.QAYesNo, Weight: 1},
			{ID: "tone", Text: "Tone", Kind: crmcore.QAScale, Max: 4, Weight: 3},
		}},
	}}
}

// qaFixture is two agents' calls in the week of 2026-03-02, the calls
// with fixed ids so that two databases can hold the same data.
type qaFixture struct {
	week   time.Time
	agents []string // a, b
	calls  map[string][]string
}

func newQAFixture(t *testing.T, ctx context.Context, pool *pgxpool.Pool) qaFixture {
	t.Helper()
	s := New(pool)
	fx := qaFixture{week: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), calls: map[string][]string{}}
	for _, login := range []string{"qa_a", "qa_b"} {
		ag, err := crmcore.NewAgent(crmcore.AgentInput{Login: login, Password: "pw12345"}, true)
		if err != nil {
			t.Fatal(err)
		}
		if ag, err = s.CreateAgent(ctx, ag); err != nil {
			t.Fatal(err)
		}
		fx.agents = append(fx.agents, ag.ID)
	}
	n := 0
	add := func(agent string, arrived time.Time, outcome crmcore.Outcome, ch crmcore.Channel) string {
		n++
		end := arrived.Add(5 * time.Minute)
		in := crmcore.Interaction{ID: fmt.Sprintf("00000000-0000-7000-8000-%012d", n), CallID: fmt.Sprint("c", n),
			Direction: crmcore.Inbound, Channel: ch, AgentID: agent, ArrivedAt: arrived, Outcome: outcome}
		if outcome != crmcore.OutcomeInProgress {
			in.EndedAt = &end
		}
		normalizeInteraction(&in)
		if _, err := pool.Exec(ctx, insertInteractionSQL, interactionRow(&in, "")...); err != nil {
			t.Fatal(err)
		}
		return in.ID
	}
	a, b := fx.agents[0], fx.agents[1]
	for i := range 5 {
		fx.calls[a] = append(fx.calls[a], add(a, fx.week.Add(time.Duration(i+1)*time.Hour), crmcore.OutcomeAnswered, crmcore.ChannelPhone))
	}
	for i := range 3 {
		fx.calls[b] = append(fx.calls[b], add(b, fx.week.Add(time.Duration(24*i+2)*time.Hour), crmcore.OutcomeAnswered, crmcore.ChannelPhone))
	}
	add(a, fx.week.Add(3*time.Hour), crmcore.OutcomeInProgress, crmcore.ChannelPhone)  // not over
	add("", fx.week.Add(time.Hour), crmcore.OutcomeAbandoned, crmcore.ChannelPhone)    // no agent
	add(a, fx.week.Add(-time.Hour), crmcore.OutcomeAnswered, crmcore.ChannelPhone)     // the week before
	add(b, fx.week.Add(7*24*time.Hour), crmcore.OutcomeAnswered, crmcore.ChannelPhone) // the week after
	add(b, fx.week.Add(5*time.Hour), crmcore.OutcomeAnswered, crmcore.ChannelChat)     // not the form's channel
	return fx
}

func sampled(es []crmcore.Evaluation) map[string][]string {
	out := map[string][]string{}
	for _, e := range es {
		out[e.AgentID] = append(out[e.AgentID], e.InteractionID)
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// TestQASample: the weekly sample takes perAgent finished calls of each
// agent from that week and the form's channels, skips a call already
// evaluated on the form, is the same for the same seed over the same
// data, and a second run for the week adds nothing.
func TestQASample(t *testing.T) {
	ctx := context.Background()
	var picks []map[string][]string
	for run := range 2 {
		pool := newPool(t)
		s := New(pool)
		fx := newQAFixture(t, ctx, pool)
		f, err := s.CreateQAForm(ctx, "", qaTestForm())
		if err != nil {
			t.Fatal(err)
		}
		a, b := fx.agents[0], fx.agents[1]
		done, err := s.CreateEvaluation(ctx, "", fx.calls[a][0], f.ID)
		if err != nil {
			t.Fatal(err)
		}
		es, err := s.AssignSample(ctx, fx.week, 2, 42, f.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		got := sampled(es)
		if len(es) != 4 || len(got[a]) != 2 || len(got[b]) != 2 {
			t.Fatalf("run %d: sample = %v, want 2 calls of each agent", run, got)
		}
		for _, e := range es {
			if e.State != crmcore.QAAssigned || e.SampleWeek != "2026-03-02" || e.FormVersion != 1 {
				t.Errorf("sampled evaluation %+v", e)
			}
			if e.InteractionID == done.InteractionID {
				t.Errorf("sampled a call already evaluated: %s", e.InteractionID)
			}
			if !slices.Contains(fx.calls[e.AgentID], e.InteractionID) {
				t.Errorf("sampled %s, not one of the agent's calls of the week and channel", e.InteractionID)
			}
		}
		again, err := s.AssignSample(ctx, fx.week, 2, 7, f.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(sampled(again)) != fmt.Sprint(got) {
			t.Errorf("second run changed the sample: %v, then %v", got, sampled(again))
		}
		more, err := s.AssignSample(ctx, fx.week, 4, 42, f.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if m := sampled(more); len(m[a]) != 4 || len(m[b]) != 3 {
			t.Errorf("raised to 4 per agent: %v; want all 4 remaining of a and all 3 of b", m)
		}
		picks = append(picks, map[string][]string{"a": got[a], "b": got[b]})
		if _, err := s.AssignSample(ctx, fx.week.Add(time.Hour), 2, 42, f.ID, ""); !errors.Is(err, crmcore.ErrInvalid) {
			t.Errorf("week not starting on a Monday: %v", err)
		}
	}
	if fmt.Sprint(picks[0]) != fmt.Sprint(picks[1]) {
		t.Errorf("same seed, same data, different samples: %v and %v", picks[0], picks[1])
	}
}

// TestQAVersionsAndLifecycle: an edit makes a new version while an
// evaluation started on the old one is scored on it; the evaluation goes
// draft → submitted → disputed → resolved, refusing steps out of order
// and other agents, and the report counts it.
func TestQAVersionsAndLifecycle(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	fx := newQAFixture(t, ctx, pool)
	a, b := fx.agents[0], fx.agents[1]
	f1, err := s.CreateQAForm(ctx, b, qaTestForm())
	if err != nil || f1.Version != 1 || f1.CreatedBy != b {
		t.Fatalf("create = %+v, %v", f1, err)
	}
	e, err := s.CreateEvaluation(ctx, b, fx.calls[a][1], f1.ID)
	if err != nil || e.State != crmcore.QADraft || e.AgentID != a {
		t.Fatalf("evaluation = %+v, %v", e, err)
	}
	if _, err := s.CreateEvaluation(ctx, b, fx.calls[a][1], f1.ID); !errors.Is(err, crmcore.ErrConflict) {
		t.Errorf("second evaluation of a call on one form: %v", err)
	}
	edit := qaTestForm()
	edit.Name = "Calls v2"
	edit.Sections[0].Questions = append(edit.Sections[0].Questions, crmcore.QAQuestion{ID: "close", Text: "Closed", Kind: crmcore.QAYesNo, Weight: 1, AutoFail: true})
	f2, err := s.UpdateQAForm(ctx, b, f1.ID, edit)
	if err != nil || f2.Version != 2 || f2.ID != f1.ID {
		t.Fatalf("update = %+v, %v", f2, err)
	}
	if got, _ := s.QAForm(ctx, f1.ID, 0); got.Version != 2 || got.Name != "Calls v2" {
		t.Errorf("latest = %+v", got)
	}
	if got, _ := s.QAForm(ctx, f1.ID, 1); got.Version != 1 || len(got.Questions()) != 2 {
		t.Errorf("version 1 = %+v", got)
	}
	if fs, _ := s.QAForms(ctx); len(fs) != 1 || fs[0].Version != 2 {
		t.Errorf("forms = %+v", fs)
	}
	full := map[string]crmcore.QAAnswer{"greeting": {Value: 1}, "tone": {Value: 2}}
	if _, err := s.AcknowledgeEvaluation(ctx, e.ID, a); !errors.Is(err, crmcore.ErrInvalidTransition) {
		t.Errorf("acknowledge a draft: %v", err)
	}
	e, err = s.ScoreEvaluation(ctx, e.ID, b, crmcore.QAScoring{Answers: full, Comments: "ok", Submit: true})
	if err != nil || e.State != crmcore.QASubmitted || e.Score == nil || *e.Score != 62.5 || e.FormVersion != 1 {
		t.Fatalf("submit on version 1 = %+v, %v", e, err)
	}
	if _, err := s.DisputeEvaluation(ctx, e.ID, b, "not mine"); !errors.Is(err, crmcore.ErrForbidden) {
		t.Errorf("dispute by someone else: %v", err)
	}
	if e, err = s.DisputeEvaluation(ctx, e.ID, a, "I did greet"); err != nil || e.State != crmcore.QADisputed {
		t.Fatalf("dispute = %+v, %v", e, err)
	}
	if e, err = s.ResolveEvaluation(ctx, e.ID, "Score stands"); err != nil || e.State != crmcore.QAResolved {
		t.Fatalf("resolve = %+v, %v", e, err)
	}
	if got, _ := s.Evaluation(ctx, e.ID); got.State != crmcore.QAResolved || got.DisputeReason != "I did greet" || got.Answers["tone"].Value != 2 {
		t.Errorf("stored = %+v", got)
	}
	// A second evaluation, on version 2, failed.
	e2, err := s.CreateEvaluation(ctx, b, fx.calls[a][2], f1.ID)
	if err != nil || e2.FormVersion != 2 {
		t.Fatalf("evaluation on v2 = %+v, %v", e2, err)
	}
	full["close"] = crmcore.QAAnswer{Value: 0}
	if e2, err = s.ScoreEvaluation(ctx, e2.ID, b, crmcore.QAScoring{Answers: full, Submit: true}); err != nil || !e2.Failed || *e2.Score != 0 {
		t.Fatalf("auto-fail = %+v, %v", e2, err)
	}
	rep, err := s.QualityReport(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), crmcore.QAByAgent)
	if err != nil || len(rep) != 1 || rep[0].Key != a || rep[0].Count != 2 || rep[0].Average != 31.25 || rep[0].Fails != 1 || rep[0].Disputes != 1 {
		t.Errorf("report = %+v, %v", rep, err)
	}
	if rep, _ := s.QualityReport(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), crmcore.QAByForm); len(rep) != 1 || rep[0].Name != "Calls v2" {
		t.Errorf("report by form = %+v", rep)
	}
	if ls, _ := s.Evaluations(ctx, crmcore.QAFilter{AgentID: a, States: []crmcore.QAState{crmcore.QAResolved}}); len(ls) != 1 || ls[0].ID != e.ID {
		t.Errorf("list resolved = %+v", ls)
	}
}
