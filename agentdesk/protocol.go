package agentdesk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ProtocolVersion is the only envelope version ("v") this hub speaks.
const ProtocolVersion = 1

// Envelope is one CTI message in either direction. Commands carry an ID
// chosen by the client (echoed in the reply); events pushed by the server
// have an empty ID, except replies ("ok", "error", "webrtc.answer"), which
// echo the command's ID.
type Envelope struct {
	V    int             `json:"v"`
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Command types a client may send. Types starting with "sup." are
// supervisor-only.
const (
	CmdAuth           = "auth"
	CmdLogin          = "login"
	CmdPing           = "ping"
	CmdResync         = "resync"
	CmdPresenceSet    = "presence.set"
	CmdCallAnswer     = "call.answer"
	CmdCallReject     = "call.reject"
	CmdCallHangup     = "call.hangup"
	CmdCallHold       = "call.hold"
	CmdCallUnhold     = "call.unhold"
	CmdCallTransfer   = "call.transfer"
	CmdCallConsult    = "call.consult"
	CmdCallConference = "call.conference"
	CmdConsultDone    = "call.consult.complete"
	CmdConsultCancel  = "call.consult.cancel"
	CmdConsultMerge   = "call.consult.merge"
	CmdRecordPause    = "call.record.pause"
	CmdRecordResume   = "call.record.resume"
	CmdWrapUp         = "wrapup.submit"
	CmdDial           = "call.dial"
	CmdPreview        = "campaign.preview"
	CmdPreviewDial    = "campaign.dial"
	CmdWebRTCOffer    = "webrtc.offer"
	CmdWebRTCICE      = "webrtc.ice"
	CmdWebRTCHangup   = "webrtc.hangup"
	CmdSupPresenceSet = "sup.presence.set"
	CmdSupListen      = "sup.listen"
	CmdSupListenStop  = "sup.listen.stop"
	CmdSupPriority    = "sup.call.priority"
	CmdTaskAccept     = "task.accept"
	CmdTaskReject     = "task.reject"
	CmdTaskComplete   = "task.complete"
	CmdTaskTransfer   = "task.transfer"
	CmdTaskWrapUp     = "task.wrapup"
	CmdChatSend       = "chat.send"
	CmdChatTyping     = "chat.typing"
	CmdChatRead       = "chat.read"
	CmdChatHistory    = "chat.history"
)

// Event types the server pushes.
const (
	EvOK            = "ok"
	EvError         = "error"
	EvHello         = "hello"
	EvAgentSnapshot = "agent.snapshot"
	EvAgentState    = "agent.state"
	EvCallOffered   = "call.offered"
	EvCallRescinded = "call.rescinded"
	EvCallAnswered  = "call.answered"
	EvCallHeld      = "call.held"
	EvCallUnheld    = "call.unheld"
	EvCallXfer      = "call.transferred"
	EvCallEnded     = "call.ended"
	EvWrapUpStarted = "wrapup.started"
	EvWrapUpEnded   = "wrapup.ended"
	EvWebRTCAnswer  = "webrtc.answer"
	EvSupSnapshot   = "sup.snapshot"
	EvSupQueue      = "sup.queue"
	EvSupAgent      = "sup.agent"
	EvSessionEnded  = "session.ended"
	EvTaskOffered   = "task.offered"
	EvTaskState     = "task.state"
	EvChatMessage   = "chat.message"
	EvChatTyping    = "chat.typing"
	EvChatRead      = "chat.read"
	EvChatEnded     = "chat.ended"
	EvCallConsult   = "call.consult"
	EvPreview       = "campaign.preview"
)

// Error codes carried by "error" replies (ErrorData.Code).
const (
	CodeBadJSON         = "bad_json"        // not a JSON object
	CodeBadEnvelope     = "bad_envelope"    // v, type or id missing or wrong
	CodeUnknownType     = "unknown_type"    // no such command
	CodeMissingField    = "missing_field"   // a required field is absent or empty
	CodeInvalidField    = "invalid_field"   // a field has a wrong type or value
	CodeTooLarge        = "too_large"       // message over the size cap
	CodeRateLimited     = "rate_limited"    // too many messages; this one was dropped
	CodeUnauthenticated = "unauthenticated" // login first / bad credentials
	CodeForbidden       = "forbidden"       // role may not use this command
	CodeNotFound        = "not_found"       // no such call or agent
	CodeInvalidState    = "invalid_state"   // command not allowed in the current state
	CodeUnsupported     = "unsupported"     // feature not available in this deployment
	CodeUnavailable     = "unavailable"     // a backend (engine, gateway) failed
	CodeUnreachable     = "unreachable"     // no route to the number dialled (no trunk)
	CodeNoContact       = "no_contact"      // no preview campaign has a contact to call now
	CodeInternal        = "internal"        // a bug; see the server log
)

// Limits on field sizes, checked by DecodeCommand.
const (
	maxIDLen     = 64
	maxTypeLen   = 64
	maxShortLen  = 128
	maxNotesLen  = 4000
	maxSDPLen    = 32 << 10
	maxDigitsLen = 32
)

// ErrorData is the data of an "error" reply. Field names the offending
// field as a dotted path ("data.presence", "data.ticket.subject", "v",
// "type"); it is empty only for CodeBadJSON, CodeTooLarge, CodeRateLimited
// and errors that are not about one field.
type ErrorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// RetryAfterSec is set on a throttled login: the seconds to wait.
	RetryAfterSec int `json:"retry_after_s,omitempty"`
}

