package crmapi

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"switchboard/crmcore"
	"switchboard/crmcore/pgstore"
)

// TestRecordingsForPeople streams a call's recording to a supervisor and
// to an agent who was on the call (with a range request), refuses an
// agent who was not and paths out of the recording directory, and keeps
// who listened.
func TestRecordingsForPeople(t *testing.T) {
	dir := t.TempDir()
	audio := make([]byte, 4000)
	for i := range audio {
		audio[i] = byte(i)
	}
	if err := os.WriteFile(filepath.Join(dir, "call-1.wav"), audio, 0o600); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret.wav")
	if err := os.WriteFile(outside, audio, 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(s *pgstore.Store) []Option { return []Option{WithRecordings(DirRecordings{Dir: dir}, s)} })
	ctx := context.Background()
	agentID := func(login string) string {
		a, err := e.store.AgentByLogin(ctx, login)
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	w, err := pgstore.NewWriter(e.store.Pool(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	end := t0.Add(time.Minute)
	rec := crmcore.Interaction{ID: crmcore.NewID(), CallID: "c1", Direction: crmcore.Inbound, Channel: crmcore.ChannelPhone,
		ArrivedAt: t0, EndedAt: &end, Outcome: crmcore.OutcomeAnswered, AgentID: agentID("bob"),
		Recording: filepath.Join(dir, "call-1.wav"),
		Parties: []crmcore.InteractionParty{{AgentID: agentID("alice"), Role: crmcore.PartyConsult, Joined: t0, Left: end},
			{AgentID: agentID("bob"), Role: crmcore.PartyAgent, Joined: t0, Left: end}}}
	escape := rec
	escape.ID, escape.CallID, escape.Recording = crmcore.NewID(), "c2", outside
	for _, in := range []crmcore.Interaction{rec, escape} {
		if err := w.Write(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/interactions/" + rec.ID + "/recording"
	sup := e.login("sam", "demo")
	if r := e.do("GET", path, sup, nil); r.Code != 200 || len(r.Body) != len(audio) || r.Hdr.Get("Content-Type") != "audio/wav" {
		t.Fatalf("supervisor: %d, %d bytes, %s", r.Code, len(r.Body), r.Hdr.Get("Content-Type"))
	}
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+e.login("alice", "demo"))
	req.Header.Set("Range", "bytes=100-199")
	rr := httptest.NewRecorder()
	e.h.ServeHTTP(rr, req)
	if b := rr.Body.Bytes(); rr.Code != 206 || len(b) != 100 || b[0] != 100 {
		t.Fatalf("consulted agent, range: %d, %d bytes", rr.Code, len(b))
	}
	if r := e.do("GET", path, e.login("grace", "demo"), nil); r.Code != 404 {
		t.Errorf("agent not on the call: %d, want 404", r.Code)
	}
	if r := e.do("GET", "/api/v1/interactions/"+escape.ID+"/recording", sup, nil); r.Code != 404 {
		t.Errorf("recording outside the directory: %d, want 404", r.Code)
	}
	if r := e.do("GET", path+"/access", e.login("alice", "demo"), nil); r.Code != 403 {
		t.Errorf("agent reading the access log: %d, want 403", r.Code)
	}
	var log struct {
		Items []crmcore.RecordingAccess
		Count int
	}
	e.do("GET", path+"/access", sup, nil).json(t, &log)
	if log.Count != 2 || log.Items[0].Range != "" || log.Items[1].Range != "bytes=100-199" || log.Items[1].AgentID != agentID("alice") {
		t.Errorf("access log = %+v", log)
	}
}
