package webcall_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"switchboard/agentdesk/webcall"
)

func TestFormValidation(t *testing.T) {
	r := newRig(t, nil)
	cases := []struct {
		name   string
		fields map[string]string
		field  string // "" accepted
	}{
		{"all empty", map[string]string{"name": "", "email": "", "phone": ""}, ""},
		{"unicode name", map[string]string{"name": "Zoë Ångström 李"}, ""},
		{"name at limit", map[string]string{"name": strings.Repeat("a", 200)}, ""},
		{"name too long", map[string]string{"name": strings.Repeat("a", 201)}, "name"},
		{"email", map[string]string{"email": "ana.b+tag@mail.example.co.uk"}, ""},
		{"email without @", map[string]string{"email": "ana.example.com"}, "email"},
		{"email without dot in domain", map[string]string{"email": "ana@localhost"}, "email"},
		{"email with display name", map[string]string{"email": "Ana <ana@example.com>"}, "email"},
		{"two emails", map[string]string{"email": "a@example.com, b@example.com"}, "email"},
		{"email too long", map[string]string{"email": strings.Repeat("a", 250) + "@example.com"}, "email"},
		{"phone E.164", map[string]string{"phone": "+442079460000"}, ""},
		{"phone national", map[string]string{"phone": "(415) 555-0101"}, ""},
		{"phone letters", map[string]string{"phone": "+1 555 CALL NOW"}, "phone"},
		{"phone too few digits", map[string]string{"phone": "12"}, "phone"},
		{"phone too many digits", map[string]string{"phone": "+1234567890123456"}, "phone"},
		{"phone with header injection", map[string]string{"phone": "+1555\r\nVia: evil"}, "phone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := r.post(offer(t, c.fields))
			if c.field == "" {
				wantPlaced(t, w)
				return
			}
			wantError(t, w, http.StatusBadRequest, "invalid_field", c.field)
		})
	}
}

func TestMalformedRequests(t *testing.T) {
	r := newRig(t, nil)
	sdp := chromiumOffer(t)
	sdpJSON, _ := json.Marshal(sdp)
	huge := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n" + strings.Repeat("a=x\r\n", 14000)
	cases := []struct {
		name   string
		body   string
		opts   []reqOpt
		status int
		code   string
		field  string
	}{
		{"not JSON", "sdp=v%3D0", nil, 400, "bad_request", ""},
		{"empty body", "", nil, 400, "bad_request", ""},
		{"JSON array", "[]", nil, 400, "bad_request", ""},
		{"unknown field", `{"sdp":` + string(sdpJSON) + `,"admin":true}`, nil, 400, "bad_request", ""},
		{"field of the wrong type", `{"sdp":` + string(sdpJSON) + `,"name":7}`, nil, 400, "bad_request", ""},
		{"trailing data", `{"sdp":` + string(sdpJSON) + `} {}`, nil, 400, "bad_request", ""},
		{"not UTF-8", `{"sdp":` + string(sdpJSON) + `,"name":"\xff"}`, nil, 400, "bad_request", ""},
		{"no sdp", `{"name":"Ana"}`, nil, 400, "bad_sdp", "sdp"},
		{"sdp without audio", `{"sdp":"v=0\r\nm=video 9 RTP/AVP 96\r\n"}`, nil, 400, "bad_sdp", "sdp"},
		{"sdp with NUL", `{"sdp":"v=0\r\nm=audio 9 RTP/AVP 0\r\n\u0000"}`, nil, 400, "bad_sdp", "sdp"},
		{"sdp over 64 KiB", fmt.Sprintf(`{"sdp":%q}`, huge), nil, 413, "too_large", "sdp"},
		{"body over the cap", `{"sdp":"` + strings.Repeat("x", 200<<10) + `"}`, nil, 413, "too_large", ""},
		{"bad entry", `{"sdp":` + string(sdpJSON) + `,"entry":"../admin"}`, nil, 400, "bad_entry", "entry"},
		{"text/plain", `{"sdp":` + string(sdpJSON) + `}`, []reqOpt{contentType("text/plain")}, 415, "unsupported_media_type", ""},
		{"form encoded", `sdp=x`, []reqOpt{contentType("application/x-www-form-urlencoded")}, 415, "unsupported_media_type", ""},
		{"json with charset", `{"sdp":` + string(sdpJSON) + `}`, []reqOpt{contentType("application/json; charset=utf-8")}, 200, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := r.post(c.body, c.opts...)
			if c.status == 200 {
				wantPlaced(t, w)
				return
			}
			wantError(t, w, c.status, c.code, c.field)
		})
	}
	if n := len(r.d.calls()); n != 1 {
		t.Errorf("%d calls placed, want only the valid request's", n)
	}

	for _, method := range []string{"GET", "PUT", "DELETE"} {
		w := httptest.NewRecorder()
		r.h.ServeHTTP(w, httptest.NewRequest(method, "/call/offer", nil))
		wantError(t, w, http.StatusMethodNotAllowed, "method_not_allowed", "")
		if w.Header().Get("Allow") != "POST, OPTIONS" {
			t.Errorf("%s /call/offer: Allow = %q", method, w.Header().Get("Allow"))
		}
	}
}

