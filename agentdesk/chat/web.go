package chat

import (
	"embed"
	"net/http"
)

//go:embed web
var webFS embed.FS

// pageCSP is the standalone page's policy: its own script and socket only, no inline
// code, never framed by another site.
const pageCSP = "default-src 'none'; script-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; " +
	"style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (s *Service) servePage(w http.ResponseWriter, r *http.Request) {
	b, err := webFS.ReadFile("web/chat.html")
	if err != nil {
		http.Error(w, "page missing", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(b)
}

// serveWidget serves the widget script; any site may load it (its socket is what the
// origin check guards).
func (s *Service) serveWidget(w http.ResponseWriter, r *http.Request) {
	b, err := webFS.ReadFile("web/widget.js")
	if err != nil {
		http.Error(w, "widget missing", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	_, _ = w.Write(b)
}
