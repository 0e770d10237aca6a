package voice_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"switchboard/acd/acdtest"
	"switchboard/acd/voice"
	"switchboard/crmcore"
	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

// webFlows looks the web caller up in the CRM: one it knows is queued,
// another hears goodbye.
const webFlows = `
version: 1
default_language: en
languages: [en]
default_queue: support
entry_points:
  - webrtc: web
    flow: main
flows:
  main:
    start: identify
    nodes:
      identify:
        kind: lookup
        lookup: caller
        found: q
        not_found: bye
        error: bye
      q:
        kind: queue
        queue: support
      bye:
        kind: hangup
`

// anaID is the contact of the one customer the test CRM knows.
const anaID = "0193f6a1-7c2e-7d4a-9b1e-2f3a4b5c6d7e"

// customers is a CRM that knows one customer, Ana, by her contact.
type customers struct {
	voice.Directory
	fail bool

	mu      sync.Mutex
	asked   [][3]string // name, email, phone of every ContactForCustomer
	lookups int
}

func (d *customers) ContactForCustomer(_ context.Context, name, email, phone string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, [3]string{name, email, phone})
	if d.fail {
		return "", errors.New("pool exhausted")
	}
	return anaID, nil
}

func (d *customers) LookupByContact(_ context.Context, id string) (crmcore.CallerLookup, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	if id != anaID {
		return crmcore.CallerLookup{}, nil
	}
	return crmcore.CallerLookup{Known: true, Contact: &crmcore.Contact{ID: anaID, Name: "Ana Lima", Segment: crmcore.SegmentVIP},
		OpenTickets: []crmcore.Ticket{{Subject: "Refund"}}}, nil
}

// webCall is a call from the web page with the identity its caller gave.
type webCall struct {
	*entryCall
	name, email, phone string
	verified           bool
}

func (c *webCall) WebEntry() string { return "web" }
func (c *webCall) WebCaller() (string, string, string, bool) {
	return c.name, c.email, c.phone, c.verified
}

// TestWebCallerContact: a web caller who gave an email or a phone is
// matched to their CRM contact before the IVR, which finds them by it; the
// screen pop shows the contact's record and the call's interaction record
// carries the contact and the typed phone in E.164, while the call itself
// keeps its own number and, unless a token vouches for the caller, is
// routed without the contact's segment. A caller who gave neither is not
// matched, and a failed match leaves the call without CRM data.
func TestWebCallerContact(t *testing.T) {
	set, _, err := ivr.Parse("flows.yaml", []byte(webFlows), ivr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name               string
		who, email, phone  string
		verified, fail     bool
		wantAsked          [3]string
		wantQueued         bool
		wantLookups        int
		wantContact, wantA string
	}{
		{name: "matched", who: "Ana Lima", email: "ana@example.com", phone: "(212) 555-0143",
			wantAsked: [3]string{"Ana Lima", "ana@example.com", "+12125550143"}, wantQueued: true, wantLookups: 1, wantContact: anaID, wantA: "+12125550143"},
		{name: "verified", who: "Ana Lima", phone: "+12125550143", verified: true,
			wantAsked: [3]string{"Ana Lima", "", "+12125550143"}, wantQueued: true, wantLookups: 1, wantContact: anaID, wantA: "+12125550143"},
		{name: "email only", email: "ana@example.com",
			wantAsked: [3]string{"", "ana@example.com", ""}, wantQueued: true, wantLookups: 1, wantContact: anaID, wantA: "web"},
		{name: "name only", who: "Ana Lima", wantA: "web"},
		{name: "match failed", who: "Ana Lima", phone: "+1 212 555 0143", fail: true,
			wantAsked: [3]string{"Ana Lima", "", "+12125550143"}, wantA: "+12125550143"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engine := newEngine(t)
			rec := &memRecorder{}
			dir := &customers{fail: tc.fail}
			x := voice.New(voice.EngineRouter(engine), flowSet{set}, dir, rec, voice.Options{DefaultRegion: "US"})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- x.Run(ctx) }()

			call := &webCall{entryCall: &entryCall{Session: ivrtest.NewSession(), Leg: acdtest.NewLeg("leg-1"), ani: "web", dnis: "web"},
				name: tc.who, email: tc.email, phone: tc.phone, verified: tc.verified}
			if tc.verified {
				call.ani = tc.phone // the token's number is the call's own
			}
			x.Handle(call) // queued (nobody is logged in), or hung up

			info, err := engine.Call(t.Context(), "leg-1")
			if queued := err == nil; queued != tc.wantQueued {
				t.Fatalf("queued = %v (%v), want %v", queued, err, tc.wantQueued)
			}
			if tc.wantQueued {
				pop, ok := info.Data.(*voice.Pop)
				if !ok || !pop.Known || pop.Contact == nil || pop.Contact.ID != tc.wantContact || len(pop.OpenTickets) != 1 {
					t.Errorf("pop = %+v, want the record of contact %s", info.Data, tc.wantContact)
				}
				if ok && (pop.Web == nil || pop.Web.Email != tc.email || pop.Web.Verified != tc.verified) {
					t.Errorf("pop's web caller = %+v, want the form's or token's (verified %v)", pop.Web, tc.verified)
				}
				switch {
				case tc.verified && (info.E164 != tc.phone || info.Segment != "vip"):
					t.Errorf("queued call: number %q segment %q, want the token's number and the contact's segment, vip", info.E164, info.Segment)
				case !tc.verified && (info.ANI != "web" || info.E164 != "" || info.Segment != ""):
					t.Errorf("queued call: number %q (E.164 %q) segment %q, want its own number, web, and no segment: "+
						"a typed identity neither is dialled nor routes", info.ANI, info.E164, info.Segment)
				}
				call.Leg.End() // abandoned in queue: the engine completes the interaction
			}
			if err := engine.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}

			dir.mu.Lock()
			defer dir.mu.Unlock()
			var want [][3]string
			if tc.wantAsked != [3]string{} {
				want = [][3]string{tc.wantAsked}
			}
			if len(dir.asked) != len(want) || (len(want) == 1 && dir.asked[0] != want[0]) {
				t.Errorf("ContactForCustomer asked %q, want %q", dir.asked, want)
			}
			if dir.lookups != tc.wantLookups {
				t.Errorf("%d lookups by contact, want %d (one shared by the IVR and the pop)", dir.lookups, tc.wantLookups)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if n := len(rec.recs); n != 2 || rec.recs[n-1].Outcome == crmcore.OutcomeInProgress || rec.recs[0].ID != rec.recs[n-1].ID {
				t.Fatalf("records %+v, want the call's opened and completed", rec.recs)
			}
			end := rec.recs[1]
			if end.ContactID != tc.wantContact || end.ANI != tc.wantA {
				t.Errorf("completed record: contact %q ani %q, want %q %q", end.ContactID, end.ANI, tc.wantContact, tc.wantA)
			}
		})
	}
}
