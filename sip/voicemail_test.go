package sip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/acd"
	"switchboard/ivr"
	"switchboard/sip/media"
)

const voicemailFlows = `version: 1
default_language: en
languages: [en]
default_queue: support
entry_points:
  - dnis: "+15550100"
    flow: main
flows:
  main:
    start: vm
    nodes:
      vm:
        kind: voicemail
        prompts: [beep]
        max_length: 1m
        queue: support
`

// TestVoicemailFilePlaysBack: with the default relative recording
// directory, the file a voicemail's record names — the IVR's, recorded
// under the directory the gateway reports, and the ACD's (Agents) — is
// the file written: it opens and decodes to the caller's audio.
func TestVoicemailFilePlaysBack(t *testing.T) {
	t.Chdir(t.TempDir())
	prompts := filepath.Join(t.TempDir(), "prompts")
	if err := os.MkdirAll(filepath.Join(prompts, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := media.WriteWAVFile(filepath.Join(prompts, "en", "beep.wav"), make([]int16, 800)); err != nil {
		t.Fatal(err)
	}
	set, problems, err := ivr.Parse("flows.yaml", []byte(voicemailFlows), ivr.Options{PromptDir: prompts, Queues: []string{"support"}})
	if err != nil || len(problems) > 0 {
		t.Fatalf("flows: %v %v", err, problems)
	}
	ep, ok := set.ForDNIS("+15550100")
	if !ok {
		t.Fatal("no entry point")
	}

	calls := make(chan *Call, 1)
	g := startGateway(t, Config{RecordingDir: "var/recordings"}, WithCallHandler(func(c *Call) { calls <- c }))
	agents := NewAgents(g, AgentsOptions{})
	p := newPhone(t, "caller")
	_, voice := writePrompt(t, 4000)

	for _, tc := range []struct {
		name   string
		record func(*Call) string // runs the voicemail, returns the file its record names
	}{
		{"ivr", func(c *Call) string {
			out := ivr.Run(c.Context(), c, ep.Flow, ivr.Input{CallID: c.ID(), DNIS: c.DNIS(), RecordingDir: g.RecordingDir(), Logger: quiet})
			if out.Kind != ivr.OutcomeVoicemail {
				t.Errorf("outcome %v (%v), want voicemail", out.Kind, out.Err)
			}
			return out.VoicemailFile
		}},
		{"acd", func(c *Call) string {
			file, err := agents.TakeVoicemail(c.Context(), c, acd.CallInfo{ID: acd.CallID(c.ID())})
			if err != nil {
				t.Error(err)
			}
			return file
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc, err := p.Invite(t.Context(), g.UDPAddr(), "+15550100", media.PCMU)
			if err != nil {
				t.Fatal(err)
			}
			c := <-calls
			files := make(chan string, 1)
			go func() { files <- tc.record(c) }()
			if err := media.Play(t.Context(), pc.Session(), voice, false, nil); err != nil {
				t.Fatal(err)
			}
			if err := pc.Session().SendDigit(t.Context(), '#'); err != nil {
				t.Fatal(err)
			}
			file := <-files
			if strings.Count(file, "recordings") != 1 {
				t.Errorf("voicemail file %q: want it once under the recording directory", file)
			}
			a, err := media.ReadWAVFile(file)
			if err != nil {
				t.Fatalf("the file the record names: %v", err)
			}
			if len(a.Samples) < 1600 {
				t.Errorf("voicemail has %d samples, want the caller's audio", len(a.Samples))
			}
			_ = pc.Hangup(t.Context())
		})
	}
}
