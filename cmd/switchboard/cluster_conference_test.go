package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

// TestClusterConference: a call held by a node that does not lead
// reaches carol, who brings dave in (a three-way call). The leader has
// the caller's node mix the legs on its gateway: caller, carol and dave
// hear each other. Carol leaves and dave keeps the caller. The call has
// one record, answered by dave, with both agents among its parties.
func TestClusterConference(t *testing.T) {
	r := startCluster(t)
	carolDesk, carolPhone := r.agent("carol")
	daveDesk, davePhone := r.agent("dave")
	_, daveID := r.login("dave", "demo")
	carolDesk.command("presence.set", map[string]string{"presence": "ready"})
	daveDesk.command("presence.set", map[string]string{"presence": "not-ready", "reason": "training"})
	held := r.remoteCall(carolDesk, carolPhone, "+1415555040")
	ani, callID, caller, carolLeg := held.ani, held.id, held.caller, held.agentLeg

	carolDesk.command("call.conference", map[string]any{"call_id": callID, "target": map[string]string{"kind": "agent", "value": daveID}})
	var daveLeg *siptest.Call
	select {
	case daveLeg = <-davePhone.Inbound:
	case <-time.After(30 * time.Second):
		t.Fatal("dave's phone never rang")
	}
	carolDesk.waitFor(15*time.Second, consultPhase("conference"))
	if got := heardWhile(caller, carolLeg, daveLeg); got[0] == 0 || got[1] == 0 {
		t.Errorf("in the conference carol heard the caller %d and dave %d loud samples, want both > 0", got[0], got[1])
	}
	if got := heardWhile(daveLeg, caller, carolLeg); got[0] == 0 || got[1] == 0 {
		t.Errorf("in the conference the caller heard dave %d and carol %d loud samples, want both > 0", got[0], got[1])
	}

	carolDesk.command("call.hangup", map[string]string{"call_id": callID})
	carolDesk.waitFor(15*time.Second, func(e envelope) bool { return e.Type == "wrapup.started" })
	carolDesk.command("wrapup.submit", map[string]any{"call_id": callID, "disposition": "resolved"})
	select {
	case <-carolLeg.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("carol's phone was not hung up when she left")
	}
	if got := heardWhile(caller, daveLeg); got[0] == 0 {
		t.Error("after carol left, dave no longer hears the caller")
	}
	r.end(daveDesk, caller, callID)

	rec := r.waitRecord(ani)
	if rec.outcome != "answered" {
		t.Errorf("record: %q %v, want answered", rec.outcome, rec.reasons)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var agent string
	var parties int
	if err := conn.QueryRow(ctx, `select coalesce(agent_id::text, ''), jsonb_array_length(coalesce(parties, '[]'::jsonb)) from interactions where ani = $1`, ani).Scan(&agent, &parties); err != nil {
		t.Fatal(err)
	}
	if agent != daveID || parties < 2 {
		t.Errorf("record: agent %s with %d parties, want dave with both agents", agent, parties)
	}
}

// TestClusterCampaign: the leader dials a progressive campaign through
// the trunk from its own gateway; the person who answers is queued
// through the bus like any of its calls and reaches carol, whose phone
// registered through the SIP edge; they talk. One record, connected.
func TestClusterCampaign(t *testing.T) {
	const person = "+14155550501"
	customer := siptest.NewPhone(t, "customer")
	pcmu := media.PCMU
	customer.AnswerWith(&pcmu)
	r := startCluster(t, "--trunk", customer.Addr().String())
	desk, phone := r.agent("carol")
	_, carolID := r.login("carol", "demo")
	desk.command("presence.set", map[string]string{"presence": "ready"})
	sam, _ := r.login("sam", "demo")
	camp := r.createCampaign(sam, map[string]any{"name": "Cluster", "queue": "sales", "mode": "progressive"})
	if code, body := r.rest("POST", "/api/v1/campaigns/"+camp.ID+"/contacts", sam,
		map[string]any{"contacts": []map[string]string{{"number": person}}}); code != 200 && code != 201 {
		t.Fatalf("contacts: %d %s", code, body)
	}
	if code, body := r.rest("POST", "/api/v1/campaigns/"+camp.ID+"/start", sam, nil); code != 200 {
		t.Fatalf("start: %d %s", code, body)
	}
	var custLeg *siptest.Call
	select {
	case custLeg = <-customer.Inbound:
	case <-time.After(30 * time.Second):
		t.Fatal("the campaign's number was never dialled")
	}
	go customerAnswers(custLeg, false)
	var agentLeg *siptest.Call
	select {
	case agentLeg = <-phone.Inbound:
	case <-time.After(30 * time.Second):
		t.Fatal("carol's phone never rang for the person who answered")
	}
	answered := desk.waitFor(15*time.Second, func(e envelope) bool { return e.Type == "call.answered" })
	var c struct {
		CallID string `json:"call_id"`
	}
	if err := json.Unmarshal(answered.Data, &c); err != nil {
		t.Fatal(err)
	}
	if got := heardWhile(agentLeg, custLeg); got[0] == 0 {
		t.Error("the customer did not hear carol")
	}
	// Carol ends it: the trunk shares the SIP edge's address here, so the
	// nodes would take the customer's BYE for the edge's.
	desk.command("call.hangup", map[string]string{"call_id": c.CallID})
	desk.waitFor(15*time.Second, func(e envelope) bool { return e.Type == "wrapup.started" })
	desk.command("wrapup.submit", map[string]any{"call_id": c.CallID, "disposition": "sale"})

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var n int
		var result, agent string
		err := conn.QueryRow(ctx, `select count(*), coalesce(max(campaign_result), ''), coalesce(max(agent_id::text), '') from interactions
			where campaign = $1 and outcome <> 'in-progress'`, camp.ID).Scan(&n, &result, &agent)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 && result == "connected" && agent == carolID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign records: %d, result %q, agent %q; want one connected to carol", n, result, agent)
		}
	}
	var total int
	if err := conn.QueryRow(ctx, `select count(*) from interactions where campaign = $1`, camp.ID).Scan(&total); err != nil || total != 1 {
		t.Errorf("%d records of the campaign (%v), want 1", total, err)
	}
}
