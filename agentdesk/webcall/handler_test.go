package webcall_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"switchboard/agentdesk/webcall"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var secret = []byte("0123456789abcdef0123456789abcdef")

// fakeDialer records the callers it is asked to place and answers each with a fixed
// SDP; a test ends a call by closing its done channel (end).
type fakeDialer struct {
	mu      sync.Mutex
	callers []webcall.Caller
	offers  []string
	done    []chan struct{}
	err     error
	panics  bool
	block   bool // wait for the context to end, then fail with its error (wrapped, as the gateway does)
}

func (d *fakeDialer) Call(ctx context.Context, offer string, c webcall.Caller) (webcall.Answer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.panics:
		panic("dialer bug")
	case d.block:
		d.mu.Unlock()
		<-ctx.Done()
		d.mu.Lock()
		return webcall.Answer{}, fmt.Errorf("%w: %w", webcall.ErrBadOffer, ctx.Err())
	case d.err != nil:
		return webcall.Answer{}, d.err
	}
	d.callers = append(d.callers, c)
	d.offers = append(d.offers, offer)
	done := make(chan struct{})
	d.done = append(d.done, done)
	return webcall.Answer{SDP: "v=0\r\nanswer\r\n", CallID: fmt.Sprintf("call-%d", len(d.done)), Done: done}, nil
}

func (d *fakeDialer) end(i int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	close(d.done[i])
}

func (d *fakeDialer) calls() []webcall.Caller {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]webcall.Caller(nil), d.callers...)
}

// rig is a Handler over a fakeDialer with a clock the test moves.
type rig struct {
	t     *testing.T
	h     *webcall.Handler
	d     *fakeDialer
	reg   *prometheus.Registry
	clock atomic.Int64 // offset added to the real time, in nanoseconds
}

func newRig(t *testing.T, edit func(*webcall.Config)) *rig {
	t.Helper()
	r := &rig{t: t, d: &fakeDialer{}, reg: prometheus.NewRegistry()}
	cfg := webcall.Config{
		TokenSecret: secret, Metrics: webcall.NewMetrics(r.reg), RatePerMinute: 1000, RateBurst: 1000,
		Now: func() time.Time { return time.Now().Add(time.Duration(r.clock.Load())) },
	}
	if edit != nil {
		edit(&cfg)
	}
	h, err := webcall.New(r.d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	r.h = h
	return r
}

// chromiumOffer is a real Chromium offer (PCMU and telephone-event preferred, ICE
// gathering complete).
func chromiumOffer(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/chromium-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// metric reads switchboard_webcall_<name> with the label pairs given (0 when absent).
func (r *rig) metric(name string, labels ...string) float64 {
	r.t.Helper()
	fams, err := r.reg.Gather()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "switchboard_webcall_"+name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
				}
				if !found {
					continue next
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

type reqOpt func(*http.Request)

func from(addr string) reqOpt { return func(r *http.Request) { r.RemoteAddr = addr } }
func origin(o string) reqOpt  { return func(r *http.Request) { r.Header.Set("Origin", o) } }
func contentType(ct string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Content-Type", ct) }
}

// post sends POST /call/offer with body (a string as is, anything else as JSON).
func (r *rig) post(body any, opts ...reqOpt) *httptest.ResponseRecorder {
	r.t.Helper()
	var s string
	switch b := body.(type) {
	case string:
		s = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			r.t.Fatal(err)
		}
		s = string(j)
	}
	req := httptest.NewRequest("POST", "http://call.example.com/call/offer", strings.NewReader(s))
	req.RemoteAddr = "198.51.100.7:40000"
	req.Header.Set("Content-Type", "application/json")
	for _, o := range opts {
		o(req)
	}
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, req)
	return w
}

type errBody struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
}

