package livesim

import (
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// TestRetryAfter: a 503's Retry-After seconds (with or without a comment
// or parameters) set the wait before a REGISTER is retried, capped at a
// minute; absent or malformed values give 0 (the default backoff).
func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Duration
	}{
		{"5", 5 * time.Second},
		{" 18000;duration=3600", time.Minute},
		{"45 (I'm in a meeting)", 45 * time.Second},
		{"30;duration=10", 30 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{"", 0},
	} {
		res := sipmsg.NewResponse(503, "Service Unavailable")
		if tc.value != "" {
			res.AppendHeader(sipmsg.NewHeader("Retry-After", tc.value))
		}
		if got := retryAfter(res); got != tc.want {
			t.Errorf("Retry-After %q: %v, want %v", tc.value, got, tc.want)
		}
	}
}
