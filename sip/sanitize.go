package sip

import (
	"strings"
	"unicode/utf8"
)

// maxHeaderValue caps any value we copy from outside input into a header.
const maxHeaderValue = 128

// sanitizeHeaderValue makes s safe to place in a SIP header or log line:
// CR, LF, NUL and other control characters are dropped, quotes and
// backslashes (display names) removed, invalid UTF-8 replaced, and the
// result capped. CRM names and CTI input go through it before sipgo, which
// does not check.
func sanitizeHeaderValue(s string) string {
	if len(s) > 4*maxHeaderValue {
		s = s[:4*maxHeaderValue]
	}
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "") {
		if r < 0x20 || r == 0x7F || r == '"' || r == '\\' || r == utf8.RuneError {
			continue
		}
		if n >= maxHeaderValue {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// sanitizeUser keeps the characters allowed in a SIP URI user part that
// make sense for a number or extension (RFC 3261 unreserved + a few).
func sanitizeUser(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z',
			c == '+', c == '-', c == '_', c == '.', c == '*', c == '#':
			b.WriteByte(c)
		}
	}
	return b.String()
}
