package ivr_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

// TestValidateFixtures checks that each class of error is caught with its file:line.
func TestValidateFixtures(t *testing.T) {
	cases := []struct {
		file string
		want []string // "line: severity: substring", every one must be reported
		ok   bool     // loads (warnings only)
	}{
		{"bad_target.yaml", []string{
			`13: error: node menu: target "nowhere" does not exist`,
			`18: error: node check: target "ghost" does not exist`,
			`24: error: flow other: start names unknown node "missing_start"`,
			`15: warning: node check: unreachable`,
		}, false},
		{"unreachable.yaml", []string{`12: warning: node orphan: unreachable from start node hello`}, true},
		{"no_end.yaml", []string{
			`8: error: node first: no path from this node ends the call`,
			`12: error: node second: no path from this node ends the call`,
			`16: error: node lonely: next is required`,
		}, false},
		{"missing_prompt.yaml", []string{
			`11: error: node hello: prompt welcomez missing for language en`,
			`11: error: node hello: prompt welcomez missing for language es`,
			`15: error: node time: prompt am missing for language es`,
			`19: error: node bye: invalid prompt name "Bad-Name"`,
		}, false},
		{"ranges.yaml", []string{
			`3: error: max_steps 5 out of range`,
			`14: error: node menu: timeout 1m30s out of range 1s–1m0s`,
			`15: error: node menu: retries 12 out of range 0–9`,
			`21: error: node get: min_digits 9 is greater than max_digits 4`,
			`23: error: node get: inter_digit_timeout 100ms out of range`,
			`24: error: node get: first_digit_timeout 0s out of range`,
			`30: error: node vm: max_length 1h0m0s out of range 1s–10m0s`,
		}, false},
		{"unknown_queue.yaml", []string{
			`1: error: unknown queue "reception"`,
			`10: error: node q: unknown queue "marketing"`,
			`11: error: node q: skill sales level 7 out of range 1–5`,
			`12: error: node q: priority 101 out of range 0–100`,
		}, false},
		{"unknown_field.yaml", []string{
			`11: error: node hello: field nxt is not valid for a play node`,
			`14: error: node bye: field options is not valid for a hangup node`,
			`8: error: node hello: next is required`,
		}, false},
		{"syntax.yaml", []string{`9: error: mapping values are not allowed`}, false},
		{"bad_kind.yaml", []string{
			`9: error: node hello: unknown kind "dial"`,
			`11: error: node bye: kind is required`,
		}, false},
		{"entry_points.yaml", []string{
			`5: error: duplicate entry point "100"`,
			`6: error: entry point needs exactly one of dnis, webrtc`,
			`7: error: entry point names unknown flow "nosuch"`,
			`8: error: entry point language fr is not in languages`,
		}, false},
		{"hours.yaml", []string{
			`10: error: node h: unknown timezone "Mars/Olympus_Mons"`,
			`17: error: node h2: hours "17:00-09:00": end is not after start`,
			`18: error: node h2: unknown day "mon2"`,
			`19: error: node h2: hours "9-5"`,
			`20: error: node h2: holiday "25/12/2026": want YYYY-MM-DD`,
		}, false},
		{"types.yaml", []string{
			`10: error: node m: say "roman"`,
			`10: error: node m: say digits needs a value`,
			`10: error: node m: unknown prompt item field "prompt"`,
			`11: error: node m: option key "12" is not one DTMF digit`,
			"12: error: cannot unmarshal !!str `many` into int",
		}, false},
		{"logic.yaml", []string{
			`11: error: node b: condition needs exactly one of`,
			`12: error: node b: condition var "segment" is not a variable`,
			`13: error: node b: condition next is required`,
			`17: error: node lang: language "de" is not in languages`,
			`19: error: node g: goto needs exactly one of next, flow`,
			`25: error: node lk: lookup "weather": want caller or ticket`,
			`31: error: node t: target "+1555\r\nX-Evil: 1" must be a phone number`,
			`35: error: node s: scale "1-7"`,
			`36: error: node s: question name "csat" must be a unique`,
			`40: error: node bye: cannot set variable "caller.ani"`,
		}, false},
	}
	opts := ivr.Options{PromptDir: "prompts", Queues: demoQueues}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			file := filepath.Join("testdata", "invalid", tc.file)
			set, problems, err := ivr.Load(file, opts)
			if tc.ok {
				if err != nil || set == nil {
					t.Fatalf("Load: %v, want success with warnings", err)
				}
			} else {
				if !errors.Is(err, ivr.ErrInvalid) || set != nil {
					t.Fatalf("Load = %v, %v; want a nil set and ErrInvalid", set, err)
				}
				var ve *ivr.ValidationError
				if !errors.As(err, &ve) || len(ve.Problems) != len(problems) {
					t.Errorf("error %v does not carry the problems", err)
				}
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
				if p.File != file {
					t.Errorf("problem file = %q, want %q", p.File, file)
				}
			}
			for _, w := range tc.want {
				line, rest, _ := strings.Cut(w, ": ")
				sev, sub, _ := strings.Cut(rest, ": ")
				prefix := fmt.Sprintf("%s:%s: %s: ", file, line, sev)
				if !slices.ContainsFunc(got, func(g string) bool {
					return strings.HasPrefix(g, prefix) && strings.Contains(g, sub)
				}) {
					t.Errorf("missing problem %q\ngot:\n  %s", prefix+sub, strings.Join(got, "\n  "))
				}
			}
			if !slices.IsSortedFunc(problems, func(a, b ivr.Problem) int { return a.Line - b.Line }) {
				t.Errorf("problems not in line order")
			}
		})
	}
}

