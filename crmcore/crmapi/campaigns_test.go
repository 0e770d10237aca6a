package crmapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/crmcore"
)

// TestCampaignsCreate: a supervisor creates campaigns with and without an
// id, the runner gets the configuration with the id written in, and bad
// bodies are refused before or by the runner.
func TestCampaignsCreate(t *testing.T) {
	fake := NewFakeCampaigns()
	e := newEnv(t, WithCampaigns(fake))
	sam, alice := e.login("sam", "demo"), e.login("alice", "demo")

	r := e.do("POST", "/api/v1/campaigns", sam, map[string]any{"name": "Renewals", "queue": "sales", "mode": "predictive",
		"abandon": map[string]any{"cap": 0.03}})
	if r.Code != 201 {
		t.Fatalf("create: %d %s", r.Code, r.Body)
	}
	var c crmcore.CampaignInfo
	r.json(t, &c)
	if c.ID == "" || c.State != crmcore.CampaignPaused || r.Hdr.Get("Location") != "/api/v1/campaigns/"+c.ID {
		t.Errorf("created %+v, Location %q", c, r.Hdr.Get("Location"))
	}
	var sent map[string]any
	if err := json.Unmarshal(fake.Configs[0], &sent); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": c.ID, "name": "Renewals", "queue": "sales", "mode": "predictive", "abandon": map[string]any{"cap": 0.03}}
	if d := cmp.Diff(want, sent); d != "" {
		t.Errorf("config handed to the runner (-want +got):\n%s", d)
	}
	if c.CreatedBy == "" {
		t.Errorf("created_by empty")
	}

	r = e.do("POST", "/api/v1/campaigns", sam, map[string]any{"id": "spring-2026", "queue": "sales", "mode": "preview"})
	if r.Code != 201 {
		t.Fatalf("create with id: %d %s", r.Code, r.Body)
	}
	if r.json(t, &c); c.ID != "spring-2026" {
		t.Errorf("id = %q, want spring-2026", c.ID)
	}
	if r := e.do("POST", "/api/v1/campaigns", sam, map[string]any{"id": "spring-2026", "queue": "sales", "mode": "preview"}); r.Code != 409 {
		t.Errorf("id taken: %d %s, want 409", r.Code, r.Body)
	}
	if r := e.do("POST", "/api/v1/campaigns", sam, map[string]any{"id": nil, "queue": "sales", "mode": "preview"}); r.Code != 201 {
		t.Errorf("null id: %d %s, want 201", r.Code, r.Body)
	}

	for _, tc := range []struct {
		name, ct, body string
		code           int
		field          string
	}{
		{"not an object", "application/json", `[1,2]`, 400, ""},
		{"malformed", "application/json", `{"queue":`, 400, ""},
		{"empty", "application/json", ``, 400, ""},
		{"trailing", "application/json", `{"queue":"sales","mode":"preview"} {}`, 400, ""},
		{"id not a string", "application/json", `{"id":5,"queue":"sales","mode":"preview"}`, 400, "id"},
		{"id twice", "application/json", `{"id":"a","ID":"b","queue":"sales","mode":"preview"}`, 400, "id"},
		{"bad mode", "application/json", `{"queue":"sales","mode":"fast"}`, 400, "mode"},
		{"no queue", "application/json", `{"mode":"preview"}`, 400, "queue"},
		{"yaml", "application/yaml", `queue: sales`, 415, ""},
		{"too large", "application/json", `{"queue":"sales","mode":"preview","name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.doRaw("POST", "/api/v1/campaigns", sam, tc.ct, tc.body)
			if r.Code != tc.code {
				t.Fatalf("%d %s, want %d", r.Code, r.Body, tc.code)
			}
			if got := r.err(t).Error.Field; got != tc.field {
				t.Errorf("field = %q, want %q", got, tc.field)
			}
		})
	}
	if r := e.do("POST", "/api/v1/campaigns", alice, map[string]any{"queue": "sales", "mode": "preview"}); r.Code != 403 {
		t.Errorf("agent creates: %d, want 403", r.Code)
	}
}

// doRaw sends body with the content type ct.
func (e *env) doRaw(method, path, token, ct, body string) resp {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		e.t.Errorf("%s %s → %d %s", method, path, rec.Code, rec.Body)
	}
	return resp{Code: rec.Code, Body: rec.Body.Bytes(), Hdr: rec.Header()}
}

// TestCampaignsReadAndState: list and get; unknown ids are 404; agents
// are refused; start, pause and stop go to the runner, and a stopped
// campaign stays stopped; without WithCampaigns everything is 404.
func TestCampaignsReadAndState(t *testing.T) {
	fake := NewFakeCampaigns(crmcore.CampaignInfo{ID: "a", Name: "A", Queue: "sales", Mode: "progressive", State: crmcore.CampaignPaused,
		Config: json.RawMessage(`{}`), CreatedAt: time.Now().UTC(), Stats: crmcore.CampaignStats{Dialed: 7, AbandonRate: 0.01}},
		crmcore.CampaignInfo{ID: "b", Name: "B", Queue: "sales", Mode: "preview", State: crmcore.CampaignStopped,
			Config: json.RawMessage(`{}`), CreatedAt: time.Now().UTC()})
	e := newEnv(t, WithCampaigns(fake))
	sam, alice, admin := e.login("sam", "demo"), e.login("alice", "demo"), e.login("admin", "admin")

	var list listResponse[crmcore.CampaignInfo]
	e.do("GET", "/api/v1/campaigns", sam, nil).json(t, &list)
	if list.Count != 2 || list.Items[0].ID != "a" || list.Items[0].Stats.Dialed != 7 || list.Items[1].State != crmcore.CampaignStopped {
		t.Errorf("list: %+v", list)
	}
	var c crmcore.CampaignInfo
	if r := e.do("GET", "/api/v1/campaigns/a", admin, nil); r.Code != 200 {
		t.Errorf("get: %d %s", r.Code, r.Body)
	} else if r.json(t, &c); c.ID != "a" || c.Stats.AbandonRate != 0.01 {
		t.Errorf("get: %+v", c)
	}
	for _, path := range []string{"/api/v1/campaigns/nope", "/api/v1/campaigns/" + strings.Repeat("x", 65)} {
		if r := e.do("GET", path, sam, nil); r.Code != 404 {
			t.Errorf("GET %s: %d, want 404", path, r.Code)
		}
	}
	for _, path := range []string{"/api/v1/campaigns", "/api/v1/campaigns/a"} {
		if r := e.do("GET", path, alice, nil); r.Code != 403 {
			t.Errorf("agent GET %s: %d, want 403", path, r.Code)
		}
	}
	if r := e.do("POST", "/api/v1/campaigns/a/start", alice, nil); r.Code != 403 {
		t.Errorf("agent starts: %d, want 403", r.Code)
	}

	for _, step := range []struct {
		action string
		code   int
		want   crmcore.CampaignState
	}{
		{"start", 200, crmcore.CampaignRunning},
		{"pause", 200, crmcore.CampaignPaused},
		{"start", 200, crmcore.CampaignRunning},
		{"stop", 200, crmcore.CampaignStopped},
		{"start", 400, crmcore.CampaignStopped},
		{"pause", 400, crmcore.CampaignStopped},
	} {
		r := e.do("POST", "/api/v1/campaigns/a/"+step.action, sam, nil)
		if r.Code != step.code {
			t.Errorf("%s: %d %s, want %d", step.action, r.Code, r.Body, step.code)
		}
		if got, _ := fake.Campaign(context.Background(), "a"); got.State != step.want {
			t.Errorf("after %s: state %s, want %s", step.action, got.State, step.want)
		}
		if step.code == 200 {
			if r.json(t, &c); c.State != step.want {
				t.Errorf("%s answered state %s", step.action, c.State)
			}
		}
	}
	if r := e.do("POST", "/api/v1/campaigns/nope/start", sam, nil); r.Code != 404 {
		t.Errorf("start unknown: %d, want 404", r.Code)
	}
	if r := e.do("GET", "/api/v1/campaigns/a/start", sam, nil); r.Code != 405 {
		t.Errorf("GET start: %d, want 405", r.Code)
	}

	plain := newEnv(t)
	tok := plain.login("sam", "demo")
	if r := plain.do("GET", "/api/v1/campaigns", tok, nil); r.Code != 404 {
		t.Errorf("without WithCampaigns: %d, want 404", r.Code)
	}
	if r := plain.do("POST", "/api/v1/campaigns/a/start", tok, nil); r.Code != 404 {
		t.Errorf("without WithCampaigns, start: %d, want 404", r.Code)
	}
}

// TestCampaignsContacts: a CSV list reaches the runner byte for byte and
// its report is cut to the first 100 skipped rows; a JSON list is checked
// field by field and handed over as sent; other content types are 415.
func TestCampaignsContacts(t *testing.T) {
	fake := NewFakeCampaigns(crmcore.CampaignInfo{ID: "a", Queue: "sales", Mode: "preview", State: crmcore.CampaignPaused,
		Config: json.RawMessage(`{}`)})
	e := newEnv(t, WithCampaigns(fake))
	sam := e.login("sam", "demo")

	var csv bytes.Buffer
	csv.WriteString("number,name,contact_id,timezone\r\n+14155550101,Ann \"A\" Lee,,America/Los_Angeles\n+442079460102,Bo,,\n")
	for i := range 150 {
		fmt.Fprintf(&csv, "bad%d,,,\n", i)
	}
	r := e.doRaw("POST", "/api/v1/campaigns/a/contacts", sam, "text/csv; charset=utf-8", csv.String())
	if r.Code != 200 {
		t.Fatalf("csv: %d %s", r.Code, r.Body)
	}
	var res campaignListResult
	r.json(t, &res)
	if res.Added != 2 || len(res.Skipped) != 100 || res.SkippedCount != 150 || res.Skipped[0] != "line 4: not a phone number" {
		t.Errorf("csv result: added %d, %d skipped shown of %d, first %q", res.Added, len(res.Skipped), res.SkippedCount, res.Skipped[0])
	}
	if !bytes.Equal(fake.CSV["a"], csv.Bytes()) {
		t.Errorf("the runner got other bytes than were sent")
	}
	if r := e.doRaw("POST", "/api/v1/campaigns/nope/contacts", sam, "text/csv", "number\n+14155550101\n"); r.Code != 404 {
		t.Errorf("csv to unknown campaign: %d, want 404", r.Code)
	}

	sent := []crmcore.CampaignContact{
		{Number: "+14155550101", Name: "Ann Lee", ContactID: "c1", TimeZone: "America/Los_Angeles"},
		{Number: "020 7946 0102"},
	}
	r = e.do("POST", "/api/v1/campaigns/a/contacts", sam, map[string]any{"contacts": []map[string]string{
		{"number": "+14155550101", "name": "Ann Lee", "contact_id": "c1", "time_zone": "America/Los_Angeles"},
		{"number": "020 7946 0102"}}})
	if r.Code != 200 {
		t.Fatalf("json: %d %s", r.Code, r.Body)
	}
	if r.json(t, &res); res.Added != 1 || res.SkippedCount != 0 || res.Skipped == nil {
		t.Errorf("json result: %+v", res)
	}
	if d := cmp.Diff(sent, fake.Contacts["a"]); d != "" {
		t.Errorf("contacts handed to the runner (-want +got):\n%s", d)
	}

	many := make([]map[string]string, MaxCampaignContacts+1)
	for i := range many {
		many[i] = map[string]string{"number": "+14155550101"}
	}
	for _, tc := range []struct {
		name, ct string
		body     any
		code     int
		field    string
	}{
		{"no number", "application/json", map[string]any{"contacts": []map[string]string{{"number": "+1415555010"}, {"name": "x"}}}, 400, "contacts[1].number"},
		{"line break in name", "application/json", map[string]any{"contacts": []map[string]string{{"number": "+14155550101", "name": "a\nb"}}}, 400, "contacts[0].name"},
		{"bad zone", "application/json", map[string]any{"contacts": []map[string]string{{"number": "+14155550101", "time_zone": "Mars/Base"}}}, 400, "contacts[0].time_zone"},
		{"position given", "application/json", map[string]any{"contacts": []map[string]any{{"number": "+14155550101", "position": 3}}}, 400, "position"},
		{"empty list", "application/json", map[string]any{"contacts": []string{}}, 400, "contacts"},
		{"nothing", "application/json", map[string]any{}, 400, "contacts"},
		{"too many", "application/json", map[string]any{"contacts": many}, 400, "contacts"},
		{"both", "application/json", map[string]any{"contacts": []map[string]string{{"number": "+14155550101"}}, "segment": "vip"}, 400, "segment"},
		{"xml", "application/xml", "<contacts/>", 415, ""},
		{"no type", "", "number\n", 415, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ok := tc.body.(string)
			if !ok {
				b, _ := json.Marshal(tc.body)
				body = string(b)
			}
			r := e.doRaw("POST", "/api/v1/campaigns/a/contacts", sam, tc.ct, body)
			if r.Code != tc.code {
				t.Fatalf("%d %s, want %d", r.Code, r.Body, tc.code)
			}
			if got := r.err(t).Error.Field; got != tc.field {
				t.Errorf("field = %q, want %q", got, tc.field)
			}
		})
	}
	if len(fake.Contacts["a"]) != len(sent) {
		t.Errorf("refused lists reached the runner: %d contacts", len(fake.Contacts["a"]))
	}
}

// TestCampaignsSegment: {"segment":"vip"} hands the runner exactly the
// VIP contacts of the CRM, each by its first number, in batches; a VIP
// without a phone is skipped and counted; standard contacts stay out.
func TestCampaignsSegment(t *testing.T) {
	fake := NewFakeCampaigns(crmcore.CampaignInfo{ID: "a", Queue: "sales", Mode: "preview", State: crmcore.CampaignPaused,
		Config: json.RawMessage(`{}`)})
	e := newEnv(t, WithCampaigns(fake))
	sam := e.login("sam", "demo")
	ctx := context.Background()

	// Only this test's contacts are VIPs: the seeded ones become standard.
	var seeded []crmcore.Contact
	if err := e.store.EachContact(ctx, func(c crmcore.Contact) error { seeded = append(seeded, c); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, c := range seeded {
		c.Segment = crmcore.SegmentStandard
		if _, err := e.store.UpdateContact(ctx, c.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	create := func(in crmcore.ContactInput) crmcore.Contact {
		t.Helper()
		c, err := crmcore.NewContact(in, "US")
		if err != nil {
			t.Fatal(err)
		}
		if c, err = e.store.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	var want []crmcore.CampaignContact
	// More VIPs than one batch, and than one page of the store's walk.
	for i := range segmentBatch + 3 {
		c := create(crmcore.ContactInput{Name: fmt.Sprintf("VIP %d", i), Segment: crmcore.SegmentVIP,
			Phones: []crmcore.PhoneInput{{Number: fmt.Sprintf("+1303555%04d", i)}, {Number: fmt.Sprintf("+1720555%04d", i)}}})
		want = append(want, crmcore.CampaignContact{ContactID: c.ID, Number: c.Phones[0].E164, Name: c.Name, TimeZone: c.TimeZone})
	}
	london := create(crmcore.ContactInput{Name: "Lady London", Segment: crmcore.SegmentVIP, TimeZone: "Europe/London",
		Phones: []crmcore.PhoneInput{{Number: "+442079460199"}}})
	want = append(want, crmcore.CampaignContact{ContactID: london.ID, Number: "+442079460199", Name: "Lady London", TimeZone: "Europe/London"})
	phoneless := create(crmcore.ContactInput{Name: "No Phone", Segment: crmcore.SegmentVIP, Emails: []string{"np@example.com"}})
	create(crmcore.ContactInput{Name: "Standard", Phones: []crmcore.PhoneInput{{Number: "+13035559999"}}})

	r := e.do("POST", "/api/v1/campaigns/a/contacts", sam, map[string]any{"segment": "vip"})
	if r.Code != 200 {
		t.Fatalf("segment: %d %s", r.Code, r.Body)
	}
	var res campaignListResult
	r.json(t, &res)
	if res.Added != len(want) || res.SkippedCount != 1 || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0], phoneless.ID) {
		t.Errorf("segment result: %+v", res)
	}
	byID := func(a, b crmcore.CampaignContact) int { return strings.Compare(a.ContactID, b.ContactID) }
	got := slices.SortedFunc(slices.Values(fake.Contacts["a"]), byID)
	slices.SortFunc(want, byID)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("segment contacts (-want +got):\n%s", d)
	}
	if fake.Batches != 2 {
		t.Errorf("handed over in %d batches, want 2", fake.Batches)
	}
	if r := e.do("POST", "/api/v1/campaigns/a/contacts", sam, map[string]any{"segment": "gold"}); r.Code != 400 || r.err(t).Error.Field != "segment" {
		t.Errorf("segment gold: %d %s, want 400 on segment", r.Code, r.Body)
	}
	if r := e.do("POST", "/api/v1/campaigns/nope/contacts", sam, map[string]any{"segment": "vip"}); r.Code != 404 {
		t.Errorf("segment to unknown campaign: %d, want 404", r.Code)
	}
}

// FuzzCampaignID: whatever the body, withCampaignID either refuses it
// with a 400 or returns an object whose "id" is a non-empty string and
// whose other keys are the body's.
func FuzzCampaignID(f *testing.F) {
	for _, s := range []string{`{}`, `{"id":"x","queue":"q"}`, `{"ID":null}`, `{"Id":5}`, `[]`, `null`, `"id"`, `{"id":"a","iD":"b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return
		}
		out, err := withCampaignID(body)
		if err != nil {
			var be *badRequest
			if !errors.As(err, &be) || be.status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		var in, got map[string]json.RawMessage
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("accepted a non-object %q", body)
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		var id string
		if err := json.Unmarshal(got["id"], &id); err != nil || id == "" {
			t.Fatalf("output %q has no id", out)
		}
		for k := range in {
			if _, ok := got[k]; !ok && !strings.EqualFold(k, "id") {
				t.Fatalf("key %q lost: %q", k, out)
			}
		}
	})
}

// FuzzCampaignContacts: whatever JSON list arrives, the check either
// refuses it with a 400 naming a field, or passes every contact on as
// sent.
func FuzzCampaignContacts(f *testing.F) {
	for _, s := range []string{`{"contacts":[{"number":"+14155550101","time_zone":"Europe/London"}]}`,
		`{"contacts":[{"number":"","name":"x"}]}`, `{"contacts":[{"number":"1\n2"}]}`, `{"contacts":[]}`,
		`{"contacts":[{"number":"+1","time_zone":"../etc/passwd"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in campaignContactsInput
		if json.Unmarshal(body, &in) != nil {
			return
		}
		out, err := campaignContacts(in.Contacts)
		if err != nil {
			var be *badRequest
			if !errors.As(err, &be) || be.status != http.StatusBadRequest || be.field == "" {
				t.Fatalf("error %v is not a 400 naming a field", err)
			}
			return
		}
		if len(out) != len(in.Contacts) || len(out) == 0 {
			t.Fatalf("%d contacts in, %d out", len(in.Contacts), len(out))
		}
		for i, c := range out {
			if c.Number != in.Contacts[i].Number || c.Number == "" || len(c.Number) > 32 || hasControl(c.Name) {
				t.Fatalf("contact %d passed as %+v", i, c)
			}
		}
	})
}
