package agentdesk

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeCommand(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantType  string
		wantCode  string
		wantField string
	}{
		{"presence ready", `{"v":1,"type":"presence.set","id":"1","data":{"presence":"ready"}}`, CmdPresenceSet, "", ""},
		{"not ready needs reason", `{"v":1,"type":"presence.set","id":"1","data":{"presence":"not-ready"}}`, "", CodeMissingField, "data.reason"},
		{"ping without data", `{"v":1,"type":"ping","id":"p"}`, CmdPing, "", ""},
		{"transfer number", `{"v":1,"type":"call.transfer","id":"1","data":{"call_id":"c","target":{"kind":"number","value":"+1 415 555-0100"}}}`, CmdCallTransfer, "", ""},
		{"transfer bad number", `{"v":1,"type":"call.transfer","id":"1","data":{"call_id":"c","target":{"kind":"number","value":"12;drop"}}}`, "", CodeInvalidField, "data.target.value"},
		{"transfer bad kind", `{"v":1,"type":"call.transfer","id":"1","data":{"call_id":"c","target":{"kind":"moon","value":"x"}}}`, "", CodeInvalidField, "data.target.kind"},
		{"wrap-up both tickets", `{"v":1,"type":"wrapup.submit","id":"1","data":{"call_id":"c","disposition":"d","link_ticket":"T-1","create_ticket":{"subject":"s"}}}`, "", CodeInvalidField, "data.create_ticket"},
		{"wrap-up ticket without subject", `{"v":1,"type":"wrapup.submit","id":"1","data":{"call_id":"c","disposition":"d","create_ticket":{"priority":"high"}}}`, "", CodeMissingField, "data.create_ticket.subject"},
		{"wrap-up bad priority", `{"v":1,"type":"wrapup.submit","id":"1","data":{"call_id":"c","disposition":"d","create_ticket":{"subject":"s","priority":"meh"}}}`, "", CodeInvalidField, "data.create_ticket.priority"},
		{"dial letters", `{"v":1,"type":"call.dial","id":"1","data":{"number":"call mom"}}`, "", CodeInvalidField, "data.number"},
		{"sdp not sdp", `{"v":1,"type":"webrtc.offer","id":"1","data":{"sdp":"hello"}}`, "", CodeInvalidField, "data.sdp"},
		{"call id with CRLF", `{"v":1,"type":"call.answer","id":"1","data":{"call_id":"a\r\nb"}}`, "", CodeInvalidField, "data.call_id"},
		{"nested wrong type", `{"v":1,"type":"call.transfer","id":"1","data":{"call_id":"c","target":{"kind":1}}}`, "", CodeInvalidField, "data.target.kind"},
		{"data is a string", `{"v":1,"type":"call.answer","id":"1","data":"c1"}`, "", CodeInvalidField, "data"},
		{"id is a number", `{"v":1,"type":"ping","id":7}`, "", CodeBadEnvelope, "id"},
		{"v missing", `{"type":"ping","id":"1"}`, "", CodeBadEnvelope, "v"},
		{"listen bad mode", `{"v":1,"type":"sup.listen","id":"1","data":{"call_id":"c","mode":"spy"}}`, "", CodeInvalidField, "data.mode"},
		{"priority out of range", `{"v":1,"type":"sup.call.priority","id":"1","data":{"call_id":"c","priority":1000}}`, "", CodeInvalidField, "data.priority"},
		{"task accept", `{"v":1,"type":"task.accept","id":"1","data":{"task_id":"chat-1"}}`, CmdTaskAccept, "", ""},
		{"task without id", `{"v":1,"type":"task.complete","id":"1","data":{}}`, "", CodeMissingField, "data.task_id"},
		{"task transfer to a number", `{"v":1,"type":"task.transfer","id":"1","data":{"task_id":"t","target":{"kind":"number","value":"+14155550100"}}}`, "", CodeInvalidField, "data.target.kind"},
		{"task transfer without target", `{"v":1,"type":"task.transfer","id":"1","data":{"task_id":"t","target":{"kind":"queue"}}}`, "", CodeMissingField, "data.target.value"},
		{"task wrap-up without disposition", `{"v":1,"type":"task.wrapup","id":"1","data":{"task_id":"t"}}`, "", CodeMissingField, "data.disposition"},
		{"task id with CRLF", `{"v":1,"type":"task.reject","id":"1","data":{"task_id":"a\r\nb"}}`, "", CodeInvalidField, "data.task_id"},
		{"preview without data", `{"v":1,"type":"campaign.preview","id":"1"}`, CmdPreview, "", ""},
		{"preview of a campaign", `{"v":1,"type":"campaign.preview","id":"1","data":{"campaign_id":"spring-2026.v2_a"}}`, CmdPreview, "", ""},
		{"preview campaign id with a space", `{"v":1,"type":"campaign.preview","id":"1","data":{"campaign_id":"spring renewals"}}`, "", CodeInvalidField, "data.campaign_id"},
		{"preview campaign id too long", `{"v":1,"type":"campaign.preview","id":"1","data":{"campaign_id":"` + strings.Repeat("a", 65) + `"}}`, "", CodeInvalidField, "data.campaign_id"},
		{"preview campaign id a number", `{"v":1,"type":"campaign.preview","id":"1","data":{"campaign_id":7}}`, "", CodeInvalidField, "data.campaign_id"},
		{"preview data not an object", `{"v":1,"type":"campaign.preview","id":"1","data":[]}`, "", CodeInvalidField, "data"},
		{"campaign dial", `{"v":1,"type":"campaign.dial","id":"1","data":{"dial_id":"d 1:ü"}}`, CmdPreviewDial, "", ""},
		{"campaign dial without id", `{"v":1,"type":"campaign.dial","id":"1","data":{}}`, "", CodeMissingField, "data.dial_id"},
		{"campaign dial without data", `{"v":1,"type":"campaign.dial","id":"1"}`, "", CodeMissingField, "data"},
		{"campaign dial id too long", `{"v":1,"type":"campaign.dial","id":"1","data":{"dial_id":"` + strings.Repeat("d", 161) + `"}}`, "", CodeInvalidField, "data.dial_id"},
		{"campaign dial id with a tab", `{"v":1,"type":"campaign.dial","id":"1","data":{"dial_id":"a\tb"}}`, "", CodeInvalidField, "data.dial_id"},
		{"invalid utf-8", "{\"v\":1,\"type\":\"ping\",\"id\":\"\xff\"}", "", CodeBadJSON, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := DecodeCommand([]byte(tt.in), 1<<16)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("got error %v, want %s", err, tt.wantType)
				}
				if cmd.Type != tt.wantType {
					t.Fatalf("got type %q, want %q", cmd.Type, tt.wantType)
				}
				return
			}
			if err == nil {
				t.Fatalf("got command %+v, want error %s", cmd, tt.wantCode)
			}
			if err.Code != tt.wantCode || err.Field != tt.wantField {
				t.Fatalf("got %s/%q (%s), want %s/%q", err.Code, err.Field, err.Message, tt.wantCode, tt.wantField)
			}
		})
	}
}