// ProtocolError is an ErrorData as a Go error; ID is the offending command's
// ID when it could be read.
type ProtocolError struct {
	ID string
	ErrorData
}

// Error implements error.
func (e *ProtocolError) Error() string {
	if e.Field != "" {
		return "agentdesk: " + e.Code + ": " + e.Field + ": " + e.Message
	}
	return "agentdesk: " + e.Code + ": " + e.Message
}

func perr(id, code, field, msg string) *ProtocolError {
	return &ProtocolError{ID: id, ErrorData: ErrorData{Code: code, Field: field, Message: msg}}
}

// Presence values (what the agent chooses).
const (
	PresenceOffline  = "offline"
	PresenceReady    = "ready"
	PresenceNotReady = "not-ready"
)

// Command is a decoded, validated inbound message. Data holds a pointer to
// the type-specific struct (e.g. *PresenceSet), or nil for commands without
// data.
type Command struct {
	ID   string
	Type string
	Data any
}

// AuthToken is the data of "auth": the session token from the REST login,
// as the first message when none was presented on the upgrade request.
type AuthToken struct {
	Token string `json:"token"`
}

// Login is the data of "login": credentials in the first message when no
// token was presented on the upgrade request.
type Login struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

// PresenceSet is the data of "presence.set".
type PresenceSet struct {
	Presence string `json:"presence"`
	Reason   string `json:"reason,omitempty"`
}

// CallRef is the data of the commands that act on one call (answer, reject,
// hangup, hold, unhold).
type CallRef struct {
	CallID string `json:"call_id"`
}

// TransferTarget says where a call goes: Kind is "agent" (Value is an agent
// id), "queue" (a queue name) or "number" (a phone number).
type TransferTarget struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Transfer is the data of "call.transfer", "call.consult" and
// "call.conference".
type Transfer struct {
	CallID string         `json:"call_id"`
	Target TransferTarget `json:"target"`
}

// NewTicket asks the wrap-up to create a ticket.
type NewTicket struct {
	Subject  string `json:"subject"`
	Priority string `json:"priority"`
}

// WrapUp is the data of "wrapup.submit": a disposition from the configured
// list, free notes, and at most one of LinkTicket (an existing ticket id or
// number) and CreateTicket.
type WrapUp struct {
	CallID       string     `json:"call_id"`
	Disposition  string     `json:"disposition"`
	Notes        string     `json:"notes,omitempty"`
	LinkTicket   string     `json:"link_ticket,omitempty"`
	CreateTicket *NewTicket `json:"create_ticket,omitempty"`
}

