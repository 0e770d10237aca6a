package agentdesk_test

import (
	"testing"
	"time"

	"switchboard/agentdesk"
)

// wrapup.submit for a call the agent does not hold is refused before
// anything is written: no ticket, no disposition on someone else's call.
func TestWrapUpOnlyForOwnCall(t *testing.T) {
	tk := fakeTickets{got: make(chan agentdesk.WrapUp, 4)}
	r := newFakeRig(t, func(c *agentdesk.Config) { c.Tickets = tk })
	a := login(t, r.srv, "a1")
	r.eng.Publish(agentdesk.WrapUpTimer{AgentID: "id-a1", CallID: "mine", Deadline: time.Now().Add(time.Minute)})
	a.waitType(agentdesk.EvWrapUpStarted)

	for _, call := range []string{"someone-elses", "never-existed"} {
		id := a.send(agentdesk.CmdWrapUp, map[string]any{"call_id": call, "disposition": "resolved",
			"create_ticket": map[string]any{"subject": "Not yours"}})
		if e := a.errorData(a.reply(id)); e.Code != agentdesk.CodeNotFound || e.Field != "data.call_id" {
			t.Fatalf("wrap-up of %s: %+v, want not_found on data.call_id", call, e)
		}
	}
	select {
	case w := <-tk.got:
		t.Fatalf("a ticket was created for a call the agent does not hold: %+v", w)
	default:
	}
	select {
	case act := <-r.eng.Actions:
		t.Fatalf("the engine was asked to wrap up: %+v", act)
	default:
	}
	// The agent's own call is wrapped up, ticket first.
	ok := a.mustOK(agentdesk.CmdWrapUp, map[string]any{"call_id": "mine", "disposition": "resolved",
		"create_ticket": map[string]any{"subject": "Yours"}})
	if d := decode[map[string]string](t, ok); d["ticket_id"] != "T-2001" {
		t.Fatalf("wrap-up reply = %v", d)
	}
	if w := <-tk.got; w.CallID != "mine" {
		t.Fatalf("ticket for %q, want mine", w.CallID)
	}
}
