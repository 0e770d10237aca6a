package crmapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"net/http"
	"regexp"
	"testing"

	"switchboard/crmcore"
	"switchboard/crmcore/pgstore"
)

func keptAttachment(name, ct string, content []byte) crmcore.EmailAttachment {
	sum := sha256.Sum256(content)
	return crmcore.EmailAttachment{Name: name, ContentType: ct, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]), Content: content}
}

func newEmailEnv(t *testing.T) *env {
	return newEnvWith(t, func(s *pgstore.Store) []Option {
		return []Option{WithEmail(s, EmailSettings{From: "support@example.com", Domain: "example.com"})}
	})
}

// listedAttachments ingests an email carrying as for ticket owner from
// and returns its ticket number and the attachments the API lists.
func listedAttachments(t *testing.T, e *env, tok, messageID, from string, as ...crmcore.EmailAttachment) (string, []attachmentView) {
	t.Helper()
	res, err := e.store.IngestEmail(context.Background(), crmcore.InboundEmail{Message: crmcore.EmailMessage{MessageID: messageID,
		From: from, To: []string{"support@example.com"}, Subject: "files", Text: "see attached", Attachments: as}})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/v1/tickets/"+res.Ticket.Number+"/emails", tok, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("list emails: %d %s", r.Code, r.Body)
	}
	var list listResponse[emailView]
	r.json(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("%d emails listed, want 1", len(list.Items))
	}
	return res.Ticket.Number, list.Items[0].Attachments
}

// TestAttachmentDownload: the email list gives each kept attachment its
// URL; the URL serves the content as a download that no browser runs,
// keeping its type only for images, PDF and plain text.
func TestAttachmentDownload(t *testing.T) {
	e := newEmailEnv(t)
	tok := e.login("alice", "demo")
	html := []byte("<html><script>alert(document.cookie)</script></html>")
	big := crmcore.EmailAttachment{Name: "huge.iso", ContentType: "application/octet-stream", Size: 50 << 20, NotKept: crmcore.AttachmentTooLarge}
	number, listed := listedAttachments(t, e, tok, "dl1@cust", "zoe@example.org",
		keptAttachment("page.html", "text/html; charset=utf-8", html),
		keptAttachment("photo.png", "image/png", []byte("\x89PNG\r\n\x1a\nrest")),
		keptAttachment("drawing.svg", "image/svg+xml", []byte("<svg onload=alert(1)/>")),
		keptAttachment("notes.txt", "text/plain; charset=utf-8", []byte("hello")),
		keptAttachment("doc.pdf", "application/pdf", []byte("%PDF-1.4")),
		big)
	if len(listed) != 6 || listed[5].URL != "" || listed[5].NotKept != crmcore.AttachmentTooLarge {
		t.Fatalf("listed = %+v, want 6 attachments, the last not kept and without a URL", listed)
	}
	wantTypes := []string{"application/octet-stream", "image/png", "application/octet-stream", "text/plain; charset=utf-8", "application/pdf"}
	for i, want := range wantTypes {
		a := listed[i]
		if want := "/api/v1/tickets/" + number + "/attachments/" + a.ID; a.URL != want {
			t.Fatalf("attachment %d url = %q, want %q", i, a.URL, want)
		}
		r := e.do("GET", a.URL, tok, nil)
		if r.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", a.URL, r.Code, r.Body)
		}
		for k, v := range map[string]string{"Content-Type": want, "X-Content-Type-Options": "nosniff",
			"Content-Security-Policy": "sandbox; default-src 'none'"} {
			if got := r.Hdr.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", a.Name, k, got, v)
			}
		}
		if d, _, err := mime.ParseMediaType(r.Hdr.Get("Content-Disposition")); err != nil || d != "attachment" {
			t.Errorf("%s: Content-Disposition %q, want an attachment", a.Name, r.Hdr.Get("Content-Disposition"))
		}
		if sum := sha256.Sum256(r.Body); hex.EncodeToString(sum[:]) != a.SHA256 {
			t.Errorf("%s: body is not the content", a.Name)
		}
	}
	if r := e.do("GET", listed[0].URL, e.login("sam", "demo"), nil); r.Code != http.StatusOK || !bytes.Equal(r.Body, html) {
		t.Errorf("supervisor download: %d", r.Code)
	}
}

