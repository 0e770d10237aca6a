package webcall

import (
	"embed"
	"net/http"
	"slices"
	"strings"
)

//go:embed web
var webFS embed.FS

// pageCSP is the call page's policy: its own script, style and offer endpoint only, no
// inline code, framed only by this server and the allowed origins (checked to be bare
// origins by New, so none can add a directive).
func pageCSP(allowed []string) string {
	ancestors := "'self'"
	if slices.Contains(allowed, "*") {
		ancestors = "*"
	} else {
		for _, o := range allowed {
			ancestors += " " + strings.TrimRight(o, "/")
		}
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors " + ancestors
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	b, err := webFS.ReadFile("web/call.html")
	if err != nil {
		http.Error(w, "page missing", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", h.csp)
	// The microphone for this page only; a host's frame delegates it with allow="microphone".
	hd.Set("Permissions-Policy", "microphone=(self), camera=(), geolocation=(), payment=(), usb=()")
	hd.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(b)
}

// serveStatic serves an embedded file; crossOrigin ones (the button) are loaded by
// host sites' pages.
func (h *Handler) serveStatic(name, contentType string, crossOrigin bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := webFS.ReadFile(name)
		if err != nil {
			http.Error(w, "file missing", http.StatusInternalServerError)
			return
		}
		hd := w.Header()
		hd.Set("Content-Type", contentType)
		hd.Set("X-Content-Type-Options", "nosniff")
		if crossOrigin {
			hd.Set("Cache-Control", "public, max-age=300")
			hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
		} else {
			hd.Set("Cache-Control", "no-cache")
		}
		_, _ = w.Write(b)
	}
}
