package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"switchboard/crmcore"
)

// TestParseKeepsAttachments: the attachments' decoded bytes are kept,
// with their digest, and typed by their content.
func TestParseKeepsAttachments(t *testing.T) {
	p, err := Parse(bytes.NewReader(readFixture(t, "mixed_attachment.eml")), 0)
	if err != nil {
		t.Fatal(err)
	}
	png, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
	pdf, _ := base64.StdEncoding.DecodeString("JVBERi0xLjQKMSAwIG9iago8PCAvVHlwZSAvQ2F0YWxvZyA+PgplbmRvYmoKdHJhaWxlcgo8PCAvUm9vdCAxIDAgUiA+PgolJUVPRgo=")
	want := [][]byte{png, pdf}
	if len(p.Message.Attachments) != len(want) {
		t.Fatalf("%d attachments, want %d", len(p.Message.Attachments), len(want))
	}
	for i, a := range p.Message.Attachments {
		sum := sha256.Sum256(want[i])
		if !a.Kept() || !bytes.Equal(a.Content, want[i]) || a.Size != int64(len(want[i])) || a.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("attachment %d = %+v, want kept with %d bytes and their digest", i, a, len(want[i]))
		}
	}
	if err := p.Message.Validate(); err != nil {
		t.Errorf("message with kept attachments does not validate: %v", err)
	}
}

// withAttachments returns a message carrying one attachment of each
// size, base64-encoded, named a0, a1 …
func withAttachments(sizes ...int) string {
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nMessage-ID: <att@example.com>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n")
	for i, n := range sizes {
		b.WriteString("--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a" + itoa(i) +
			"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		b.WriteString(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{byte('A' + i)}, n)) + "\r\n")
	}
	b.WriteString("--b--\r\n")
	return b.String()
}

// TestParseAttachmentLimits: an attachment over a cap is described,
// sized and hashed but not kept, and the message is still parsed.
func TestParseAttachmentLimits(t *testing.T) {
	tests := []struct {
		name    string
		limits  AttachmentLimits
		sizes   []int
		notKept []string // per attachment, "" for kept
	}{
		{"each at the cap", AttachmentLimits{MaxBytes: 1000}, []int{1000, 0, 999}, []string{"", "", ""}},
		{"one over the cap", AttachmentLimits{MaxBytes: 1000}, []int{1001, 10}, []string{crmcore.AttachmentTooLarge, ""}},
		{"tiny cap under the sniffed head", AttachmentLimits{MaxBytes: 10}, []int{600, 10}, []string{crmcore.AttachmentTooLarge, ""}},
		{"message total", AttachmentLimits{MaxBytes: 1000, MaxTotal: 1500}, []int{800, 800, 700},
			[]string{"", crmcore.AttachmentTooLarge, ""}},
		{"count", AttachmentLimits{MaxCount: 2}, []int{5, 5000, 5}, []string{"", "", crmcore.AttachmentTooMany}},
		{"count skips the ones not kept", AttachmentLimits{MaxBytes: 100, MaxCount: 2}, []int{500, 5, 5, 5},
			[]string{crmcore.AttachmentTooLarge, "", "", crmcore.AttachmentTooMany}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseWith(strings.NewReader(withAttachments(tt.sizes...)), ParseOptions{Attachments: tt.limits})
			if err != nil {
				t.Fatal(err)
			}
			as := p.Message.Attachments
			if len(as) != len(tt.sizes) {
				t.Fatalf("%d attachments described, want %d", len(as), len(tt.sizes))
			}
			for i, a := range as {
				content := bytes.Repeat([]byte{byte('A' + i)}, tt.sizes[i])
				sum := sha256.Sum256(content)
				if a.NotKept != tt.notKept[i] || a.Size != int64(tt.sizes[i]) || a.SHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("attachment %d = {not kept %q, size %d}, want {%q, %d} and the content's digest",
						i, a.NotKept, a.Size, tt.notKept[i], tt.sizes[i])
				}
				if a.Kept() != bytes.Equal(a.Content, content) || (!a.Kept() && a.Content != nil) {
					t.Errorf("attachment %d: kept %v with %d bytes of content", i, a.Kept(), len(a.Content))
				}
			}
			if p.Message.Text != "see attached" {
				t.Errorf("text = %q", p.Message.Text)
			}
		})
	}
}

// TestParseAttachmentsDescribedUpToMax: past crmcore.MaxAttachments the
// attachments are not even described, and the message still validates.
func TestParseAttachmentsDescribedUpToMax(t *testing.T) {
	sizes := make([]int, crmcore.MaxAttachments+3)
	p, err := Parse(strings.NewReader(withAttachments(sizes...)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Message.Attachments); got != crmcore.MaxAttachments {
		t.Fatalf("%d attachments described, want %d", got, crmcore.MaxAttachments)
	}
	if err := p.Message.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSaferType(t *testing.T) {
	tests := []struct{ sniffed, declared, want string }{
		{"image/png", "image/png", "image/png"},
		{"image/png", "application/octet-stream", "image/png"},
		{"image/png", "", "image/png"},
		{"image/png", "not a type", "image/png"},
		{"text/html; charset=utf-8", "image/png", "image/png"},
		{"text/plain; charset=utf-8", "text/html", "text/plain; charset=utf-8"},
		{"text/plain; charset=utf-8", "image/svg+xml", "text/plain; charset=utf-8"},
		{"application/octet-stream", "application/pdf", "application/octet-stream"},
		{"application/zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip"},
		{"text/xml; charset=utf-8", "application/msword", "application/msword"},
		{"application/pdf", "text/plain", "text/plain"},
		{"application/pdf", "application/pdf; name=\"x.pdf\"", "application/pdf"},
		{"application/zip", "application/" + strings.Repeat("x", 200), "application/zip"},
	}
	for _, tt := range tests {
		if got := saferType(tt.sniffed, tt.declared); got != tt.want {
			t.Errorf("saferType(%q, %q) = %q, want %q", tt.sniffed, tt.declared, got, tt.want)
		}
	}
}

// TestInboxAttachmentLimits: the inbox keeps attachments within its
// options' limits and hands them to the store with the message.
func TestInboxAttachmentLimits(t *testing.T) {
	store := newFakeStore()
	ib := NewInbox(store, InboxOptions{Domain: "acme.test", Attachments: AttachmentLimits{MaxBytes: 100},
		Now: newFakeClock().Now, Logger: quietLogger()})
	if err := ib.Deliver(t.Context(), "a@example.com", []string{"support@acme.test"}, strings.NewReader(withAttachments(100, 101))); err != nil {
		t.Fatal(err)
	}
	as := store.ingested[0].Message.Attachments
	if len(as) != 2 || !as[0].Kept() || len(as[0].Content) != 100 || as[1].NotKept != crmcore.AttachmentTooLarge {
		t.Fatalf("attachments stored = %+v, want the first kept and the second too large", as)
	}
}
