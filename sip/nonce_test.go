package sip

import (
	"context"
	"net/netip"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// len reports how many sources are tracked.
func (g *sourceGuard) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}

// len reports how many nonces are tracked.
func (t *ncTracker) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.cur) + len(t.prev)
}

func TestNCTracker(t *testing.T) {
	now := time.Now()
	tr := newNCTracker(nonceTTL, 3)
	steps := []struct {
		name  string
		nonce string
		nc    uint32
		after time.Duration
		want  ncResult
	}{
		{"first use", "a", 1, 0, ncOK},
		{"same count again", "a", 1, 0, ncReused},
		{"higher count", "a", 2, 0, ncOK},
		{"lower count", "a", 1, 0, ncReused},
		{"no qop: one use", "b", 0, 0, ncOK},
		{"no qop again", "b", 0, 0, ncReused},
		{"third nonce", "c", 1, 0, ncOK},
		{"table full", "d", 1, 0, ncFull},
		{"after one lifetime, still remembered", "a", 2, nonceTTL, ncReused},
		{"after two lifetimes, forgotten", "d", 1, 2 * nonceTTL, ncOK},
	}
	for _, st := range steps {
		now = now.Add(st.after)
		if got := tr.use(st.nonce, st.nc, now); got != st.want {
			t.Fatalf("%s: use(%s, %d) = %d, want %d", st.name, st.nonce, st.nc, got, st.want)
		}
	}
}

func TestNonceMint(t *testing.T) {
	now := time.Now()
	m := newNonceMint("r", nonceTTL)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	n := m.issue(a, now)
	v6 := netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		name  string
		nonce string
		src   netip.Addr
		at    time.Time
		want  nonceStatus
	}{
		{"fresh", n, a, now.Add(nonceTTL - time.Millisecond), nonceFresh},
		{"expired", n, a, now.Add(nonceTTL), nonceStale},
		{"other source", n, b, now, nonceBad},
		{"other realm", newNonceMint("r2", nonceTTL).issue(a, now), a, now, nonceBad},
		{"from the future", m.issue(a, now.Add(time.Minute)), a, now, nonceBad},
		{"truncated", n[:len(n)-2], a, now, nonceBad},
		{"not hex", "zz" + n[2:], a, now, nonceBad},
		{"same IPv6 /64", m.issue(limitKey(v6), now), limitKey(netip.MustParseAddr("2001:db8::2")), now, nonceFresh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := m.check(tt.nonce, tt.src, tt.at); got != tt.want {
				t.Errorf("check = %d, want %d", got, tt.want)
			}
		})
	}
	if m.issue(a, now) == m.issue(a, now) {
		t.Error("two nonces issued in the same instant are equal")
	}
}

// TestSourceGuardBounded: the table of sources stays within its cap; when
// it is full, new sources share one bucket, and idle entries make room.
func TestSourceGuardBounded(t *testing.T) {
	now := time.Now()
	g := newSourceGuard(1, 2, 4)
	src := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}) }
	for i := range 4 {
		if !g.allow(src(i), now) || !g.allow(src(i), now) {
			t.Fatalf("source %d refused within its burst", i)
		}
		if g.allow(src(i), now) {
			t.Fatalf("source %d allowed past its burst", i)
		}
	}
	// Full of active sources: newcomers share the overflow bucket.
	if !g.allow(src(10), now) || !g.allow(src(11), now) || g.allow(src(12), now) {
		t.Error("the overflow bucket does not hold the burst for untracked sources")
	}
	if n := g.len(); n != 4 {
		t.Fatalf("%d sources tracked, want 4", n)
	}
	// Once their buckets refill, the idle entries give way.
	now = now.Add(10 * time.Second)
	if !g.allow(src(20), now) {
		t.Fatal("a new source refused after the others went idle")
	}
	if n := g.len(); n > 4 {
		t.Fatalf("%d sources tracked, want ≤ 4", n)
	}
}

// FuzzAuthScan feeds raw datagrams through the flood filter's header scan,
// the nonce parameter scan and the nonce check: no panic, and only
// nonces this process issued pass.
func FuzzAuthScan(f *testing.F) {
	m := newNonceMint(DefaultRealm, nonceTTL)
	src := netip.MustParseAddr("127.0.0.1")
	now := time.Now()
	good := m.issue(src, now)
	f.Add([]byte("REGISTER sip:x SIP/2.0\r\nAuthorization: Digest username=\"a\", nonce=\"" + good + "\", uri=\"sip:x\"\r\n\r\n"))
	f.Add([]byte("INVITE sip:x SIP/2.0\r\nproxy-authorization : Digest nonce=abc,x=1\r\n"))
	f.Add([]byte("OPTIONS sip:x SIP/2.0\nAuthorization:nonce=\""))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ok := rawHeader(b, "authorization", "proxy-authorization")
		if !ok {
			return
		}
		nonce, ok := digestParam(v, "nonce")
		if !ok {
			return
		}
		if st, _ := m.check(nonce, src, now); st != nonceBad && nonce != good {
			t.Fatalf("nonce %q accepted", nonce)
		}
	})
}

// FuzzDigestCredentials feeds Authorization header values through the
// whole digest check: no panic, and never a success without the password.
func FuzzDigestCredentials(f *testing.F) {
	now := time.Now()
	a := newDigestAuth(DefaultRealm, DefaultDigestAlgorithms(), staticCreds{"alice": "s3cret"}, newSourceGuard(0, 0, 16), nil, func() time.Time { return now }, NewMetrics(nil), quiet)
	src := netip.MustParseAddr("127.0.0.1")
	nonce := a.nonces.issue(src, now)
	f.Add(`Digest username="alice", realm="switchboard", nonce="` + nonce + `", uri="sip:127.0.0.1", response="00", algorithm=MD5, qop=auth, nc=00000001, cnonce="x"`)
	f.Add(`Digest username="alice", realm="switchboard", nonce="` + nonce + `", uri="sip:127.0.0.1", response="00", algorithm=SHA-256, nc=-1`)
	f.Add(`Basic YWxpY2U6czNjcmV0`)
	f.Fuzz(func(t *testing.T, v string) {
		req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "127.0.0.1"})
		req.AppendHeader(sipmsg.NewHeader("Authorization", v))
		req.SetSource("127.0.0.1:5070")
		a.guard = newSourceGuard(0, 0, 16) // no source blocked after earlier inputs
		if r := a.authenticate(context.Background(), req); r.res == nil {
			t.Fatalf("authenticated %q without the password", v)
		}
	})
}
