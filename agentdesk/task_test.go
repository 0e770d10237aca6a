package agentdesk_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/agentdesk"
)

// newChatRig is the ACD rig with a fake chat channel.
func newChatRig(t *testing.T, mod func(*agentdesk.Config)) (*acdRig, *acdtest.Channel) {
	t.Helper()
	ch := acdtest.NewChannel()
	return newACDRigYAML(t, rigYAML, mod, acd.WithChannel(acd.ChannelChat, ch)), ch
}

// chatCRM is a chat customer's CRM lookup.
var chatCRM = map[string]any{"contact": map[string]any{"id": "ct-7", "name": "Chatty Cathy", "segment": "vip"}}

// submitChat queues a chat task in the support queue.
func (r *acdRig) submitChat(t *testing.T, id string) {
	t.Helper()
	if _, err := r.eng.Submit(context.Background(), acd.Task{ID: acd.TaskID(id), Channel: acd.ChannelChat, Queue: "support",
		Customer: "ct-7", Data: chatCRM}); err != nil {
		t.Fatalf("submit %s: %v", id, err)
	}
}

// freshSnapshot asks for the desk's snapshot and returns it.
func freshSnapshot(t *testing.T, c *wsClient) agentdesk.AgentSnapshot {
	t.Helper()
	kept := c.backlog[:0]
	for _, m := range c.backlog {
		if m.Type != agentdesk.EvAgentSnapshot {
			kept = append(kept, m)
		}
	}
	c.backlog = kept
	c.mustOK(agentdesk.CmdResync, nil)
	return decode[agentdesk.AgentSnapshot](t, c.waitType(agentdesk.EvAgentSnapshot))
}

// isTask matches a task.state of task id in state.
func isTask(id, state string) func(agentdesk.Envelope) bool {
	return func(m agentdesk.Envelope) bool {
		if m.Type != agentdesk.EvTaskState {
			return false
		}
		var ti agentdesk.TaskInfo
		json.Unmarshal(m.Data, &ti)
		return ti.TaskID == id && ti.State == state
	}
}

// isOffered matches the pop of task id.
func isOffered(id string) func(agentdesk.Envelope) bool {
	return func(m agentdesk.Envelope) bool {
		if m.Type != agentdesk.EvTaskOffered {
			return false
		}
		var o agentdesk.TaskOffer
		json.Unmarshal(m.Data, &o)
		return o.TaskID == id
	}
}

// hasLoad matches an agent.state whose load is want.
func hasLoad(want map[string]int) func(agentdesk.Envelope) bool {
	return func(m agentdesk.Envelope) bool {
		return m.Type == agentdesk.EvAgentState && cmp.Equal(decodeStatus(m).Load, want)
	}
}

