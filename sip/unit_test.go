package sip

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

func TestCallStateTransitions(t *testing.T) {
	all := []CallState{StateNew, StateRinging, StateAnswered, StateHeld, StateEnded}
	allowed := map[[2]CallState]bool{}
	for from, tos := range callTransitions {
		for _, to := range tos {
			allowed[[2]CallState{from, to}] = true
		}
	}
	for _, from := range all {
		for _, to := range all {
			t.Run(from.String()+"->"+to.String(), func(t *testing.T) {
				err := from.To(to)
				if allowed[[2]CallState{from, to}] != (err == nil) {
					t.Errorf("To = %v, allowed = %v", err, allowed[[2]CallState{from, to}])
				}
				if err != nil && !errors.Is(err, ErrBadTransition) {
					t.Errorf("err %v does not wrap ErrBadTransition", err)
				}
			})
		}
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"Alice":                   "Alice",
		"Bad\r\nX-Injected: 1":    "BadX-Injected: 1",
		"quote\"back\\slash":      "quotebackslash",
		"nul\x00byte":             "nulbyte",
		strings.Repeat("x", 1000): strings.Repeat("x", maxHeaderValue),
	} {
		if got := sanitizeHeaderValue(in); got != want {
			t.Errorf("sanitizeHeaderValue(%q) = %q, want %q", in, got, want)
		}
	}
	if got := sanitizeUser("+1 (555) 010-9999\r\n"); got != "+1555010-9999" {
		t.Errorf("sanitizeUser = %q", got)
	}
}

func TestParseDTMFRelay(t *testing.T) {
	for body, want := range map[string]string{
		"Signal=5\r\nDuration=160\r\n": "5",
		"signal= #\nDuration=100":      "#",
		"Signal=10\r\n":                "*",
		"Signal=d\r\n":                 "D",
		"Signal=x\r\n":                 "",
		"Duration=160\r\n":             "",
		"":                             "",
		"Signal=99":                    "",
	} {
		d, ok := parseDTMFRelay([]byte(body))
		got := ""
		if ok {
			got = string(d)
		}
		if got != want {
			t.Errorf("parseDTMFRelay(%q) = %q, want %q", body, got, want)
		}
	}
}

func FuzzDTMFRelay(f *testing.F) {
	f.Add([]byte("Signal=5\r\nDuration=160\r\n"))
	f.Add([]byte("Signal=16"))
	f.Add([]byte("signal=*\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, ok := parseDTMFRelay(b)
		if ok && !strings.ContainsRune("0123456789*#ABCD", rune(d)) {
			t.Fatalf("digit %q", d)
		}
	})
}

// registerReq builds a REGISTER from src with an optional Authorization.
func registerReq(callID, src, auth string) *sipmsg.Request {
	req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "127.0.0.1"})
	to := &sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1"}}
	from := &sipmsg.FromHeader{Address: to.Address, Params: sipmsg.NewParams()}
	from.Params.Add("tag", "x")
	cid := sipmsg.CallIDHeader(callID)
	req.AppendHeader(to)
	req.AppendHeader(from)
	req.AppendHeader(&cid)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: sipmsg.REGISTER})
	req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1", Port: 5070}})
	if auth != "" {
		req.AppendHeader(sipmsg.NewHeader("Authorization", auth))
	}
	req.SetSource(src)
	return req
}

