package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery.
const (
	HeaderEvent     = "X-Switchboard-Event"     // the event type
	HeaderDelivery  = "X-Switchboard-Delivery"  // the delivery id, the same on every retry
	HeaderSignature = "X-Switchboard-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
	HeaderTimestamp = "X-Switchboard-Timestamp" // Unix seconds when the attempt was signed
)

// Signature verification errors.
var (
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: timestamp outside the tolerance")
)

// Sign returns the X-Switchboard-Signature value of body sent at ts:
// "sha256=" and the hex HMAC-SHA256 under secret of the decimal Unix
// timestamp, a dot and the body. Covering the timestamp lets a receiver
// refuse a captured request replayed later.
func Sign(secret []byte, ts time.Time, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// maxHeader bounds the header values Verify reads.
const maxHeader = 256

// Verify checks a delivery as its receiver should: signature is the
// X-Switchboard-Signature header, timestamp the X-Switchboard-Timestamp
// header, and the timestamp must be within tolerance of now. The MAC is
// compared in constant time.
func Verify(secret []byte, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(signature) > maxHeader || len(timestamp) > maxHeader {
		return ErrBadSignature
	}
	hexSig, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return ErrBadSignature
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || sec < 0 || strconv.FormatInt(sec, 10) != timestamp {
		return ErrBadSignature
	}
	if !hmac.Equal(got, mac(secret, timestamp, body)) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}
