package acd

import (
	"fmt"
	"testing"
)

// TestNumberCache: the cache holds at most two generations of max entries,
// keeps an entry that is used while its generation ages, and answers what
// the parser answers.
func TestNumberCache(t *testing.T) {
	c := numberCache{max: 4}
	for i := range 20 {
		c.put(fmt.Sprint(i), Geography{E164: fmt.Sprint(i)})
		if _, ok := c.get("0"); !ok {
			t.Fatalf("entry 0 evicted after %d puts although read after each", i+1)
		}
		if n := len(c.cur) + len(c.prev); n > 2*c.max {
			t.Fatalf("%d entries for max %d", n, c.max)
		}
	}
	if _, ok := c.get("1"); ok {
		t.Error("entry 1, never read again, is still cached after 20 puts")
	}
	for _, ani := range []string{"+14155550123", "(415) 555-0124", "0044 20 7946 0018", "not a number"} {
		want := resolveNumber(ani, "US")
		for range 2 {
			if got := ResolveNumber(ani, "US"); got != want {
				t.Errorf("ResolveNumber(%q) = %+v, want %+v", ani, got, want)
			}
		}
	}
}

// BenchmarkResolveNumber: a number already seen (a call's second and third
// resolution) against parsing it.
func BenchmarkResolveNumber(b *testing.B) {
	b.Run("cached", func(b *testing.B) {
		ResolveNumber("+14155550123", "US")
		b.ReportAllocs()
		for b.Loop() {
			ResolveNumber("+14155550123", "US")
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resolveNumber("+14155550123", "US")
		}
	})
}
