package webcall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what the page posts.
const (
	maxSDP   = 64 << 10
	maxToken = 2048
	maxName  = 200
	maxEmail = 254
	maxPhone = 32
	// maxBody is the request body: the SDP (JSON-escaped, its line breaks take two
	// bytes each) and the small fields.
	maxBody = 2*maxSDP + 8<<10
)

// offerRequest is the body of POST /call/offer.
type offerRequest struct {
	SDP   string `json:"sdp"`
	Entry string `json:"entry"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
	Token string `json:"token"`
}

// offerResponse is the answer to a placed call.
type offerResponse struct {
	SDP    string `json:"sdp"`
	CallID string `json:"call_id"`
}

// requestError is a refused request: its status, a stable code for the page, a message
// for the caller, and the form field at fault if any.
type requestError struct {
	status  int
	code    string
	message string
	field   string
}

func (e *requestError) Error() string {
	if e.field != "" {
		return fmt.Sprintf("webcall: %s: %s (%s)", e.code, e.message, e.field)
	}
	return "webcall: " + e.code + ": " + e.message
}

func badRequest(code, field, msg string) *requestError {
	return &requestError{status: 400, code: code, field: field, message: msg}
}

// phoneRE is what a phone number typed in the form may look like: digits with the
// usual separators, an optional leading +.
var phoneRE = regexp.MustCompile(`^\+?[0-9 ().-]{3,31}$`)

// parseOffer decodes and checks a POST /call/offer body: one JSON object of the known
// string fields, UTF-8, within the limits. The identity fields are cleaned (one line,
// no control characters) and checked for shape; the token is checked later, as a whole.
func parseOffer(body []byte) (offerRequest, error) {
	var req offerRequest
	if len(body) > maxBody {
		return req, &requestError{status: 413, code: "too_large", message: "the request is too large"}
	}
	// Checked on the bytes: the decoder would turn bad bytes into U+FFFD.
	if !utf8.Valid(body) {
		return req, badRequest("bad_request", "", "the request must be UTF-8 JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return offerRequest{}, badRequest("bad_request", "", "the request must be one JSON object of sdp, entry, name, email, phone and token")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return offerRequest{}, badRequest("bad_request", "", "the request has data after its JSON object")
	}
	switch {
	case len(req.SDP) > maxSDP:
		return offerRequest{}, &requestError{status: 413, code: "too_large", field: "sdp", message: "the SDP offer is too large"}
	case !plausibleSDP(req.SDP):
		return offerRequest{}, badRequest("bad_sdp", "sdp", "the SDP offer is missing or malformed")
	case req.Entry != "" && !entryRE.MatchString(req.Entry):
		return offerRequest{}, badRequest("bad_entry", "entry", "the entry name is invalid")
	case len(req.Token) > maxToken:
		return offerRequest{}, &requestError{status: 401, code: "bad_token", field: "token", message: "the caller token is invalid"}
	}
	var err error
	if req.Name, req.Email, req.Phone, err = checkIdentity(req.Name, req.Email, req.Phone); err != nil {
		return offerRequest{}, err
	}
	return req, nil
}

// plausibleSDP is a cheap first look at an offer: a session description with an audio
// section and no NUL. The Dialer parses it for real.
func plausibleSDP(s string) bool {
	return strings.HasPrefix(s, "v=0") && strings.Contains(s, "\nm=audio ") && !strings.ContainsRune(s, 0)
}

// checkIdentity cleans and checks a caller's name, email and phone, each optional.
func checkIdentity(name, email, phone string) (string, string, string, error) {
	var ok bool
	if name, ok = cleanField(name, maxName); !ok {
		return "", "", "", badRequest("invalid_field", "name", fmt.Sprintf("the name must be at most %d characters", maxName))
	}
	if email, ok = cleanField(email, maxEmail); !ok || (email != "" && !emailShape(email)) {
		return "", "", "", badRequest("invalid_field", "email", "the email address is not valid")
	}
	if phone, ok = cleanField(phone, maxPhone); !ok || (phone != "" && !phoneShape(phone)) {
		return "", "", "", badRequest("invalid_field", "phone", "the phone number is not valid: digits, spaces, + ( ) . - only")
	}
	return name, email, phone, nil
}

// cleanField cleans a form field: one line of at most n bytes of UTF-8, control
// characters (CR and LF among them) dropped, surrounding space trimmed.
func cleanField(s string, n int) (string, bool) {
	if len(s) > n || !utf8.ValidString(s) {
		return "", false
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s), true
}

// emailShape accepts a bare address (local@domain.tld), nothing around it.
func emailShape(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return strings.Contains(domain, ".") && !strings.ContainsAny(s, " <>")
}

// phoneShape accepts a number with at least 3 and at most 15 digits (E.164's most).
func phoneShape(s string) bool {
	if !phoneRE.MatchString(s) {
		return false
	}
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	return digits >= 3 && digits <= 15
}
