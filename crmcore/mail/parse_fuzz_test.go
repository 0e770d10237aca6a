package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
// limits, kept attachments within theirs and matching their digest.
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
	f.Add([]byte(withAttachments(1500, 1500, 10, 10)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		limits := AttachmentLimits{MaxBytes: 2000, MaxTotal: 3000, MaxCount: 2}
		p, err := ParseWith(bytes.NewReader(raw), ParseOptions{MaxMessageBytes: 1 << 20, Attachments: limits})
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
		var kept, keptBytes int64
		for _, a := range m.Attachments {
			if err := crmcore.HeaderSafe(a.Name); err != nil || a.Size < 0 || crmcore.HeaderSafe(a.ContentType) != nil {
				t.Fatalf("bad attachment %+v", a)
			}
			if a.Kept() {
				if sum := sha256.Sum256(a.Content); int64(len(a.Content)) != a.Size || a.SHA256 != hex.EncodeToString(sum[:]) {
					t.Fatalf("kept attachment %q: %d bytes of content for size %d, digest %s", a.Name, len(a.Content), a.Size, a.SHA256)
				}
				kept++
				keptBytes += a.Size
			} else if a.Content != nil {
				t.Fatalf("attachment %q not kept (%s) carries content", a.Name, a.NotKept)
			}
		}
		if kept > int64(limits.MaxCount) || keptBytes > limits.MaxTotal {
			t.Fatalf("kept %d attachments of %d bytes, over the limits %+v", kept, keptBytes, limits)
		}
	})
}