func TestValidateDemoIsClean(t *testing.T) {
	rec := &ivrtest.Recognizer{}
	problems := ivr.Validate("testdata/demo.yaml", ivr.Options{PromptDir: "prompts", Queues: demoQueues, Recognizer: rec})
	for _, p := range problems {
		t.Errorf("demo: %v", p)
	}
	if got := len(rec.Checked()); got != 2 {
		t.Errorf("recognizer checked %d grammars, want the main menu's and the ticket number's", got)
	}
}

func TestValidateDemoWithoutRecognizer(t *testing.T) {
	why := errors.New("sphinx: libpocketsphinx.so.3 not found")
	problems := ivr.Validate("testdata/demo.yaml", ivr.Options{PromptDir: "prompts", Queues: demoQueues, NoRecognizer: why})
	var nodes []string
	for _, p := range problems {
		if p.Severity != ivr.SeverityWarning || !strings.Contains(p.Reason, "takes keys only") || !strings.Contains(p.Reason, why.Error()) {
			t.Errorf("problem %v, want a warning that the node takes keys only, quoting why", p)
		}
		nodes = append(nodes, p.Node)
	}
	if diff := cmp.Diff([]string{"main_menu", "ticket_entry"}, nodes); diff != "" {
		t.Errorf("warned nodes (-want +got):\n%s", diff)
	}
}

func TestValidateMain(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		status int
		out    string
	}{
		{"clean but for speech", []string{"-prompts", "prompts", "-queues", "sales,support,billing,vip,operator", "testdata/demo.yaml"}, 0, "testdata/demo.yaml: ok, 2 warning(s)"},
		{"no checks", []string{"testdata/demo.yaml"}, 0, "ok"},
		{"warnings only", []string{"testdata/invalid/unreachable.yaml"}, 0, "unreachable.yaml:12: warning: flow main node orphan"},
		{"errors", []string{"-queues", "sales", "testdata/invalid/unknown_queue.yaml"}, 1, "testdata/invalid/unknown_queue.yaml:10: error: flow main node q: unknown queue \"marketing\""},
		{"queue not checked without -queues", []string{"testdata/invalid/unknown_queue.yaml"}, 1, "invalid: 2 error(s)"},
		{"one bad of two", []string{"testdata/demo.yaml", "testdata/invalid/syntax.yaml"}, 1, "syntax.yaml:9: error"},
		{"missing file", []string{"testdata/nope.yaml"}, 1, "nope.yaml: error: ivr: load flows"},
		{"usage", nil, 2, ""},
		{"bad flag", []string{"-nope"}, 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := ivr.ValidateMain(tc.args, &stdout, &stderr)
			if status != tc.status {
				t.Errorf("status = %d, want %d\nstdout:\n%s\nstderr:\n%s", status, tc.status, &stdout, &stderr)
			}
			if !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("stdout missing %q:\n%s", tc.out, &stdout)
			}
			if tc.status == 2 && !strings.Contains(stderr.String(), "usage") {
				t.Errorf("stderr has no usage:\n%s", &stderr)
			}
		})
	}
}