// docExamples returns the JSON examples of PROTOCOL.md: the fenced blocks
// tagged "json command" and "json event".
func docExamples(t testing.TB) (commands, events []string) {
	t.Helper()
	f, err := os.Open("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cur *[]string
	var buf strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && line == "```json command":
			cur = &commands
		case cur == nil && line == "```json event":
			cur = &events
		case cur != nil && line == "```":
			*cur = append(*cur, buf.String())
			buf.Reset()
			cur = nil
		case cur != nil:
			buf.WriteString(line)
			buf.WriteByte('\n')
		}
	}
	return commands, events
}

// TestProtocolDocExamples checks that PROTOCOL.md has an example of every
// command and event type, and that each command example decodes.
func TestProtocolDocExamples(t *testing.T) {
	commands, events := docExamples(t)
	seen := map[string]bool{}
	for _, c := range commands {
		cmd, err := DecodeCommand([]byte(c), 1<<16)
		if err != nil {
			t.Errorf("PROTOCOL.md command example does not decode: %v\n%s", err, c)
			continue
		}
		seen[cmd.Type] = true
	}
	for typ := range commandSpecs {
		if !seen[typ] {
			t.Errorf("PROTOCOL.md lacks an example of command %q", typ)
		}
	}
	evTypes := []string{EvOK, EvError, EvHello, EvAgentSnapshot, EvAgentState, EvCallOffered, EvCallRescinded,
		EvCallAnswered, EvCallHeld, EvCallUnheld, EvCallXfer, EvCallEnded, EvWrapUpStarted, EvWrapUpEnded,
		EvWebRTCAnswer, EvSupSnapshot, EvSupQueue, EvSupAgent, EvTaskOffered, EvTaskState, EvChatMessage, EvChatTyping, EvChatRead, EvChatEnded, EvCallConsult, EvPreview}
	seenEv := map[string]bool{}
	for _, e := range events {
		var env Envelope
		dec := json.NewDecoder(strings.NewReader(e))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&env); err != nil || env.V != 1 || env.Type == "" {
			t.Errorf("PROTOCOL.md event example is not a v1 envelope (%v):\n%s", err, e)
			continue
		}
		seenEv[env.Type] = true
		if v, ok := eventData[env.Type]; ok {
			d := json.NewDecoder(bytes.NewReader(env.Data))
			d.DisallowUnknownFields()
			if err := d.Decode(v()); err != nil {
				t.Errorf("PROTOCOL.md %s example has members the hub does not send: %v\n%s", env.Type, err, e)
			}
		}
	}
	for _, typ := range evTypes {
		if !seenEv[typ] {
			t.Errorf("PROTOCOL.md lacks an example of event %q", typ)
		}
	}
}

