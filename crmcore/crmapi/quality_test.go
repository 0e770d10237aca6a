package crmapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"switchboard/crmcore"
	"switchboard/crmcore/pgstore"
)

var _ QualityStore = (*pgstore.Store)(nil)

// qaFormBody is a small phone form as an admin posts it.
var qaFormBody = map[string]any{"name": "Phone basics", "channels": []string{"phone"}, "sections": []map[string]any{
	{"title": "Call", "questions": []map[string]any{
		{"id": "greeting", "text": "Greeted the caller", "kind": "yes_no", "weight": 1},
		{"id": "verify", "text": "Verified identity", "kind": "yes_no", "weight": 1, "auto_fail": true},
		{"id": "tone", "text": "Tone", "kind": "scale", "max": 5, "weight": 2},
	}},
}}

// bobsCall returns the id of a seeded call bob handled.
func bobsCall(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	bob, err := e.store.AgentByLogin(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := e.store.ListInteractions(ctx, crmcore.InteractionFilter{AgentID: bob.ID, Limit: 1})
	if err != nil || len(ins) != 1 {
		t.Fatalf("bob's calls: %v, %v", ins, err)
	}
	return ins[0].ID
}

// TestQualityPermissions: admins write forms and supervisors read them;
// only supervisors score; an agent sees, acknowledges and disputes only
// their own evaluations and only once submitted; disputes are resolved
// by supervisors.
func TestQualityPermissions(t *testing.T) {
	e := newEnvWith(t, func(s *pgstore.Store) []Option { return []Option{WithQuality(s)} })
	admin, sam, bob, alice := e.login("admin", "admin"), e.login("sam", "demo"), e.login("bob", "demo"), e.login("alice", "demo")
	if r := e.do("POST", "/api/v1/qa/forms", sam, qaFormBody); r.Code != 403 {
		t.Errorf("supervisor creates a form: %d, want 403", r.Code)
	}
	if r := e.do("GET", "/api/v1/qa/forms", bob, nil); r.Code != 403 {
		t.Errorf("agent lists forms: %d, want 403", r.Code)
	}
	var form crmcore.QAForm
	e.do("POST", "/api/v1/qa/forms", admin, qaFormBody).json(t, &form)
	if form.Version != 1 || !form.Active || len(form.Questions()) != 3 {
		t.Fatalf("form = %+v", form)
	}
	badForm := map[string]any{"name": "x", "sections": []map[string]any{{"title": "t", "questions": []map[string]any{{"id": "a", "text": "a", "kind": "essay", "weight": 1}}}}}
	if r := e.do("POST", "/api/v1/qa/forms", admin, badForm); r.Code != 400 || r.err(t).Error.Field != "sections[0].questions[0].kind" {
		t.Errorf("bad kind: %d %s", r.Code, r.Body)
	}

	call := bobsCall(t, e)
	if r := e.do("POST", "/api/v1/qa/evaluations", bob, map[string]string{"interaction_id": call, "form_id": form.ID}); r.Code != 403 {
		t.Errorf("agent starts an evaluation: %d, want 403", r.Code)
	}
	var ev crmcore.Evaluation
	r := e.do("POST", "/api/v1/qa/evaluations", sam, map[string]string{"interaction_id": call, "form_id": form.ID})
	r.json(t, &ev)
	if r.Code != 201 || ev.State != crmcore.QADraft {
		t.Fatalf("start: %d %s", r.Code, r.Body)
	}
	path := "/api/v1/qa/evaluations/" + ev.ID
	for _, tc := range []struct {
		name, tok, method, path string
		body                    any
		want                    int
	}{
		{"agent reads a draft of their own", bob, "GET", path, nil, 404},
		{"agent acknowledges a draft", bob, "POST", path + "/acknowledge", nil, 404},
		{"agent disputes a draft", bob, "POST", path + "/dispute", map[string]string{"reason": "no"}, 404},
		{"agent scores", bob, "PUT", path, map[string]any{"answers": map[string]any{}}, 403},
		{"unknown question", sam, "PUT", path, map[string]any{"answers": map[string]any{"nope": map[string]int{"value": 1}}}, 400},
		{"incomplete submit", sam, "PUT", path, map[string]any{"answers": map[string]any{"greeting": map[string]int{"value": 1}}, "submit": true}, 400},
		{"unknown field", sam, "PUT", path, map[string]any{"score": 100}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.do(tc.method, tc.path, tc.tok, tc.body); r.Code != tc.want {
				t.Errorf("%d %s, want %d", r.Code, r.Body, tc.want)
			}
		})
	}
	var mine struct{ Items []crmcore.Evaluation }
	e.do("GET", "/api/v1/qa/evaluations", bob, nil).json(t, &mine)
	if len(mine.Items) != 0 {
		t.Errorf("agent lists a draft: %+v", mine.Items)
	}
	answers := map[string]any{"greeting": map[string]int{"value": 1}, "verify": map[string]int{"value": 1}, "tone": map[string]int{"value": 3}}
	if r := e.do("PUT", path, sam, map[string]any{"answers": answers, "comments": "Good call", "submit": true}); r.Code != 200 {
		t.Fatalf("submit: %d %s", r.Code, r.Body)
	}
	var rv qaReview
	if r := e.do("GET", path, bob, nil); r.Code != 200 {
		t.Fatalf("agent reads their submitted evaluation: %d %s", r.Code, r.Body)
	} else {
		r.json(t, &rv)
	}
	if rv.Evaluation.Score == nil || *rv.Evaluation.Score != 80 || rv.Form.Version != 1 || rv.Interaction.ID != call || rv.Transcript == nil {
		t.Errorf("review = %+v", rv)
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"read", "GET", path, nil}, {"acknowledge", "POST", path + "/acknowledge", nil},
		{"dispute", "POST", path + "/dispute", map[string]string{"reason": "not mine"}},
	} {
		if r := e.do(tc.method, tc.path, alice, tc.body); r.Code != 404 {
			t.Errorf("another agent's %s: %d, want 404", tc.name, r.Code)
		}
	}
	e.do("GET", "/api/v1/qa/evaluations", alice, nil).json(t, &mine)
	if len(mine.Items) != 0 {
		t.Errorf("alice lists bob's evaluation: %+v", mine.Items)
	}
	e.do("GET", "/api/v1/qa/evaluations?agent_id="+ev.AgentID, alice, nil).json(t, &mine)
	if len(mine.Items) != 0 {
		t.Errorf("alice lists bob's evaluation by asking for it: %+v", mine.Items)
	}
	e.do("GET", "/api/v1/qa/evaluations", bob, nil).json(t, &mine)
	if len(mine.Items) != 1 || mine.Items[0].ID != ev.ID {
		t.Errorf("bob's list = %+v", mine.Items)
	}
	if r := e.do("POST", path+"/dispute", bob, map[string]string{"reason": " "}); r.Code != 400 {
		t.Errorf("dispute without a reason: %d", r.Code)
	}
	if r := e.do("POST", path+"/dispute", bob, map[string]string{"reason": "The caller was verified by the IVR"}); r.Code != 200 {
		t.Fatalf("dispute: %d %s", r.Code, r.Body)
	}
	if r := e.do("POST", path+"/acknowledge", bob, nil); r.Code != 409 {
		t.Errorf("acknowledge after a dispute: %d, want 409", r.Code)
	}
	if r := e.do("POST", path+"/resolve", bob, map[string]string{"resolution": "mine"}); r.Code != 403 {
		t.Errorf("agent resolves: %d, want 403", r.Code)
	}
	if r := e.do("POST", path+"/resolve", sam, map[string]string{"resolution": "Verification stands"}); r.Code != 200 {
		t.Errorf("resolve: %d %s", r.Code, r.Body)
	}
	var rep struct{ Items []crmcore.QAReportRow }
	now := time.Now().UTC()
	q := "?by=agent&from=" + now.Add(-time.Hour).Format(time.RFC3339) + "&to=" + now.Add(time.Hour).Format(time.RFC3339)
	e.do("GET", "/api/v1/qa/reports"+q, sam, nil).json(t, &rep)
	if len(rep.Items) != 1 || rep.Items[0].Key != ev.AgentID || rep.Items[0].Count != 1 || rep.Items[0].Disputes != 1 || rep.Items[0].Average != 80 {
		t.Errorf("report = %+v", rep.Items)
	}
	if r := e.do("GET", "/api/v1/qa/reports?by=queue&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z", sam, nil); r.Code != 400 {
		t.Errorf("bad grouping: %d", r.Code)
	}
	if r := e.do("GET", "/api/v1/qa/reports"+q, bob, nil); r.Code != 403 {
		t.Errorf("agent reads reports: %d", r.Code)
	}
}