// Dial is the data of "call.dial" (click-to-dial): a typed number, or a
// contact's number (ContactID is then kept on the interaction).
type Dial struct {
	Number    string `json:"number"`
	ContactID string `json:"contact_id,omitempty"`
}

// SDP is the data of "webrtc.offer" and of the "webrtc.answer" event.
type SDP struct {
	SDP string `json:"sdp"`
}

// ICE is the data of "webrtc.ice" (trickled candidate). The hub uses
// non-trickle ICE, so it answers these with CodeUnsupported.
type ICE struct {
	Candidate string `json:"candidate"`
}

// SupPresenceSet is the data of "sup.presence.set" (force an agent's presence).
type SupPresenceSet struct {
	AgentID  string `json:"agent_id"`
	Presence string `json:"presence"`
	Reason   string `json:"reason,omitempty"`
}

// Listen modes of "sup.listen".
const (
	ListenSilent  = "listen"
	ListenWhisper = "whisper"
	ListenBarge   = "barge"
)

// SupListen is the data of "sup.listen" and "sup.listen.stop".
type SupListen struct {
	CallID string `json:"call_id"`
	Mode   string `json:"mode,omitempty"`
}

// SupPriority is the data of "sup.call.priority": set a waiting call's
// priority (higher is served first), or move it to the head of its queue
// with Front.
type SupPriority struct {
	CallID   string `json:"call_id"`
	Priority int    `json:"priority"`
	Front    bool   `json:"front,omitempty"`
}

// commandSpec says how to decode and check one command type.
type commandSpec struct {
	new        func() any // nil: no data expected (data ignored)
	optional   bool       // data may be omitted: validated as new() returns it
	supervisor bool
	validate   func(v any) *ProtocolError // field errors without ID
}

var commandSpecs = map[string]commandSpec{
	CmdAuth:           {new: func() any { return new(AuthToken) }, validate: vAuth},
	CmdLogin:          {new: func() any { return new(Login) }, validate: vLogin},
	CmdPing:           {},
	CmdResync:         {},
	CmdPresenceSet:    {new: func() any { return new(PresenceSet) }, validate: vPresence},
	CmdCallAnswer:     {new: func() any { return new(CallRef) }, validate: vCallRef},
	CmdCallReject:     {new: func() any { return new(CallRef) }, validate: vCallRef},
	CmdCallHangup:     {new: func() any { return new(CallRef) }, validate: vCallRef},
	CmdCallHold:       {new: func() any { return new(CallRef) }, validate: vCallRef},
	CmdCallUnhold:     {new: func() any { return new(CallRef) }, validate: vCallRef},
	CmdCallTransfer:   {new: func() any { return new(Transfer) }, validate: vTransfer},
	CmdCallConsult:    {new: func() any { return new(Transfer) }, validate: vTransfer},
	CmdCallConference: {new: func() any { return new(Transfer) }, validate: vTransfer},
	CmdConsultDone:    {new: func() any { return new(CallRef) }, validate: vCallRef},
	CmdConsultCancel:  {new: func() any { return new(CallRef) }, validate: vCallRef},
	CmdConsultMerge:   {new: func() any { return new(CallRef) }, validate: vCallRef},
	CmdRecordPause:    {new: func() any { return new(CallRef) }, validate: vCallRef},
	CmdRecordResume:   {new: func() any { return new(CallRef) }, validate: vCallRef},
	CmdWrapUp:         {new: func() any { return new(WrapUp) }, validate: vWrapUp},
	CmdDial:           {new: func() any { return new(Dial) }, validate: vDial},
	CmdPreview:        {new: func() any { return new(CampaignPreview) }, optional: true, validate: vCampaignPreview},
	CmdPreviewDial:    {new: func() any { return new(CampaignDial) }, validate: vCampaignDial},
	CmdWebRTCOffer:    {new: func() any { return new(SDP) }, validate: vSDP},
	CmdWebRTCICE:      {new: func() any { return new(ICE) }, validate: vICE},
	CmdWebRTCHangup:   {},
	CmdSupPresenceSet: {new: func() any { return new(SupPresenceSet) }, supervisor: true, validate: vSupPresence},
	CmdSupListen:      {new: func() any { return new(SupListen) }, supervisor: true, validate: vSupListen},
	CmdSupListenStop:  {new: func() any { return new(SupListen) }, supervisor: true, validate: vCallRefListen},
	CmdSupPriority:    {new: func() any { return new(SupPriority) }, supervisor: true, validate: vSupPriority},
	CmdTaskAccept:     {new: func() any { return new(TaskRef) }, validate: vTaskRef},
	CmdTaskReject:     {new: func() any { return new(TaskRef) }, validate: vTaskRef},
	CmdTaskComplete:   {new: func() any { return new(TaskRef) }, validate: vTaskRef},
	CmdTaskTransfer:   {new: func() any { return new(TaskTransfer) }, validate: vTaskTransfer},
	CmdTaskWrapUp:     {new: func() any { return new(TaskWrapUp) }, validate: vTaskWrapUp},
	CmdChatSend:       {new: func() any { return new(ChatSend) }, validate: vChatSend},
	CmdChatTyping:     {new: func() any { return new(TaskRef) }, validate: vTaskRef},
	CmdChatRead:       {new: func() any { return new(ChatRead) }, validate: vChatRead},
	CmdChatHistory:    {new: func() any { return new(TaskRef) }, validate: vTaskRef},
}