func answer(t *testing.T, res *sipmsg.Response, pass string) string {
	t.Helper()
	chal, err := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	if err != nil {
		t.Fatal(err)
	}
	cr, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:127.0.0.1", Username: "alice", Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	return cr.String()
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestRegistrarDigest(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := NewRegistrar("sb", staticCreds{"alice": "pw"}, clk.now, nil, nil)

	t.Run("stale-nonce", func(t *testing.T) {
		res := r.HandleRegister(ctx, registerReq("c1", "127.0.0.1:5070", ""))
		if res.StatusCode != 401 {
			t.Fatalf("no auth → %d", res.StatusCode)
		}
		auth := answer(t, res, "pw")
		clk.add(nonceTTL + time.Second)
		res = r.HandleRegister(ctx, registerReq("c1", "127.0.0.1:5070", auth))
		if res.StatusCode != 401 || !strings.Contains(strings.ToLower(res.GetHeader("WWW-Authenticate").Value()), "stale=true") {
			t.Fatalf("expired nonce → %d %v", res.StatusCode, res.GetHeader("WWW-Authenticate"))
		}
		res = r.HandleRegister(ctx, registerReq("c1", "127.0.0.1:5070", answer(t, res, "pw")))
		if res.StatusCode != 200 {
			t.Fatalf("fresh nonce → %d", res.StatusCode)
		}
	})
	t.Run("nonce-bound-to-call-id", func(t *testing.T) {
		res := r.HandleRegister(ctx, registerReq("c2", "127.0.0.2:5070", ""))
		auth := answer(t, res, "pw")
		_ = r.HandleRegister(ctx, registerReq("c3", "127.0.0.2:5070", ""))
		if res := r.HandleRegister(ctx, registerReq("c3", "127.0.0.2:5070", auth)); res.StatusCode != 401 {
			t.Fatalf("nonce of another Call-ID → %d", res.StatusCode)
		}
	})
	t.Run("rate-limit", func(t *testing.T) {
		src := "127.0.0.9:5070"
		var last int
		for i := range maxFailures + 1 {
			cid := fmt.Sprintf("rl%d", i)
			res := r.HandleRegister(ctx, registerReq(cid, src, ""))
			if res.StatusCode == 401 {
				res = r.HandleRegister(ctx, registerReq(cid, src, answer(t, res, "wrong")))
			}
			last = res.StatusCode
		}
		if last != 403 {
			t.Fatalf("after %d failures → %d, want 403", maxFailures+1, last)
		}
		// Even the right password is refused during the window …
		res := r.HandleRegister(ctx, registerReq("rlok", src, ""))
		if res.StatusCode != 403 {
			t.Fatalf("blocked source challenged: %d", res.StatusCode)
		}
		// … and accepted after it.
		clk.add(failWindow + time.Second)
		res = r.HandleRegister(ctx, registerReq("rlok", src, ""))
		if res = r.HandleRegister(ctx, registerReq("rlok", src, answer(t, res, "pw"))); res.StatusCode != 200 {
			t.Fatalf("after window → %d", res.StatusCode)
		}
	})
	t.Run("expiry-and-multiple-contacts", func(t *testing.T) {
		if n := len(r.Lookup("alice")); n != 1 {
			t.Fatalf("one contact (same URI re-registered), got %d", n)
		}
		clk.add(defaultExpires * time.Second)
		if n := len(r.Lookup("alice")); n != 0 {
			t.Fatalf("expired bindings still there: %d", n)
		}
	})
}

type failingCreds struct{}

func (failingCreds) SIPSecret(context.Context, string) (string, bool, error) {
	return "", false, errors.New("pool exhausted")
}

// TestRegistrarStoreDown: a credentials store that fails makes a temporary
// 503 with Retry-After (the phone tries again), not a 403 or a 500.
func TestRegistrarStoreDown(t *testing.T) {
	r := NewRegistrar("sb", failingCreds{}, nil, nil, nil)
	res := r.HandleRegister(t.Context(), registerReq("d1", "127.0.0.1:5070", ""))
	if res.StatusCode != 401 {
		t.Fatalf("no auth → %d", res.StatusCode)
	}
	res = r.HandleRegister(t.Context(), registerReq("d1", "127.0.0.1:5070", answer(t, res, "pw")))
	if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Fatalf("store down → %d %v, want 503 with Retry-After", res.StatusCode, res.GetHeader("Retry-After"))
	}
}

// TestWatchDigitDropsStaleSignal: a digit signal left behind after
// ReadDigit took the digit must be consumed by an interruptible playback's
// watcher, not bounced back and forth (a busy loop for the whole prompt).
func TestWatchDigitDropsStaleSignal(t *testing.T) {
	c := &Call{g: &Gateway{m: NewMetrics(nil)}, digitCh: make(chan struct{}, 1), ctx: t.Context()}
	c.pushDigit('5', "test")
	if d, ok, _ := c.ReadDigit(t.Context(), time.Second); !ok || d != '5' {
		t.Fatalf("ReadDigit = %q %v", d, ok)
	}
	if len(c.digitCh) != 1 {
		t.Fatal("expected the stale signal this test is about")
	}
	fired := make(chan struct{})
	stop := c.watchDigit(fired)
	defer stop()
	deadline := time.Now().Add(5 * time.Second)
	for len(c.digitCh) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("stale digit signal still queued: the watcher re-signals it")
		}
		time.Sleep(time.Millisecond)
	}
	// It stays consumed (the old watcher put it back at once, forever).
	for range 200 {
		if len(c.digitCh) != 0 {
			t.Fatal("stale digit signal bounced back by the watcher")
		}
		time.Sleep(250 * time.Microsecond)
	}
	select {
	case <-fired:
		t.Fatal("watcher fired without a digit")
	default:
	}
	c.pushDigit('7', "test")
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("watcher missed a real digit")
	}
}

// A relative recording dir is resolved once: the call recordings the agents
// layer names RecordingDir/call-….wav land in that directory, not in
// RecordingDir/RecordingDir, and paths outside it are refused.
func TestRelativeRecordingDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	g, err := New(Config{UDPAddr: "127.0.0.1:0", RecordingDir: "var/recordings"}, WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "var", "recordings", "call-x.wav")
	for _, name := range []string{filepath.Join(g.cfg.RecordingDir, "call-x.wav"), "call-x.wav"} {
		got, err := g.recordingPath(name)
		if err != nil || got != want {
			t.Errorf("recordingPath(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := g.recordingPath(filepath.Join(dir, "elsewhere.wav")); !errors.Is(err, ErrPathOutside) {
		t.Errorf("recordingPath outside the dir = %v, want ErrPathOutside", err)
	}
}
