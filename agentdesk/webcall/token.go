package webcall

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// TokenClaims is what a host site vouches for about its signed-in visitor. The token
// format is in doc.go.
type TokenClaims struct {
	// Name, Email and Phone are optional, each checked as the form's fields are.
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
	// Exp is when the token expires, in Unix seconds; required.
	Exp int64 `json:"exp"`
}

// SignToken returns the caller token of claims under secret, as a host site written in
// Go mints it.
func SignToken(secret []byte, claims TokenClaims) string {
	b, _ := json.Marshal(claims) // strings and a number: it cannot fail
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(tokenMAC(secret, payload))
}

func tokenMAC(secret []byte, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Why a token is refused; each is answered 401 with its own message.
var (
	errTokenForged   = errors.New("the caller token is invalid")
	errTokenExpired  = errors.New("the caller token has expired: reload the page")
	errTokenTooLong  = errors.New("the caller token lives too long")
	errTokenDisabled = errors.New("caller tokens are not accepted here")
)

// verifyToken checks a host site's token under secret at now and returns its claims,
// cleaned and checked as the form's fields. The MAC is checked (in constant time)
// before anything of the payload is read.
func verifyToken(secret []byte, tok string, now time.Time, maxLife time.Duration) (TokenClaims, error) {
	if len(secret) == 0 {
		return TokenClaims{}, errTokenDisabled
	}
	payload, sig, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > maxToken {
		return TokenClaims{}, errTokenForged
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, tokenMAC(secret, payload)) {
		return TokenClaims{}, errTokenForged
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return TokenClaims{}, errTokenForged
	}
	var c struct {
		TokenClaims
		Exp *int64 `json:"exp"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.Exp == nil {
		return TokenClaims{}, errTokenForged
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return TokenClaims{}, errTokenForged
	}
	exp := time.Unix(*c.Exp, 0)
	switch {
	case !now.Before(exp):
		return TokenClaims{}, errTokenExpired
	case exp.Sub(now) > maxLife:
		return TokenClaims{}, errTokenTooLong
	}
	claims := c.TokenClaims
	claims.Exp = *c.Exp
	if claims.Name, claims.Email, claims.Phone, err = checkIdentity(claims.Name, claims.Email, claims.Phone); err != nil {
		var re *requestError
		if errors.As(err, &re) {
			return TokenClaims{}, fmt.Errorf("the caller token's %s is not valid", re.field)
		}
		return TokenClaims{}, errTokenForged
	}
	return claims, nil
}
