package crmcore

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAgentEventValidate(t *testing.T) {
	ok := AgentEvent{ID: NewID(), At: time.Now(), Kind: AgentEventPresence, AgentID: NewID(),
		Presence: AgentPresenceNotReady, Reason: "break", Queue: "support", Channel: "phone", Wait: time.Second}
	for _, tc := range []struct {
		name   string
		change func(*AgentEvent)
		field  string
	}{
		{"valid", func(*AgentEvent) {}, ""},
		{"task event without agent", func(e *AgentEvent) { e.Kind, e.AgentID, e.Presence = AgentEventQueued, "", "" }, ""},
		{"bad id", func(e *AgentEvent) { e.ID = "x" }, "id"},
		{"no time", func(e *AgentEvent) { e.At = time.Time{} }, "at"},
		{"unknown kind", func(e *AgentEvent) { e.Kind = "exploded" }, "kind"},
		{"agent kind without agent", func(e *AgentEvent) { e.AgentID = "" }, "agent_id"},
		{"bad agent", func(e *AgentEvent) { e.AgentID = "alice" }, "agent_id"},
		{"bad interaction", func(e *AgentEvent) { e.InteractionID = "1" }, "interaction_id"},
		{"bad channel", func(e *AgentEvent) { e.Channel = "Voice Mail" }, "channel"},
		{"unknown presence", func(e *AgentEvent) { e.Presence = "asleep" }, "presence"},
		{"presence missing", func(e *AgentEvent) { e.Presence = "" }, "presence"},
		{"unknown state", func(e *AgentEvent) { e.Kind, e.State = AgentEventState, "dancing" }, "state"},
		{"state missing", func(e *AgentEvent) { e.Kind = AgentEventState }, "state"},
		{"negative wait", func(e *AgentEvent) { e.Wait = -time.Second }, "wait_ms"},
		{"huge wait", func(e *AgentEvent) { e.Wait = MaxAgentEventWait + 1 }, "wait_ms"},
		{"queue with newline", func(e *AgentEvent) { e.Queue = "a\nb" }, "queue"},
		{"long reason", func(e *AgentEvent) { e.Reason = strings.Repeat("x", MaxShortField+1) }, "reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ok
			tc.change(&e)
			err := e.Validate()
			var fe *FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalid)):
				t.Fatalf("got %v, want an invalid %s", err, tc.field)
			}
		})
	}
}

func TestAgentEventJSON(t *testing.T) {
	e := AgentEvent{ID: NewID(), At: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Kind: AgentEventAbandoned,
		Queue: "support", Wait: 2500 * time.Millisecond}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"wait_ms":2500`) {
		t.Errorf("json = %s", b)
	}
	var got AgentEvent
	if err := json.Unmarshal(b, &got); err != nil || got != e {
		t.Errorf("round trip = %+v, %v; want %+v", got, err, e)
	}
}