// TestAttachmentAccess: without a session, 401; an attachment asked under
// another ticket's number, an unknown id or no id at all, 404.
func TestAttachmentAccess(t *testing.T) {
	e := newEmailEnv(t)
	tok := e.login("alice", "demo")
	number, listed := listedAttachments(t, e, tok, "acc1@cust", "zoe@example.org", keptAttachment("a.pdf", "application/pdf", []byte("%PDF-")))
	other, _ := listedAttachments(t, e, tok, "acc2@cust", "eve@example.net")
	if r := e.do("GET", listed[0].URL, "", nil); r.Code != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", r.Code)
	}
	for _, path := range []string{
		"/api/v1/tickets/" + other + "/attachments/" + listed[0].ID,
		"/api/v1/tickets/" + number + "/attachments/" + crmcore.NewID(),
		"/api/v1/tickets/" + number + "/attachments/not-a-uuid",
		"/api/v1/tickets/T-99999/attachments/" + listed[0].ID,
		"/api/v1/tickets/nope/attachments/" + listed[0].ID,
		"/api/v1/tickets/" + number + "/attachments/%2e%2e%2femails",
	} {
		if r := e.do("GET", path, tok, nil); r.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.Code)
		}
	}
	noEmail := newEnv(t)
	if r := noEmail.do("GET", listed[0].URL, noEmail.login("alice", "demo"), nil); r.Code != http.StatusNotFound {
		t.Errorf("without the email channel: %d, want 404", r.Code)
	}
}

// TestAttachmentHostileNames: whatever a sender names a file, the
// Content-Disposition header is one attachment disposition whose plain
// filename is safe ASCII and whose filename* gives the name back whole.
func TestAttachmentHostileNames(t *testing.T) {
	e := newEmailEnv(t)
	tok := e.login("alice", "demo")
	names := []string{
		`evil"; filename="x.html`,
		`a\"b.pdf`,
		`../../etc/passwd`,
		`résumé 2025 (final).pdf`,
		`漢字.txt`,
		`;,=%00%0d%0a.exe`,
		`  . `,
		"\u202egnp.exe",
		"tab\there.txt",
	}
	var as []crmcore.EmailAttachment
	for _, n := range names {
		as = append(as, keptAttachment(n, "application/pdf", []byte("%PDF-")))
	}
	_, listed := listedAttachments(t, e, tok, "names@cust", "zoe@example.org", as...)
	safe := regexp.MustCompile(`^attachment; filename="[A-Za-z0-9._ ()+,-]+"; filename\*=UTF-8''[A-Za-z0-9!#$&+.^_` + "`" + `|~%-]+$`)
	for i, a := range listed {
		r := e.do("GET", a.URL, tok, nil)
		cd := r.Hdr.Get("Content-Disposition")
		if !safe.MatchString(cd) {
			t.Errorf("name %q: Content-Disposition %q is not the safe form", names[i], cd)
			continue
		}
		_, params, err := mime.ParseMediaType(cd)
		if err != nil || params["filename"] != names[i] {
			t.Errorf("name %q: Content-Disposition %q reads back as %q (%v)", names[i], cd, params["filename"], err)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	tests := []struct{ name, want string }{
		{"report.pdf", `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`},
		{`x"y.pdf`, `attachment; filename="x_y.pdf"; filename*=UTF-8''x%22y.pdf`},
		{"é.txt", `attachment; filename="_.txt"; filename*=UTF-8''%C3%A9.txt`},
		{"...", `attachment; filename="attachment"; filename*=UTF-8''...`},
	}
	for _, tt := range tests {
		if got := contentDisposition(tt.name); got != tt.want {
			t.Errorf("contentDisposition(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