// wantError checks a refusal's status, code and field.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code, field string) {
	t.Helper()
	var e errBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("status %d, body %q: not a JSON error (%v)", w.Code, w.Body.String(), err)
	}
	if w.Code != status || e.Error.Code != code || e.Error.Field != field || e.Error.Message == "" {
		t.Errorf("got %d %+v, want %d code %q field %q with a message", w.Code, e.Error, status, code, field)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

// wantPlaced checks a 200 answer and returns it.
func wantPlaced(t *testing.T, w *httptest.ResponseRecorder) (sdp, callID string) {
	t.Helper()
	var a struct {
		SDP    string `json:"sdp"`
		CallID string `json:"call_id"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &a) != nil || a.SDP == "" || a.CallID == "" {
		t.Fatalf("got %d %s, want 200 {sdp, call_id}", w.Code, w.Body.String())
	}
	return a.SDP, a.CallID
}

func offer(t testing.TB, fields map[string]string) map[string]string {
	m := map[string]string{"sdp": chromiumOffer(t)}
	for k, v := range fields {
		m[k] = v
	}
	return m
}

// waitActive waits for the handler to count n calls in progress (a call's end is
// noticed on its own goroutine).
func (r *rig) waitActive(n int) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.h.Active() != n {
		if time.Now().After(deadline) {
			r.t.Fatalf("Active = %d, want %d", r.h.Active(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPlaceAnonymousAndForm(t *testing.T) {
	r := newRig(t, nil)
	sdp, id := wantPlaced(t, r.post(offer(t, nil)))
	if sdp != "v=0\r\nanswer\r\n" || id != "call-1" {
		t.Errorf("answer = %q, %q", sdp, id)
	}
	wantPlaced(t, r.post(offer(t, map[string]string{"entry": "sales", "name": "  Ana\r\nX-Injected: 1 ", "email": "ana@example.com",
		"phone": "+1 (415) 555-0101"}), from("[2001:db8::1]:5000")))
	got := r.d.calls()
	want := []webcall.Caller{
		{Entry: "web", Address: netip.MustParseAddr("198.51.100.7")},
		{Entry: "sales", Name: "AnaX-Injected: 1", Email: "ana@example.com", Phone: "+1 (415) 555-0101", Address: netip.MustParseAddr("2001:db8::1")},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("callers (-want +got):\n%s", diff)
	}
	if r.d.offers[0] != chromiumOffer(t) {
		t.Error("the dialer did not get the offer as posted")
	}
	r.waitActive(2)
	if g := r.metric("calls_active"); g != 2 {
		t.Errorf("calls_active = %v, want 2", g)
	}
	r.d.end(0)
	r.waitActive(1)
	for identity, want := range map[string]float64{"anonymous": 1, "form": 1, "verified": 0} {
		if got := r.metric("calls_total", "identity", identity); got != want {
			t.Errorf("calls_total{identity=%q} = %v, want %v", identity, got, want)
		}
	}
}

func TestMaxCalls(t *testing.T) {
	r := newRig(t, func(c *webcall.Config) { c.MaxCalls = 2 })
	wantPlaced(t, r.post(offer(t, nil)))
	wantPlaced(t, r.post(offer(t, nil)))
	w := r.post(offer(t, nil))
	wantError(t, w, http.StatusServiceUnavailable, "busy", "")
	if w.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	r.d.end(1)
	r.waitActive(1)
	wantPlaced(t, r.post(offer(t, nil)))
	wantError(t, r.post(offer(t, nil)), http.StatusServiceUnavailable, "busy", "")

	// A refused dial gives its slot back.
	r.d.end(0)
	r.waitActive(1)
	r.d.mu.Lock()
	r.d.err = webcall.ErrUnavailable
	r.d.mu.Unlock()
	for range 3 {
		wantError(t, r.post(offer(t, nil)), http.StatusServiceUnavailable, "unavailable", "")
	}
	if r.h.Active() != 1 {
		t.Errorf("Active = %d after refused dials, want 1", r.h.Active())
	}

	// Closed: no new call; the slot followers end (goleak checks).
	r.d.mu.Lock()
	r.d.err = nil
	r.d.mu.Unlock()
	r.h.Close()
	wantError(t, r.post(offer(t, nil)), http.StatusServiceUnavailable, "busy", "")
}

func TestDialerErrors(t *testing.T) {
	cases := []struct {
		name   string
		set    func(*fakeDialer)
		status int
		code   string
		field  string
	}{
		{"unknown entry", func(d *fakeDialer) { d.err = fmt.Errorf("cmd: %w: %q", webcall.ErrUnknownEntry, "web") }, 404, "unknown_entry", "entry"},
		{"bad offer", func(d *fakeDialer) { d.err = fmt.Errorf("%w: no audio codec in common", webcall.ErrBadOffer) }, 400, "bad_sdp", "sdp"},
		{"unavailable", func(d *fakeDialer) { d.err = webcall.ErrUnavailable }, 503, "unavailable", ""},
		{"other", func(d *fakeDialer) { d.err = errors.New("disk on fire") }, 500, "call_failed", ""},
		{"timeout", func(d *fakeDialer) { d.block = true }, 504, "timeout", ""},
		{"panic", func(d *fakeDialer) { d.panics = true }, 500, "call_failed", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, func(cfg *webcall.Config) { cfg.AnswerTimeout = 50 * time.Millisecond })
			c.set(r.d)
			w := r.post(offer(t, nil))
			wantError(t, w, c.status, c.code, c.field)
			if strings.Contains(w.Body.String(), "fire") || strings.Contains(w.Body.String(), "panic") {
				t.Errorf("internal error leaked to the caller: %s", w.Body.String())
			}
			if r.h.Active() != 0 {
				t.Errorf("Active = %d after a failed dial, want 0", r.h.Active())
			}
			if got := r.metric("refused_total", "reason", c.code); got != 1 {
				t.Errorf("refused_total{reason=%q} = %v, want 1", c.code, got)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  webcall.Config
	}{
		{"short secret", webcall.Config{TokenSecret: []byte("short")}},
		{"bad entry", webcall.Config{Entry: "no spaces"}},
		{"origin injecting a directive", webcall.Config{AllowedOrigins: []string{"https://a.example.com; script-src *"}}},
		{"origin with a path", webcall.Config{AllowedOrigins: []string{"https://a.example.com/shop"}}},
		{"origin of another scheme", webcall.Config{AllowedOrigins: []string{"javascript://a.example.com"}}},
		{"origin with a quote", webcall.Config{AllowedOrigins: []string{"https://a.example.com'"}}},
		{"no host", webcall.Config{AllowedOrigins: []string{"https://"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if h, err := webcall.New(&fakeDialer{}, c.cfg); err == nil {
				h.Close()
				t.Error("New accepted it")
			}
		})
	}
	if _, err := webcall.New(nil, webcall.Config{}); err == nil {
		t.Error("New accepted a nil dialer")
	}
}