// SupervisorOnly reports whether the command type needs the supervisor or
// admin role.
func SupervisorOnly(typ string) bool { return commandSpecs[typ].supervisor }

// DecodeCommand decodes and validates one inbound message of at most max
// bytes (0: no limit). It returns either a valid Command or a
// *ProtocolError naming the offending field; it never panics.
func DecodeCommand(b []byte, max int) (Command, *ProtocolError) {
	if max > 0 && len(b) > max {
		return Command{}, perr(sniffID(b), CodeTooLarge, "", fmt.Sprintf("message of %d bytes exceeds the %d-byte limit", len(b), max))
	}
	if !utf8.Valid(b) {
		return Command{}, perr("", CodeBadJSON, "", "message is not valid UTF-8")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return Command{}, perr("", CodeBadJSON, "", "message is not a JSON object")
	}
	var id string
	if r, ok := raw["id"]; ok {
		if err := json.Unmarshal(r, &id); err != nil {
			return Command{}, perr("", CodeBadEnvelope, "id", "id must be a string")
		}
		if len(id) > maxIDLen {
			return Command{}, perr("", CodeBadEnvelope, "id", fmt.Sprintf("id longer than %d bytes", maxIDLen))
		}
	}
	if id == "" {
		return Command{}, perr("", CodeBadEnvelope, "id", "id is required on commands")
	}
	var v int
	r, ok := raw["v"]
	if !ok {
		return Command{}, perr(id, CodeBadEnvelope, "v", "v is required")
	}
	if err := json.Unmarshal(r, &v); err != nil || v != ProtocolVersion {
		return Command{}, perr(id, CodeBadEnvelope, "v", fmt.Sprintf("unsupported protocol version (want %d)", ProtocolVersion))
	}
	var typ string
	if r, ok := raw["type"]; ok {
		if err := json.Unmarshal(r, &typ); err != nil {
			return Command{}, perr(id, CodeBadEnvelope, "type", "type must be a string")
		}
	}
	if typ == "" {
		return Command{}, perr(id, CodeBadEnvelope, "type", "type is required")
	}
	spec, known := commandSpecs[typ]
	if !known {
		if len(typ) > maxTypeLen {
			typ = typ[:maxTypeLen]
		}
		return Command{}, perr(id, CodeUnknownType, "type", fmt.Sprintf("unknown command type %q", strings.ToValidUTF8(typ, "")))
	}
	cmd := Command{ID: id, Type: typ}
	if spec.new == nil {
		return cmd, nil
	}
	data, ok := raw["data"]
	absent := !ok || bytes.Equal(bytes.TrimSpace(data), []byte("null"))
	if absent && !spec.optional {
		return Command{}, perr(id, CodeMissingField, "data", "data is required")
	}
	d := spec.new()
	if !absent {
		if err := json.Unmarshal(data, d); err != nil {
			return Command{}, dataError(id, err)
		}
	}
	if e := spec.validate(d); e != nil {
		e.ID = id
		return Command{}, e
	}
	cmd.Data = d
	return cmd, nil
}

