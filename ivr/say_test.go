package ivr

import (
	"bufio"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSay(t *testing.T) {
	cases := []struct {
		lang  string
		kind  SayKind
		value string
		want  string
	}{
		{"en", SayDigits, "1042#", "num_1 num_0 num_4 num_2 pound"},
		{"en", SayDigits, "+1 (555) *", "num_1 num_5 num_5 num_5 star"},
		{"en", SayNumber, "0", "num_0"},
		{"en", SayNumber, "7", "num_7"},
		{"en", SayNumber, "13", "num_13"},
		{"en", SayNumber, "20", "num_20"},
		{"en", SayNumber, "42", "num_40 num_2"},
		{"en", SayNumber, "100", "num_1 hundred"},
		{"en", SayNumber, "115", "num_1 hundred num_15"},
		{"en", SayNumber, "999", "num_9 hundred num_90 num_9"},
		{"en", SayNumber, "1000", "num_1 thousand"},
		{"en", SayNumber, "2019", "num_2 thousand num_19"},
		{"en", SayNumber, "123456", "num_1 hundred num_20 num_3 thousand num_4 hundred num_50 num_6"},
		{"en", SayNumber, "1234567", "num_1 num_2 num_3 num_4 num_5 num_6 num_7"},
		{"es", SayNumber, "0", "num_0"},
		{"es", SayNumber, "21", "num_21"},
		{"es", SayNumber, "35", "num_30 and num_5"},
		{"es", SayNumber, "100", "num_100"},
		{"es", SayNumber, "101", "num_100p num_1"},
		{"es", SayNumber, "500", "num_500"},
		{"es", SayNumber, "999", "num_900 num_90 and num_9"},
		{"es", SayNumber, "1000", "thousand"},
		{"es", SayNumber, "1999", "thousand num_900 num_90 and num_9"},
		{"es", SayNumber, "25000", "num_25 thousand"},
		{"en", SayDate, "2026-11-23", "day_1 month_11 num_20 num_3"},
		{"es", SayDate, "2026-11-23", "day_1 num_23 of month_11"},
		{"en", SayDate, "2026-03-01T10:00:00Z", "day_0 month_3 num_1"},
		{"en", SayTime, "00:00", "num_12 oclock am"},
		{"en", SayTime, "09:05", "num_9 oh num_5 am"},
		{"en", SayTime, "12:30", "num_12 num_30 pm"},
		{"en", SayTime, "23:45", "num_11 num_40 num_5 pm"},
		{"es", SayTime, "15:30", "num_15 hours and num_30"},
		{"es", SayTime, "08:00", "num_8 hours"},
		{"en", SayCurrency, "1", "num_1 dollar"},
		{"en", SayCurrency, "0", "num_0 dollars"},
		{"en", SayCurrency, "0.01", "num_1 cent"},
		{"en", SayCurrency, "12.5", "num_12 dollars and num_50 cents"},
		{"en", SayCurrency, "3.07 EUR", "num_3 euros and num_7 cents"},
		{"es", SayCurrency, "21.99", "num_21 dollars and num_90 and num_9 cents"},
		{"fr", SayNumber, "42", "num_40 num_2"}, // other languages use English grammar
	}
	for _, tc := range cases {
		got, err := Say(tc.lang, tc.kind, tc.value)
		if err != nil {
			t.Errorf("Say(%s, %v, %q): %v", tc.lang, tc.kind, tc.value, err)
			continue
		}
		if diff := cmp.Diff(strings.Fields(tc.want), got); diff != "" {
			t.Errorf("Say(%s, %v, %q) (-want +got):\n%s", tc.lang, tc.kind, tc.value, diff)
		}
		// Every word must be in the kind's vocabulary (what the validator checks).
		vocab := sayVocabulary(tc.lang, tc.kind)
		for _, w := range got {
			if !contains(vocab, w) {
				t.Errorf("Say(%s, %v, %q) used %s, not in the vocabulary", tc.lang, tc.kind, tc.value, w)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func TestSayErrors(t *testing.T) {
	cases := []struct {
		kind  SayKind
		value string
	}{
		{SayDigits, "abc"},
		{SayNumber, "-3"},
		{SayNumber, "4.5"},
		{SayNumber, ""},
		{SayDate, "23/11/2026"},
		{SayTime, "25:00"},
		{SayCurrency, "1.234"},
		{SayCurrency, "abc"},
		{SayCurrency, "5 GBP"},
		{SayCurrency, "-1"},
		{SayNone, "1"},
	}
	for _, tc := range cases {
		if got, err := Say("en", tc.kind, tc.value); !errors.Is(err, ErrUnspeakable) {
			t.Errorf("Say(%v, %q) = %v, %v; want ErrUnspeakable", tc.kind, tc.value, got, err)
		}
	}
}

// readPhraseList returns the prompt names of prompts/<lang>.txt.
func readPhraseList(t *testing.T, lang string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("prompts", lang+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, text, ok := strings.Cut(line, "|")
		if !ok || text == "" || !promptNameRE.MatchString(name) {
			t.Errorf("%s.txt: bad line %q", lang, line)
			continue
		}
		names = append(names, name)
	}
	return append(names, "beep")
}

// TestPromptSets checks the committed prompt files: every phrase of the list exists as an
// 8 kHz mono μ-law WAV, nothing else is in the folder, and every say vocabulary word exists.
func TestPromptSets(t *testing.T) {
	for _, lang := range []string{"en", "es"} {
		t.Run(lang, func(t *testing.T) {
			names := readPhraseList(t, lang)
			p, err := OpenPrompts("prompts", lang)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range names {
				if !p.Has(lang, name) {
					t.Errorf("%s/%s.wav missing: run prompts/generate.sh", lang, name)
					continue
				}
				checkWAV(t, p.Path(lang, name))
			}
			if got, want := len(p.have[lang]), len(names); got != want {
				t.Errorf("%d files in prompts/%s, want %d (the phrase list)", got, lang, want)
			}
			for k := SayDigits; k <= SayCurrency; k++ {
				for _, w := range sayVocabulary(lang, k) {
					if !p.Has(lang, w) {
						t.Errorf("say %v needs %s/%s.wav", k, lang, w)
					}
				}
			}
		})
	}
}

// checkWAV parses a RIFF WAVE header and checks the format is 8 kHz mono μ-law with data.
func checkWAV(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Error(err)
		return
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Errorf("%s: not a RIFF WAVE file", file)
		return
	}
	var fmtOK, data bool
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		body := b[off+8:]
		if size > len(body) {
			t.Errorf("%s: chunk %s overruns the file", file, id)
			return
		}
		switch id {
		case "fmt ":
			format, channels := binary.LittleEndian.Uint16(body[0:2]), binary.LittleEndian.Uint16(body[2:4])
			rate, bits := binary.LittleEndian.Uint32(body[4:8]), binary.LittleEndian.Uint16(body[14:16])
			fmtOK = format == 7 && channels == 1 && rate == 8000 && bits == 8
			if !fmtOK {
				t.Errorf("%s: format %d channels %d rate %d bits %d; want μ-law (7), mono, 8000 Hz, 8 bit", file, format, channels, rate, bits)
			}
		case "data":
			data = size > 0
		}
		off += 8 + size + size%2
	}
	if !fmtOK || !data {
		t.Errorf("%s: fmt ok %v, has data %v", file, fmtOK, data)
	}
}

func TestPromptsPathFallsBackToDefault(t *testing.T) {
	p, err := OpenPrompts("prompts", "en", "es")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ lang, name, want string }{
		{"es", "welcome", "prompts/es/welcome.wav"},
		{"en", "welcome", "prompts/en/welcome.wav"},
		{"es", "am", "prompts/en/am.wav"},           // no Spanish recording
		{"fr", "welcome", "prompts/en/welcome.wav"}, // unconfigured language
		{"", "goodbye", "prompts/en/goodbye.wav"},
	}
	for _, tc := range cases {
		if got := p.Path(tc.lang, tc.name); got != filepath.FromSlash(tc.want) {
			t.Errorf("Path(%q, %q) = %q, want %q", tc.lang, tc.name, got, tc.want)
		}
	}
	if _, err := OpenPrompts("prompts", "en", "xx"); err == nil {
		t.Error("OpenPrompts with a missing language folder: no error")
	}
}

func TestAnnouncements(t *testing.T) {
	p, err := OpenPrompts("prompts", "en", "es")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		got  []string
		want string
	}{
		{"position 3", p.QueuePosition("en", 3), "en/queue_position en/num_3"},
		{"position 0 says one", p.QueuePosition("en", 0), "en/queue_position en/num_1"},
		{"posición 21", p.QueuePosition("es", 21), "es/queue_position es/num_21"},
		{"wait 90s rounds up", p.EstimatedWait("en", 90*time.Second), "en/estimated_wait en/num_2 en/minutes"},
		{"wait 10s is one minute", p.EstimatedWait("en", 10*time.Second), "en/estimated_wait en/num_1 en/minute"},
		{"espera 45 min", p.EstimatedWait("es", 45*time.Minute), "es/estimated_wait es/num_40 es/and es/num_5 es/minutes"},
	}
	for _, tc := range cases {
		var want []string
		for _, w := range strings.Fields(tc.want) {
			want = append(want, filepath.Join("prompts", w+".wav"))
		}
		if diff := cmp.Diff(want, tc.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
		for _, f := range tc.got {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
	}
}
