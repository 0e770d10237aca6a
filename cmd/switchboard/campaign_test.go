package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

// customerAnswers plays who answers each dialled number on call: a
// person says a short "hello" and waits; a machine plays a long greeting.
// Either keeps sending audio (silence) until the call ends, as a phone
// does.
func customerAnswers(c *siptest.Call, machine bool) {
	voice := 25 // frames: half a second of "hello"
	if machine {
		voice = 200 // four seconds of greeting
	}
	tone, silence := make([]int16, 160), make([]int16, 160)
	for f := 0; ; f++ {
		frame := silence
		if f >= 15 && f < 15+voice {
			for i := range tone {
				tone[i] = int16(8000 * sinApprox(float64(f*160+i)*440/8000))
			}
			frame = tone
		}
		_ = c.Session().WriteFrame(frame)
		select {
		case <-c.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestCampaignDialsOverSIP: a predictive campaign dials its list through
// the trunk. The first person who answers is connected to the only agent
// (audio both ways); the second, answering at the same time, waits out
// the two-second grace, hears the abandon message and is hung up; an
// answering machine is detected and given the machine message; a busy
// number and one nobody answers are recorded as such; a number on the
// do-not-call list is never dialled. Each dial has exactly one record,
// and the REST API and the CRM agree on the figures.
func TestCampaignDialsOverSIP(t *testing.T) {
	const (
		person1, person2, machine = "+14155550201", "+14155550202", "+14155550203"
		busy, noAnswer, dnc       = "+14155550204", "+14155550205", "+14155550206"
	)
	customer := siptest.NewPhone(t, "customer")
	pcmu := media.PCMU
	customer.AnswerWith(&pcmu)
	customer.Refuse(busy, 486)
	customer.Refuse(noAnswer, 180)
	began := time.Now()
	s := startSystem(t, openAllDay, func(c *Config) {
		c.SIP.Trunk = customer.Addr().String()
		c.SIP.CampaignRing = Duration(3 * time.Second)
	})
	desk, phone, heidiID := s.agent("heidi", true)
	desk.command("presence.set", map[string]string{"presence": "ready"})
	sam, _ := s.login("sam", "demo")

	// Who the trunk was asked to call, and the customers' legs.
	var mu sync.Mutex
	legs := map[string]*siptest.Call{}
	go func() {
		for {
			select {
			case c := <-customer.Inbound:
				number := "+" + strings.TrimPrefix(c.To, "+")
				mu.Lock()
				legs[number] = c
				mu.Unlock()
				go customerAnswers(c, number == machine)
			case <-t.Context().Done():
				return
			}
		}
	}()

	if code, body := s.rest("POST", "/api/v1/dnc", sam, map[string]any{"number": dnc, "reason": "asked not to be called"}); code != 201 {
		t.Fatalf("dnc: %d %s", code, body)
	}
	camp := s.createCampaign(sam, map[string]any{"name": "Renewals", "queue": "sales", "mode": "predictive", "initial_ratio": 3, "amd": "message"})
	if camp.State != crmcore.CampaignPaused {
		t.Fatalf("created %+v, want a paused campaign", camp)
	}
	var list []map[string]string
	for _, n := range []string{person1, person2, machine, busy, noAnswer, dnc} {
		list = append(list, map[string]string{"number": n, "name": "Customer " + n[len(n)-2:]})
	}
	if code, body := s.rest("POST", "/api/v1/campaigns/"+camp.ID+"/contacts", sam, map[string]any{"contacts": list}); code != 200 && code != 201 {
		t.Fatalf("contacts: %d %s", code, body)
	}
	if code, body := s.rest("POST", "/api/v1/campaigns/"+camp.ID+"/start", sam, nil); code != 200 {
		t.Fatalf("start: %d %s", code, body)
	}

	// heidi's phone rings for one of the two people; they talk.
	var agentLeg *siptest.Call
	select {
	case agentLeg = <-phone.Inbound:
	case <-time.After(30 * time.Second):
		t.Fatal("the agent was never offered a campaign call")
	}
	offered := desk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "call.offered" })
	var pop struct {
		CRM struct {
			Campaign struct{ ID, Detection string }
		}
	}
	if err := json.Unmarshal(offered.Data, &pop); err != nil || pop.CRM.Campaign.ID != camp.ID || !strings.HasPrefix(pop.CRM.Campaign.Detection, "HUMAN") {
		t.Errorf("pop = %s, want the campaign and a person's detection", offered.Data)
	}
	heard := heardWhile(agentLeg, legs2(&mu, legs, person1, person2)...)
	if heard[0]+heard[1] == 0 {
		t.Errorf("no customer heard the agent (heard %v)", heard)
	}

	// The other person is released after the grace: hung up by us, after
	// the abandon message.
	var abandonedLeg *siptest.Call
	deadline := time.Now().Add(20 * time.Second)
	for abandonedLeg == nil {
		for _, c := range legs2(&mu, legs, person1, person2) {
			select {
			case <-c.Done():
				abandonedLeg = c
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("neither person's call ended: nobody was released after the grace")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if loudCount(abandonedLeg.Samples()) == 0 {
		t.Error("the released person heard no abandon message")
	}
	var connectedLeg *siptest.Call
	for _, c := range legs2(&mu, legs, person1, person2) {
		if c != abandonedLeg {
			connectedLeg = c
		}
	}
	if got := heardWhile(connectedLeg, agentLeg); got[0] == 0 {
		t.Error("the agent did not hear the connected customer")
	}
	endCallback(t, desk, connectedLeg)

	// Every contact is dealt with: the rest are dialled once heidi is free.
	results := waitCampaignRecords(t, s.dsn, camp.ID, began, 5, heidiID)
	got := map[string]int{}
	for _, r := range results {
		got[r.result]++
	}
	want := map[string]int{"connected": 1, "abandoned": 1, "machine": 1, "busy": 1, "no-answer": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) || results[machine].result != "machine" || results[busy].result != "busy" || results[noAnswer].result != "no-answer" {
		t.Errorf("results = %v, want %v with the machine, busy and unanswered numbers as such", results, want)
	}
	mu.Lock()
	if legs[dnc] != nil {
		t.Error("the number on the do-not-call list was dialled")
	}
	if m := legs[machine]; m == nil || loudCount(m.Samples()) == 0 {
		t.Error("the answering machine was not given the machine message")
	}
	mu.Unlock()

	code, body := s.rest("GET", "/api/v1/campaigns/"+camp.ID, sam, nil)
	if err := json.Unmarshal(body, &camp); code != 200 || err != nil {
		t.Fatalf("get campaign: %d %s", code, body)
	}
	st := camp.Stats
	if st.Dialed != 5 || st.Connected != 1 || st.Abandoned != 1 || st.Machines != 1 || st.Busy != 1 || st.NoAnswer != 1 || st.DNC != 1 {
		t.Errorf("stats = %+v, want 5 dialled: 1 connected, 1 abandoned, 1 machine, 1 busy, 1 unanswered; 1 on the do-not-call list", st)
	}
}

// legs2 returns the legs of numbers, once every one of them exists (or
// after 20 s, those that do).
func legs2(mu *sync.Mutex, legs map[string]*siptest.Call, numbers ...string) []*siptest.Call {
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		out := make([]*siptest.Call, 0, len(numbers))
		for _, n := range numbers {
			if c := legs[n]; c != nil {
				out = append(out, c)
			}
		}
		mu.Unlock()
		if len(out) == len(numbers) || time.Now().After(deadline) {
			return out
		}
	}
}

// TestCampaignSurvivesRestart: a campaign, its list and what it has
// finished are kept in PostgreSQL: after a restart the campaign is back
// in its state, and once running again it calls the contact it had not
// reached and never again the one it had finished.
func TestCampaignSurvivesRestart(t *testing.T) {
	const first, second = "+14155550401", "+14155550402"
	customer := siptest.NewPhone(t, "customer")
	customer.Refuse(first, 486)
	customer.Refuse(second, 486)
	trunk := func(c *Config) { c.SIP.Trunk = customer.Addr().String() }
	s := startSystem(t, openAllDay, trunk)
	desk, _, _ := s.agent("heidi", true)
	desk.command("presence.set", map[string]string{"presence": "ready"})
	sam, _ := s.login("sam", "demo")
	camp := s.createCampaign(sam, map[string]any{"name": "Kept", "queue": "sales", "mode": "progressive",
		"retry": map[string]any{"busy": map[string]any{"after": "1s", "attempts": 1}}})
	add := func(s *system, number string) {
		t.Helper()
		if code, body := s.rest("POST", "/api/v1/campaigns/"+camp.ID+"/contacts", sam,
			map[string]any{"contacts": []map[string]string{{"number": number}}}); code != 200 && code != 201 {
			t.Fatalf("contacts: %d %s", code, body)
		}
	}
	state := func(s *system, st string) {
		t.Helper()
		if code, body := s.rest("POST", "/api/v1/campaigns/"+camp.ID+"/"+st, sam, nil); code != 200 {
			t.Fatalf("%s: %d %s", st, code, body)
		}
	}
	add(s, first)
	state(s, "start")
	s.waitInteraction("campaign = $1 and dnis = $2 and campaign_result = 'busy'", camp.ID, first)
	state(s, "pause")
	add(s, second)
	s.stop()

	s2 := startSystem(t, openAllDay, func(c *Config) {
		trunk(c)
		c.Database.URL, c.Database.DataDir = s.cfg.Database.URL, s.cfg.Database.DataDir
	})
	sam, _ = s2.login("sam", "demo")
	code, body := s2.rest("GET", "/api/v1/campaigns/"+camp.ID, sam, nil)
	var kept crmcore.CampaignInfo
	if err := json.Unmarshal(body, &kept); code != 200 || err != nil || kept.State != crmcore.CampaignPaused || kept.Name != "Kept" {
		t.Fatalf("after the restart: %d %s, want the campaign, paused", code, body)
	}
	desk, _, _ = s2.agent("heidi", true)
	desk.command("presence.set", map[string]string{"presence": "ready"})
	state(s2, "start")
	s2.waitInteraction("campaign = $1 and dnis = $2 and campaign_result = 'busy'", camp.ID, second)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s2.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// The dialer paces every half second: give it time to redial the
	// finished contact, were it to.
	time.Sleep(2 * time.Second)
	var n int
	if err := conn.QueryRow(ctx, `select count(*) from interactions where campaign = $1 and dnis = $2`, camp.ID, first).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d records for the contact finished before the restart (%v), want 1: it was called again", n, err)
	}
}

// campaignRecord is one dial's record: its result and agent.
type campaignRecord struct{ result, agent string }

// waitCampaignRecords waits until campaign has n records since began,
// none in progress and one per number, and returns them by number; a
// connected one must name agent.
func waitCampaignRecords(t *testing.T, dsn, campaign string, began time.Time, n int, agent string) map[string]campaignRecord {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(40 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		rows, err := conn.Query(ctx, `select dnis, coalesce(campaign_result, ''), outcome, coalesce(agent_id::text, '') from interactions
			where campaign = $1 and arrived_at >= $2`, campaign, began)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]campaignRecord{}
		seen, open := 0, 0
		for rows.Next() {
			var dnis, outcome string
			var r campaignRecord
			if err := rows.Scan(&dnis, &r.result, &outcome, &r.agent); err != nil {
				t.Fatal(err)
			}
			seen++
			if outcome == string(crmcore.OutcomeInProgress) {
				open++
				continue
			}
			if _, twice := out[dnis]; twice {
				t.Errorf("%s has two records", dnis)
			}
			out[dnis] = r
			if r.result == "connected" && r.agent != agent {
				t.Errorf("the connected record of %s has agent %q, want %q", dnis, r.agent, agent)
			}
		}
		rows.Close()
		if seen == n && open == 0 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign records: %d, %d in progress, %v; want %d final", seen, open, out, n)
		}
	}
}

// createCampaign creates a campaign from fields, calling at any hour on
// any day, and returns it as created.
func (s *system) createCampaign(token string, fields map[string]any) crmcore.CampaignInfo {
	s.t.Helper()
	fields["window"] = map[string]any{"start": "00:00", "end": "24:00", "days": []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}}
	code, body := s.rest("POST", "/api/v1/campaigns", token, fields)
	if code != 201 {
		s.t.Fatalf("create campaign: %d %s", code, body)
	}
	var camp crmcore.CampaignInfo
	if err := json.Unmarshal(body, &camp); err != nil {
		s.t.Fatal(err)
	}
	return camp
}
