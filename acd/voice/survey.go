package voice

import (
	"context"
	"slices"

	"switchboard/acd"
	"switchboard/crmcore"
	"switchboard/ivr"
)

// AfterCall is the engine's hook (WithAfterCall) for a caller still on the
// line when the agent hung up: it runs the survey flow, stores every answer
// (and the headline score) on the call's interaction and hangs up. It
// reports false when there is no survey to run.
func (x *Journey) AfterCall(id acd.CallID, caller acd.Leg) bool {
	v, ok := x.ids.LoadAndDelete(id)
	call, isCall := caller.(Call)
	set := x.flows.Current()
	if !ok || !isCall || x.opts.SurveyFlow == "" || set == nil {
		return false
	}
	flow, ok := set.Flow(x.opts.SurveyFlow)
	if !ok {
		return false
	}
	interactionID := v.(string)
	go func() {
		ctx := call.Context()
		defer call.Hangup(context.WithoutCancel(ctx))
		scores, _ := ivr.RunSurvey(ctx, call, flow, ivr.Input{
			CallID: string(id), ANI: call.ANI(), DNIS: call.DNIS(), Now: x.opts.Now, Logger: x.logger, Metrics: x.metrics,
		})
		answers := x.surveyAnswers(string(id), scores)
		score, ok := surveyScore(answers)
		if !ok {
			return
		}
		wu := crmcore.WrapUp{ID: crmcore.NewID(), InteractionID: interactionID, At: x.opts.Now().UTC(), SurveyScore: &score,
			Survey: answers}
		if err := x.rec.AppendWrapUp(context.WithoutCancel(ctx), wu); err != nil {
			x.logger.Error("survey score", "call_id", string(id), "err", err)
		}
	}()
	return true
}

// surveyAnswers keeps the answers that can be stored (crmcore.ValidSurveyAnswer)
// and logs the others.
func (x *Journey) surveyAnswers(callID string, scores map[string]int) map[string]int {
	answers := make(map[string]int, len(scores))
	for name, v := range scores {
		if !crmcore.ValidSurveyAnswer(name, v) {
			x.logger.Warn("survey answer not stored", "call_id", callID, "question", name, "score", v)
			continue
		}
		answers[name] = v
	}
	if len(answers) > crmcore.MaxSurveyAnswers {
		x.logger.Warn("survey answers not stored: too many questions", "call_id", callID, "answers", len(answers))
		return nil
	}
	return answers
}

// surveyScore picks the headline score stored on the interaction: CSAT,
// else NPS, else the first question by name.
func surveyScore(scores map[string]int) (int, bool) {
	for _, name := range []string{"csat", "nps"} {
		if v, ok := scores[name]; ok {
			return v, true
		}
	}
	names := make([]string, 0, len(scores))
	for n := range scores {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return 0, false
	}
	return scores[names[0]], true
}
