package crmcore

import (
	"net/netip"
	"testing"
	"time"
)

func TestAddrLimiter(t *testing.T) {
	l := NewAddrLimiter(1, 2) // one a second, bursts of two
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	a4 := netip.MustParseAddr("192.0.2.1")
	mapped := netip.MustParseAddr("::ffff:192.0.2.1")
	if !l.Allow(a4, now) || !l.Allow(mapped, now) || l.Allow(a4, now) {
		t.Fatal("an IPv4 client (mapped or not) gets a burst of two, then waits")
	}
	if !l.Allow(netip.MustParseAddr("192.0.2.2"), now) {
		t.Error("another IPv4 address shares the first one's bucket")
	}
	// One IPv6 /64 is one client, whatever host address it picks.
	x, y := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9")
	if !l.Allow(x, now) || !l.Allow(y, now) || l.Allow(x, now) {
		t.Error("two addresses of one /64 do not share a bucket")
	}
	if !l.Allow(netip.MustParseAddr("2001:db8:1:3::1"), now) {
		t.Error("another /64 shares the first one's bucket")
	}
	if !l.Allow(a4, now.Add(time.Second)) {
		t.Error("the bucket did not refill")
	}
	if AddrKey(netip.Addr{}) != (netip.Prefix{}) {
		t.Error("unknown addresses do not share one key")
	}
}

// TestAddrLimiterBounded: idle clients are forgotten when the table is
// full, and busy ones past the bound are dropped down to half of it.
func TestAddrLimiterBounded(t *testing.T) {
	l := NewAddrLimiter(10, 1)
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for i := range addrSweepAt {
		l.Allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), now)
	}
	l.Allow(netip.MustParseAddr("192.0.2.1"), now.Add(time.Minute))
	if n := len(l.clients); n != 1 {
		t.Errorf("%d clients kept after the sweep, want 1", n)
	}
	busy := NewAddrLimiter(1, 1)
	for i := range addrSweepAt + 100 {
		busy.Allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), now)
	}
	if n := len(busy.clients); n > addrSweepAt {
		t.Errorf("%d clients tracked, bound %d", n, addrSweepAt)
	}
}
