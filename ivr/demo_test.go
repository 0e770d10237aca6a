package ivr_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

// quiet discards the interpreter's logs in tests.
var quiet = slog.New(slog.DiscardHandler)

var demoQueues = []string{"sales", "support", "billing", "vip", "operator"}

func loadDemo(t testing.TB) *ivr.Set {
	t.Helper()
	set, _, err := ivr.Load("testdata/demo.yaml", ivr.Options{PromptDir: "prompts", Queues: demoQueues})
	if err != nil {
		t.Fatalf("load demo: %v", err)
	}
	return set
}

var newYork = mustLoc("America/New_York")

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// Local times in the demo schedule's zone.
var (
	mondayMorning = time.Date(2026, 11, 23, 10, 0, 0, 0, newYork) // open
	saturdayNoon  = time.Date(2026, 11, 28, 12, 0, 0, 0, newYork) // weekend: closed
	christmas     = time.Date(2026, 12, 25, 10, 0, 0, 0, newYork) // Friday holiday: closed
	mondayEvening = time.Date(2026, 11, 23, 17, 0, 0, 0, newYork) // 17:00 is closing time
)

const (
	anyANI = "+15557654321"
	vipANI = "+15550199000"
	regANI = "+15550188000"
)

func demoLookup() *ivrtest.Lookup {
	return &ivrtest.Lookup{
		Callers: map[string]ivr.Caller{
			vipANI: {ContactID: "c-vip", Name: "Ada Lovelace", Segment: "vip", OpenTickets: 2},
			regANI: {ContactID: "c-reg", Name: "Bob Smith", Segment: "standard", OpenTickets: 0},
		},
		Tickets: map[string]ivr.Ticket{
			"1042": {Number: "1042", Status: "open", Subject: "Headset broken"},
			"2001": {Number: "2001", Status: "pending", Subject: "Invoice copy"},
			"3003": {Number: "3003", Status: "solved", Subject: "Password reset"},
			"4004": {Number: "4004", Status: "closed", Subject: "Old issue"},
			"5005": {Number: "5005", Status: "on-hold", Subject: "Waiting for parts"},
		},
	}
}

// openPrefix is the path every call takes to the main menu in open hours.
const openPrefix = "welcome hours hours:open identify identify:not_found main_menu "

type demoCase struct {
	name      string
	at        time.Time
	ani       string
	dnis      string
	lookup    *ivrtest.Lookup
	script    []ivrtest.Event
	kind      ivr.OutcomeKind
	queue     string
	skills    []ivr.Skill
	priority  int
	lang      string
	path      string
	vars      map[string]string // subset that must match
	callback  string
	callbacks ivr.CallbackPolicy
	voicemail time.Duration
	played    []string // prompts (lang/name) that must have been played, in order
}

