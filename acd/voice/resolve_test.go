package voice_test

import (
	"context"
	"testing"
	"time"

	"switchboard/acd/acdtest"
	"switchboard/acd/voice"
	"switchboard/crmcore"
	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

// lookupFlows looks the caller up in the CRM, then queues to support.
const lookupFlows = `
version: 1
default_language: en
languages: [en]
default_queue: support
entry_points:
  - dnis: "15550100"
    flow: main
flows:
  main:
    start: identify
    nodes:
      identify:
        kind: lookup
        lookup: caller
        found: q
        not_found: q
        error: q
      q:
        kind: queue
        queue: support
`

// knownCaller is a Directory that knows one number.
type knownCaller struct {
	voice.Directory
	e164 string
}

func (d knownCaller) LookupByPhone(_ context.Context, e164 string) (crmcore.CallerLookup, error) {
	if e164 != d.e164 {
		return crmcore.CallerLookup{}, nil
	}
	return crmcore.CallerLookup{Known: true, Contact: &crmcore.Contact{ID: "c-1", Name: "Ada"}}, nil
}

// TestNumberResolvedOnce: the caller's number is parsed once, where the
// call arrives; the record, the IVR's caller lookup, the screen pop's
// lookup and the engine's routing all use that result, which the queued
// call carries (E.164, country, time zone).
func TestNumberResolvedOnce(t *testing.T) {
	set, _, err := ivr.Parse("flows.yaml", []byte(lookupFlows), ivr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	engine := newEngine(t)
	rec := &memRecorder{}
	x := voice.New(voice.EngineRouter(engine), flowSet{set}, knownCaller{e164: "+12125550143"}, rec, voice.Options{DefaultRegion: "US"})
	var resolved int
	voice.CountResolutions(x, &resolved)

	x.Arrival("call-1@host", "(212) 555-0143", "15550100", time.Now())
	call := &entryCall{Session: ivrtest.NewSession(), Leg: acdtest.NewLeg("leg-1"), ani: "(212) 555-0143", dnis: "15550100",
		sipCallID: "call-1@host"}
	defer call.Leg.End()
	x.Handle(call) // queued: nobody is logged in

	info, err := engine.Call(t.Context(), "leg-1")
	if err != nil {
		t.Fatalf("the call is not queued: %v", err)
	}
	if info.E164 != "+12125550143" || info.Country != "US" || info.TimeZone == "" {
		t.Errorf("queued call = %+v, want the caller's E.164, country and time zone", info)
	}
	if pop, ok := info.Data.(*voice.Pop); !ok || !pop.Known || pop.Contact.Name != "Ada" {
		t.Errorf("pop = %+v, want the CRM contact found by the resolved number", info.Data)
	}
	if resolved != 1 {
		t.Errorf("the number was resolved %d times, want once", resolved)
	}
	if len(rec.recs) == 0 || rec.recs[0].ANI != "+12125550143" {
		t.Errorf("records %+v, want the resolved number on the record", rec.recs)
	}
}
