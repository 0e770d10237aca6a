package webhook

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("whsec_test")
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":1,"type":"ticket.created"}`)
	sig := Sign(secret, now, body)
	ts := strconv.FormatInt(now.Unix(), 10)
	for _, tc := range []struct {
		name          string
		secret        []byte
		sig, ts, body string
		at            time.Time
		want          error
	}{
		{"valid", secret, sig, ts, string(body), now, nil},
		{"valid within tolerance", secret, sig, ts, string(body), now.Add(4 * time.Minute), nil},
		{"other secret", []byte("whsec_other"), sig, ts, string(body), now, ErrBadSignature},
		{"body changed", secret, sig, ts, string(body) + " ", now, ErrBadSignature},
		{"timestamp changed", secret, sig, strconv.FormatInt(now.Unix()+1, 10), string(body), now, ErrBadSignature},
		{"timestamp with a sign", secret, sig, "+" + ts, string(body), now, ErrBadSignature},
		{"no prefix", secret, sig[len("sha256="):], ts, string(body), now, ErrBadSignature},
		{"not hex", secret, "sha256=zz", ts, string(body), now, ErrBadSignature},
		{"short", secret, sig[:20], ts, string(body), now, ErrBadSignature},
		{"stale", secret, sig, ts, string(body), now.Add(6 * time.Minute), ErrStale},
		{"from the future", secret, sig, ts, string(body), now.Add(-6 * time.Minute), ErrStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Verify(tc.secret, tc.sig, tc.ts, []byte(tc.body), tc.at, 5*time.Minute)
			if !errors.Is(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzVerify: no header value a sender controls makes Verify panic or
// accept a signature made with another secret.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add(Sign([]byte("k"), now, []byte("{}")), "1800000000", []byte("{}"))
	f.Add("sha256=", "", []byte(nil))
	f.Add("sha256=00", "-1", []byte("x"))
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		err := Verify([]byte("k"), sig, ts, body, now, time.Hour)
		if err == nil && sig != Sign([]byte("k"), mustUnix(t, ts), body) {
			t.Fatalf("accepted %q at %q", sig, ts)
		}
		if Verify([]byte("other"), sig, ts, body, now, time.Hour) == nil && err == nil {
			t.Fatal("one signature valid under two secrets")
		}
	})
}

func mustUnix(t *testing.T, ts string) time.Time {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Fatalf("accepted timestamp %q", ts)
	}
	return time.Unix(sec, 0)
}
