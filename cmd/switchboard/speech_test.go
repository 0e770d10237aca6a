package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/ivr/sphinx"
	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

// TestJourneySpokenMenuChoice calls the demo line from a SIP phone and,
// while the main menu plays, says "billing" (a synthesised fixture): the
// caller is heard over the prompt, routed to billing, and what they said
// reaches the agent's screen pop and the call's record.
func TestJourneySpokenMenuChoice(t *testing.T) {
	if rec, err := sphinx.New(sphinx.WithDecoders(1)); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("speech recognition unavailable in CI: %v", err)
		}
		t.Skipf("speech recognition unavailable (make deps installs it): %v", err)
	} else {
		_ = rec.Close()
	}
	f, err := os.Open(filepath.Join("..", "..", "ivr", "testdata", "speech", "clean", "billing_en-us_180.wav"))
	if err != nil {
		t.Fatal(err)
	}
	said, err := media.ReadWAV(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	s := startSystem(t, openAllDay, nil)
	desk, phone, aliceID := s.agent("alice", true)
	desk.command("presence.set", map[string]string{"presence": "ready"})

	caller, err := siptest.NewPhone(t, "caller").Invite(t.Context(), s.sip, "+15550100", media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second) // the welcome, then the main menu starts
	send := func(samples []int16) {
		for i := 0; i+media.FrameSamples <= len(samples); i += media.FrameSamples {
			_ = caller.Session().WriteFrame(samples[i : i+media.FrameSamples])
			time.Sleep(20 * time.Millisecond)
		}
	}
	send(said.Samples)
	send(make([]int16, 75*media.FrameSamples)) // a pause ends the utterance

	offer := desk.waitFor(30*time.Second, func(e envelope) bool { return e.Type == "call.offered" })
	var pop struct {
		CallID     string            `json:"call_id"`
		Queue      string            `json:"queue"`
		IVRSummary []string          `json:"ivr_summary"`
		IVRVars    map[string]string `json:"ivr_vars"`
	}
	if err := json.Unmarshal(offer.Data, &pop); err != nil {
		t.Fatal(err)
	}
	if pop.Queue != "billing" || !strings.Contains(strings.Join(pop.IVRSummary, " "), `said "billing"`) ||
		pop.IVRVars["input.choice_speech"] != "billing" {
		t.Errorf("pop: queue %q, summary %q, vars %v; want billing, said \"billing\"", pop.Queue, pop.IVRSummary, pop.IVRVars)
	}
	select {
	case <-phone.Inbound:
	case <-time.After(20 * time.Second):
		t.Fatal("alice's phone never rang")
	}
	desk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "call.answered" })
	if err := caller.Hangup(t.Context()); err != nil {
		t.Fatal(err)
	}
	desk.waitFor(15*time.Second, func(e envelope) bool { return e.Type == "wrapup.started" })
	desk.command("wrapup.submit", map[string]any{"call_id": pop.CallID, "disposition": "resolved"})
	in := s.waitInteraction("call_id = $1", pop.CallID)
	if str(in.AgentID) != aliceID || in.Queue != "billing" {
		t.Errorf("record: agent %s queue %s", str(in.AgentID), in.Queue)
	}
	heard := false
	for _, st := range in.IVRPath {
		if st.Node == "main_menu" && st.Speech == "billing" && st.Confidence > 0 {
			heard = true
		}
	}
	if !heard {
		t.Errorf("the record's ivr path %v lacks main_menu's speech \"billing\"", in.IVRPath)
	}
}