// An agent holds a call and two chats at once: each chat pops on the desk
// with its channel, queue, customer and ring deadline, is accepted over
// the CTI, and the voice call is offered and answered beside them (chats
// do not block voice). The desk's status, its snapshot and the
// supervisor's view show the load per channel against the capacity.
func TestACDCallAndChatsAtOnce(t *testing.T) {
	r, chat := newChatRig(t, nil)
	sup := login(t, r.srv, "sup")
	a1 := login(t, r.srv, "a1")
	ready(t, a1, "id-a1")
	st := freshSnapshot(t, a1).Status
	if want := map[string]int{"voice": 1, "callback": 1, "chat": 3}; !cmp.Equal(st.Capacity, want) || st.Load != nil {
		t.Fatalf("capacity = %v load %v, want %v and nothing held", st.Capacity, st.Load, want)
	}

	r.submitChat(t, "chat-1")
	r.submitChat(t, "chat-2")
	for _, id := range []string{"chat-1", "chat-2"} {
		pop := decode[agentdesk.TaskOffer](t, a1.waitFor("pop of "+id, isOffered(id)))
		if pop.Channel != "chat" || pop.Queue != "support" || pop.Customer != "ct-7" || pop.AgentID != "id-a1" ||
			pop.Deadline.IsZero() || pop.TimeoutSec != 30 || len(pop.Reasons) == 0 {
			t.Fatalf("pop of %s = %+v", id, pop)
		}
		if name := pop.Data.(map[string]any)["contact"].(map[string]any)["name"]; name != "Chatty Cathy" {
			t.Fatalf("pop crm = %v", pop.Data)
		}
		select {
		case o := <-chat.Offers:
			if o.Agent != "id-a1" {
				t.Fatalf("channel offer = %+v", o)
			}
		case <-time.After(waitLimit):
			t.Fatalf("the chat channel was not told of the offer of %s", id)
		}
	}
	// A stale or wrong id never acts.
	id := a1.send(agentdesk.CmdTaskAccept, map[string]any{"task_id": "chat-zzz"})
	if e := a1.errorData(a1.reply(id)); e.Code != agentdesk.CodeNotFound || e.Field != "data.task_id" {
		t.Fatalf("accept of an unknown task: %+v", e)
	}
	id = a1.send(agentdesk.CmdTaskComplete, map[string]any{"task_id": "chat-1"})
	if e := a1.errorData(a1.reply(id)); e.Code != agentdesk.CodeInvalidState {
		t.Fatalf("complete of an offered task: %+v", e)
	}
	for _, id := range []string{"chat-1", "chat-2"} {
		a1.mustOK(agentdesk.CmdTaskAccept, map[string]any{"task_id": id})
		a1.waitFor(id+" active", isTask(id, agentdesk.TaskStateActive))
		if ag, ok := chat.Accepted(acd.TaskID(id)); !ok || ag != "id-a1" {
			t.Fatalf("channel told %s accepted by %q (%v)", id, ag, ok)
		}
	}

	// The call arrives beside the chats.
	r.enqueue(t, "call-1", "sales", testCRM)
	if p := decode[agentdesk.Offer](t, a1.waitType(agentdesk.EvCallOffered)); p.CallID != "call-1" || p.Channel != "voice" || p.Deadline.IsZero() {
		t.Fatalf("call pop = %+v", p)
	}
	a1.mustOK(agentdesk.CmdCallAnswer, map[string]any{"call_id": "call-1"})
	a1.waitType(agentdesk.EvCallAnswered)
	a1.waitFor("load voice 1, chat 2", hasLoad(map[string]int{"voice": 1, "chat": 2}))

	snap := freshSnapshot(t, a1)
	if snap.Call == nil || snap.Call.CallID != "call-1" || len(snap.Tasks) != 2 {
		t.Fatalf("snapshot call %+v tasks %+v", snap.Call, snap.Tasks)
	}
	for _, tv := range snap.Tasks {
		if tv.Channel != "chat" || tv.State != agentdesk.TaskStateActive || tv.Pop == nil || tv.Pop.Customer != "ct-7" {
			t.Fatalf("snapshot task = %+v pop %+v", tv.TaskInfo, tv.Pop)
		}
	}
	if want := map[string]int{"voice": 1, "chat": 2}; !cmp.Equal(snap.Status.Load, want) {
		t.Fatalf("snapshot load = %v, want %v", snap.Status.Load, want)
	}
	sup.waitFor("supervisor sees the call and two chats", func(m agentdesk.Envelope) bool {
		if m.Type != agentdesk.EvSupAgent {
			return false
		}
		v := decode[agentdesk.AgentView](t, m)
		return v.AgentID == "id-a1" && v.Call != nil && len(v.Tasks) == 2 && cmp.Equal(v.Load, map[string]int{"voice": 1, "chat": 2})
	})

	// A fresh hub subscription (the engine's snapshot) shows the same.
	r2 := agentdesk.NewACD(r.eng, agentdesk.ACDOptions{})
	st2, feed, err := r2.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	feed.Close()
	if len(st2.Tasks) != 2 || len(st2.Calls) != 1 {
		t.Fatalf("state from the engine's snapshot: tasks %+v calls %+v", st2.Tasks, st2.Calls)
	}
}

