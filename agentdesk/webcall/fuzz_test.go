package webcall

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzParseOffer: any body is refused with a well-formed error or yields a request
// within every limit, its identity fields clean.
func FuzzParseOffer(f *testing.F) {
	offer, err := os.ReadFile("testdata/chromium-offer.sdp")
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(offerRequest{SDP: string(offer), Entry: "web", Name: "Ana", Email: "ana@example.com", Phone: "+1 415 555 0101"})
	for _, seed := range []string{
		string(good), `{"sdp":"v=0\r\nm=audio 9 RTP/AVP 0\r\n"}`, `{"sdp":"v=0\nm=audio 1 x","token":"a.b"}`,
		`{"sdp":1}`, `{"sdp":"v=0","sdp":"v=1"}`, `{} {}`, `[]`, `{`, "\xff", `{"name":"\u0000\r\n"}`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseOffer(b)
		if err != nil {
			re, ok := err.(*requestError)
			if !ok || re.status < 400 || re.status > 499 || re.code == "" || re.message == "" {
				t.Fatalf("error %#v is not a client error with a code and a message", err)
			}
			if req != (offerRequest{}) {
				t.Fatalf("error %v with a request %+v", err, req)
			}
			return
		}
		if len(req.SDP) > maxSDP || !plausibleSDP(req.SDP) || len(req.Token) > maxToken ||
			(req.Entry != "" && !entryRE.MatchString(req.Entry)) {
			t.Fatalf("limits not enforced: %+v", req)
		}
		for _, f := range []struct {
			v string
			n int
		}{{req.Name, maxName}, {req.Email, maxEmail}, {req.Phone, maxPhone}} {
			if len(f.v) > f.n || !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, unicode.IsControl) || strings.TrimSpace(f.v) != f.v {
				t.Fatalf("field %q not clean", f.v)
			}
		}
		if req.Email != "" && !emailShape(req.Email) || req.Phone != "" && !phoneShape(req.Phone) {
			t.Fatalf("identity shape not enforced: %+v", req)
		}
	})
}

// FuzzVerifyToken: nothing panics, and no token is accepted but one whose payload
// was signed with the key, unexpired.
func FuzzVerifyToken(f *testing.F) {
	key := []byte("0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	tok := SignToken(key, TokenClaims{Name: "Ana", Exp: now.Unix() + 60})
	signed, _, _ := strings.Cut(tok, ".")
	for _, seed := range []string{tok, "", ".", "a.b", tok + "x", "eyJleHAiOjF9.", strings.Repeat(".", 50)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := verifyToken(key, s, now, time.Hour)
		if err != nil {
			if c != (TokenClaims{}) {
				t.Fatalf("error %v with claims %+v", err, c)
			}
			return
		}
		// Only the seed's payload carries a valid MAC.
		if payload, _, _ := strings.Cut(s, "."); payload != signed || c.Exp <= now.Unix() || c.Exp > now.Add(time.Hour).Unix() {
			t.Fatalf("accepted %q as %+v", s, c)
		}
	})
}