func TestValidateMainWithRecognizer(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"-prompts", "prompts", "-queues", "sales,support,billing,vip,operator", "testdata/demo.yaml"}
	if status := ivr.ValidateMainWith(ivr.Options{Recognizer: &ivrtest.Recognizer{}}, args, &stdout, &stderr); status != 0 || !strings.Contains(stdout.String(), "demo.yaml: ok, 0 warning(s)") {
		t.Errorf("status %d, stdout:\n%s", status, &stdout)
	}
	stdout.Reset()
	refuse := &ivrtest.Recognizer{CheckErr: errors.New("word \"callback\" not in the dictionary")}
	if status := ivr.ValidateMainWith(ivr.Options{Recognizer: refuse}, args, &stdout, &stderr); status != 1 || !strings.Contains(stdout.String(), `node main_menu: the speech recognizer cannot listen for this node: word "callback" not in the dictionary`) {
		t.Errorf("status %d, stdout:\n%s", status, &stdout)
	}
}

func TestLoadRejectsHugeFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(file, bytes.Repeat([]byte("# padding\n"), ivr.MaxFileSize/10+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, problems, err := ivr.Load(file, ivr.Options{})
	if !errors.Is(err, ivr.ErrInvalid) || len(problems) != 1 || !strings.Contains(problems[0].Reason, "larger than") {
		t.Errorf("Load = %v, %v; want one size problem", problems, err)
	}
}

func TestValidateSpeech(t *testing.T) {
	file := filepath.Join("testdata", "invalid", "speech.yaml")
	_, problems, err := ivr.Load(file, ivr.Options{PromptDir: "prompts", Recognizer: &ivrtest.Recognizer{}})
	if !errors.Is(err, ivr.ErrInvalid) {
		t.Fatalf("Load: %v, want ErrInvalid", err)
	}
	var got []string
	for _, p := range problems {
		if p.Severity == ivr.SeverityError {
			got = append(got, fmt.Sprintf("%d: %s: %s", p.Line, p.Node, p.Reason))
		}
	}
	want := []string{
		`12: m: input "voice": want dtmf, speech or both`,
		`21: m2: phrases key "7" is not an option of this menu`,
		`30: m3: 2 has no phrases`,
		`31: m3: confidence 1.5 out of range 0–1`,
		`37: m4: phrases needs input: speech or both`,
		`39: m4: no_input needs input: speech or both`,
		`46: m5: phrase "sales" stands for both "1" and "2"`,
		`55: g1: a gather listens for phrases or grammar: digits, not both`,
		`64: g2: grammar "words": want digits`,
		`73: g3: confirm reads digits back: use it with grammar: digits`,
		`74: g3: no_input 1m30s out of range 1s–1m0s`,
		`77: g4: input speech needs phrases ({value: [phrases]}) or grammar: digits`,
		`89: g5: phrase value "bill ing" must be 1–40 letters, digits or _ . + -`,
		`96: m6: var "Choice" must be a lower-case name (stored as input.<var>)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestValidateSpeechNeedsARecognizer(t *testing.T) {
	why := errors.New("sphinx: libpocketsphinx.so.3: cannot open shared object file (apt-get install pocketsphinx pocketsphinx-en-us)")
	_, problems, err := ivr.Parse("speech.yaml", []byte(speechOnlyFlows), ivr.Options{NoRecognizer: why})
	if !errors.Is(err, ivr.ErrInvalid) || len(problems) != 1 {
		t.Fatalf("Parse: %v, problems %v; want one error", err, problems)
	}
	if p := problems[0]; p.Node != "ask" || !strings.Contains(p.Reason, "input speech needs a speech recognizer and none is configured ("+why.Error()+")") {
		t.Errorf("problem %v", p)
	}
	refuse := &ivrtest.Recognizer{CheckErr: errors.New(`word "invoice" is not in the dictionary`)}
	_, problems, err = ivr.Parse("speech.yaml", []byte(speechOnlyFlows), ivr.Options{Recognizer: refuse})
	if !errors.Is(err, ivr.ErrInvalid) || len(problems) != 1 || !strings.Contains(problems[0].Reason, `cannot listen for this node: word "invoice"`) {
		t.Errorf("Parse: %v, problems %v; want the recognizer's refusal", err, problems)
	}
}
