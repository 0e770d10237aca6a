package chat

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// A resume token is "<conversation id>.<expiry, Unix seconds>.<MAC>", the MAC being
// HMAC-SHA256 of the first two parts under Options.Secret, base64url without padding.
// Any node with the same secret accepts it: the conversation's state is in the Store.

// signToken returns the resume token of conversation id, valid until exp.
func (s *Service) signToken(id string, exp time.Time) string {
	body := id + "." + strconv.FormatInt(exp.Unix(), 10)
	return body + "." + base64.RawURLEncoding.EncodeToString(s.mac(body))
}

func (s *Service) mac(body string) []byte {
	h := hmac.New(sha256.New, s.opts.Secret)
	h.Write([]byte(body))
	return h.Sum(nil)
}

// verifyToken returns the conversation id of a valid, unexpired token.
func (s *Service) verifyToken(tok string) (string, bool) {
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return "", false
	}
	body, sig := tok[:i], tok[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(body)) {
		return "", false
	}
	id, expS, ok := strings.Cut(body, ".")
	if !ok || id == "" {
		return "", false
	}
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil || !s.now().Before(time.Unix(exp, 0)) {
		return "", false
	}
	return id, true
}
