package voice_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard/acd/acdtest"
	"switchboard/acd/voice"
	"switchboard/crmcore"
	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

// memRecorder keeps the records written to it.
type memRecorder struct {
	mu   sync.Mutex
	recs []crmcore.Interaction
	wus  []crmcore.WrapUp
}

func (m *memRecorder) Write(_ context.Context, in crmcore.Interaction) error {
	if err := in.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, in)
	return nil
}

func (m *memRecorder) AppendWrapUp(_ context.Context, wu crmcore.WrapUp) error {
	if err := wu.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.wus = append(m.wus, wu)
	return nil
}

func (m *memRecorder) wrapUps() []crmcore.WrapUp {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.wus)
}

// TestEntryRefused: a call the gateway refused for capacity gets its
// interaction record (outcome failed, the reason, the caller's number in
// E.164, arrived and ended at the refusal).
func TestEntryRefused(t *testing.T) {
	rec := &memRecorder{}
	at := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	x := voice.New(voice.EngineRouter(newEngine(t)), nil, nil, rec, voice.Options{DefaultRegion: "US", Now: func() time.Time { return at }})
	x.Refused("call-1@host", "2125550143", "15550100", "call limit")
	if len(rec.recs) != 1 {
		t.Fatalf("%d records, want 1", len(rec.recs))
	}
	r := rec.recs[0]
	if r.CallID != "call-1@host" || r.ANI != "+12125550143" || r.DNIS != "15550100" || r.Outcome != crmcore.OutcomeFailed ||
		r.Direction != crmcore.Inbound || r.ID == "" {
		t.Errorf("record %+v", r)
	}
	if len(r.RoutingReasons) != 1 || r.RoutingReasons[0] != "refused: call limit" {
		t.Errorf("routing reasons %q, want the refusal's reason", r.RoutingReasons)
	}
	if !r.ArrivedAt.Equal(at) || r.EndedAt == nil || !r.EndedAt.Equal(at) {
		t.Errorf("arrived %v, ended %v; want both %v", r.ArrivedAt, r.EndedAt, at)
	}
}

// noFlows is a voice.FlowSource without any entry point or flow.
type noFlows struct{}

func (noFlows) ForDNIS(string) (ivr.EntryPoint, bool, error) { return ivr.EntryPoint{}, false, nil }

func (noFlows) ForWebRTC(string) (ivr.EntryPoint, bool, error) { return ivr.EntryPoint{}, false, nil }
func (noFlows) Current() *ivr.Set                              { return nil }

// entryCall is an inbound call as the journey sees it: a scripted IVR
// session on a leg.
type entryCall struct {
	*ivrtest.Session
	*acdtest.Leg
	ani, dnis string
	sipCallID string
}

func (c *entryCall) SIPCallID() string { return c.sipCallID }

func (c *entryCall) ANI() string              { return c.ani }
func (c *entryCall) DNIS() string             { return c.dnis }
func (c *entryCall) Context() context.Context { return c.Leg.Context() }

// TestEntryRecordLifecycle: every call gets exactly one record id, opened
// in progress at its arrival (reported under the SIP Call-ID) and
// completed under the same id, whether the telephony side refuses it after
// the arrival (the caller cancelled while it rang: abandoned; it was never
// ACKed: failed) or hands it to Handle (whose call has its own leg id),
// and Handle opens the record itself for a call without an arrival.
func TestEntryRecordLifecycle(t *testing.T) {
	at := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		arrival bool
		end     func(x *voice.Journey, callID string)
		outcome crmcore.Outcome
		reason  string
		callID  string // of the completed record
	}{
		{"cancelled while ringing", true, func(x *voice.Journey, id string) { x.Refused(id, "2125550143", "15550100", "cancelled") },
			crmcore.OutcomeAbandoned, "ended by the caller: cancelled", "call-1@host"},
		{"never ACKed", true, func(x *voice.Journey, id string) { x.Refused(id, "2125550143", "15550100", "no ack") },
			crmcore.OutcomeFailed, "refused: no ack", "call-1@host"},
		{"handled", true, handleNoFlow, crmcore.OutcomeFailed, "", "leg-1"},
		{"handled without an arrival", false, handleNoFlow, crmcore.OutcomeFailed, "", "leg-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &memRecorder{}
			x := voice.New(voice.EngineRouter(newEngine(t)), noFlows{}, nil, rec, voice.Options{DefaultRegion: "US", Now: func() time.Time { return at }})
			if tc.arrival {
				x.Arrival("call-1@host", "2125550143", "15550100", at.Add(-time.Second))
				if len(rec.recs) != 1 || rec.recs[0].Outcome != crmcore.OutcomeInProgress || rec.recs[0].EndedAt != nil {
					t.Fatalf("after the arrival: %+v, want one record in progress", rec.recs)
				}
			}
			tc.end(x, "call-1@host")
			if len(rec.recs) != 2 {
				t.Fatalf("%d records written, want 2 (opened, completed)", len(rec.recs))
			}
			open, done := rec.recs[0], rec.recs[1]
			if open.Outcome != crmcore.OutcomeInProgress || done.ID != open.ID || done.CallID != tc.callID {
				t.Errorf("records %+v then %+v: want one id, opened then completed", open, done)
			}
			if done.Outcome != tc.outcome || done.EndedAt == nil || done.ANI != "+12125550143" || !done.ArrivedAt.Equal(open.ArrivedAt) {
				t.Errorf("completed %+v, want %s, ended, arrived as opened", done, tc.outcome)
			}
			if tc.reason != "" && (len(done.RoutingReasons) != 1 || done.RoutingReasons[0] != tc.reason) {
				t.Errorf("routing reasons %q, want %q", done.RoutingReasons, tc.reason)
			}
		})
	}
}

