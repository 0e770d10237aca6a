package crmapi

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/crmcore"
	"switchboard/crmcore/pgstore"
)

var _ DNCStore = (*pgstore.Store)(nil)

// TestDNCAPI: a supervisor keeps the do-not-call list in PostgreSQL:
// numbers are stored in E.164 whatever their form, with who added them;
// the list pages by number; an agent may not touch it.
func TestDNCAPI(t *testing.T) {
	e := newEnvWith(t, func(s *pgstore.Store) []Option { return []Option{WithDNC(s)} })
	sam, alice := e.login("sam", "demo"), e.login("alice", "demo")
	var me crmcore.Principal
	e.do("GET", "/api/v1/sessions/current", sam, nil).json(t, &me)

	r := e.do("POST", "/api/v1/dnc", sam, map[string]string{"number": "+44 20 7946 0018", "reason": "asked on the phone"})
	if r.Code != 201 {
		t.Fatalf("add: %d %s", r.Code, r.Body)
	}
	var got crmcore.DNCEntry
	r.json(t, &got)
	if got.Number != "+442079460018" || got.Reason != "asked on the phone" || got.AddedBy != me.AgentID || got.AddedAt.IsZero() ||
		r.Hdr.Get("Location") != "/api/v1/dnc/+442079460018" {
		t.Errorf("added %+v at %q", got, r.Hdr.Get("Location"))
	}
	// A national number is read in the server's region (US here).
	if r := e.do("POST", "/api/v1/dnc", sam, map[string]string{"number": "(415) 555-0123"}); r.Code != 201 {
		t.Fatalf("add national: %d %s", r.Code, r.Body)
	}
	for name, tc := range map[string]struct {
		body       any
		code, fld  string
		wantStatus int
	}{
		"not a number":  {map[string]string{"number": "call me maybe"}, "invalid_phone", "number", 400},
		"no number":     {map[string]string{"reason": "x"}, "invalid_phone", "number", 400},
		"long reason":   {map[string]string{"number": "+14155550100", "reason": strings.Repeat("r", 501)}, "invalid_argument", "reason", 400},
		"unknown field": {map[string]string{"number": "+14155550100", "color": "red"}, "invalid_argument", "", 400},
	} {
		r := e.do("POST", "/api/v1/dnc", sam, tc.body)
		if r.Code != tc.wantStatus {
			t.Errorf("%s: %d %s, want %d", name, r.Code, r.Body, tc.wantStatus)
			continue
		}
		if b := r.err(t); b.Error.Code != tc.code || (tc.fld != "" && b.Error.Field != tc.fld) {
			t.Errorf("%s: error %+v, want code %s on %q", name, b.Error, tc.code, tc.fld)
		}
	}

	var list listResponse[crmcore.DNCEntry]
	e.do("GET", "/api/v1/dnc?limit=1", sam, nil).json(t, &list)
	if list.Count != 1 || list.Items[0].Number != "+14155550123" {
		t.Fatalf("first page = %+v", list)
	}
	first := list.Items[0].Number
	// The '+' escaped, or as a client that forgets to sends it.
	for _, after := range []string{url.QueryEscape(first), first} {
		e.do("GET", "/api/v1/dnc?limit=1&after="+after, sam, nil).json(t, &list)
		if list.Count != 1 || list.Items[0].Number != "+442079460018" {
			t.Fatalf("second page after %s = %+v", after, list)
		}
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "after=" + strings.Repeat("9", 65)} {
		if r := e.do("GET", "/api/v1/dnc?"+q, sam, nil); r.Code != 400 {
			t.Errorf("list ?%s = %d, want 400", q, r.Code)
		}
	}

	for _, c := range []struct{ method, path string }{{"GET", "/api/v1/dnc"}, {"POST", "/api/v1/dnc"},
		{"DELETE", "/api/v1/dnc/+14155550123"}} {
		if r := e.do(c.method, c.path, alice, map[string]string{"number": "+14155550100"}); r.Code != 403 {
			t.Errorf("agent %s %s = %d, want 403", c.method, c.path, r.Code)
		}
	}

	if r := e.do("DELETE", "/api/v1/dnc/+14155550123", sam, nil); r.Code != 204 {
		t.Fatalf("delete: %d %s", r.Code, r.Body)
	}
	for _, n := range []string{"+14155550123", "nonsense"} {
		if r := e.do("DELETE", "/api/v1/dnc/"+n, sam, nil); r.Code != 404 {
			t.Errorf("delete %s = %d, want 404", n, r.Code)
		}
	}
	e.do("GET", "/api/v1/dnc", sam, nil).json(t, &list)
	if list.Count != 1 || list.Items[0].Number != "+442079460018" {
		t.Errorf("after delete = %+v", list)
	}
}

// TestDNCAPIWithoutStore: a server without the list answers 404.
func TestDNCAPIWithoutStore(t *testing.T) {
	e := newEnv(t)
	if r := e.do("GET", "/api/v1/dnc", e.login("sam", "demo"), nil); r.Code != 404 {
		t.Fatalf("list without a store = %d, want 404", r.Code)
	}
}

// TestInteractionsByCampaign: the records of a campaign's dials are
// listed by campaign and exported with their campaign and result.
func TestInteractionsByCampaign(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w, err := pgstore.NewWriter(e.store.Pool(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var dials []string
	for i, c := range []struct{ campaign, result string }{{"spring", "connected"}, {"spring", "no-answer"}, {"autumn", "busy"}, {"", ""}} {
		end := t0.Add(time.Duration(i)*time.Minute + 30*time.Second)
		in := crmcore.Interaction{ID: crmcore.NewID(), CallID: "d" + string(rune('0'+i)), Direction: crmcore.Outbound,
			Channel: crmcore.ChannelPhone, DNIS: "+14155550100", Queue: "sales", ArrivedAt: t0.Add(time.Duration(i) * time.Minute),
			EndedAt: &end, Outcome: crmcore.OutcomeFailed, Campaign: c.campaign, CampaignResult: c.result}
		if c.result == "connected" {
			in.Outcome = crmcore.OutcomeAnswered
		}
		if err := w.Write(ctx, in); err != nil {
			t.Fatal(err)
		}
		if c.campaign == "spring" {
			dials = append([]string{in.ID}, dials...) // newest first
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	sam := e.login("sam", "demo")
	var list listResponse[crmcore.Interaction]
	e.do("GET", "/api/v1/interactions?campaign=spring", sam, nil).json(t, &list)
	if list.Count != 2 || list.Items[0].ID != dials[0] || list.Items[1].ID != dials[1] ||
		list.Items[0].CampaignResult != "no-answer" || list.Items[1].Campaign != "spring" {
		t.Fatalf("campaign spring = %+v", list)
	}
	if r := e.do("GET", "/api/v1/interactions?campaign=a%20b", sam, nil); r.Code != 400 || r.err(t).Error.Field != "campaign" {
		t.Errorf("bad campaign = %d %s", r.Code, r.Body)
	}
	exp := e.do("GET", "/api/v1/interactions/export?campaign=spring", sam, nil)
	lines := strings.Split(strings.TrimSpace(string(exp.Body)), "\n")
	if exp.Code != 200 || len(lines) != 3 || !strings.HasSuffix(lines[0], ",campaign,campaign_result") ||
		!strings.HasSuffix(lines[1], ",spring,no-answer") || !strings.HasSuffix(lines[2], ",spring,connected") {
		t.Fatalf("export = %d\n%s", exp.Code, exp.Body)
	}
}
