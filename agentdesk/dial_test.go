package agentdesk_test

import (
	"slices"
	"strings"
	"testing"

	"switchboard/agentdesk"
)

// Click-to-dial with no route to the number is a clear CTI error and
// rings nobody; one whose customer leg fails after the agent answered ends
// with the reason and no wrap-up. The agent stays ready.
func TestDialFailuresKeepAgentReady(t *testing.T) {
	r := newACDRig(t, nil)
	a1 := login(t, r.srv, "a1")
	ready(t, a1, "id-a1")

	r.phone.Unroutable.Store(true)
	id := a1.send(agentdesk.CmdDial, map[string]any{"number": "+14155550123"})
	e := a1.errorData(a1.reply(id))
	if e.Code != agentdesk.CodeUnreachable || e.Field != "data.number" || !strings.Contains(e.Message, "no route") {
		t.Fatalf("dial without a route: %+v, want unreachable on data.number saying why", e)
	}
	if s := freshSnapshot(t, a1); s.Status.Presence != "ready" || s.Status.State != "idle" || s.WrapUp != nil {
		t.Fatalf("after the refused dial: %+v, want ready and idle without wrap-up", s)
	}

	r.phone.Unroutable.Store(false)
	r.phone.DialFail.Store(true)
	a1.backlog = slices.DeleteFunc(a1.backlog, func(m agentdesk.Envelope) bool { return m.Type == agentdesk.EvAgentState })
	ok := decode[map[string]string](t, a1.mustOK(agentdesk.CmdDial, map[string]any{"number": "+14155550123"}))
	ended := decode[agentdesk.CallInfo](t, a1.waitType(agentdesk.EvCallEnded))
	if ended.CallID != ok["call_id"] || ended.Cause != "failed" || !strings.Contains(ended.Reason, "dial failed") {
		t.Fatalf("call.ended = %+v, want call %s failed with the reason", ended, ok["call_id"])
	}
	// The agent's state change follows call.ended in the engine's feed and
	// may reach the hub in a later batch than it.
	a1.waitFor("a1 idle after the call", func(m agentdesk.Envelope) bool {
		return m.Type == agentdesk.EvAgentState && decodeStatus(m).State == "idle"
	})
	a1.noneBeforePing(agentdesk.EvWrapUpStarted)
	if s := freshSnapshot(t, a1); s.Status.Presence != "ready" || s.Status.State != "idle" || s.WrapUp != nil {
		t.Fatalf("after the failed dial: %+v, want ready and idle without wrap-up", s)
	}
}