// dataError turns a json.Unmarshal failure on data into a field error.
func dataError(id string, err error) *ProtocolError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		f := "data"
		if te.Field != "" {
			f += "." + te.Field
		}
		return perr(id, CodeInvalidField, f, "wrong JSON type "+te.Value)
	}
	return perr(id, CodeInvalidField, "data", "data must be a JSON object")
}

// sniffID extracts a plausible command id from a message too large to parse
// in full, so the error reply can still be matched; "" when none.
func sniffID(b []byte) string {
	if len(b) > 4096 {
		b = b[:4096]
	}
	i := bytes.Index(b, []byte(`"id":"`))
	if i < 0 {
		return ""
	}
	rest := b[i+6:]
	j := bytes.IndexByte(rest, '"')
	if j <= 0 || j > maxIDLen || !utf8.Valid(rest[:j]) || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return ""
	}
	return string(rest[:j])
}

func missing(field string) *ProtocolError {
	return perr("", CodeMissingField, field, field+" is required")
}

func bad(field, msg string) *ProtocolError { return perr("", CodeInvalidField, field, msg) }

// short checks a required or optional short identifier-like string.
func short(field, s string, required bool) *ProtocolError {
	switch {
	case s == "" && required:
		return missing(field)
	case len(s) > maxShortLen:
		return bad(field, fmt.Sprintf("longer than %d bytes", maxShortLen))
	case strings.ContainsAny(s, "\r\n\x00"):
		return bad(field, "must not contain control characters")
	}
	return nil
}

func vAuth(v any) *ProtocolError {
	d := v.(*AuthToken)
	switch {
	case d.Token == "":
		return missing("data.token")
	case len(d.Token) > 256:
		return bad("data.token", "longer than 256 bytes")
	}
	return nil
}

func vLogin(v any) *ProtocolError {
	d := v.(*Login)
	if e := short("data.login", d.Login, true); e != nil {
		return e
	}
	if d.Password == "" {
		return missing("data.password")
	}
	if len(d.Password) > 256 {
		return bad("data.password", "longer than 256 bytes")
	}
	return nil
}

func checkPresence(field, p, reasonField, reason string) *ProtocolError {
	switch p {
	case "":
		return missing(field)
	case PresenceReady, PresenceOffline:
	case PresenceNotReady:
		if reason == "" {
			return missing(reasonField)
		}
	default:
		return bad(field, `must be "ready", "not-ready" or "offline"`)
	}
	return short(reasonField, reason, false)
}

func vPresence(v any) *ProtocolError {
	d := v.(*PresenceSet)
	return checkPresence("data.presence", d.Presence, "data.reason", d.Reason)
}

func vCallRef(v any) *ProtocolError { return short("data.call_id", v.(*CallRef).CallID, true) }

func vTransfer(v any) *ProtocolError {
	d := v.(*Transfer)
	if e := short("data.call_id", d.CallID, true); e != nil {
		return e
	}
	switch d.Target.Kind {
	case "":
		return missing("data.target.kind")
	case "agent", "queue":
	case "number":
		if !validNumber(d.Target.Value) && d.Target.Value != "" {
			return bad("data.target.value", "not a phone number")
		}
	default:
		return bad("data.target.kind", `must be "agent", "queue" or "number"`)
	}
	return short("data.target.value", d.Target.Value, true)
}

