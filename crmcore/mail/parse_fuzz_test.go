package mail

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"switchboard/crmcore"
)

// FuzzParse checks that any input gives either an error wrapping
// ErrMalformed or ErrTooLarge, or a message whose fields the rest of the
// system can rely on: header values on one line, valid UTF-8, within the
// limits.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(typicalMessage())
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Parse(bytes.NewReader(raw), 1<<20)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		m := p.Message
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed message does not validate: %v", err)
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || !utf8.ValidString(m.FromName) {
			t.Fatal("invalid UTF-8 in a parsed field")
		}
		if len(m.Text) > crmcore.MaxEmailText {
			t.Fatalf("text of %d bytes", len(m.Text))
		}
		for _, id := range append(append([]string{m.MessageID}, m.References...), p.ThreadIDs...) {
			if !validID(id) {
				t.Fatalf("invalid message id %q", id)
			}
		}
		for _, a := range m.Attachments {
			if err := crmcore.HeaderSafe(a.Name); err != nil || a.Size < 0 {
				t.Fatalf("bad attachment %+v", a)
			}
		}
	})
}