// TestQualitySampleOverAPI: a supervisor draws the week's sample, which
// becomes their queue; drawing it again returns the same sample.
func TestQualitySampleOverAPI(t *testing.T) {
	e := newEnvWith(t, func(s *pgstore.Store) []Option { return []Option{WithQuality(s)} })
	admin, sam, bob := e.login("admin", "admin"), e.login("sam", "demo"), e.login("bob", "demo")
	var form crmcore.QAForm
	e.do("POST", "/api/v1/qa/forms", admin, qaFormBody).json(t, &form)
	in, err := e.store.GetInteraction(context.Background(), bobsCall(t, e))
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"week": in.ArrivedAt.Format(time.DateOnly), "per_agent": 1, "seed": 3, "form_id": form.ID}
	if r := e.do("POST", "/api/v1/qa/assignments", bob, body); r.Code != 403 {
		t.Errorf("agent draws a sample: %d", r.Code)
	}
	var first, again, queue struct {
		Items []crmcore.Evaluation
		Count int
	}
	e.do("POST", "/api/v1/qa/assignments", sam, body).json(t, &first)
	found := false
	for _, x := range first.Items {
		found = found || x.InteractionID == in.ID
		if x.State != crmcore.QAAssigned || x.SampleWeek != crmcore.QAWeekStart(in.ArrivedAt).Format(time.DateOnly) {
			t.Errorf("sampled %+v", x)
		}
	}
	if !found {
		t.Errorf("bob's only call of the week is not in the sample %+v", first.Items)
	}
	e.do("POST", "/api/v1/qa/assignments", sam, body).json(t, &again)
	if again.Count != first.Count {
		t.Errorf("second draw: %d evaluations, first %d", again.Count, first.Count)
	}
	e.do("GET", "/api/v1/qa/assignments", sam, nil).json(t, &queue)
	if queue.Count != first.Count {
		t.Errorf("queue = %d, sample %d", queue.Count, first.Count)
	}
	for _, b := range []map[string]any{
		{"week": "last week", "per_agent": 1, "form_id": form.ID},
		{"week": "2026-03-02", "per_agent": 0, "form_id": form.ID},
		{"week": "2026-03-02", "per_agent": 1, "form_id": "nope"},
	} {
		if r := e.do("POST", "/api/v1/qa/assignments", sam, b); r.Code != http.StatusBadRequest {
			t.Errorf("%v: %d, want 400", b, r.Code)
		}
	}
}