// Accept, reject, complete, wrap-up and transfer of chat tasks over the
// CTI: a rejected offer leaves the desk and goes on; a completed chat is
// wrapped up with a disposition and its channel told; a transferred chat
// is offered to the agent named and accepted there.
func TestACDChatTaskLifecycle(t *testing.T) {
	r, chat := newChatRig(t, nil)
	a1 := login(t, r.srv, "a1")
	a2 := login(t, r.srv, "a2")
	ready(t, a1, "id-a1")
	r.submitChat(t, "chat-1")
	a1.waitFor("pop of chat-1", isOffered("chat-1"))
	a1.mustOK(agentdesk.CmdTaskAccept, map[string]any{"task_id": "chat-1"})
	a1.waitFor("chat-1 active", isTask("chat-1", agentdesk.TaskStateActive))

	// a1 takes a call, which blocks further offers: chat-2 goes to a2,
	// who rejects it.
	r.enqueue(t, "call-1", "sales", nil)
	a1.waitType(agentdesk.EvCallOffered)
	a1.mustOK(agentdesk.CmdCallAnswer, map[string]any{"call_id": "call-1"})
	a1.waitType(agentdesk.EvCallAnswered)
	ready(t, a2, "id-a2")
	r.submitChat(t, "chat-2")
	a2.waitFor("pop of chat-2", isOffered("chat-2"))
	a2.mustOK(agentdesk.CmdTaskReject, map[string]any{"task_id": "chat-2"})
	ended := decode[agentdesk.TaskInfo](t, a2.waitFor("chat-2 ended", isTask("chat-2", agentdesk.TaskStateEnded)))
	if ended.Reason != "rejected" {
		t.Fatalf("chat-2 ended = %+v", ended)
	}
	a1.noneBeforePing(agentdesk.EvTaskOffered)

	// a1 completes chat-1: wrap-up until the disposition.
	a1.mustOK(agentdesk.CmdTaskComplete, map[string]any{"task_id": "chat-1"})
	wu := decode[agentdesk.TaskInfo](t, a1.waitFor("chat-1 wrap-up", isTask("chat-1", agentdesk.TaskStateWrapUp)))
	if d := wu.Deadline.Sub(wu.Since); d != time.Minute {
		t.Fatalf("wrap-up deadline %v after its start, want the engine's 1m", d)
	}
	if out, ok := chat.Ended("chat-1"); !ok || out != acd.OutcomeAnswered {
		t.Fatalf("channel told chat-1 ended %q (%v)", out, ok)
	}
	id := a1.send(agentdesk.CmdTaskWrapUp, map[string]any{"task_id": "chat-1", "disposition": "sold-a-boat"})
	if e := a1.errorData(a1.reply(id)); e.Field != "data.disposition" {
		t.Fatalf("unknown disposition: %+v", e)
	}
	id = a1.send(agentdesk.CmdTaskWrapUp, map[string]any{"task_id": "chat-1", "disposition": "resolved",
		"create_ticket": map[string]any{"subject": "follow up"}})
	if e := a1.errorData(a1.reply(id)); e.Code != agentdesk.CodeUnsupported || e.Field != "data.create_ticket" {
		t.Fatalf("a ticket with no ticketing wired: %+v", e)
	}
	id = a1.send(agentdesk.CmdTaskWrapUp, map[string]any{"task_id": "chat-1", "disposition": "resolved", "link_ticket": "T-1",
		"create_ticket": map[string]any{"subject": "follow up"}})
	if e := a1.errorData(a1.reply(id)); e.Field != "data.create_ticket" {
		t.Fatalf("link and create at once: %+v", e)
	}
	a1.mustOK(agentdesk.CmdTaskWrapUp, map[string]any{"task_id": "chat-1", "disposition": "resolved", "notes": "sent the manual"})
	done := decode[agentdesk.TaskInfo](t, a1.waitFor("chat-1 ended", isTask("chat-1", agentdesk.TaskStateEnded)))
	if done.Reason != "completed" {
		t.Fatalf("chat-1 ended = %+v", done)
	}
	ic := waitEngine(t, r, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "chat-1" })
	if ic.Interaction.Disposition != "resolved" || ic.Interaction.Notes != "sent the manual" || ic.Interaction.Agent != "id-a1" {
		t.Fatalf("interaction = %+v", ic.Interaction)
	}
	a1.waitFor("load voice 1", hasLoad(map[string]int{"voice": 1}))

	// a1 hangs up and wraps up the call: free of voice, a1 gets chat-2
	// (a2 rejected it) and transfers it to a2 by name.
	a1.mustOK(agentdesk.CmdCallHangup, map[string]any{"call_id": "call-1"})
	a1.waitType(agentdesk.EvWrapUpStarted)
	a1.mustOK(agentdesk.CmdWrapUp, map[string]any{"call_id": "call-1", "disposition": "resolved"})
	a1.waitType(agentdesk.EvWrapUpEnded)
	a1.waitFor("pop of chat-2 on a1", isOffered("chat-2"))
	a1.mustOK(agentdesk.CmdTaskAccept, map[string]any{"task_id": "chat-2"})
	a1.waitFor("chat-2 active on a1", isTask("chat-2", agentdesk.TaskStateActive))
	id = a1.send(agentdesk.CmdTaskTransfer, map[string]any{"task_id": "chat-2", "target": map[string]any{"kind": "number", "value": "+14155550100"}})
	if e := a1.errorData(a1.reply(id)); e.Code != agentdesk.CodeInvalidField || e.Field != "data.target.kind" {
		t.Fatalf("transfer of a chat to a number: %+v", e)
	}
	a1.mustOK(agentdesk.CmdTaskTransfer, map[string]any{"task_id": "chat-2", "target": map[string]any{"kind": "agent", "value": "id-a2"}})
	x := decode[agentdesk.TaskInfo](t, a1.waitFor("chat-2 transferred", isTask("chat-2", agentdesk.TaskStateTransferred)))
	if x.Target != "id-a2" {
		t.Fatalf("transferred = %+v", x)
	}
	part := decode[agentdesk.TaskInfo](t, a1.waitFor("a1 wraps up its part", isTask("chat-2", agentdesk.TaskStateWrapUp)))
	if part.Target != "id-a2" {
		t.Fatalf("wrap-up of the part handed on = %+v", part)
	}
	// a1 wraps up its own part: a1's record says transferred, with a1's
	// disposition, and chat-2 goes on with a2.
	a1.mustOK(agentdesk.CmdTaskWrapUp, map[string]any{"task_id": "chat-2", "disposition": "resolved", "notes": "billing question"})
	a1.waitFor("a1's part of chat-2 ended", isTask("chat-2", agentdesk.TaskStateEnded))
	ic = waitEngine(t, r, func(e *acd.InteractionCompleted) bool {
		return e.Interaction.CallID == "chat-2" && e.Interaction.Agent == "id-a1"
	})
	if ic.Interaction.Outcome != acd.OutcomeTransferred || ic.Interaction.Disposition != "resolved" || ic.Interaction.Notes != "billing question" {
		t.Fatalf("a1's interaction of chat-2 = %+v", ic.Interaction)
	}
	a2.waitFor("pop of the transferred chat-2 on a2", isOffered("chat-2"))
	a2.mustOK(agentdesk.CmdTaskAccept, map[string]any{"task_id": "chat-2"})
	a2.waitFor("chat-2 active on a2", isTask("chat-2", agentdesk.TaskStateActive))
	if ag, _ := chat.Accepted("chat-2"); ag != "id-a2" {
		t.Fatalf("channel told chat-2 accepted by %q, want id-a2", ag)
	}
}