// handleNoFlow hands the call to Handle; with no flow for its number it
// ends at once (failed).
func handleNoFlow(x *voice.Journey, callID string) {
	x.Handle(&entryCall{Session: ivrtest.NewSession(), Leg: acdtest.NewLeg("leg-1"), ani: "2125550143", dnis: "15550100",
		sipCallID: callID})
}

// surveyFlows queues every call to support and has a survey asking CSAT
// then NPS.
const surveyFlows = `
version: 1
default_language: en
languages: [en]
default_queue: support
entry_points:
  - dnis: "15550100"
    flow: main
flows:
  main:
    start: q
    nodes:
      q:
        kind: queue
        queue: support
  survey:
    start: questions
    nodes:
      questions:
        kind: survey
        questions:
          - name: csat
            scale: 1-5
            prompts: [survey_csat]
          - name: nps
            scale: 0-10
            prompts: [survey_nps]
        next: bye
      bye:
        kind: hangup
`

// flowSet is a voice.FlowSource over one parsed set.
type flowSet struct{ set *ivr.Set }

func (f flowSet) ForDNIS(dnis string) (ivr.EntryPoint, bool, error) {
	for _, ep := range f.set.EntryPoints() {
		if ep.DNIS == dnis {
			return ep, true, nil
		}
	}
	return ivr.EntryPoint{}, false, nil
}

func (f flowSet) ForWebRTC(name string) (ivr.EntryPoint, bool, error) {
	ep, ok := f.set.ForWebRTC(name)
	return ep, ok, nil
}

func (f flowSet) Current() *ivr.Set { return f.set }

// TestEntrySurveyStoresEveryAnswer: a caller who answers the survey's
// CSAT question and then its NPS question gets both answers stored on the
// call's record (and CSAT as the headline score).
func TestEntrySurveyStoresEveryAnswer(t *testing.T) {
	set, _, err := ivr.Parse("flows.yaml", []byte(surveyFlows), ivr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &memRecorder{}
	x := voice.New(voice.EngineRouter(newEngine(t)), flowSet{set}, nil, rec, voice.Options{DefaultRegion: "US", SurveyFlow: "survey"})
	call := &entryCall{Session: ivrtest.NewSession(ivrtest.Keys("4"), ivrtest.Keys("9"), ivrtest.Timeout(), ivrtest.Hangup()),
		Leg: acdtest.NewLeg("call-1@host"), ani: "anonymous", dnis: "15550100"} // no number: no CRM lookup
	x.Handle(call) // queued: the call waits for an agent
	if !x.AfterCall("call-1@host", call) {
		t.Fatal("AfterCall ran no survey")
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(rec.wrapUps()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no survey stored")
		}
		time.Sleep(5 * time.Millisecond)
	}
	wu := rec.wrapUps()[0]
	if wu.Survey["csat"] != 4 || wu.Survey["nps"] != 9 || len(wu.Survey) != 2 || wu.SurveyScore == nil || *wu.SurveyScore != 4 {
		t.Errorf("survey %v, score %v; want csat 4 and nps 9, score 4", wu.Survey, wu.SurveyScore)
	}
	if len(rec.recs) == 0 || wu.InteractionID != rec.recs[0].ID {
		t.Errorf("survey for interaction %s, want the call's %v", wu.InteractionID, rec.recs)
	}
	call.Leg.End()
}
