package agentdesk_test

import (
	"testing"

	"switchboard/acd"
	"switchboard/acd/dialplan"
	"switchboard/agentdesk"
)

// TestACDDialPlanForbidden: click-to-dial and a transfer to a number the
// dial plan refuses are answered with a forbidden CTI error; nothing is
// dialled and the agent stays where they were.
func TestACDDialPlanForbidden(t *testing.T) {
	plan, err := dialplan.New(dialplan.Config{HomeCountry: "US"})
	if err != nil {
		t.Fatal(err)
	}
	r := newACDRigYAML(t, rigYAML, nil, acd.WithDialPlan(plan))
	a1 := login(t, r.srv, "a1")
	ready(t, a1, "id-a1")

	id := a1.send(agentdesk.CmdDial, map[string]any{"number": "+19005551234"})
	if e := a1.errorData(a1.reply(id)); e.Code != agentdesk.CodeForbidden {
		t.Fatalf("dial of a premium number: %+v, want forbidden", e)
	}
	r.enqueue(t, "call-x", "sales", nil)
	a1.waitType(agentdesk.EvCallOffered)
	a1.mustOK(agentdesk.CmdCallAnswer, map[string]any{"call_id": "call-x"})
	a1.waitType(agentdesk.EvCallAnswered)
	id = a1.send(agentdesk.CmdCallTransfer, map[string]any{"call_id": "call-x", "target": map[string]any{"kind": "number", "value": "+19005551234"}})
	if e := a1.errorData(a1.reply(id)); e.Code != agentdesk.CodeForbidden {
		t.Fatalf("transfer to a premium number: %+v, want forbidden", e)
	}
	a1.mustOK(agentdesk.CmdCallHangup, map[string]any{"call_id": "call-x"})
	a1.waitType(agentdesk.EvCallEnded)
	if d := r.phone.Dials(); len(d) != 0 {
		t.Errorf("dialled %q", d)
	}
}