// eventData are the types the hub encodes events from: their examples in
// PROTOCOL.md must use only these types' members.
var eventData = map[string]func() any{
	EvAgentSnapshot: func() any { return new(AgentSnapshot) },
	EvAgentState:    func() any { return new(AgentStatus) },
	EvCallOffered:   func() any { return new(Offer) },
	EvTaskOffered:   func() any { return new(TaskOffer) },
	EvTaskState:     func() any { return new(TaskInfo) },
	EvChatMessage:   func() any { return new(ChatEvent) },
	EvChatTyping:    func() any { return new(ChatEvent) },
	EvChatRead:      func() any { return new(ChatEvent) },
	EvChatEnded:     func() any { return new(ChatEvent) },
	EvSupSnapshot:   func() any { return new(SupSnapshot) },
	EvSupQueue:      func() any { return new(QueueView) },
	EvSupAgent:      func() any { return new(AgentView) },
	EvPreview:       func() any { return new(PreviewContact) },
}

var knownCodes = map[string]bool{
	CodeBadJSON: true, CodeBadEnvelope: true, CodeUnknownType: true, CodeMissingField: true,
	CodeInvalidField: true, CodeTooLarge: true,
}

// FuzzDecodeCommand: arbitrary bytes never panic and yield either a valid
// command or an error with a known code that names the field.
func FuzzDecodeCommand(f *testing.F) {
	cmds, _ := docExamples(f)
	for _, c := range cmds {
		f.Add([]byte(c))
	}
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"v":1}`, `{"v":1,"id":"x","type":"call.answer","data":{"call_id":null}}`,
		`{"v":1.0,"id":"x","type":"ping"}`, `{"v":"1","id":"x","type":"ping"}`, `{"v":1,"id":"x","type":"wrapup.submit","data":{"create_ticket":[]}}`,
		`{"v":1,"id":"x","type":"task.transfer","data":{"task_id":"t","target":{"kind":"agent","value":""}}}`,
		`{"v":1,"id":"x","type":"task.wrapup","data":{"task_id":"t","disposition":"d","notes":7}}`,
		`{"v":1,"id":"x","type":"campaign.preview","data":null}`, `{"v":1,"id":"x","type":"campaign.dial","data":{"dial_id":"\u0007"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := DecodeCommand(b, 4096)
		if err != nil {
			if !knownCodes[err.Code] {
				t.Fatalf("unknown error code %q", err.Code)
			}
			if err.Field == "" && err.Code != CodeBadJSON && err.Code != CodeTooLarge {
				t.Fatalf("error %s names no field", err.Code)
			}
			if !utf8.ValidString(err.Message) || !utf8.ValidString(err.ID) {
				t.Fatalf("error not valid UTF-8: %q %q", err.Message, err.ID)
			}
			if _, jerr := encode(EvError, err.ID, err.ErrorData); jerr != nil {
				t.Fatalf("error reply does not encode: %v", jerr)
			}
			return
		}
		spec, ok := commandSpecs[cmd.Type]
		if !ok || cmd.ID == "" {
			t.Fatalf("accepted invalid command %+v", cmd)
		}
		if spec.new != nil {
			if cmd.Data == nil {
				t.Fatalf("command %s without data", cmd.Type)
			}
			if e := spec.validate(cmd.Data); e != nil {
				t.Fatalf("accepted data fails validation: %v", e)
			}
			// What we accepted re-encodes and decodes to the same command.
			data, _ := json.Marshal(cmd.Data)
			env, _ := json.Marshal(Envelope{V: 1, Type: cmd.Type, ID: cmd.ID, Data: data})
			again, err2 := DecodeCommand(env, 0)
			if err2 != nil {
				t.Fatalf("re-encoded command fails: %v (%s)", err2, env)
			}
			a, _ := json.Marshal(again.Data)
			if !bytes.Equal(a, data) {
				t.Fatalf("round trip differs: %s vs %s", a, data)
			}
		}
	})
}