func vWrapUp(v any) *ProtocolError {
	d := v.(*WrapUp)
	if e := short("data.call_id", d.CallID, true); e != nil {
		return e
	}
	if e := short("data.disposition", d.Disposition, true); e != nil {
		return e
	}
	if len(d.Notes) > maxNotesLen {
		return bad("data.notes", fmt.Sprintf("longer than %d bytes", maxNotesLen))
	}
	return vTicket(d.LinkTicket, d.CreateTicket)
}

// vTicket checks a wrap-up's ticket: at most one of an existing ticket to
// link and a new one to create.
func vTicket(link string, t *NewTicket) *ProtocolError {
	if e := short("data.link_ticket", link, false); e != nil {
		return e
	}
	if t == nil {
		return nil
	}
	if link != "" {
		return bad("data.create_ticket", "give link_ticket or create_ticket, not both")
	}
	if strings.TrimSpace(t.Subject) == "" {
		return missing("data.create_ticket.subject")
	}
	if len(t.Subject) > 200 || strings.ContainsAny(t.Subject, "\r\n\x00") {
		return bad("data.create_ticket.subject", "at most 200 bytes on one line")
	}
	switch t.Priority {
	case "":
		t.Priority = "normal"
	case "low", "normal", "high", "urgent":
	default:
		return bad("data.create_ticket.priority", `must be "low", "normal", "high" or "urgent"`)
	}
	return nil
}

// validNumber accepts a dialable number: an optional leading +, then 2–20
// digits, ignoring spaces, dashes, dots and parentheses.
func validNumber(s string) bool {
	n := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			n++
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return n >= 2 && n <= 20
}

func vDial(v any) *ProtocolError {
	d := v.(*Dial)
	if d.Number == "" {
		return missing("data.number")
	}
	if !validNumber(d.Number) {
		return bad("data.number", "not a phone number")
	}
	return short("data.contact_id", d.ContactID, false)
}

func vSDP(v any) *ProtocolError {
	d := v.(*SDP)
	switch {
	case d.SDP == "":
		return missing("data.sdp")
	case len(d.SDP) > maxSDPLen:
		return bad("data.sdp", fmt.Sprintf("longer than %d bytes", maxSDPLen))
	case !strings.HasPrefix(d.SDP, "v=0"):
		return bad("data.sdp", `an SDP offer starts with "v=0"`)
	}
	return nil
}

func vICE(v any) *ProtocolError {
	d := v.(*ICE)
	if len(d.Candidate) > 1024 {
		return bad("data.candidate", "longer than 1024 bytes")
	}
	return nil
}

func vSupPresence(v any) *ProtocolError {
	d := v.(*SupPresenceSet)
	if e := short("data.agent_id", d.AgentID, true); e != nil {
		return e
	}
	return checkPresence("data.presence", d.Presence, "data.reason", d.Reason)
}

func vSupListen(v any) *ProtocolError {
	d := v.(*SupListen)
	if e := short("data.call_id", d.CallID, true); e != nil {
		return e
	}
	switch d.Mode {
	case "":
		d.Mode = ListenSilent
	case ListenSilent, ListenWhisper, ListenBarge:
	default:
		return bad("data.mode", `must be "listen", "whisper" or "barge"`)
	}
	return nil
}

func vCallRefListen(v any) *ProtocolError { return short("data.call_id", v.(*SupListen).CallID, true) }

func vSupPriority(v any) *ProtocolError {
	d := v.(*SupPriority)
	if e := short("data.call_id", d.CallID, true); e != nil {
		return e
	}
	if d.Priority < 0 || d.Priority > 100 {
		return bad("data.priority", "must be between 0 and 100")
	}
	return nil
}

// encode builds an outbound envelope; data is marshalled with encoding/json.
func encode(typ, id string, data any) ([]byte, error) {
	var raw json.RawMessage
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("agentdesk: encode %s: %w", typ, err)
		}
		raw = b
	}
	return json.Marshal(Envelope{V: ProtocolVersion, Type: typ, ID: id, Data: raw})
}
