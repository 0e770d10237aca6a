package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"strings"

	"switchboard/crmcore"
)

// The defaults of AttachmentLimits.
const (
	DefaultMaxAttachmentBytes = 10 << 20
	DefaultMaxAttachmentTotal = 25 << 20
	DefaultMaxKeptAttachments = 20
)

// AttachmentLimits cap what Parse keeps of a message's attachments. An
// attachment over a cap is still described (name, type, size, digest)
// and marked not kept; the message is accepted all the same. Zero fields
// take the defaults.
type AttachmentLimits struct {
	// MaxBytes caps one attachment's content (default 10 MiB).
	MaxBytes int64
	// MaxTotal caps the content kept of one message (default 25 MiB).
	MaxTotal int64
	// MaxCount caps the attachments kept of one message (default 20);
	// the ones after it are described only.
	MaxCount int
}

func (l AttachmentLimits) withDefaults() AttachmentLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxAttachmentBytes
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = DefaultMaxAttachmentTotal
	}
	if l.MaxCount <= 0 {
		l.MaxCount = DefaultMaxKeptAttachments
	}
	return l
}

// maxTypeBytes caps a declared content type kept as the attachment's
// type; a longer one is no type a browser knows.
const maxTypeBytes = 100

// attachment reads one attachment part: it is hashed and sniffed whole,
// and its content kept when it fits the limits. declared is the media type
// the sender gave the part.
func (b *bodyParts) attachment(r io.Reader, name, declared string) error {
	h := sha256.New()
	src := io.TeeReader(r, h)
	var head [512]byte
	n, err := io.ReadFull(src, head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return malformed("attachment: %v", err)
	}
	room := min(b.limits.MaxBytes, b.limits.MaxTotal-b.keptBytes)
	var content bytes.Buffer
	content.Write(head[:n])
	if _, err := io.Copy(&content, io.LimitReader(src, max(room-int64(n)+1, 0))); err != nil {
		return malformed("attachment: %v", err)
	}
	rest, err := io.Copy(io.Discard, src)
	if err != nil {
		return malformed("attachment: %v", err)
	}
	if len(b.attachments) >= crmcore.MaxAttachments {
		return nil
	}
	if name = cleanLine(name, maxNameBytes); name == "" {
		name = "attachment"
	}
	a := crmcore.EmailAttachment{
		Name:        name,
		ContentType: saferType(http.DetectContentType(head[:n]), declared),
		Size:        int64(content.Len()) + rest,
		SHA256:      hex.EncodeToString(h.Sum(nil)),
	}
	switch {
	case b.keptCount >= b.limits.MaxCount:
		a.NotKept = crmcore.AttachmentTooMany
	case a.Size > room:
		a.NotKept = crmcore.AttachmentTooLarge
	default:
		a.Content = bytes.Clone(content.Bytes())
		b.keptBytes += a.Size
		b.keptCount++
	}
	b.attachments = append(b.attachments, a)
	return nil
}

// saferType returns the safer of the type sniffed from an attachment's
// content and the type its sender declared: the one a browser would do
// less with. Between two types equally safe the content's wins, since a
// sender can declare anything; a declared application/octet-stream
// leaves the sniffed type.
func saferType(sniffed, declared string) string {
	mt, _, err := mime.ParseMediaType(declared)
	// application/octet-stream is how most mailers say "unknown": no claim
	// to weigh against the content.
	if err != nil || len(mt) > maxTypeBytes || !strings.Contains(mt, "/") || mt == "application/octet-stream" {
		return sniffed
	}
	if typeRisk(mt) < typeRisk(sniffed) {
		return mime.FormatMediaType(mt, nil)
	}
	return sniffed
}

// typeRisk ranks media types by what a browser might do with them:
// nothing (opaque bytes), show text, show an image or document, hand it
// to some application, run it (markup, scripts, vector images).
func typeRisk(ct string) int {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case mt == "application/octet-stream":
		return 0
	case mt == "text/plain":
		return 1
	case crmcore.InertContentType(mt):
		return 2
	case strings.Contains(mt, "html"), strings.HasSuffix(mt, "xml"), strings.Contains(mt, "script"),
		strings.Contains(mt, "svg"), strings.Contains(mt, "flash"), mt == "text/css", mt == "multipart/x-mixed-replace":
		return 4
	}
	return 3
}
