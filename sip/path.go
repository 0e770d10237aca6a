package sip

import (
	"errors"
	"fmt"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Path (RFC 3327) bounds. A SIP edge adds one entry; a few proxies in a
// row are conceivable, more is an attack on the bindings' storage.
const (
	maxPathURIs   = 8
	maxPathURILen = 512
)

// errBadPath is the reason a REGISTER's Path is refused (400).
var errBadPath = errors.New("sip: bad Path")

// parsePath reads Path header values (RFC 3327 §4: comma-separated
// name-addrs, each an optional display name and a <sip:…> or <sips:…> URI,
// optionally followed by header parameters), across all the values in
// order. Display names and header parameters are dropped: only the URIs
// route. A value that does not parse, a URI of another scheme, with
// whitespace or control characters, longer than maxPathURILen, or more
// than maxPathURIs entries in all wrap errBadPath. No values: nil.
func parsePath(values []string) ([]sipmsg.Uri, error) {
	var out []sipmsg.Uri
	for _, v := range values {
		rest := v
		for {
			rest = strings.TrimLeft(rest, " \t")
			if rest == "" {
				return nil, errBadPath // an empty value or entry
			}
			raw, after, err := cutNameAddr(rest)
			if err != nil {
				return nil, err
			}
			if len(out) == maxPathURIs {
				return nil, fmt.Errorf("%w: too many entries", errBadPath)
			}
			u, err := pathURI(raw)
			if err != nil {
				return nil, err
			}
			out = append(out, u)
			next, ok := skipParams(after)
			if !ok {
				return nil, errBadPath
			}
			if next == "" {
				break
			}
			rest = next[1:] // after the comma
		}
	}
	return out, nil
}

// cutNameAddr splits s, which starts a name-addr, into the URI between
// its angle brackets and what follows the closing one.
func cutNameAddr(s string) (uri, after string, err error) {
	if s[0] == '"' {
		end, ok := quotedEnd(s)
		if !ok {
			return "", "", errBadPath
		}
		s = s[end:]
	}
	open := strings.IndexByte(s, '<')
	if open < 0 || strings.ContainsAny(s[:open], "\",;>") {
		return "", "", errBadPath // a bare addr-spec is not a Path entry
	}
	end := strings.IndexByte(s[open:], '>')
	if end < 0 {
		return "", "", errBadPath
	}
	return s[open+1 : open+end], s[open+end+1:], nil
}

// quotedEnd returns the index just past the quoted string s starts with.
func quotedEnd(s string) (int, bool) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// skipParams skips the header parameters after a name-addr and returns
// the rest, empty or starting with the comma before the next entry.
func skipParams(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ',':
			return s[i:], true
		case c == '"':
			n, ok := quotedEnd(s[i:])
			if !ok {
				return "", false
			}
			i += n - 1
		case c == '<' || c == '>':
			return "", false
		}
	}
	return "", true
}

// pathURI checks and parses one Path URI.
func pathURI(raw string) (sipmsg.Uri, error) {
	var u sipmsg.Uri
	if len(raw) > maxPathURILen {
		return u, fmt.Errorf("%w: uri too long", errBadPath)
	}
	lower := strings.ToLower(raw)
	if !strings.HasPrefix(lower, "sip:") && !strings.HasPrefix(lower, "sips:") {
		return u, fmt.Errorf("%w: not a sip uri", errBadPath)
	}
	for i := 0; i < len(raw); i++ {
		// Quotes and angle brackets are not URI characters (RFC 3261
		// §25.1): they could only smuggle text past the stored form.
		if raw[i] <= ' ' || raw[i] == 0x7f || raw[i] == '"' || raw[i] == '<' {
			return u, errBadPath
		}
	}
	if err := sipmsg.ParseUri(raw, &u); err != nil || u.Host == "" || u.Wildcard {
		return u, errBadPath
	}
	return u, nil
}

// requestPath returns the Path of req, all its Path headers in order.
func requestPath(req *sipmsg.Request) ([]sipmsg.Uri, error) {
	hs := req.GetHeaders("Path")
	if len(hs) == 0 {
		return nil, nil
	}
	values := make([]string, len(hs))
	for i, h := range hs {
		values[i] = h.Value()
	}
	return parsePath(values)
}

// supports reports whether req lists option in its Supported headers.
func supports(req *sipmsg.Request, option string) bool {
	for _, name := range []string{"Supported", "k"} {
		for _, h := range req.GetHeaders(name) {
			for tok := range strings.SplitSeq(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(tok), option) {
					return true
				}
			}
		}
	}
	return false
}

// pathStrings and parseStoredPath convert a binding's Path to and from
// the strings a BindingStore keeps.
func pathStrings(path []sipmsg.Uri) []string {
	if len(path) == 0 {
		return nil
	}
	out := make([]string, len(path))
	for i := range path {
		out[i] = path[i].String()
	}
	return out
}

func parseStoredPath(ss []string) ([]sipmsg.Uri, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	out := make([]sipmsg.Uri, len(ss))
	for i, s := range ss {
		if err := sipmsg.ParseUri(s, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
