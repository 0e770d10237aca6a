package crmapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"switchboard/crmcore"
)

// emailView is a thread message as the API lists it: each kept
// attachment with the URL it downloads from.
type emailView struct {
	crmcore.EmailMessage
	Attachments []attachmentView `json:"attachments,omitempty"`
}

// attachmentView is an attachment's description and, when its content
// was kept, its download URL.
type attachmentView struct {
	crmcore.EmailAttachment
	URL string `json:"url,omitempty"`
}

// emailViews lists the messages of ticket n with their attachments' URLs.
func emailViews(n int64, ms []crmcore.EmailMessage) []emailView {
	out := make([]emailView, len(ms))
	for i, m := range ms {
		out[i].EmailMessage = m
		for _, a := range m.Attachments {
			v := attachmentView{EmailAttachment: a}
			if a.ID != "" && a.Kept() {
				v.URL = "/api/v1/tickets/" + crmcore.FormatTicketNumber(n) + "/attachments/" + url.PathEscape(a.ID)
			}
			out[i].Attachments = append(out[i].Attachments, v)
		}
	}
	return out
}

// getAttachment serves a kept attachment of ticket n's emails as a
// download, whatever it holds: mail carries anything a sender wants a
// browser to run. The content keeps its type only when a browser just
// shows such content (crmcore.InertContentType), never sniffs it
// (nosniff), never shows it inline (attachment), and runs nothing of it
// should it ever be opened as a page (CSP sandbox).
func (h *Handler) getAttachment(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	n, err := h.emailTicket(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.emails.EmailAttachment(r.Context(), n, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ct := "application/octet-stream"
	if crmcore.InertContentType(a.ContentType) {
		ct = a.ContentType
	}
	hd := w.Header()
	hd.Set("Content-Type", ct)
	hd.Set("Content-Disposition", contentDisposition(a.Name))
	hd.Set("Content-Length", strconv.Itoa(len(a.Content)))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	hd.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(a.Content)
}

// contentDisposition is an attachment disposition naming the file name:
// the RFC 6266 filename* form carries it whole (percent-encoded UTF-8),
// and the plain filename a fallback of safe ASCII only, so that no quote,
// backslash, separator or line break of a sender's name reaches the
// header.
func contentDisposition(name string) string {
	fallback := strings.Map(func(r rune) rune {
		if r < 0x80 && (isAlnum(byte(r)) || strings.ContainsRune(".-_ ()+,", r)) {
			return r
		}
		return '_'
	}, name)
	fallback = strings.Trim(fallback, ". ")
	if fallback == "" {
		fallback = "attachment"
	}
	var enc strings.Builder
	for i := 0; i < len(name); i++ {
		if c := name[i]; isAlnum(c) || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			enc.WriteByte(c)
		} else {
			fmt.Fprintf(&enc, "%%%02X", c)
		}
	}
	return `attachment; filename="` + fallback + `"; filename*=UTF-8''` + enc.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