func TestDemoFlow(t *testing.T) {
	set := loadDemo(t)
	en1 := []ivr.Skill{{Name: "en", MinLevel: 1}}
	cases := []demoCase{
		{
			name: "sales", script: ev(ivrtest.Keys("1")),
			kind: ivr.OutcomeQueue, queue: "sales", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "sales", MinLevel: 1}},
			path:   openPrefix + "dtmf:1 sales_queue",
			vars:   map[string]string{"call.reason": "sales", "caller.ani": anyANI},
			played: []string{"en/welcome", "en/main_menu", "en/please_hold"},
		},
		{
			name: "billing", script: ev(ivrtest.Keys("3")),
			kind: ivr.OutcomeQueue, queue: "billing", priority: 50,
			skills: []ivr.Skill{{Name: "billing", MinLevel: 1}, {Name: "en", MinLevel: 1}},
			path:   openPrefix + "dtmf:3 billing_queue",
			vars:   map[string]string{"call.reason": "billing"},
		},
		{
			name: "operator", script: ev(ivrtest.Keys("0")),
			kind: ivr.OutcomeQueue, queue: "operator", priority: 40, skills: en1,
			path: openPrefix + "dtmf:0 operator_queue",
		},
		{
			name: "invalid digit then sales", script: ev(ivrtest.Keys("7"), ivrtest.Keys("1")),
			kind: ivr.OutcomeQueue, queue: "sales", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "sales", MinLevel: 1}},
			path:   openPrefix + "dtmf:7 main_menu:invalid dtmf:1 sales_queue",
			played: []string{"en/main_menu", "en/invalid", "en/main_menu", "en/please_hold"},
		},
		{
			name: "timeout then billing", script: ev(ivrtest.Timeout(), ivrtest.Keys("3")),
			kind: ivr.OutcomeQueue, queue: "billing", priority: 50,
			skills: []ivr.Skill{{Name: "billing", MinLevel: 1}, {Name: "en", MinLevel: 1}},
			path:   openPrefix + "main_menu:timeout dtmf:3 billing_queue",
			played: []string{"en/main_menu", "en/timeout", "en/main_menu"},
		},
		{
			name:   "three timeouts go to the operator",
			script: ev(ivrtest.Timeout(), ivrtest.Timeout(), ivrtest.Timeout()),
			kind:   ivr.OutcomeQueue, queue: "operator", priority: 40, skills: en1,
			path: openPrefix + "main_menu:timeout main_menu:timeout main_menu:timeout main_menu:max_retries operator_queue",
		},
		{
			name:   "three invalid digits go to the operator",
			script: ev(ivrtest.Keys("7*5")),
			kind:   ivr.OutcomeQueue, queue: "operator", priority: 40, skills: en1,
			path: openPrefix + "dtmf:7 main_menu:invalid dtmf:* main_menu:invalid dtmf:5 main_menu:invalid main_menu:max_retries operator_queue",
		},
		{
			name:   "hang-up during the welcome",
			script: ev(ivrtest.HangupAt("welcome")),
			kind:   ivr.OutcomeAbandoned,
			path:   "welcome welcome:hangup",
		},
		{
			name:   "hang-up mid menu prompt",
			script: ev(ivrtest.HangupAt("main_menu")),
			kind:   ivr.OutcomeAbandoned,
			path:   openPrefix + "main_menu:hangup",
		},
		{
			name:   "hang-up while the menu waits for a digit",
			script: ev(ivrtest.HangupWhileWaiting()),
			kind:   ivr.OutcomeAbandoned,
			path:   openPrefix + "main_menu:hangup",
		},
		{
			name:   "hang-up at the first prompt",
			script: ev(ivrtest.Hangup()),
			kind:   ivr.OutcomeAbandoned,
			// The first session call is the welcome Play: the scripted hang-up ends it.
			path: "welcome welcome:hangup",
		},
		{
			name:   "hang-up after a timeout",
			script: ev(ivrtest.Timeout(), ivrtest.Timeout(), ivrtest.HangupAt("main_menu")),
			kind:   ivr.OutcomeAbandoned,
			path:   openPrefix + "main_menu:timeout main_menu:timeout main_menu:hangup",
		},
		{
			name: "VIP skips the menu", ani: vipANI,
			kind: ivr.OutcomeQueue, queue: "vip", priority: 90, skills: en1,
			path: "welcome hours hours:open identify identify:found vip_check vip_queue",
			vars: map[string]string{
				"contact.id": "c-vip", "contact.name": "Ada Lovelace", "contact.segment": "vip",
				"contact.open_tickets": "2", "call.reason": "vip",
			},
			played: []string{"en/welcome", "en/vip_welcome"},
		},
		{
			name: "known regular caller gets the menu", ani: regANI, script: ev(ivrtest.Keys("1")),
			kind: ivr.OutcomeQueue, queue: "sales", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "sales", MinLevel: 1}},
			path:   "welcome hours hours:open identify identify:found vip_check main_menu dtmf:1 sales_queue",
			vars:   map[string]string{"contact.segment": "standard", "contact.id": "c-reg"},
		},
		{
			name: "caller lookup error falls through to the menu", lookup: &ivrtest.Lookup{Err: errors.New("crm down")},
			script: ev(ivrtest.Keys("0")),
			kind:   ivr.OutcomeQueue, queue: "operator", priority: 40, skills: en1,
			path: "welcome hours hours:open identify identify:error main_menu dtmf:0 operator_queue",
		},
		{
			name:   "ticket found, open, then agent",
			script: ev(ivrtest.Keys("2"), ivrtest.Keys("1042#"), ivrtest.Keys("1"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeQueue, queue: "support", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "support", MinLevel: 1}},
			path: openPrefix + "dtmf:2 ticket_entry dtmf:1 dtmf:0 dtmf:4 dtmf:2 dtmf:# dtmf:1 ticket_entry:confirmed " +
				"ticket_lookup ticket_lookup:found ticket_status status_open ticket_menu dtmf:1 support_queue",
			vars: map[string]string{
				"input.ticket": "1042", "ticket.number": "1042", "ticket.status": "open",
				"ticket.subject": "Headset broken", "call.reason": "support",
			},
			played: []string{
				"en/ticket_enter", "en/you_entered", "en/num_1", "en/num_0", "en/num_4", "en/num_2", "en/confirm_entry",
				"en/ticket", "en/num_1", "en/num_0", "en/num_4", "en/num_2", "en/ticket_status_open", "en/ticket_menu",
			},
		},
		{
			name:   "ticket pending, back to the main menu, billing",
			script: ev(ivrtest.Keys("2"), ivrtest.Keys("2001#"), ivrtest.Keys("1"), ivrtest.Keys("2"), ivrtest.Keys("3")),
			kind:   ivr.OutcomeQueue, queue: "billing", priority: 50,
			skills: []ivr.Skill{{Name: "billing", MinLevel: 1}, {Name: "en", MinLevel: 1}},
			path: openPrefix + "dtmf:2 ticket_entry dtmf:2 dtmf:0 dtmf:0 dtmf:1 dtmf:# dtmf:1 ticket_entry:confirmed " +
				"ticket_lookup ticket_lookup:found ticket_status status_pending ticket_menu dtmf:2 main_menu dtmf:3 billing_queue",
			played: []string{"en/ticket_status_pending"},
		},
		{
			name:   "ticket solved",
			script: ev(ivrtest.Keys("2"), ivrtest.Keys("3003#"), ivrtest.Keys("1"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeQueue, queue: "support", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "support", MinLevel: 1}},
			path: openPrefix + "dtmf:2 ticket_entry dtmf:3 dtmf:0 dtmf:0 dtmf:3 dtmf:# dtmf:1 ticket_entry:confirmed " +
				"ticket_lookup ticket_lookup:found ticket_status status_solved ticket_menu dtmf:1 support_queue",
			played: []string{"en/ticket_status_solved"},
		},
		{
			name:   "ticket closed",
			script: ev(ivrtest.Keys("2"), ivrtest.Keys("4004#"), ivrtest.Keys("1"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeQueue, queue: "support", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "support", MinLevel: 1}},
			path: openPrefix + "dtmf:2 ticket_entry dtmf:4 dtmf:0 dtmf:0 dtmf:4 dtmf:# dtmf:1 ticket_entry:confirmed " +
				"ticket_lookup ticket_lookup:found ticket_status status_closed ticket_menu dtmf:1 support_queue",
			played: []string{"en/ticket_status_closed"},
		},
		{
			name:   "ticket with another status",
			script: ev(ivrtest.Keys("2"), ivrtest.Keys("5005#"), ivrtest.Keys("1"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeQueue, queue: "support", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "support", MinLevel: 1}},
			path: openPrefix + "dtmf:2 ticket_entry dtmf:5 dtmf:0 dtmf:0 dtmf:5 dtmf:# dtmf:1 ticket_entry:confirmed " +
				"ticket_lookup ticket_lookup:found ticket_status status_other ticket_menu dtmf:1 support_queue",
			played: []string{"en/ticket_status_other"},
		},
		{
			name:   "ticket not found, agent",
			script: ev(ivrtest.Keys("2"), ivrtest.Keys("999#"), ivrtest.Keys("1"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeQueue, queue: "support", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "support", MinLevel: 1}},
			path: openPrefix + "dtmf:2 ticket_entry dtmf:9 dtmf:9 dtmf:9 dtmf:# dtmf:1 ticket_entry:confirmed " +
				"ticket_lookup ticket_lookup:not_found ticket_not_found ticket_menu dtmf:1 support_queue",
			vars:   map[string]string{"input.ticket": "999"},
			played: []string{"en/ticket_not_found", "en/ticket_menu"},
		},
		{
			name: "ticket lookup error goes to support", lookup: &ivrtest.Lookup{Err: errors.New("crm down")},
			script: ev(ivrtest.Keys("2"), ivrtest.Keys("1042#"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeQueue, queue: "support", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "support", MinLevel: 1}},
			path: "welcome hours hours:open identify identify:error main_menu dtmf:2 ticket_entry dtmf:1 dtmf:0 dtmf:4 dtmf:2 dtmf:# dtmf:1 ticket_entry:confirmed " +
				"ticket_lookup ticket_lookup:error ticket_lookup_error support_queue",
			played: []string{"en/lookup_error", "en/please_hold"},
		},
		{
			name: "ticket number too short, then re-entered, then not confirmed, then confirmed",
			script: ev(ivrtest.Keys("2"), ivrtest.Keys("12#"), ivrtest.Keys("1042#"), ivrtest.Keys("2"),
				ivrtest.Keys("1042"), ivrtest.Timeout(), ivrtest.Keys("1"), ivrtest.Keys("1")),
			kind: ivr.OutcomeQueue, queue: "support", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "support", MinLevel: 1}},
			path: openPrefix + "dtmf:2 ticket_entry dtmf:1 dtmf:2 dtmf:# ticket_entry:invalid " +
				"dtmf:1 dtmf:0 dtmf:4 dtmf:2 dtmf:# dtmf:2 ticket_entry:not_confirmed " +
				"dtmf:1 dtmf:0 dtmf:4 dtmf:2 dtmf:1 ticket_entry:confirmed " +
				"ticket_lookup ticket_lookup:found ticket_status status_open ticket_menu dtmf:1 support_queue",
		},
		{
			name:   "hang-up in the middle of the ticket number",
			script: ev(ivrtest.Keys("2"), ivrtest.Keys("10"), ivrtest.HangupWhileWaiting()),
			kind:   ivr.OutcomeAbandoned,
			path:   openPrefix + "dtmf:2 ticket_entry dtmf:1 dtmf:0 ticket_entry:hangup",
			vars:   map[string]string{"call.reason": "support"},
		},
		{
			name:   "ticket entry times out to support",
			script: ev(ivrtest.Keys("2"), ivrtest.Timeout(), ivrtest.Timeout(), ivrtest.Timeout()),
			kind:   ivr.OutcomeQueue, queue: "support", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "support", MinLevel: 1}},
			path: openPrefix + "dtmf:2 ticket_entry ticket_entry:timeout ticket_entry:timeout ticket_entry:timeout " +
				"ticket_entry:max_retries support_queue",
		},
		{
			name:   "callback to the calling number",
			script: ev(ivrtest.Keys("9"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeCallback, queue: "sales", callback: anyANI,
			path:   openPrefix + "dtmf:9 callback_channel callback dtmf:1 callback:confirmed",
			vars:   map[string]string{"call.reason": "callback"},
			played: []string{"en/callback_offer", "en/num_1", "en/num_5", "en/callback_confirm", "en/callback_thanks"},
		},
		{
			name:   "callback to another number",
			script: ev(ivrtest.Keys("9"), ivrtest.Keys("2"), ivrtest.Keys("5551234567#"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeCallback, queue: "sales", callback: "5551234567",
			path: openPrefix + "dtmf:9 callback_channel callback dtmf:2 callback:enter_number " +
				"dtmf:5 dtmf:5 dtmf:5 dtmf:1 dtmf:2 dtmf:3 dtmf:4 dtmf:5 dtmf:6 dtmf:7 dtmf:# dtmf:1 callback:confirmed",
			played: []string{"en/callback_enter", "en/callback_offer", "en/num_5"},
		},
		{
			name: "callback from an anonymous caller enters a number", ani: "anonymous",
			script: ev(ivrtest.Keys("9"), ivrtest.Keys("123#"), ivrtest.Keys("5551234567#"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeCallback, queue: "sales", callback: "5551234567",
			path: "welcome hours hours:open identify identify:not_found main_menu dtmf:9 callback_channel callback " +
				"dtmf:1 dtmf:2 dtmf:3 dtmf:# callback:invalid " +
				"dtmf:5 dtmf:5 dtmf:5 dtmf:1 dtmf:2 dtmf:3 dtmf:4 dtmf:5 dtmf:6 dtmf:7 dtmf:# dtmf:1 callback:confirmed",
		},
		{
			name:   "callback not confirmed returns to the menu",
			script: ev(ivrtest.Keys("9"), ivrtest.Timeout(), ivrtest.Keys("5"), ivrtest.Timeout(), ivrtest.Keys("0")),
			kind:   ivr.OutcomeQueue, queue: "operator", priority: 40, skills: en1,
			path: openPrefix + "dtmf:9 callback_channel callback callback:timeout dtmf:5 callback:invalid callback:timeout callback:max_retries " +
				"main_menu dtmf:0 operator_queue",
		},
		{
			name:   "language choice: Spanish",
			script: ev(ivrtest.Keys("8"), ivrtest.Keys("2"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeQueue, queue: "sales", priority: 50, lang: "es",
			skills: []ivr.Skill{{Name: "es", MinLevel: 1}, {Name: "sales", MinLevel: 1}},
			path:   openPrefix + "dtmf:8 language_menu dtmf:2 set_spanish main_menu dtmf:1 sales_queue",
			vars:   map[string]string{"call.language": "es"},
			played: []string{"en/main_menu", "en/language_menu", "es/main_menu", "es/please_hold"},
		},
		{
			name: "language choice: English on the Spanish line", dnis: "+15550101",
			script: ev(ivrtest.Keys("8"), ivrtest.Keys("1"), ivrtest.Keys("0")),
			kind:   ivr.OutcomeQueue, queue: "operator", priority: 40, skills: en1,
			path:   openPrefix + "dtmf:8 language_menu dtmf:1 set_english main_menu dtmf:0 operator_queue",
			played: []string{"es/welcome", "es/main_menu", "es/language_menu", "en/main_menu"},
		},
		{
			name:   "language menu timeout returns to the main menu",
			script: ev(ivrtest.Keys("8"), ivrtest.Timeout(), ivrtest.Keys("9"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeQueue, queue: "sales", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "sales", MinLevel: 1}},
			path: openPrefix + "dtmf:8 language_menu language_menu:timeout dtmf:9 language_menu:invalid language_menu:max_retries " +
				"main_menu dtmf:1 sales_queue",
		},
		{
			name: "Spanish line", dnis: "+15550101", script: ev(ivrtest.Keys("3")),
			kind: ivr.OutcomeQueue, queue: "billing", priority: 50, lang: "es",
			skills: []ivr.Skill{{Name: "billing", MinLevel: 1}, {Name: "es", MinLevel: 1}},
			path:   openPrefix + "dtmf:3 billing_queue",
			played: []string{"es/welcome", "es/main_menu", "es/please_hold"},
		},
		{
			name: "closed on the weekend: voicemail", at: saturdayNoon,
			script: ev(ivrtest.Record(42 * time.Second)),
			kind:   ivr.OutcomeVoicemail, queue: "support", voicemail: 42 * time.Second,
			path:   "welcome hours hours:closed closed_message closed_channel voicemail voicemail:recorded",
			played: []string{"en/welcome", "en/closed", "en/vm_intro", "en/beep", "en/vm_thanks", "en/goodbye"},
		},
		{
			name: "closed on a holiday", at: christmas,
			script: ev(ivrtest.Record(10 * time.Second)),
			kind:   ivr.OutcomeVoicemail, queue: "support", voicemail: 10 * time.Second,
			path: "welcome hours hours:closed closed_message closed_channel voicemail voicemail:recorded",
		},
		{
			name: "closed at closing time", at: mondayEvening,
			script: ev(ivrtest.Record(5 * time.Second)),
			kind:   ivr.OutcomeVoicemail, queue: "support", voicemail: 5 * time.Second,
			path: "welcome hours hours:closed closed_message closed_channel voicemail voicemail:recorded",
		},
		{
			name: "open at 09:00 EDT on the Monday after spring-forward (13:00 UTC)",
			at:   time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC), script: ev(ivrtest.Keys("1")),
			kind: ivr.OutcomeQueue, queue: "sales", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "sales", MinLevel: 1}},
			path:   openPrefix + "dtmf:1 sales_queue",
		},
		{
			name: "closed at 08:30 EST on the Monday after fall-back (13:30 UTC)",
			at:   time.Date(2026, 11, 2, 13, 30, 0, 0, time.UTC), script: ev(ivrtest.Record(3 * time.Second)),
			kind: ivr.OutcomeVoicemail, queue: "support", voicemail: 3 * time.Second,
			path: "welcome hours hours:closed closed_message closed_channel voicemail voicemail:recorded",
		},
		{
			name: "closed at 17:00 EDT on the Friday before fall-back (21:00 UTC)",
			at:   time.Date(2026, 10, 30, 21, 0, 0, 0, time.UTC), script: ev(ivrtest.Record(3 * time.Second)),
			kind: ivr.OutcomeVoicemail, queue: "support", voicemail: 3 * time.Second,
			path: "welcome hours hours:closed closed_message closed_channel voicemail voicemail:recorded",
		},
		{
			name: "open at 16:30 EST on the Monday after fall-back (21:30 UTC)",
			at:   time.Date(2026, 11, 2, 21, 30, 0, 0, time.UTC), script: ev(ivrtest.Keys("0")),
			kind: ivr.OutcomeQueue, queue: "operator", priority: 40, skills: en1,
			path: openPrefix + "dtmf:0 operator_queue",
		},
		{
			name: "voicemail ended by hanging up is kept", at: saturdayNoon,
			script: ev(ivrtest.RecordThenHangup(20 * time.Second)),
			kind:   ivr.OutcomeVoicemail, queue: "support", voicemail: 20 * time.Second,
			path: "welcome hours hours:closed closed_message closed_channel voicemail voicemail:recorded",
		},
		{
			name: "voicemail longer than the maximum is cut", at: saturdayNoon,
			script: ev(ivrtest.Record(5 * time.Minute)),
			kind:   ivr.OutcomeVoicemail, queue: "support", voicemail: 2 * time.Minute,
			path: "welcome hours hours:closed closed_message closed_channel voicemail voicemail:recorded",
		},
		{
			name: "hang-up during the closed message", at: saturdayNoon,
			script: ev(ivrtest.HangupAt("closed")),
			kind:   ivr.OutcomeAbandoned,
			path:   "welcome hours hours:closed closed_message closed_message:hangup",
		},
		{
			name: "hang-up before recording", at: saturdayNoon,
			script: ev(ivrtest.HangupWhileWaiting()),
			kind:   ivr.OutcomeAbandoned,
			path:   "welcome hours hours:closed closed_message closed_channel voicemail voicemail:hangup",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runDemoCase(t, set, tc)
		})
	}
}

func ev(events ...ivrtest.Event) []ivrtest.Event { return events }

func runDemoCase(t *testing.T, set *ivr.Set, tc demoCase) {
	t.Helper()
	at := tc.at
	if at.IsZero() {
		at = mondayMorning
	}
	ani := tc.ani
	if ani == "" {
		ani = anyANI
	}
	dnis := tc.dnis
	if dnis == "" {
		dnis = "+15550100"
	}
	lookup := tc.lookup
	if lookup == nil {
		lookup = demoLookup()
	}
	ep, ok := set.ForDNIS(dnis)
	if !ok {
		t.Fatalf("no entry point for %s", dnis)
	}
	sess := ivrtest.NewSession(tc.script...)
	ctx, cancel := sess.Context(t.Context())
	defer cancel()
	e164 := ""
	if strings.HasPrefix(ani, "+") {
		e164 = ani
	}
	clock := at
	in := ivr.Input{
		CallID: "call-1", ANI: ani, DNIS: dnis, E164: e164, Language: ep.Language,
		Now: func() time.Time {
			clock = clock.Add(time.Millisecond)
			return clock
		},
		Lookup: lookup, Callbacks: tc.callbacks, RecordingDir: t.TempDir(), Logger: quiet,
	}
	out := ivr.Run(ctx, sess, ep.Flow, in)

	if got, want := ivr.PathString(out.Path), tc.path; got != want {
		t.Errorf("path:\n got %s\nwant %s", got, want)
	}
	if out.Kind != tc.kind {
		t.Errorf("kind = %v, want %v (err %v)", out.Kind, tc.kind, out.Err)
	}
	if out.Queue != tc.queue {
		t.Errorf("queue = %q, want %q", out.Queue, tc.queue)
	}
	if diff := cmp.Diff(tc.skills, out.Skills); diff != "" && (len(tc.skills) > 0 || len(out.Skills) > 0) {
		t.Errorf("skills (-want +got):\n%s", diff)
	}
	if out.Priority != tc.priority {
		t.Errorf("priority = %d, want %d", out.Priority, tc.priority)
	}
	wantLang := tc.lang
	if wantLang == "" {
		wantLang = "en"
	}
	if out.Language != wantLang {
		t.Errorf("language = %q, want %q", out.Language, wantLang)
	}
	for k, want := range tc.vars {
		if got := out.Vars[k]; got != want {
			t.Errorf("var %s = %q, want %q", k, got, want)
		}
	}
	if out.CallbackNumber != tc.callback {
		t.Errorf("callback number = %q, want %q", out.CallbackNumber, tc.callback)
	}
	if out.VoicemailLength != tc.voicemail {
		t.Errorf("voicemail length = %v, want %v", out.VoicemailLength, tc.voicemail)
	}
	if tc.kind == ivr.OutcomeVoicemail {
		if out.VoicemailFile == "" || filepath.Dir(out.VoicemailFile) != in.RecordingDir {
			t.Errorf("voicemail file = %q, want one in %s", out.VoicemailFile, in.RecordingDir)
		} else if _, err := os.Stat(out.VoicemailFile); err != nil {
			t.Errorf("voicemail file: %v", err)
		}
	} else if out.VoicemailFile != "" {
		t.Errorf("voicemail file = %q, want none", out.VoicemailFile)
	}
	if tc.kind == ivr.OutcomeAbandoned && ctx.Err() == nil {
		t.Errorf("abandoned but the call context is still live")
	}
	if n := sess.Remaining(); n != 0 {
		t.Errorf("%d script events not consumed", n)
	}
	// Steps are in time order on the input clock.
	for i := 1; i < len(out.Path); i++ {
		if out.Path[i].At.Before(out.Path[i-1].At) {
			t.Errorf("step %d (%v) is before step %d", i, out.Path[i], i-1)
		}
	}
	if len(tc.played) > 0 {
		var played []string
		for _, call := range sess.Played() {
			for _, f := range call {
				rel, _ := filepath.Rel("prompts", f)
				played = append(played, strings.TrimSuffix(rel, ".wav"))
			}
		}
		if !isSubsequence(tc.played, played) {
			t.Errorf("played %v, want in order %v", played, tc.played)
		}
	}
	for _, call := range sess.Played() {
		for _, f := range call {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("played a missing file: %v", err)
			}
		}
	}
}

func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestDemoFlowCancelledContext(t *testing.T) {
	set := loadDemo(t)
	ep, _ := set.ForDNIS("+15550100")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	out := ivr.Run(ctx, ivrtest.NewSession(), ep.Flow, ivr.Input{ANI: anyANI, Lookup: demoLookup()})
	if out.Kind != ivr.OutcomeAbandoned {
		t.Errorf("kind = %v, want abandoned", out.Kind)
	}
	if got := ivr.PathString(out.Path); got != ":hangup" {
		t.Errorf("path = %q, want only the hangup event", got)
	}
}

func TestDemoFlowHangupDuringLookup(t *testing.T) {
	set := loadDemo(t)
	ep, _ := set.ForDNIS("+15550100")
	lookup := &ivrtest.Lookup{Block: true}
	sess := ivrtest.NewSession()
	ctx, cancel := sess.Context(t.Context())
	done := make(chan ivr.Outcome, 1)
	go func() {
		done <- ivr.Run(ctx, sess, ep.Flow, ivr.Input{ANI: anyANI, Lookup: lookup, Now: func() time.Time { return mondayMorning }})
	}()
	// Hang up once the IVR is inside the caller lookup.
	for len(lookup.Keys()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	out := <-done
	if out.Kind != ivr.OutcomeAbandoned {
		t.Errorf("kind = %v, want abandoned", out.Kind)
	}
	if got, want := ivr.PathString(out.Path), "welcome hours hours:open identify identify:hangup"; got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
}

func TestDemoSurvey(t *testing.T) {
	set := loadDemo(t)
	flow, ok := set.Flow("survey")
	if !ok {
		t.Fatal("no survey flow")
	}
	cases := []struct {
		name   string
		script []ivrtest.Event
		scores map[string]int
		kind   ivr.OutcomeKind
		path   string
	}{
		{
			name: "both answered", script: ev(ivrtest.Keys("4"), ivrtest.Keys("10#")),
			scores: map[string]int{"csat": 4, "nps": 10}, kind: ivr.OutcomeHangup,
			path: "survey_intro questions dtmf:4 questions:answered dtmf:1 dtmf:0 questions:answered thanks",
		},
		{
			name: "single digit nps ended by pound", script: ev(ivrtest.Keys("5"), ivrtest.Keys("7#")),
			scores: map[string]int{"csat": 5, "nps": 7}, kind: ivr.OutcomeHangup,
			path: "survey_intro questions dtmf:5 questions:answered dtmf:7 dtmf:# questions:answered thanks",
		},
		{
			name: "single digit nps ended by timeout", script: ev(ivrtest.Keys("1"), ivrtest.Keys("0"), ivrtest.Timeout()),
			scores: map[string]int{"csat": 1, "nps": 0}, kind: ivr.OutcomeHangup,
			path: "survey_intro questions dtmf:1 questions:answered dtmf:0 questions:answered thanks",
		},
		{
			name: "out of range retried", script: ev(ivrtest.Keys("9"), ivrtest.Keys("3"), ivrtest.Keys("11"), ivrtest.Keys("8#")),
			scores: map[string]int{"csat": 3, "nps": 8}, kind: ivr.OutcomeHangup,
			path: "survey_intro questions dtmf:9 questions:invalid dtmf:3 questions:answered dtmf:1 dtmf:1 questions:invalid dtmf:8 dtmf:# questions:answered thanks",
		},
		{
			name: "no answers", script: ev(ivrtest.Timeout(), ivrtest.Timeout(), ivrtest.Timeout(), ivrtest.Timeout()),
			scores: map[string]int{}, kind: ivr.OutcomeHangup,
			path: "survey_intro questions questions:timeout questions:timeout questions:skipped questions:timeout questions:timeout questions:skipped thanks",
		},
		{
			name: "hang-up after the first answer", script: ev(ivrtest.Keys("2"), ivrtest.HangupAt("survey_nps")),
			scores: map[string]int{"csat": 2}, kind: ivr.OutcomeAbandoned,
			path: "survey_intro questions dtmf:2 questions:answered questions:hangup",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sess := ivrtest.NewSession(tc.script...)
			ctx, cancel := sess.Context(t.Context())
			defer cancel()
			scores, out := ivr.RunSurvey(ctx, sess, flow, ivr.Input{CallID: "c1"})
			if diff := cmp.Diff(tc.scores, scores); diff != "" {
				t.Errorf("scores (-want +got):\n%s", diff)
			}
			if out.Kind != tc.kind {
				t.Errorf("kind = %v, want %v", out.Kind, tc.kind)
			}
			if got := ivr.PathString(out.Path); got != tc.path {
				t.Errorf("path:\n got %s\nwant %s", got, tc.path)
			}
		})
	}
}

// TestHoursOverride forces the hours node's branch whatever the clock says.
func TestHoursOverride(t *testing.T) {
	set := loadDemo(t)
	ep, _ := set.ForDNIS("+15550100")
	sunday3am := time.Date(2026, 11, 22, 3, 0, 0, 0, newYork)    // closed by the schedule
	tuesdayNoon := time.Date(2026, 11, 24, 12, 0, 0, 0, newYork) // open by the schedule
	tests := []struct {
		name  string
		now   time.Time
		hours ivr.HoursOverride
		want  string
	}{
		{"schedule closed", sunday3am, ivr.HoursSchedule, "hours:closed"},
		{"schedule open", tuesdayNoon, ivr.HoursSchedule, "hours:open"},
		{"forced open", sunday3am, ivr.HoursOpen, "hours:open"},
		{"forced closed", tuesdayNoon, ivr.HoursClosed, "hours:closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := ivr.Run(t.Context(), ivrtest.NewSession(), ep.Flow, ivr.Input{
				ANI: anyANI, Lookup: demoLookup(), Now: func() time.Time { return tt.now }, Hours: tt.hours,
			})
			if got := ivr.PathString(out.Path); !strings.Contains(got, tt.want) {
				t.Errorf("path = %q, want %s", got, tt.want)
			}
		})
	}
}