// The hub's task mechanics on the fake engine: several offers at once on
// one desk, each acted on by its id; a desk that drops hands its offered
// tasks (not its active ones) back at once; an offer to an agent with no
// desk is handed back.
func TestHubTaskOffersFakeEngine(t *testing.T) {
	r := newFakeRig(t, nil)
	a1 := login(t, r.srv, "a1")
	a1.waitType(agentdesk.EvAgentSnapshot)
	now := time.Now().UTC()
	r.eng.Publish(agentdesk.AgentStatus{AgentID: "id-a1", Presence: "ready", State: "idle", Since: now,
		Capacity: map[string]int{"voice": 1, "chat": 3}})
	for _, id := range []string{"chat-1", "chat-2", "chat-3"} {
		r.eng.Publish(agentdesk.TaskOffer{TaskID: id, Channel: "chat", AgentID: "id-a1", Queue: "support",
			Deadline: now.Add(30 * time.Second), DecidedAt: now})
		a1.waitFor("pop of "+id, isOffered(id))
	}
	a1.waitFor("load chat 3", hasLoad(map[string]int{"chat": 3}))
	a1.mustOK(agentdesk.CmdTaskAccept, map[string]any{"task_id": "chat-2"})
	if got := <-r.eng.Tasks; got.AgentID != "id-a1" || got.Action != agentdesk.TaskActAccept || got.TaskID != "chat-2" {
		t.Fatalf("engine got %+v, want accept of chat-2", got)
	}
	r.eng.Publish(agentdesk.TaskInfo{TaskID: "chat-2", Channel: "chat", AgentID: "id-a1", State: agentdesk.TaskStateActive, Since: now})
	a1.waitFor("chat-2 active", isTask("chat-2", agentdesk.TaskStateActive))
	a1.mustOK(agentdesk.CmdTaskWrapUp, map[string]any{"task_id": "chat-2", "disposition": "resolved"})
	if got := <-r.eng.Tasks; got.Action != agentdesk.TaskActWrapUp || got.WrapUp == nil || got.WrapUp.Disposition != "resolved" {
		t.Fatalf("engine got %+v, want the wrap-up of chat-2", got)
	}

	a1.conn.Close()
	handed := map[string]bool{}
	for range 2 {
		got := <-r.eng.Tasks
		if got.Action != agentdesk.TaskActReject {
			t.Fatalf("engine got %+v, want offers handed back", got)
		}
		handed[got.TaskID] = true
	}
	if !handed["chat-1"] || !handed["chat-3"] {
		t.Fatalf("handed back %v, want chat-1 and chat-3", handed)
	}
	r.eng.Publish(agentdesk.TaskOffer{TaskID: "chat-4", Channel: "chat", AgentID: "id-a2", Queue: "support", DecidedAt: now})
	if got := <-r.eng.Tasks; got.AgentID != "id-a2" || got.TaskID != "chat-4" || got.Action != agentdesk.TaskActReject {
		t.Fatalf("engine got %+v, want chat-4 handed back (no desk)", got)
	}
	select {
	case got := <-r.eng.Tasks:
		t.Fatalf("unexpected task action %+v", got)
	default:
	}
}

