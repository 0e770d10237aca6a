package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"sync"
	"time"
)

// Nonce layout: hex of issue time (unix milliseconds, 8 bytes), a random
// salt (8 bytes) and the first 16 bytes of HMAC-SHA256(key, time || salt ||
// realm || source prefix). The salt makes two nonces issued in the same
// millisecond to the same address differ, so their nc counters do not
// collide.
const (
	nonceTimeLen = 8
	nonceSaltLen = 8
	nonceMACLen  = 16
	nonceRawLen  = nonceTimeLen + nonceSaltLen + nonceMACLen
	nonceHexLen  = 2 * nonceRawLen
)

// nonceStatus is what a nonce check found.
type nonceStatus uint8

const (
	nonceBad   nonceStatus = iota // not issued by this process for this source and realm
	nonceStale                    // issued here, for this source, but expired
	nonceFresh                    // issued here, for this source, still valid
)

// nonceMint issues and checks stateless digest nonces: the nonce carries its
// issue time and a MAC under a per-process random key over the time, the
// realm and the client's address prefix, so checking one needs no table.
// A nonce presented from another address (a replay from elsewhere) fails
// the MAC. It is safe for concurrent use.
type nonceMint struct {
	key   [32]byte
	realm string
	ttl   time.Duration
}

func newNonceMint(realm string, ttl time.Duration) *nonceMint {
	m := &nonceMint{realm: realm, ttl: ttl}
	_, _ = rand.Read(m.key[:])
	return m
}

// sourceAddr is the IP address of a transport source ("ip:port" or "ip").
func sourceAddr(src string) netip.Addr {
	if ap, err := netip.ParseAddrPort(src); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(src)
	return a.Unmap()
}

// limitKey is the part of a client address a nonce and the per-source
// limits are bound to: the IPv4 address, or the /64 of an IPv6 address
// (one subscriber's network).
func limitKey(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

func (m *nonceMint) mac(ts, salt []byte, src netip.Addr) []byte {
	h := hmac.New(sha256.New, m.key[:])
	h.Write(ts)
	h.Write(salt)
	h.Write([]byte(m.realm))
	b, _ := src.MarshalBinary()
	h.Write(b)
	return h.Sum(nil)[:nonceMACLen]
}

// issue returns a fresh nonce for a client at src (its IP).
func (m *nonceMint) issue(src netip.Addr, now time.Time) string {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[:nonceTimeLen], uint64(now.UnixMilli()))
	_, _ = rand.Read(raw[nonceTimeLen : nonceTimeLen+nonceSaltLen])
	copy(raw[nonceTimeLen+nonceSaltLen:], m.mac(raw[:nonceTimeLen], raw[nonceTimeLen:nonceTimeLen+nonceSaltLen], src))
	return hex.EncodeToString(raw[:])
}

// check validates nonce for a client at src. The second result is when
// the nonce expires (valid for nonceStale and nonceFresh).
func (m *nonceMint) check(nonce string, src netip.Addr, now time.Time) (nonceStatus, time.Time) {
	if len(nonce) != nonceHexLen {
		return nonceBad, time.Time{}
	}
	var raw [nonceRawLen]byte
	if _, err := hex.Decode(raw[:], []byte(nonce)); err != nil {
		return nonceBad, time.Time{}
	}
	want := m.mac(raw[:nonceTimeLen], raw[nonceTimeLen:nonceTimeLen+nonceSaltLen], src)
	if !hmac.Equal(want, raw[nonceTimeLen+nonceSaltLen:]) {
		return nonceBad, time.Time{}
	}
	issued := time.UnixMilli(int64(binary.BigEndian.Uint64(raw[:nonceTimeLen])))
	exp := issued.Add(m.ttl)
	switch {
	case issued.After(now.Add(time.Second)):
		return nonceBad, time.Time{} // from the future: another key's, or a clock jump
	case !now.Before(exp):
		return nonceStale, exp
	}
	return nonceFresh, exp
}

// ncTracker remembers, for each nonce that authenticated a request and has
// not expired, the highest nonce count (nc) used with it, so a replayed or
// reused count is refused. Only successful authentications add entries,
// so its size follows legitimate traffic; it is capped all the same. Two
// generations, swapped every nonce lifetime, drop expired entries without
// a scan. It is safe for concurrent use.
type ncTracker struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	cur     map[string]uint32
	prev    map[string]uint32
	swapped time.Time
}

func newNCTracker(ttl time.Duration, max int) *ncTracker {
	return &ncTracker{ttl: ttl, max: max, cur: map[string]uint32{}, prev: map[string]uint32{}}
}

// ncResult is the outcome of ncTracker.use.
type ncResult uint8

const (
	ncOK     ncResult = iota
	ncReused          // nc not above the last one seen with this nonce
	ncFull            // too many live nonces to track one more
)

// use records nc for nonce if it is above every count seen with it.
// A request without qop carries no count (nc 0): its nonce is then good
// for that one request.
func (t *ncTracker) use(nonce string, nc uint32, now time.Time) ncResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.swapped) >= t.ttl {
		// Every entry of prev is older than two lifetimes after this.
		t.prev, t.cur = t.cur, make(map[string]uint32, len(t.cur))
		t.swapped = now
	}
	last, seen := t.cur[nonce]
	if !seen {
		last, seen = t.prev[nonce]
	}
	if seen && (nc == 0 || nc <= last) {
		return ncReused
	}
	if !seen && len(t.cur)+len(t.prev) >= t.max {
		return ncFull
	}
	if nc == 0 {
		nc = ^uint32(0)
	}
	delete(t.prev, nonce)
	t.cur[nonce] = nc
	return ncOK
}
