package mail

import (
	"bytes"
	"fmt"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"time"

	"switchboard/crmcore"
)

// defaultIDDomain names the message ids made without a configured domain.
const defaultIDDomain = "switchboard.invalid"

// ComposeOptions are the envelope-level choices of an outbound message.
type ComposeOptions struct {
	// From and FromName override the message's sender (empty: m.From and
	// m.FromName).
	From, FromName string
	// LoopToken is the value of the X-Switchboard-Loop field (default
	// "switchboard"): it names the instance that sent the message.
	LoopToken string
	// Auto marks a message no person wrote (an acknowledgement): it gets
	// "Auto-Submitted: auto-replied" (RFC 3834) so that the other side's
	// auto-responders stay quiet.
	Auto bool
	// Now dates a message whose CreatedAt is zero (default time.Now).
	Now func() time.Time
}

// Compose renders m as an RFC 5322 message in UTF-8 quoted-printable
// text. Every header value is checked first: a CR, LF or NUL, which would
// let customer data add header fields, gives an error wrapping
// crmcore.ErrHeaderInjection and nothing is rendered.
func Compose(m crmcore.EmailMessage, opts ComposeOptions) ([]byte, error) {
	from, fromName := m.From, m.FromName
	if opts.From != "" {
		from, fromName = opts.From, opts.FromName
	}
	token := opts.LoopToken
	if token == "" {
		token = "switchboard"
	}
	date := m.CreatedAt
	if date.IsZero() {
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		date = now()
	}

	values := []string{from, fromName, m.Subject, m.MessageID, m.InReplyTo, token}
	values = append(values, m.To...)
	values = append(values, m.Cc...)
	values = append(values, m.References...)
	for _, v := range values {
		if err := crmcore.HeaderSafe(v); err != nil {
			return nil, fmt.Errorf("mail: compose: %w", err)
		}
	}
	if len(m.To)+len(m.Cc) == 0 {
		return nil, fmt.Errorf("mail: compose: no recipient")
	}
	for _, a := range append(append([]string{from}, m.To...), m.Cc...) {
		if _, err := crmcore.NormalizeEmail(a); err != nil {
			return nil, fmt.Errorf("mail: compose: %w", err)
		}
	}
	for _, id := range append([]string{m.MessageID}, m.References...) {
		if !validID(id) {
			return nil, fmt.Errorf("mail: compose: bad message id %q", id)
		}
	}
	if m.InReplyTo != "" && !validID(m.InReplyTo) {
		return nil, fmt.Errorf("mail: compose: bad message id %q", m.InReplyTo)
	}

	var b bytes.Buffer
	header(&b, "Date", date.Format(time.RFC1123Z))
	header(&b, "From", (&netmail.Address{Name: fromName, Address: from}).String())
	header(&b, "To", addressList(m.To))
	if len(m.Cc) > 0 {
		header(&b, "Cc", addressList(m.Cc))
	}
	header(&b, "Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header(&b, "Message-ID", "<"+m.MessageID+">")
	if m.InReplyTo != "" {
		header(&b, "In-Reply-To", "<"+m.InReplyTo+">")
	}
	if len(m.References) > 0 {
		header(&b, "References", "<"+strings.Join(m.References, "> <")+">")
	}
	if opts.Auto {
		header(&b, "Auto-Submitted", "auto-replied")
		// Exchange's equivalent of Auto-Submitted for its out-of-office.
		header(&b, "X-Auto-Response-Suppress", "All")
	}
	header(&b, LoopHeader, token)
	header(&b, "MIME-Version", "1.0")
	header(&b, "Content-Type", "text/plain; charset=utf-8")
	header(&b, "Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(m.Text)); err != nil {
		return nil, fmt.Errorf("mail: compose: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("mail: compose: %w", err)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

func addressList(list []string) string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = (&netmail.Address{Address: a}).String()
	}
	return strings.Join(out, ", ")
}

// header writes one field, folded at spaces so that lines stay within the
// 78 characters RFC 5322 recommends where the value allows it (a field
// may fold right after its colon, which keeps one long encoded word within
// the width).
func header(b *bytes.Buffer, name, value string) {
	const width = 78
	b.WriteString(name)
	b.WriteString(":")
	line := len(name) + 1
	for _, word := range strings.Split(value, " ") {
		if word != "" && line+1+len(word) > width {
			b.WriteString("\r\n")
			line = 0
		}
		b.WriteString(" ")
		b.WriteString(word)
		line += 1 + len(word)
	}
	b.WriteString("\r\n")
}
