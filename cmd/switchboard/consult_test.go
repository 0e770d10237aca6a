package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

// longCaller writes a copy of the support caller's SIPp scenario that talks
// for talk once connected, and returns its path.
func longCaller(t *testing.T, talk time.Duration) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sipp", "caller_support.xml"))
	if err != nil {
		t.Fatal(err)
	}
	const pause = `<pause milliseconds="6000"/>`
	if !strings.Contains(string(b), pause) {
		t.Fatal("caller_support.xml has no talk pause to lengthen")
	}
	out := strings.Replace(string(b), pause, `<pause milliseconds="`+strconv.Itoa(int(talk.Milliseconds()))+`"/>`, 1)
	path := filepath.Join(t.TempDir(), "caller_long.xml")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// speak sends a 440 Hz tone from c for n frames, paced, and returns once
// sent and a little time for it to come back has passed.
func speak(c *siptest.Call, n int) {
	tone := make([]int16, 160)
	for f := range n {
		for i := range tone {
			tone[i] = int16(8000 * sinApprox(float64(f*160+i)*440/8000))
		}
		_ = c.Session().WriteFrame(tone)
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
}

// heardWhile returns how many loud samples each of calls received while
// talker spoke.
func heardWhile(talker *siptest.Call, calls ...*siptest.Call) []int {
	before := make([]int, len(calls))
	for i, c := range calls {
		before[i] = loudCount(c.Samples())
	}
	speak(talker, 75)
	got := make([]int, len(calls))
	for i, c := range calls {
		got[i] = loudCount(c.Samples()) - before[i]
	}
	return got
}

func consultPhase(phase string) func(envelope) bool {
	return func(e envelope) bool {
		if e.Type != "call.consult" {
			return false
		}
		var d struct{ Phase string }
		_ = json.Unmarshal(e.Data, &d)
		return d.Phase == phase
	}
}

// TestJourneyConferenceAndWarmTransfer takes a SIPp caller (who echoes
// what they hear) through a three-way conference and a warm transfer with
// desk phones and CTI desks: the conference lets the caller hear the third
// agent, the agent who leaves it hands the caller over, the consultation
// keeps the caller out (on hold), completing it connects the caller to the
// consulted agent; the call has one record listing every party, and each
// agent who handed it on left their wrap-up.
func TestJourneyConferenceAndWarmTransfer(t *testing.T) {
	s := startSystem(t, openAllDay, nil)
	bobDesk, bobPhone, bobID := s.agent("bob", true)
	aliceDesk, alicePhone, aliceID := s.agent("alice", true)
	graceDesk, gracePhone, graceID := s.agent("grace", true)
	bobDesk.command("presence.set", map[string]string{"presence": "ready"})
	// Alice and grace are logged in but not taking queue calls: only a
	// colleague's consultation reaches them.
	for _, d := range []*cti{aliceDesk, graceDesk} {
		d.command("presence.set", map[string]string{"presence": "not-ready", "reason": "training"})
	}

	caller := s.sipp(longCaller(t, 30*time.Second), "Nora Quinn", "+14155550177", "+15550100", "-rtp_echo")
	offer := bobDesk.waitFor(45*time.Second, func(e envelope) bool { return e.Type == "call.offered" })
	var pop struct {
		CallID string `json:"call_id"`
	}
	if err := json.Unmarshal(offer.Data, &pop); err != nil {
		t.Fatal(err)
	}
	ring := func(p *siptest.Phone, who string) *siptest.Call {
		t.Helper()
		select {
		case c := <-p.Inbound:
			return c
		case <-time.After(20 * time.Second):
			t.Fatalf("%s's phone never rang", who)
			return nil
		}
	}
	bobCall := ring(bobPhone, "bob")
	answered := bobDesk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "call.answered" })
	var since struct {
		Since time.Time `json:"since"`
	}
	if err := json.Unmarshal(answered.Data, &since); err != nil {
		t.Fatal(err)
	}

	// A three-way call: bob adds alice.
	target := func(id string) map[string]any {
		return map[string]any{"call_id": pop.CallID, "target": map[string]string{"kind": "agent", "value": id}}
	}
	bobDesk.command("call.conference", target(aliceID))
	consultOffer := aliceDesk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "call.offered" })
	if !strings.Contains(string(consultOffer.Data), `"consult_from":"`+bobID+`"`) {
		t.Errorf("alice's pop does not say bob consults her: %s", consultOffer.Data)
	}
	aliceCall := ring(alicePhone, "alice")
	bobDesk.waitFor(10*time.Second, consultPhase("conference"))
	// The caller echoes what they hear: alice hearing her own tone proves
	// the caller hears her; bob hears her directly.
	if got := heardWhile(aliceCall, aliceCall, bobCall); got[0] < 800 || got[1] < 800 {
		t.Errorf("conference: alice's tone came back from the caller %d and reached bob %d loud samples, want ≥ 800 each", got[0], got[1])
	}

	// Bob leaves: alice keeps the caller, bob wraps up.
	bobDesk.command("call.hangup", map[string]string{"call_id": pop.CallID})
	bobDesk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "wrapup.started" })
	select {
	case <-bobCall.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("bob's phone not hung up when he left the conference")
	}
	if got := heardWhile(aliceCall, aliceCall); got[0] < 800 {
		t.Errorf("after bob left: alice's tone came back from the caller %d loud samples, want ≥ 800", got[0])
	}
	bobDesk.command("wrapup.submit", map[string]any{"call_id": pop.CallID, "disposition": "resolved", "notes": "Brought in Alice."})

	// Alice consults grace: the caller waits on hold and hears neither.
	aliceDesk.command("call.consult", target(graceID))
	graceDesk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "call.offered" })
	graceCall := ring(gracePhone, "grace")
	aliceDesk.waitFor(10*time.Second, consultPhase("talking"))
	if got := heardWhile(aliceCall, graceCall, aliceCall); got[0] < 800 || got[1] > 0 {
		t.Errorf("consultation: grace heard alice %d loud samples (want ≥ 800), the held caller echoed %d (want 0)", got[0], got[1])
	}
	aliceDesk.command("call.consult.complete", map[string]string{"call_id": pop.CallID})
	aliceDesk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "wrapup.started" })
	graceDesk.waitFor(10*time.Second, consultPhase("completed"))
	if got := heardWhile(graceCall, graceCall); got[0] < 800 {
		t.Errorf("after the transfer: grace's tone came back from the caller %d loud samples, want ≥ 800", got[0])
	}
	// Grace pauses the recording while the caller reads a card number.
	if r := graceDesk.command("call.record.pause", map[string]string{"call_id": pop.CallID}); !strings.Contains(string(r.Data), `"paused":true`) {
		t.Errorf("pause reply %s", r.Data)
	}
	paused := time.Now()
	speak(graceCall, 100)
	resumed := time.Now()
	graceDesk.command("call.record.resume", map[string]string{"call_id": pop.CallID})
	aliceDesk.command("wrapup.submit", map[string]any{"call_id": pop.CallID, "disposition": "resolved", "notes": "Passed to Grace."})

	if err := <-caller; err != nil {
		t.Fatal(err)
	}
	graceDesk.waitFor(15*time.Second, func(e envelope) bool { return e.Type == "wrapup.started" })
	graceDesk.command("wrapup.submit", map[string]any{"call_id": pop.CallID, "disposition": "resolved", "notes": "Done."})

	in := s.waitInteraction("call_id = $1", pop.CallID)
	if in.Outcome != "answered" || str(in.AgentID) != graceID {
		t.Errorf("record: outcome %s agent %s, want answered by grace", in.Outcome, str(in.AgentID))
	}
	// One recording of the whole call: loud while the agents spoke, silent
	// while it was paused (the recording began when bob answered).
	left, right, err := media.ReadWAVStereo(in.Recording)
	if err != nil {
		t.Fatalf("recording %q: %v", in.Recording, err)
	}
	at := func(t time.Time) int { return min(len(left), max(0, int(t.Sub(since.Since).Seconds()*8000))) }
	from, to := at(paused.Add(300*time.Millisecond)), at(resumed.Add(-300*time.Millisecond))
	if to-from < 4000 {
		t.Fatalf("paused stretch %d..%d of %d samples: recording too short", from, to, len(left))
	}
	if n := loudCount(left[from:to]) + loudCount(right[from:to]); n > 0 {
		t.Errorf("%d loud samples recorded while paused", n)
	}
	if loudCount(left[:from]) < 800 || loudCount(right[:from]) < 800 {
		t.Errorf("recording before the pause: %d loud caller samples, %d heard, want both", loudCount(left[:from]), loudCount(right[:from]))
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var records int
	var parties []struct {
		AgentID string `json:"agent_id"`
		Role    string `json:"role"`
	}
	var holds []struct {
		AgentID string `json:"agent_id"`
	}
	if err := conn.QueryRow(ctx, `select (select count(*) from interactions where call_id = $1), parties, holds
		from interactions where id = $2`, pop.CallID, in.ID).Scan(&records, &parties, &holds); err != nil {
		t.Fatal(err)
	}
	if records != 1 {
		t.Errorf("%d records for one call", records)
	}
	var got []string
	for _, p := range parties {
		got = append(got, map[string]string{bobID: "bob", aliceID: "alice", graceID: "grace"}[p.AgentID]+":"+p.Role)
	}
	if want := "bob:agent alice:conference alice:agent grace:consult grace:agent"; strings.Join(got, " ") != want {
		t.Errorf("parties = %v, want %s", got, want)
	}
	// The caller waited on hold while alice's phone rang for the
	// conference, and while alice consulted grace.
	if len(holds) != 2 || holds[0].AgentID != bobID || holds[1].AgentID != aliceID {
		t.Errorf("holds = %+v, want bob's then alice's", holds)
	}
	var wrapups []string
	rows, err := conn.Query(ctx, `select agent_id::text, notes from interaction_wrapups where interaction_id = $1 order by at`, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a, n string
		if err := rows.Scan(&a, &n); err != nil {
			t.Fatal(err)
		}
		wrapups = append(wrapups, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(wrapups) < 2 || !strings.Contains(strings.Join(wrapups, "|"), "Brought in Alice.") || !strings.Contains(strings.Join(wrapups, "|"), "Passed to Grace.") {
		t.Errorf("wrap-ups = %q, want bob's and alice's", wrapups)
	}
}
