package chat

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"switchboard/crmcore"
)

func TestTransitions(t *testing.T) {
	statuses := []string{crmcore.ChatStatusBot, crmcore.ChatStatusQueued, crmcore.ChatStatusActive, crmcore.ChatStatusClosed}
	allowed := map[[2]string]bool{
		{crmcore.ChatStatusBot, crmcore.ChatStatusQueued}:    true,
		{crmcore.ChatStatusBot, crmcore.ChatStatusClosed}:    true,
		{crmcore.ChatStatusQueued, crmcore.ChatStatusActive}: true,
		{crmcore.ChatStatusQueued, crmcore.ChatStatusClosed}: true,
		{crmcore.ChatStatusActive, crmcore.ChatStatusQueued}: true, // a transfer
		{crmcore.ChatStatusActive, crmcore.ChatStatusClosed}: true,
	}
	for _, from := range statuses {
		for _, to := range statuses {
			t.Run(from+"→"+to, func(t *testing.T) {
				if got, want := canMove(from, to), allowed[[2]string{from, to}]; got != want {
					t.Errorf("canMove(%s, %s) = %v, want %v", from, to, got, want)
				}
			})
		}
	}
}

func TestToken(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s, err := New(nopStore{}, nopFlows{}, Options{Secret: []byte("0123456789abcdef"), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(nopStore{}, nopFlows{}, Options{Secret: []byte("fedcba9876543210"), Now: func() time.Time { return now }})
	tok := s.signToken("conv-1", now.Add(time.Hour))
	cases := []struct {
		name, tok string
		ok        bool
	}{
		{"valid", tok, true},
		{"another secret", other.signToken("conv-1", now.Add(time.Hour)), false},
		{"expired", s.signToken("conv-1", now), false},
		{"id changed", "conv-2" + tok[len("conv-1"):], false},
		{"no mac", "conv-1.123", false},
		{"empty", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, ok := s.verifyToken(c.tok)
			if ok != c.ok || (ok && id != "conv-1") {
				t.Errorf("verifyToken = %q, %v; want ok %v", id, ok, c.ok)
			}
		})
	}
}

func TestCleanText(t *testing.T) {
	cases := []struct{ in, want, code string }{
		{"  hi\n", "hi", ""},
		{"a\x00b\x1bc\rd\u0085e\u2028f", "abcdef", ""},
		{"tab\tand\nline", "tab\tand\nline", ""},
		{"\x00 \x01", "", codeEmpty},
		{"\xff", "", codeBadText},
		{string(make([]byte, crmcore.MaxChatText+1)), "", codeTooLarge},
	}
	for _, c := range cases {
		got, code := cleanText(c.in)
		if got != c.want || code != c.code {
			t.Errorf("cleanText(%q) = %q, %q; want %q, %q", c.in, got, code, c.want, c.code)
		}
	}
}

func FuzzDecodeClient(f *testing.F) {
	for _, seed := range []string{
		`{"type":"start","data":{"name":"Ana","email":"a@b.c","phone":"+1555","language":"en"}}`,
		`{"type":"resume","data":{"token":"x.1.y","after_seq":3}}`,
		`{"type":"message","data":{"text":"hi","client_id":"c1"}}`,
		`{"type":"button","data":{"value":"1"}}`,
		`{"type":"read","data":{"seq":-1}}`,
		`{"type":"typing"}`, `{"type":"close","data":null}`, `{"type":"message","data":[1]}`, `[]`, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeClient(b)
		if err != nil {
			if m.Type != "" {
				t.Fatalf("error %v with a type %q", err, m.Type)
			}
			return
		}
		switch m.Type {
		case "start", "resume", "message", "button", "read", "typing", "close":
		default:
			t.Fatalf("decoded unknown type %q", m.Type)
		}
		if len(m.Message.ClientID) > maxClientID || len(m.Resume.Token) > maxToken || m.Read.Seq < 0 || m.Resume.AfterSeq < 0 {
			t.Fatalf("limits not enforced: %+v", m)
		}
		if text, code := cleanText(m.Message.Text); code == "" {
			if !utf8.ValidString(text) || len(text) > crmcore.MaxChatText || text == "" {
				t.Fatalf("cleanText let %q through", text)
			}
			if _, err := json.Marshal(crmcore.ChatMessage{Text: text}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
