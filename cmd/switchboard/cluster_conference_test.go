package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
	leaderID := r.info.Nodes[r.leader()].ID
	ring := func(p *siptest.Phone, who string) *siptest.Call {
		t.Helper()
		select {
		case c := <-p.Inbound:
			return c
		case <-time.After(30 * time.Second):
			t.Fatalf("%s's phone never rang", who)
			return nil
		}
	}

	// Calls until one is held by a node that does not lead.
	var ani, callID string
	var caller, carolLeg *siptest.Call
	for i := 0; ; i++ {
		if i == 12 {
			t.Fatal("12 calls, none held by a node that does not lead")
		}
		ani = fmt.Sprintf("+1415555040%02d", i)
		caller = r.salesCall(ani)
		carolLeg = ring(carolPhone, "carol")
		answered := carolDesk.waitFor(15*time.Second, func(e envelope) bool { return e.Type == "call.answered" })
		var c struct {
			CallID string `json:"call_id"`
		}
		if err := json.Unmarshal(answered.Data, &c); err != nil {
			t.Fatal(err)
		}
		callID = c.CallID
		if recs := r.recordsOf(ani); len(recs) == 1 && recs[0].node != leaderID {
			break
		}
		r.end(carolDesk, caller, callID)
		r.waitRecord(ani)
	}

	carolDesk.command("call.conference", map[string]any{"call_id": callID, "target": map[string]string{"kind": "agent", "value": daveID}})
	daveLeg := ring(davePhone, "dave")
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
