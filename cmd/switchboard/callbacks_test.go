package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

// callBack waits for a callback's two legs: the agent's phone is rung
// first, then the customer dialled once the agent answered.
func callBack(t *testing.T, phone, customer *siptest.Phone) (agentLeg, custLeg *siptest.Call) {
	t.Helper()
	select {
	case agentLeg = <-phone.Inbound:
	case c := <-customer.Inbound:
		// Both may be ready by the time this runs (the customer is dialled
		// as soon as the agent answers); the agent's must be among them.
		select {
		case agentLeg = <-phone.Inbound:
			custLeg = c
		default:
			t.Fatalf("customer (%s) dialled before the agent was on the line", c.From)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("agent never rung for the callback")
	}
	if custLeg == nil {
		select {
		case custLeg = <-customer.Inbound:
		case <-time.After(20 * time.Second):
			t.Fatal("customer never dialled")
		}
	}
	return agentLeg, custLeg
}

// endCallback has the customer of an outbound call hang up and the
// agent wrap up.
func endCallback(t *testing.T, desk *cti, custLeg *siptest.Call) {
	t.Helper()
	if err := custLeg.Hangup(t.Context()); err != nil {
		t.Fatal(err)
	}
	ended := desk.waitFor(15*time.Second, func(e envelope) bool { return e.Type == "wrapup.started" })
	var w struct {
		CallID string `json:"call_id"`
	}
	json.Unmarshal(ended.Data, &w)
	desk.command("wrapup.submit", map[string]any{"call_id": w.CallID, "disposition": "sale"})
}

// TestCallbacksOwedAcrossRestart: a callback asked for in the IVR is kept
// in PostgreSQL; the server stops before any agent is free (its record
// says callback requested); the next server queues it again and calls the
// customer back, completing the same record. A callback scheduled over
// the REST API for a few seconds ahead is offered to the agent it names
// when due and completes a record of its own. Each call has one record.
func TestCallbacksOwedAcrossRestart(t *testing.T) {
	customer := siptest.NewPhone(t, "customer")
	pcmu := media.PCMU
	customer.AnswerWith(&pcmu)
	trunk := func(c *Config) { c.SIP.Trunk = customer.Addr().String() }
	began := time.Now()
	first := startSystem(t, openAllDay, trunk)
	if err := <-first.sipp("caller_callback.xml", "Liam Johnson", "+14155550101", "+15550100"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, first.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var kept, interactionID string
	deadline := time.Now().Add(20 * time.Second)
	for conn.QueryRow(ctx, `select id::text, interaction_id::text from callbacks where number = '+14155550101' and state = 'queued'`).Scan(&kept, &interactionID) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the IVR callback was not kept")
		}
		time.Sleep(100 * time.Millisecond)
	}
	first.stop()
	var outcome string
	if err := conn.QueryRow(ctx, `select outcome from interactions where id = $1`, interactionID).Scan(&outcome); err != nil || outcome != string(crmcore.OutcomeCallbackRequested) {
		t.Fatalf("after the stop the call's record is %q (%v), want callback-requested", outcome, err)
	}

	s := startSystem(t, openAllDay, func(c *Config) {
		trunk(c)
		c.Database.URL, c.Database.DataDir = first.cfg.Database.URL, first.cfg.Database.DataDir
	})
	desk, phone, heidiID := s.agent("heidi", true)
	desk.command("presence.set", map[string]string{"presence": "ready"})
	_, custLeg := callBack(t, phone, customer)
	if !strings.HasSuffix(custLeg.To, "4155550101") {
		t.Errorf("customer leg to %q, want the caller's number", custLeg.To)
	}
	endCallback(t, desk, custLeg)
	in := s.waitInteraction("id = $1 and outcome <> 'callback-requested'", interactionID)
	if str(in.AgentID) != heidiID || in.Outcome != "answered" || in.Queue != "sales" || in.DNIS != "+15550100" {
		t.Errorf("interaction = %+v (agent %s), want the sales call answered by heidi on callback", in, str(in.AgentID))
	}

	// A callback heidi schedules for herself, due in two seconds.
	token, _ := s.login("heidi", "demo")
	code, body := s.rest("POST", "/api/v1/callbacks", token, map[string]any{"number": "+14155550102", "queue": "sales",
		"at": time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339), "agent_id": "me", "note": "renewal"})
	if code != 201 {
		t.Fatalf("schedule: %d %s", code, body)
	}
	var cb crmcore.Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		t.Fatal(err)
	}
	_, custLeg = callBack(t, phone, customer)
	if !strings.HasSuffix(custLeg.To, "4155550102") {
		t.Errorf("customer leg to %q, want the scheduled number", custLeg.To)
	}
	endCallback(t, desk, custLeg)
	in = s.waitInteraction("id = $1", cb.InteractionID)
	if str(in.AgentID) != heidiID || in.Outcome != "answered" || in.CallID != cb.CallID || in.Direction != "outbound" {
		t.Errorf("scheduled callback's interaction = %+v, want answered by heidi", in)
	}
	var records, owed int
	if err := conn.QueryRow(ctx, `select (select count(*) from interactions where arrived_at >= $1),
		(select count(*) from callbacks c join interactions i on i.id = c.interaction_id where i.outcome in ('in-progress', 'callback-requested'))`,
		began).Scan(&records, &owed); err != nil {
		t.Fatal(err)
	}
	if records != 2 || owed != 0 {
		t.Errorf("%d records since the test began, %d callbacks owed; want 2 (the IVR caller's, the scheduled one's) and 0", records, owed)
	}
	code, body = s.rest("GET", "/api/v1/callbacks?state=done", token, nil)
	var done struct{ Count int }
	if json.Unmarshal(body, &done); code != 200 || done.Count != 1 {
		t.Errorf("heidi's callbacks done: %d %s, want her scheduled one", code, body)
	}
}