func TestOrigins(t *testing.T) {
	r := newRig(t, func(c *webcall.Config) { c.AllowedOrigins = []string{"https://shop.example.com/"} })
	cases := []struct {
		origin string
		ok     bool
		acao   string
	}{
		{"", true, ""}, // not a browser
		{"http://call.example.com", true, "http://call.example.com"},   // the page itself
		{"https://shop.example.com", true, "https://shop.example.com"}, // allowed
		{"https://evil.example.net", false, ""},                        // any other site
		{"https://shop.example.com.evil.net", false, ""},               // lookalike
		{"null", false, ""}, // sandboxed frame
	}
	for _, c := range cases {
		t.Run("origin "+c.origin, func(t *testing.T) {
			n := len(r.d.calls())
			var opts []reqOpt
			if c.origin != "" {
				opts = append(opts, origin(c.origin))
			}
			w := r.post(offer(t, nil), opts...)
			if c.ok {
				wantPlaced(t, w)
			} else {
				wantError(t, w, http.StatusForbidden, "origin_not_allowed", "")
				if len(r.d.calls()) != n {
					t.Error("a refused origin placed a call")
				}
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != c.acao {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, c.acao)
			}

			pre := httptest.NewRequest("OPTIONS", "http://call.example.com/call/offer", nil)
			pre.Header.Set("Origin", c.origin)
			pre.Header.Set("Access-Control-Request-Method", "POST")
			pw := httptest.NewRecorder()
			r.h.ServeHTTP(pw, pre)
			allowed := pw.Header().Get("Access-Control-Allow-Origin") == c.origin && pw.Header().Get("Access-Control-Allow-Headers") == "Content-Type"
			if pw.Code != http.StatusNoContent || allowed != (c.ok && c.origin != "") {
				t.Errorf("preflight = %d %v, want the permission only for an allowed origin", pw.Code, pw.Header())
			}
		})
	}
	if got := r.metric("refused_total", "reason", "origin_not_allowed"); got != 3 {
		t.Errorf("refused_total{reason=origin_not_allowed} = %v, want 3", got)
	}

	star := newRig(t, func(c *webcall.Config) { c.AllowedOrigins = []string{"*"} })
	wantPlaced(t, star.post(offer(t, nil), origin("https://anyone.example.org")))
}

func TestRateLimit(t *testing.T) {
	r := newRig(t, func(c *webcall.Config) { c.RatePerMinute, c.RateBurst = 2, 3 })
	for range 3 {
		wantPlaced(t, r.post(offer(t, nil), from("203.0.113.5:1000")))
	}
	w := r.post(offer(t, nil), from("203.0.113.5:2000"))
	wantError(t, w, http.StatusTooManyRequests, "rate_limited", "")
	if w.Header().Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Garbage counts too: the limit comes before the body is read.
	wantError(t, r.post("{", from("203.0.113.5:2001")), http.StatusTooManyRequests, "rate_limited", "")
	// Another address has its own bucket.
	wantPlaced(t, r.post(offer(t, nil), from("203.0.113.6:1000")))

	// An IPv6 /64 is one client; the next /64 is another.
	for range 3 {
		wantPlaced(t, r.post(offer(t, nil), from(fmt.Sprintf("[2001:db8:1:2::%x]:1000", len(r.d.calls())))))
	}
	wantError(t, r.post(offer(t, nil), from("[2001:db8:1:2:ffff::9]:1000")), http.StatusTooManyRequests, "rate_limited", "")
	wantPlaced(t, r.post(offer(t, nil), from("[2001:db8:1:3::1]:1000")))

	// The bucket refills: 2 a minute, so one more in 30 s.
	r.clock.Add(int64(31 * time.Second))
	wantPlaced(t, r.post(offer(t, nil), from("203.0.113.5:3000")))
	wantError(t, r.post(offer(t, nil), from("203.0.113.5:3001")), http.StatusTooManyRequests, "rate_limited", "")
}
