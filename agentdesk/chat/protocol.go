package chat

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"switchboard/crmcore"
)

// Limits on what a customer sends.
const (
	maxFrame    = 64 << 10 // a socket frame
	maxClientID = 64
	maxName     = 200
	maxEmail    = 254
	maxPhone    = 32
	maxLanguage = 16
	maxToken    = 256
)

// The error codes of the customer protocol.
const (
	codeBadRequest   = "bad_request"
	codeTooLarge     = "too_large"
	codeBadText      = "bad_text"
	codeEmpty        = "empty"
	codeRateLimited  = "rate_limited"
	codeNoChat       = "no_conversation"
	codeBadToken     = "bad_token"
	codeClosed       = "closed"
	codeUnavailable  = "unavailable"
	codeInternal     = "internal"
	codeNotNow       = "not_now"
	codeAlreadyStart = "already_started"
)

// envelope is every frame both ways: {"type": …, "data": …}.
type envelope struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// The client's frames.
type (
	startData struct {
		Name     string `json:"name"`
		Email    string `json:"email"`
		Phone    string `json:"phone"`
		Language string `json:"language"`
	}
	resumeData struct {
		Token    string `json:"token"`
		AfterSeq int64  `json:"after_seq"`
	}
	messageData struct {
		Text     string `json:"text"`
		ClientID string `json:"client_id"`
	}
	buttonData struct {
		Value string `json:"value"`
	}
	readData struct {
		Seq int64 `json:"seq"`
	}
)

// The server's frames (besides message, queue, read).
type (
	welcomeData struct {
		Token          string `json:"token"`
		ConversationID string `json:"conversation_id"`
	}
	typingData struct {
		From string `json:"from"`
	}
	deliveredData struct {
		ClientID string `json:"client_id"`
		Seq      int64  `json:"seq"`
	}
	errorData struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
)

// clientMsg is one decoded client frame: Type and the data of that type.
type clientMsg struct {
	Type    string
	Start   startData
	Resume  resumeData
	Message messageData
	Button  buttonData
	Read    readData
}

// errBadFrame is a frame that is not JSON, or names no known type, or has bad data.
var errBadFrame = errors.New("chat: bad frame")

// decodeClient decodes one client frame. Text is checked later (cleanText): a message
// too large or not UTF-8 is answered with its own error code.
func decodeClient(b []byte) (clientMsg, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return clientMsg{}, errBadFrame
	}
	m := clientMsg{Type: env.Type}
	var target any
	switch env.Type {
	case "start":
		target = &m.Start
	case "resume":
		target = &m.Resume
	case "message":
		target = &m.Message
	case "button":
		target = &m.Button
	case "read":
		target = &m.Read
	case "typing", "close":
		return m, nil
	default:
		return clientMsg{}, errBadFrame
	}
	if len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, target); err != nil {
			return clientMsg{}, errBadFrame
		}
	}
	switch {
	case len(m.Message.ClientID) > maxClientID, len(m.Resume.Token) > maxToken, m.Resume.AfterSeq < 0, m.Read.Seq < 0,
		len(m.Button.Value) > 8:
		return clientMsg{}, errBadFrame
	}
	return m, nil
}

// cleanText checks and cleans a message's text: at most crmcore.MaxChatText bytes of
// UTF-8, control characters other than newline and tab dropped, spaces trimmed. code says
// what is wrong ("" when nothing is).
func cleanText(s string) (string, string) {
	switch {
	case len(s) > crmcore.MaxChatText:
		return "", codeTooLarge
	case !utf8.ValidString(s):
		return "", codeBadText
	}
	s = strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029') {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "" {
		return "", codeEmpty
	}
	return s, ""
}

// cleanField cleans a pre-chat form field: one line of at most n bytes of UTF-8.
func cleanField(s string, n int) (string, bool) {
	if len(s) > n || !utf8.ValidString(s) {
		return "", false
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s), true
}

// frame encodes a server frame; data nil sends no data.
func frame(typ string, data any) []byte {
	env := struct {
		Type string `json:"type"`
		Data any    `json:"data,omitempty"`
	}{typ, data}
	b, err := json.Marshal(env)
	if err != nil {
		// Our own types always encode; this is a programming error.
		panic("chat: encode frame: " + err.Error())
	}
	return b
}

func errFrame(code, msg string) []byte { return frame("error", errorData{Code: code, Message: msg}) }
