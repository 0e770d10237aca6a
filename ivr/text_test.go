package ivr_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

func TestPromptTexts(t *testing.T) {
	write := func(t *testing.T, files map[string]string) string {
		t.Helper()
		root := t.TempDir()
		for _, d := range []string{"en", "es"} {
			if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	t.Run("texts with the default language's as fallback", func(t *testing.T) {
		root := write(t, map[string]string{"en.txt": "# comment\nwelcome|Hello.\n\nbye|Bye.\n", "es.txt": "welcome|Hola.\n"})
		p, err := ivr.OpenPrompts(root, "en", "es")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			lang, name, want string
			ok               bool
		}{
			{"es", "welcome", "Hola.", true},
			{"en", "welcome", "Hello.", true},
			{"es", "bye", "Bye.", true},
			{"fr", "bye", "Bye.", true},
			{"es", "nope", "", false},
		} {
			if got, ok := p.Text(c.lang, c.name); got != c.want || ok != c.ok {
				t.Errorf("Text(%s, %s) = %q, %v; want %q, %v", c.lang, c.name, got, ok, c.want, c.ok)
			}
		}
	})
	t.Run("a missing text file falls back", func(t *testing.T) {
		p, err := ivr.OpenPrompts(write(t, map[string]string{"en.txt": "welcome|Hello.\n"}), "en", "es")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := p.Text("es", "welcome"); got != "Hello." {
			t.Errorf("Text(es, welcome) = %q, want the English text", got)
		}
	})
	for name, body := range map[string]string{"no separator": "welcome Hello\n", "bad name": "Wel-come|Hello\n", "no text": "welcome|\n"} {
		t.Run("malformed: "+name, func(t *testing.T) {
			_, err := ivr.OpenPrompts(write(t, map[string]string{"en.txt": body}), "en", "es")
			if err == nil || !strings.Contains(err.Error(), "en.txt:1") {
				t.Errorf("OpenPrompts = %v, want an error naming en.txt:1", err)
			}
		})
	}
	t.Run("the shipped prompts have texts in both languages", func(t *testing.T) {
		p, err := ivr.OpenPrompts("prompts", "en", "es")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := p.Text("es", "welcome"); got != "Gracias por llamar a Switchboard." {
			t.Errorf("Text(es, welcome) = %q", got)
		}
	})
}

// chatYAML builds a flows file around nodes of flow f (and extra flows), entered by a chat.
func chatYAML(entry, nodes string) string {
	return `version: 1
default_language: en
languages: [en]
default_queue: sales
entry_points:
  - ` + entry + `
flows:
  f:
    start: start
    nodes:
` + nodes
}

func TestChatValidation(t *testing.T) {
	const menu = `      start:
        kind: menu
        prompts: [main_menu]
        options: {"1": q, "2": other}
        default: q
`
	const q = `      q:
        kind: queue
        queue: sales
`
	cases := []struct {
		name  string
		entry string
		nodes string
		want  []string // substrings of the problems; none: loads
	}{
		{"voicemail reachable from a chat", "{chat: web, flow: f}", menu + q + `      other:
        kind: voicemail
        prompts: [vm_intro]
`, []string{"node other: reachable from chat entry point web: voicemail needs a phone call"}},
		{"callback reachable from a chat", "{chat: web, flow: f}", menu + q + `      other:
        kind: callback
        prompts: [callback_offer]
        default: q
`, []string{"node other: reachable from chat entry point web: callback needs a phone call"}},
		{"transfer reachable from a chat", "{chat: web, flow: f}", menu + q + `      other:
        kind: transfer
        target: "+15551234"
`, []string{"node other: reachable from chat entry point web: transfer needs a phone call"}},
		{"voicemail behind a branch on the channel", "{chat: web, flow: f}", menu + q + `      other:
        kind: branch
        conditions:
          - {var: call.channel, equals: chat, next: q}
          - {var: call.channel, equals: voice, next: vm}
        default: vm
      vm:
        kind: voicemail
        prompts: [vm_intro]
`, nil},
		{"a branch on another variable is followed", "{chat: web, flow: f}", menu + q + `      other:
        kind: branch
        conditions:
          - {var: call.reason, equals: x, next: vm}
          - {var: call.channel, equals: chat, next: q}
        default: q
      vm:
        kind: voicemail
        prompts: [vm_intro]
`, []string{"node vm: reachable from chat entry point web: voicemail"}},
		{"another flow through goto", "{chat: web, flow: f}", menu + q + `      other:
        kind: goto
        flow: g
  g:
    start: vm
    nodes:
      vm:
        kind: voicemail
        prompts: [vm_intro]
`, []string{"flow g node vm: reachable from chat entry point web: voicemail"}},
		{"a voice entry point may record", "{dnis: \"100\", flow: f}", menu + q + `      other:
        kind: voicemail
        prompts: [vm_intro]
`, nil},
		{"labels", "{chat: web, flow: f}", `      start:
        kind: menu
        prompts: [main_menu]
        options: {"1": q, "2": q}
        labels: {"1": Sales, "2": "Soporte técnico"}
        default: q
` + q, nil},
		{"a label for no option", "{chat: web, flow: f}", `      start:
        kind: menu
        prompts: [main_menu]
        options: {"1": q}
        labels: {"1": Sales, "7": Ghost}
        default: q
` + q, []string{`node start: label key "7" is not an option of this menu`}},
		{"labels too long or empty", "{chat: web, flow: f}", `      start:
        kind: menu
        prompts: [main_menu]
        options: {"1": q, "2": q}
        labels: {"1": "` + strings.Repeat("x", 41) + `", "2": " "}
        default: q
` + q, []string{"label of option 1 must be 1–40 printable characters", "label of option 2 must be 1–40"}},
		{"labels on a play node", "{chat: web, flow: f}", `      start:
        kind: play
        prompts: [welcome]
        labels: {"1": Sales}
        next: q
` + q, []string{"field labels is not valid for a play node"}},
		{"the channel variable is Run's", "{chat: web, flow: f}", `      start:
        kind: play
        set: {call.channel: voice}
        prompts: [welcome]
        next: q
` + q, []string{"cannot set variable call.channel"}},
		{"an entry point with dnis and chat", "{chat: web, dnis: \"100\", flow: f}", q + `      start:
        kind: goto
        next: q
`, []string{"entry point needs exactly one of dnis, webrtc, chat"}},
		{"a bad chat entry name", "{chat: \"we b\", flow: f}", q + `      start:
        kind: goto
        next: q
`, []string{`invalid chat entry name "we b"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, problems, err := ivr.Parse("chat.yaml", []byte(chatYAML(c.entry, c.nodes)), ivr.Options{PromptDir: "prompts"})
			var all []string
			for _, p := range problems {
				all = append(all, p.String())
			}
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("Parse = %v, want no error; problems:\n%s", err, strings.Join(all, "\n"))
				}
				return
			}
			if !errors.Is(err, ivr.ErrInvalid) {
				t.Fatalf("Parse = %v, want ErrInvalid", err)
			}
			for _, w := range c.want {
				if !strings.Contains(strings.Join(all, "\n"), w) {
					t.Errorf("no problem contains %q; got:\n%s", w, strings.Join(all, "\n"))
				}
			}
		})
	}
}

func TestForChat(t *testing.T) {
	r := ivr.NewRegistry(ivr.Options{PromptDir: "prompts"}, nil)
	if _, _, err := r.ForChat("web"); !errors.Is(err, ivr.ErrNoFlows) {
		t.Errorf("ForChat before a load = %v, want ErrNoFlows", err)
	}
	if _, err := r.Reload("testdata/demo.yaml"); err != nil {
		t.Fatal(err)
	}
	ep, ok, err := r.ForChat("web")
	if err != nil || !ok || ep.Chat != "web" || ep.Flow.Name() != "main" {
		t.Errorf("ForChat(web) = %+v, %v, %v; want the main flow", ep, ok, err)
	}
	if _, ok, _ := r.ForChat("nope"); ok {
		t.Error("ForChat(nope) found an entry point")
	}
	if _, ok, _ := r.ForDNIS("web"); ok {
		t.Error("a chat entry name is found as a DNIS")
	}
}

func TestReply(t *testing.T) {
	menu := ivr.TextPrompt{Buttons: []ivr.TextButton{{Label: "Sales", Value: "1"}, {Label: "Support", Value: "2"}}}
	typed := ivr.TextPrompt{}
	cases := []struct {
		name string
		p    ivr.TextPrompt
		text string
		want string
	}{
		{"button value", menu, "2", "2"},
		{"button label, any case", menu, "  sALes ", "1"},
		{"no option", menu, "3", "?"},
		{"words", menu, "I want to talk to a human", "?"},
		{"digits", typed, "12 34-5#", "12345#"},
		{"letters are invalid", typed, "12a<", "12??"},
		{"cut one past any gather", typed, strings.Repeat("1", 100), strings.Repeat("1", 33)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.Reply(c.text); got != c.want {
				t.Errorf("Reply(%q) = %q, want %q", c.text, got, c.want)
			}
		})
	}
}

// textSession is a scripted ivr.TextSession: each ReadDigit that finds no input left takes
// the next reply and feeds it as a chat does (TextPrompt.Reply, then the end of input).
type textSession struct {
	replies []string
	shown   []ivr.TextPrompt
	input   []byte
	end     bool
}

func (s *textSession) Show(_ context.Context, p ivr.TextPrompt) error {
	s.shown = append(s.shown, p)
	s.input, s.end = nil, false
	return nil
}

func (s *textSession) ReadDigit(context.Context, time.Duration) (byte, bool, error) {
	if len(s.input) == 0 && !s.end {
		if len(s.replies) == 0 {
			return 0, false, errors.New("script exhausted")
		}
		r := s.replies[0]
		s.replies = s.replies[1:]
		if r == "" {
			return 0, false, nil // a timeout
		}
		s.input, s.end = []byte(s.shown[len(s.shown)-1].Reply(r)), true
	}
	if len(s.input) == 0 {
		s.end = false
		return 0, false, nil
	}
	d := s.input[0]
	s.input = s.input[1:]
	return d, true, nil
}

func (s *textSession) Play(context.Context, []string, bool) error {
	return errors.New("a chat plays nothing")
}

func (s *textSession) Record(context.Context, string, time.Duration) (time.Duration, error) {
	return 0, errors.New("a chat records nothing")
}

func TestChatRun(t *testing.T) {
	set, _, err := ivr.Load("testdata/demo.yaml", ivr.Options{PromptDir: "prompts", Queues: demoQueues})
	if err != nil {
		t.Fatal(err)
	}
	ep, ok := set.ForChat("web")
	if !ok {
		t.Fatal("no chat entry point")
	}
	text := func(name string) string {
		s, ok := set.Prompts().Text("en", name)
		if !ok {
			t.Fatalf("no text for %s", name)
		}
		return s
	}
	mainButtons := []ivr.TextButton{
		{Label: "Sales", Value: "1", Phrases: []string{"buy", "sales"}},
		{Label: "Support", Value: "2", Phrases: []string{"support", "technical support"}},
		{Label: "Billing", Value: "3", Phrases: []string{"billing", "invoice"}},
		{Label: "Español", Value: "8", Phrases: []string{"spanish"}},
		{Label: "Callback", Value: "9", Phrases: []string{"call me back", "callback"}},
		{Label: "Operator", Value: "0", Phrases: []string{"agent", "operator", "talk to a person"}},
	}
	cases := []struct {
		name    string
		hours   ivr.HoursOverride
		replies []string
		kind    ivr.OutcomeKind
		queue   string
		path    string
		check   func(t *testing.T, out ivr.Outcome, shown []ivr.TextPrompt)
	}{
		{
			name: "menu by label, ticket typed, confirmed, status shown", hours: ivr.HoursOpen,
			replies: []string{"support", "12 34", "1", "Agent"},
			kind:    ivr.OutcomeQueue, queue: "support",
			path: "welcome hours hours:open identify identify:error main_menu dtmf:2 ticket_entry dtmf:1 dtmf:2 dtmf:3 dtmf:4 dtmf:1 " +
				"ticket_entry:confirmed ticket_lookup ticket_lookup:found ticket_status status_open ticket_menu dtmf:1 support_queue",
			check: func(t *testing.T, out ivr.Outcome, shown []ivr.TextPrompt) {
				want := []ivr.TextPrompt{
					{Text: text("welcome")},
					{Text: text("main_menu"), Buttons: mainButtons},
					{Text: text("ticket_enter")},
					{Text: text("you_entered") + " 1234 " + text("confirm_entry"), Buttons: []ivr.TextButton{{Label: "1", Value: "1"}, {Label: "2", Value: "2"}}},
					{Text: text("ticket") + " 1234 " + text("ticket_status_open")},
					{Text: text("ticket_menu"), Buttons: []ivr.TextButton{{Label: "Agent", Value: "1"}, {Label: "Main menu", Value: "2"}}},
					{Text: text("please_hold")},
				}
				if diff := cmp.Diff(want, shown); diff != "" {
					t.Errorf("shown (-want +got):\n%s", diff)
				}
				if out.Vars["call.channel"] != "chat" || out.Vars["input.ticket"] != "1234" {
					t.Errorf("vars = %v, want call.channel chat and input.ticket 1234", out.Vars)
				}
			},
		},
		{
			name: "words in a menu get the invalid prompt and a retry", hours: ivr.HoursOpen,
			replies: []string{"hello there", "1"},
			kind:    ivr.OutcomeQueue, queue: "sales",
			path: "welcome hours hours:open identify identify:error main_menu dtmf:? main_menu:invalid dtmf:1 sales_queue",
			check: func(t *testing.T, _ ivr.Outcome, shown []ivr.TextPrompt) {
				if len(shown) < 4 || shown[2].Text != text("invalid") || shown[3].Buttons == nil {
					t.Errorf("shown = %+v, want the invalid prompt then the menu again", shown)
				}
			},
		},
		{
			name: "letters and too many digits in a gather are invalid", hours: ivr.HoursOpen,
			replies: []string{"2", "12ab", "123456789", "", ""},
			kind:    ivr.OutcomeQueue, queue: "support",
			path: "welcome hours hours:open identify identify:error main_menu dtmf:2 ticket_entry dtmf:1 dtmf:2 dtmf:? dtmf:? ticket_entry:invalid " +
				"dtmf:1 dtmf:2 dtmf:3 dtmf:4 dtmf:5 dtmf:6 dtmf:7 dtmf:8 dtmf:9 ticket_entry:invalid ticket_entry:timeout ticket_entry:max_retries support_queue",
		},
		{
			name: "a callback request goes to an agent", hours: ivr.HoursOpen,
			replies: []string{"Callback"},
			kind:    ivr.OutcomeQueue, queue: "sales",
			path: "welcome hours hours:open identify identify:error main_menu dtmf:9 callback_channel chat_callback",
		},
		{
			name: "closed: goodbye instead of voicemail", hours: ivr.HoursClosed,
			kind: ivr.OutcomeHangup,
			path: "welcome hours hours:closed closed_message closed_channel closed_goodbye",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sess := &textSession{replies: c.replies}
			lookup := &ivrtest.Lookup{Tickets: map[string]ivr.Ticket{"1234": {Status: "open"}}}
			out := ivr.Run(context.Background(), sess, ep.Flow, ivr.Input{CallID: "chat-1", Hours: c.hours, Lookup: lookup})
			if out.Kind != c.kind || out.Queue != c.queue {
				t.Errorf("outcome = %v %q (err %v), want %v %q", out.Kind, out.Queue, out.Err, c.kind, c.queue)
			}
			if got := ivr.PathString(out.Path); got != c.path {
				t.Errorf("path:\n got %s\nwant %s", got, c.path)
			}
			if c.check != nil {
				c.check(t, out, sess.shown)
			}
		})
	}
}
