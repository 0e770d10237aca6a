package agentdesk

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed web
var webFS embed.FS

// Handler serves the CTI WebSocket and the embedded web UI (Pages):
//
//	GET /cti           the CTI WebSocket (see PROTOCOL.md)
//
// cmd/switchboard mounts it on the server's one listener next to /api/v1 and /metrics.
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cti", h.ServeCTI)
	mux.Handle("/", Pages())
	return mux
}

// Pages serves the embedded web UI, which needs no hub: the pages talk to
// /cti and /api/v1 on the same origin.
//
//	GET /{$}           the agent desktop
//	GET /wallboard     the supervisor wallboard
//	GET /review        quality review (supervisors score, agents answer)
//	GET /knowledge     the knowledge base (agents search, supervisors write)
//	GET /static/...    scripts and styles (ES modules, no build step)
func Pages() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFS, "web")
	files := http.FileServerFS(static)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		servePage(w, r, "web/index.html")
	})
	mux.HandleFunc("GET /wallboard", func(w http.ResponseWriter, r *http.Request) {
		servePage(w, r, "web/wallboard.html")
	})
	mux.HandleFunc("GET /review", func(w http.ResponseWriter, r *http.Request) { servePage(w, r, "web/review.html") })
	mux.HandleFunc("GET /knowledge", func(w http.ResponseWriter, r *http.Request) { servePage(w, r, "web/knowledge.html") })
	mux.HandleFunc("GET /reports", func(w http.ResponseWriter, r *http.Request) { servePage(w, r, "web/reports.html") })
	mux.Handle("GET /static/", files)
	return mux
}

func servePage(w http.ResponseWriter, r *http.Request, name string) {
	b, err := webFS.ReadFile(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// frame-ancestors 'none' (and X-Frame-Options for older browsers): no
	// other site may frame the desk and click its buttons for the agent.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:; img-src 'self' data:; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Write(b)
}
