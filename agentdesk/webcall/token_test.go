package webcall_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"switchboard/agentdesk/webcall"
)

// sign mints a token as a host site does, under key.
func sign(t *testing.T, key []byte, c webcall.TokenClaims) string {
	t.Helper()
	return webcall.SignToken(key, c)
}

// rawToken signs an arbitrary payload.
func rawToken(t *testing.T, key []byte, payload string) string {
	t.Helper()
	p := base64.RawURLEncoding.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestTokens(t *testing.T) {
	r := newRig(t, func(c *webcall.Config) { c.TokenMaxLifetime = time.Hour })
	in := func(d time.Duration) int64 { return time.Now().Add(d).Unix() }
	valid := sign(t, secret, webcall.TokenClaims{Name: "Liam Johnson", Email: "liam@example.com", Phone: "+14155550101", Exp: in(10 * time.Minute)})
	payload, mac, _ := strings.Cut(valid, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(payload)
	tampered := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(claims), "Liam", "Lisa", 1))) + "." + mac
	cases := []struct {
		name, token string
		code        string // "" placed, verified
	}{
		{"valid", valid, ""},
		{"forged: another secret", sign(t, []byte("another secret, 16+ bytes"), webcall.TokenClaims{Name: "Liam", Exp: in(time.Minute)}), "bad_token"},
		{"forged: payload changed", tampered, "bad_token"},
		{"forged: no mac", payload, "bad_token"},
		{"forged: mac not base64", payload + ".%%%", "bad_token"},
		{"expired", sign(t, secret, webcall.TokenClaims{Name: "Liam", Exp: in(-time.Second)}), "token_expired"},
		{"expires now", sign(t, secret, webcall.TokenClaims{Exp: time.Now().Unix()}), "token_expired"},
		{"lives too long", sign(t, secret, webcall.TokenClaims{Exp: in(2 * time.Hour)}), "bad_token"},
		{"no exp", rawToken(t, secret, `{"name":"Liam"}`), "bad_token"},
		{"exp not a number", rawToken(t, secret, `{"exp":"soon"}`), "bad_token"},
		{"unknown field", rawToken(t, secret, fmt.Sprintf(`{"exp":%d,"admin":true}`, in(time.Minute))), "bad_token"},
		{"trailing data", rawToken(t, secret, fmt.Sprintf(`{"exp":%d}{}`, in(time.Minute))), "bad_token"},
		{"not JSON", rawToken(t, secret, `exp=1`), "bad_token"},
		{"bad email in token", sign(t, secret, webcall.TokenClaims{Email: "not an address", Exp: in(time.Minute)}), "bad_token"},
		{"too long", strings.Repeat("a", 3000) + "." + mac, "bad_token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := len(r.d.calls())
			// The form's fields never stand in for a token's.
			w := r.post(offer(t, map[string]string{"token": c.token, "name": "Mallory", "phone": "+15550000"}))
			if c.code != "" {
				wantError(t, w, http.StatusUnauthorized, c.code, "token")
				if len(r.d.calls()) != n {
					t.Error("a refused token placed a call")
				}
				return
			}
			wantPlaced(t, w)
			got := r.d.calls()[n]
			want := webcall.Caller{Entry: "web", Name: "Liam Johnson", Email: "liam@example.com", Phone: "+14155550101", Verified: true,
				Address: netip.MustParseAddr("198.51.100.7")}
			if got != want {
				t.Errorf("caller = %+v, want %+v", got, want)
			}
		})
	}
	if got := r.metric("refused_total", "reason", "token_expired"); got != 2 {
		t.Errorf("refused_total{reason=token_expired} = %v, want 2", got)
	}
	if got := r.metric("calls_total", "identity", "verified"); got != 1 {
		t.Errorf("calls_total{identity=verified} = %v, want 1", got)
	}

	// Without a secret, no token is accepted: a token is never downgraded to a form.
	r2 := newRig(t, func(c *webcall.Config) { c.TokenSecret = nil })
	wantError(t, r2.post(offer(t, map[string]string{"token": valid})), http.StatusUnauthorized, "bad_token", "token")
	wantPlaced(t, r2.post(offer(t, map[string]string{"name": "Ana"})))
}
