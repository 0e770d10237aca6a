package ivr_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

func TestPhraseGrammar(t *testing.T) {
	g, err := ivr.NewPhraseGrammar([]ivr.Phrase{
		{Text: "Billing", Value: "3"}, {Text: "  talk to a   Person ", Value: "0"}, {Text: "invoice", Value: "3"},
		{Text: "billing", Value: "3"}, {Text: "don't know", Value: "0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []ivr.Phrase{{Text: "don't know", Value: "0"}, {Text: "talk to a person", Value: "0"}, {Text: "billing", Value: "3"}, {Text: "invoice", Value: "3"}}
	if diff := cmp.Diff(want, g.Phrases()); diff != "" {
		t.Errorf("phrases (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "billing", "don't", "invoice", "know", "person", "talk", "to"}, g.Words()); diff != "" {
		t.Errorf("words (-want +got):\n%s", diff)
	}
	wantJSGF := "#JSGF V1.0;\ngrammar switchboard;\npublic <utterance> = don't know | talk to a person | billing | invoice;\n"
	if got := g.JSGF(); got != wantJSGF {
		t.Errorf("JSGF:\n%s\nwant:\n%s", got, wantJSGF)
	}
	for _, c := range []struct {
		text, value string
		ok          bool
	}{
		{"billing", "3", true},
		{"  INVOICE. ", "3", true},
		{"Talk to a person!", "0", true},
		{"talk to a", "", false},
		{"billing please", "", false},
		{"", "", false},
	} {
		if v, ok := g.Match(c.text); v != c.value || ok != c.ok {
			t.Errorf("Match(%q) = %q, %v; want %q, %v", c.text, v, ok, c.value, c.ok)
		}
	}
	same, _ := ivr.NewPhraseGrammar([]ivr.Phrase{{Text: "invoice", Value: "3"}, {Text: "don't know", Value: "0"}, {Text: "billing", Value: "3"}, {Text: "talk to a person", Value: "0"}})
	if same.Key() != g.Key() {
		t.Errorf("the same phrases in another order have another key")
	}
	other, _ := ivr.NewPhraseGrammar([]ivr.Phrase{{Text: "invoice", Value: "2"}, {Text: "don't know", Value: "0"}, {Text: "billing", Value: "3"}, {Text: "talk to a person", Value: "0"}})
	if other.Key() == g.Key() {
		t.Errorf("a phrase with another value has the same key")
	}
}

func TestPhraseGrammarErrors(t *testing.T) {
	for name, phrases := range map[string][]ivr.Phrase{
		"none":              nil,
		"empty phrase":      {{Text: "  ", Value: "1"}},
		"no value":          {{Text: "sales"}},
		"two values":        {{Text: "sales", Value: "1"}, {Text: "Sales", Value: "2"}},
		"digits":            {{Text: "press 1", Value: "1"}},
		"punctuation":       {{Text: "sales!", Value: "1"}},
		"leading apostroph": {{Text: "'sales", Value: "1"}},
		"too long":          {{Text: strings.Repeat("word ", 11), Value: "1"}},
	} {
		if _, err := ivr.NewPhraseGrammar(phrases); err == nil {
			t.Errorf("%s: NewPhraseGrammar(%v) succeeded", name, phrases)
		}
	}
}

func TestDigitsGrammar(t *testing.T) {
	g, err := ivr.NewDigitsGrammar(3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if min, max := g.DigitRange(); g.Kind() != ivr.GrammarDigits || min != 3 || max != 5 {
		t.Errorf("kind %v range %d-%d", g.Kind(), min, max)
	}
	wantJSGF := "#JSGF V1.0;\ngrammar switchboard;\n<digit> = zero | oh | one | two | three | four | five | six | seven | eight | nine;\n" +
		"public <utterance> = <digit> <digit> <digit> [<digit> [<digit>]];\n"
	if got := g.JSGF(); got != wantJSGF {
		t.Errorf("JSGF:\n%s\nwant:\n%s", got, wantJSGF)
	}
	for _, c := range []struct {
		text, value string
		ok          bool
	}{
		{"four two seven one", "4271", true},
		{"Five, oh, seven!", "507", true},
		{"4 two 7", "427", true},
		{"12345", "12345", true},
		{"one two", "", false},
		{"one two three four five six", "", false},
		{"one two free", "", false},
	} {
		if v, ok := g.Match(c.text); v != c.value || ok != c.ok {
			t.Errorf("Match(%q) = %q, %v; want %q, %v", c.text, v, ok, c.value, c.ok)
		}
	}
	for _, r := range [][2]int{{0, 3}, {4, 3}, {1, 33}} {
		if _, err := ivr.NewDigitsGrammar(r[0], r[1]); err == nil {
			t.Errorf("NewDigitsGrammar(%d, %d) succeeded", r[0], r[1])
		}
	}
}

func TestReplyTypedPhrasesAndDigitWords(t *testing.T) {
	menu := ivr.TextPrompt{Buttons: []ivr.TextButton{{Label: "Sales", Value: "1", Phrases: []string{"sales", "buy"}}, {Label: "Operator", Value: "0", Phrases: []string{"talk to a person"}}}}
	typed := ivr.TextPrompt{}
	for _, c := range []struct {
		p          ivr.TextPrompt
		text, want string
	}{
		{menu, "Talk to a PERSON.", "0"},
		{menu, "buy", "1"},
		{menu, "operator", "0"},
		{menu, "talk to a human", "?"},
		{typed, "four two seven one", "4271"},
		{typed, "Four, 2, seven", "427"},
		{typed, "four two seven juan", "????????????????"},
	} {
		if got := c.p.Reply(c.text); got != c.want {
			t.Errorf("Reply(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

// loadDemoSpeech loads the demo flows with rec as the recognizer and a quick endpointer.
func loadDemoSpeech(t testing.TB, rec ivr.Recognizer) *ivr.Set {
	t.Helper()
	set, _, err := ivr.Load("testdata/demo.yaml", ivr.Options{PromptDir: "prompts", Queues: demoQueues, Recognizer: rec,
		Endpointing: ivr.Endpointing{EndSilence: 300 * time.Millisecond}})
	if err != nil {
		t.Fatalf("load demo: %v", err)
	}
	return set
}

func TestDemoFlowSpeech(t *testing.T) {
	set := loadDemoSpeech(t, &ivrtest.Recognizer{})
	en1 := []ivr.Skill{{Name: "en", MinLevel: 1}}
	sales := []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "sales", MinLevel: 1}}
	billing := []ivr.Skill{{Name: "billing", MinLevel: 1}, {Name: "en", MinLevel: 1}}
	cases := []demoCase{
		{
			name: "billing said after the prompt", script: ev(ivrtest.SayWith("billing", 0.87)),
			kind: ivr.OutcomeQueue, queue: "billing", priority: 50, skills: billing,
			path: openPrefix + `speech:"billing"@0.87 billing_queue`,
			vars: map[string]string{"input.choice": "3", "input.choice_speech": "billing", "input.choice_confidence": "0.87", "call.reason": "billing"},
		},
		{
			name: "talk to a person over the prompt", script: ev(ivrtest.BargeIn("talk to a person")),
			kind: ivr.OutcomeQueue, queue: "operator", priority: 40, skills: en1,
			path: openPrefix + `main_menu:barge_in speech:"talk to a person"@0.90 operator_queue`,
			vars: map[string]string{"input.choice": "0", "input.choice_speech": "talk to a person"},
		},
		{
			name: "low confidence asks again, then a key", script: ev(ivrtest.SayWith("invoice", 0.3), ivrtest.Keys("1")),
			kind: ivr.OutcomeQueue, queue: "sales", priority: 50, skills: sales,
			path:   openPrefix + `speech:"invoice"@0.30 main_menu:invalid dtmf:1 sales_queue`,
			vars:   map[string]string{"input.choice": "1", "input.choice_speech": "", "input.choice_confidence": ""},
			played: []string{"en/main_menu", "en/invalid", "en/main_menu", "en/please_hold"},
		},
		{
			name: "words not in the menu are invalid", script: ev(ivrtest.Say("weather forecast"), ivrtest.Say("buy")),
			kind: ivr.OutcomeQueue, queue: "sales", priority: 50, skills: sales,
			path: openPrefix + `speech:"weather forecast"@0.90 main_menu:invalid speech:"buy"@0.90 sales_queue`,
		},
		{
			name: "no input then speech", script: ev(ivrtest.Timeout(), ivrtest.Say("operator")),
			kind: ivr.OutcomeQueue, queue: "operator", priority: 40, skills: en1,
			path:   openPrefix + `main_menu:timeout speech:"operator"@0.90 operator_queue`,
			played: []string{"en/main_menu", "en/timeout", "en/main_menu"},
		},
		{
			name: "keys as ever", script: ev(ivrtest.Keys("3")),
			kind: ivr.OutcomeQueue, queue: "billing", priority: 50, skills: billing,
			path: openPrefix + "dtmf:3 billing_queue",
			vars: map[string]string{"input.choice": "3"},
		},
		{
			name:   "ticket number spoken, confirmed by key",
			script: ev(ivrtest.Say("technical support"), ivrtest.Say("one oh four two"), ivrtest.Keys("1"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeQueue, queue: "support", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "support", MinLevel: 1}},
			path: openPrefix + `speech:"technical support"@0.90 ticket_entry speech:"one oh four two"@0.90 dtmf:1 ticket_entry:confirmed ` +
				"ticket_lookup ticket_lookup:found ticket_status status_open ticket_menu dtmf:1 support_queue",
			vars: map[string]string{"input.ticket": "1042", "input.ticket_speech": "one oh four two", "input.ticket_confidence": "0.90", "ticket.status": "open"},
		},
		{
			name:   "ticket number keyed in a speech gather",
			script: ev(ivrtest.Keys("2"), ivrtest.Keys("1042#"), ivrtest.Keys("1"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeQueue, queue: "support", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "support", MinLevel: 1}},
			path: openPrefix + "dtmf:2 ticket_entry dtmf:1 dtmf:0 dtmf:4 dtmf:2 dtmf:# dtmf:1 ticket_entry:confirmed " +
				"ticket_lookup ticket_lookup:found ticket_status status_open ticket_menu dtmf:1 support_queue",
			vars: map[string]string{"input.ticket": "1042"},
		},
		{
			name:   "too few digits spoken are invalid",
			script: ev(ivrtest.Keys("2"), ivrtest.Say("four two"), ivrtest.Timeout(), ivrtest.Timeout()),
			kind:   ivr.OutcomeQueue, queue: "support", priority: 50,
			skills: []ivr.Skill{{Name: "en", MinLevel: 1}, {Name: "support", MinLevel: 1}},
			path: openPrefix + `dtmf:2 ticket_entry speech:"four two"@0.90 ticket_entry:invalid ticket_entry:timeout ticket_entry:timeout ` +
				"ticket_entry:max_retries support_queue",
		},
		{
			name:   "hang-up while listening",
			script: ev(ivrtest.HangupWhileWaiting()),
			kind:   ivr.OutcomeAbandoned,
			path:   openPrefix + "main_menu:hangup",
		},
		{
			name:   "hang-up after speaking",
			script: ev(ivrtest.Say("weather"), ivrtest.HangupAt("invalid")),
			kind:   ivr.OutcomeAbandoned,
			path:   openPrefix + `speech:"weather"@0.90 main_menu:invalid main_menu:hangup`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runDemoCase(t, set, tc)
		})
	}
}

func TestBargeInStopsThePrompt(t *testing.T) {
	rec := &ivrtest.Recognizer{}
	set := loadDemoSpeech(t, rec)
	ep, _ := set.ForDNIS("+15550100")
	sess := ivrtest.NewSession(ivrtest.BargeIn("sales"))
	out := ivr.Run(t.Context(), sess, ep.Flow, ivr.Input{CallID: "c", ANI: anyANI, Hours: ivr.HoursOpen, Logger: quiet})
	if out.Queue != "sales" || sess.Interrupted() != 1 {
		t.Errorf("queue %q, prompts interrupted %d; want sales after one barge-in", out.Queue, sess.Interrupted())
	}
	if diff := cmp.Diff([]string{"sales"}, rec.Heard()); diff != "" {
		t.Errorf("heard (-want +got):\n%s", diff)
	}
}

// TestKeyWhileTalking: a caller who talks over the menu without pausing (or a noisy
// line) and presses a key gets the key's option at once, not after the utterance.
func TestKeyWhileTalking(t *testing.T) {
	rec := &ivrtest.Recognizer{}
	set := loadDemoSpeech(t, rec)
	ep, _ := set.ForDNIS("+15550100")
	sess := ivrtest.NewSession(ivrtest.TalkOver(), ivrtest.Keys("1"))
	out := ivr.Run(t.Context(), sess, ep.Flow, ivr.Input{CallID: "c", ANI: anyANI, Hours: ivr.HoursOpen, Logger: quiet})
	if out.Queue != "sales" || sess.Interrupted() != 1 || len(rec.Heard()) != 0 {
		t.Errorf("queue %q, prompts interrupted %d, heard %v; want sales by the key, no recognition", out.Queue, sess.Interrupted(), rec.Heard())
	}
	if got := ivr.PathString(out.Path); !strings.Contains(got, "main_menu:barge_in dtmf:1 sales_queue") {
		t.Errorf("path %s, want the barge-in then the key", got)
	}
}

func TestSpeechRecognizerFailureAsksAgain(t *testing.T) {
	set := loadDemoSpeech(t, &ivrtest.Recognizer{Err: errors.New("decoder crashed")})
	ep, _ := set.ForDNIS("+15550100")
	reg := prometheus.NewRegistry()
	m := ivr.NewMetrics(reg)
	sess := ivrtest.NewSession(ivrtest.Say("sales"), ivrtest.Keys("1"))
	out := ivr.Run(t.Context(), sess, ep.Flow, ivr.Input{CallID: "c", ANI: anyANI, Hours: ivr.HoursOpen, Logger: quiet, Metrics: m})
	if got, want := ivr.PathString(out.Path), "welcome hours hours:open identify identify:error main_menu main_menu:speech_error main_menu:invalid dtmf:1 sales_queue"; got != want {
		t.Errorf("path:\n got %s\nwant %s", got, want)
	}
	if n := testutil.CollectAndCount(reg, "switchboard_ivr_speech_recognition_seconds"); n != 1 {
		t.Errorf("%d speech result series, want one (error)", n)
	}
}

// earless hides the scripted session's Ears, as a session that cannot hear the caller.
type earless struct{ ivr.Session }

func TestSpeechNodeWithoutEarsTakesKeys(t *testing.T) {
	set := loadDemoSpeech(t, &ivrtest.Recognizer{})
	ep, _ := set.ForDNIS("+15550100")
	sess := ivrtest.NewSession(ivrtest.Keys("3"))
	out := ivr.Run(t.Context(), earless{sess}, ep.Flow, ivr.Input{CallID: "c", ANI: anyANI, Hours: ivr.HoursOpen, Logger: quiet})
	if out.Queue != "billing" {
		t.Errorf("queue %q (path %s), want billing", out.Queue, ivr.PathString(out.Path))
	}
}

const speechOnlyFlows = `
version: 1
default_queue: q
entry_points:
  - {dnis: "100", flow: main}
flows:
  main:
    start: ask
    nodes:
      ask:
        kind: gather
        var: dept
        input: speech
        phrases:
          billing: [billing, invoice]
          sales: [sales]
        confidence: 0.8
        no_input: 4s
        retries: 1
        next: done
        default: done
      done:
        kind: queue
        queue: q
`

func TestSpeechOnlyGather(t *testing.T) {
	set, _, err := ivr.Parse("speech.yaml", []byte(speechOnlyFlows), ivr.Options{Recognizer: &ivrtest.Recognizer{}})
	if err != nil {
		t.Fatal(err)
	}
	ep, _ := set.ForDNIS("100")
	for _, c := range []struct {
		name   string
		script []ivrtest.Event
		path   string
		vars   map[string]string
	}{
		{"a phrase stores its value", ev(ivrtest.SayWith("invoice", 0.8)), `ask speech:"invoice"@0.80 done`,
			map[string]string{"input.dept": "billing", "input.dept_speech": "invoice", "input.dept_confidence": "0.80"}},
		{"keys are not taken", ev(ivrtest.Keys("1"), ivrtest.Say("sales")), `ask dtmf:1 ask:invalid speech:"sales"@0.90 done`,
			map[string]string{"input.dept": "sales"}},
		{"below the node's threshold", ev(ivrtest.SayWith("sales", 0.75), ivrtest.Timeout()), `ask speech:"sales"@0.75 ask:invalid ask:timeout ask:max_retries done`,
			map[string]string{"input.dept": ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sess := ivrtest.NewSession(c.script...)
			out := ivr.Run(t.Context(), sess, ep.Flow, ivr.Input{CallID: "c", Logger: quiet})
			if got := ivr.PathString(out.Path); got != c.path {
				t.Errorf("path:\n got %s\nwant %s", got, c.path)
			}
			for k, want := range c.vars {
				if got := out.Vars[k]; got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if got := sess.ReadTimeouts(); len(got) == 0 || got[0] != 4*time.Second {
				t.Errorf("read timeouts %v, want no_input 4s first", got)
			}
		})
	}
}

func TestChatSpeechNodes(t *testing.T) {
	set, _, err := ivr.Parse("speech.yaml", []byte(strings.Replace(speechOnlyFlows, `dnis: "100"`, "chat: web", 1)), ivr.Options{Recognizer: &ivrtest.Recognizer{}})
	if err != nil {
		t.Fatal(err)
	}
	ep, _ := set.ForChat("web")
	for _, c := range []struct {
		reply, path, dept string
	}{
		{"Invoice", "ask dtmf:1 done", "billing"},
		{"sales", "ask dtmf:2 done", "sales"},
		{"2", "ask dtmf:2 done", "sales"},
		{"weather", "ask dtmf:? ask:invalid", ""},
	} {
		sess := &textSession{replies: []string{c.reply, ""}}
		out := ivr.Run(context.Background(), sess, ep.Flow, ivr.Input{CallID: "chat"})
		if got := ivr.PathString(out.Path); !strings.HasPrefix(got, c.path) {
			t.Errorf("reply %q: path %s, want it to start %s", c.reply, got, c.path)
		}
		if got := out.Vars["input.dept"]; got != c.dept {
			t.Errorf("reply %q: input.dept = %q, want %q", c.reply, got, c.dept)
		}
		want := []ivr.TextButton{{Label: "billing", Value: "1", Phrases: []string{"billing", "invoice"}}, {Label: "sales", Value: "2", Phrases: []string{"sales"}}}
		if diff := cmp.Diff(want, sess.shown[0].Buttons); diff != "" {
			t.Errorf("buttons (-want +got):\n%s", diff)
		}
	}
}
