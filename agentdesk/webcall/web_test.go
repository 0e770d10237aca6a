package webcall_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"switchboard/agentdesk/webcall"
)

func TestStaticFiles(t *testing.T) {
	r := newRig(t, func(c *webcall.Config) { c.AllowedOrigins = []string{"https://shop.example.com"} })
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r.h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Fatalf("GET %s = %d", path, w.Code)
		}
		return w
	}
	page := get("/call")
	csp := page.Header().Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "connect-src 'self'", "frame-ancestors 'self' https://shop.example.com", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("page CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("page CSP allows unsafe code: %q", csp)
	}
	if pp := page.Header().Get("Permissions-Policy"); !strings.Contains(pp, "microphone=(self)") {
		t.Errorf("Permissions-Policy = %q", pp)
	}
	if !strings.Contains(page.Body.String(), `src="/call/call.js"`) || strings.Contains(page.Body.String(), "<script>") {
		t.Error("the page must load its script from /call/call.js and have no inline script")
	}
	if ct := get("/call/call.js").Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("call.js Content-Type = %q", ct)
	}
	if ct := get("/call/call.css").Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("call.css Content-Type = %q", ct)
	}
	if b := get("/call/button.js"); b.Header().Get("Cross-Origin-Resource-Policy") != "cross-origin" {
		t.Error("button.js must be loadable by other sites")
	}

	star := newRig(t, func(c *webcall.Config) { c.AllowedOrigins = []string{"*"} })
	w := httptest.NewRecorder()
	star.h.ServeHTTP(w, httptest.NewRequest("GET", "/call", nil))
	if csp := w.Header().Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors *") {
		t.Errorf("CSP with origins * = %q", csp)
	}
	none := newRig(t, nil)
	w = httptest.NewRecorder()
	none.h.ServeHTTP(w, httptest.NewRequest("GET", "/call", nil))
	if csp := w.Header().Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'self'") {
		t.Errorf("CSP without origins = %q", csp)
	}
}