// A task handed on to a queue may come back to the same agent while their
// part is still in wrap-up: the end of that wrap-up leaves the new part
// on the desk.
func TestHubTaskBackToSameAgent(t *testing.T) {
	r := newFakeRig(t, nil)
	a1 := login(t, r.srv, "a1")
	a1.waitType(agentdesk.EvAgentSnapshot)
	now := time.Now().UTC()
	info := func(state, target, reason string) agentdesk.TaskInfo {
		return agentdesk.TaskInfo{TaskID: "chat-1", Channel: "chat", AgentID: "id-a1", State: state, Since: now, Target: target, Reason: reason}
	}
	r.eng.Publish(agentdesk.TaskOffer{TaskID: "chat-1", Channel: "chat", AgentID: "id-a1", Queue: "support", DecidedAt: now})
	r.eng.Publish(info(agentdesk.TaskStateActive, "", ""))
	r.eng.Publish(info(agentdesk.TaskStateTransferred, "support", ""))
	r.eng.Publish(info(agentdesk.TaskStateWrapUp, "", ""))
	if wu := decode[agentdesk.TaskInfo](t, a1.waitFor("wrap-up of the part handed on", isTask("chat-1", agentdesk.TaskStateWrapUp))); wu.Target != "support" {
		t.Fatalf("wrap-up = %+v, want its target kept", wu)
	}
	// The first part's active state stays in the backlog: the wait is
	// for the new part's.
	a1.backlog = slices.DeleteFunc(a1.backlog, isTask("chat-1", agentdesk.TaskStateActive))
	r.eng.Publish(agentdesk.TaskOffer{TaskID: "chat-1", Channel: "chat", AgentID: "id-a1", Queue: "support", DecidedAt: now})
	r.eng.Publish(info(agentdesk.TaskStateActive, "", ""))
	a1.waitFor("the new part active", isTask("chat-1", agentdesk.TaskStateActive))
	r.eng.Publish(info(agentdesk.TaskStateEnded, "", agentdesk.ReasonCompleted))
	snap := freshSnapshot(t, a1)
	if len(snap.Tasks) != 1 || snap.Tasks[0].State != agentdesk.TaskStateActive || snap.Tasks[0].Target != "" {
		t.Fatalf("desk tasks = %+v, want the new part active", snap.Tasks)
	}
}
