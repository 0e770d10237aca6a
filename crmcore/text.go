package crmcore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// validText reports whether s is valid UTF-8 without NUL (which PostgreSQL
// text cannot hold) or other C0 controls except tab, CR and LF.
func validText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\t' || r == '\n' || r == '\r' {
			continue
		}
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// validLine is validText without line breaks.
func validLine(s string) bool {
	return validText(s) && !strings.ContainsAny(s, "\r\n")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return CutText(s, n) + "…"
}

// CutText returns s cut to at most n bytes at a character boundary.
func CutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// NewID returns a fresh UUID (version 7: time-ordered, so that primary-key
// indexes stay append-mostly) in its canonical text form.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	ms := uint64(time.Now().UnixMilli())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(b[0:6], ts[2:8])
	b[6] = (b[6] & 0x0f) | 0x70 // version 7
	return uuidText(b)
}

// CallRecordID is the id of the interaction record of an inbound call,
// derived from its signalling: the SIP Call-ID, the caller (From user)
// and the number dialled. Every node that sees the same call — the SIP
// edge moves a call to another node when the first answers too late, and
// both may take it — opens and completes the same record. It is a
// version 8 UUID of their SHA-256.
func CallRecordID(callID, ani, dnis string) string {
	h := sha256.New()
	for _, part := range []string{callID, ani, dnis} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = (b[6] & 0x0f) | 0x80 // version 8
	return uuidText(b)
}

// uuidText sets the RFC 9562 variant of b and returns its canonical text.
func uuidText(b [16]byte) string {
	b[8] = (b[8] & 0x3f) | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// ValidID reports whether s is a UUID in canonical text form (any version).
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
