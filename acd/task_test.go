package acd_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
	"switchboard/acd/acdtest"
)

const taskYAML = `
queues:
  - name: sales
    skills: [{skill: sales, level: 1}]
  - name: chat
    skills: [{skill: chat, level: 1}]
  - name: email
    skills: [{skill: email, level: 1}]
`

// taskHarness is a harness with fake chat and email channels.
type taskHarness struct {
	*harness
	chat, email *acdtest.Channel
}

func newTaskHarness(t *testing.T, yaml string) *taskHarness {
	t.Helper()
	chat, email := acdtest.NewChannel(), acdtest.NewChannel()
	h := newHarness(t, yaml, acd.WithChannel(acd.ChannelChat, chat), acd.WithChannel(acd.ChannelEmail, email))
	return &taskHarness{harness: h, chat: chat, email: email}
}

func (h *taskHarness) submit(id string, ch acd.Channel) {
	h.t.Helper()
	q := string(ch)
	if _, err := h.e.Submit(h.ctx, acd.Task{ID: acd.TaskID(id), Channel: ch, Queue: q, Customer: "cust-" + id}); err != nil {
		h.t.Fatalf("submit %s: %v", id, err)
	}
}

// offer waits for the next offer presented on ch.
func (h *taskHarness) offer(ch *acdtest.Channel) acd.Offer {
	h.t.Helper()
	select {
	case o := <-ch.Offers:
		return o
	case <-time.After(10 * time.Second):
		h.t.Fatal("no offer")
		return acd.Offer{}
	}
}

// tasks returns agent id's tasks by state, from a snapshot.
func (h *taskHarness) tasks(id string) map[acd.TaskState][]acd.TaskID {
	h.t.Helper()
	out := map[acd.TaskState][]acd.TaskID{}
	for _, t := range h.agentState(id).Tasks {
		out[t.State] = append(out[t.State], t.ID)
	}
	return out
}

func (h *taskHarness) accept(agent, id string) {
	h.t.Helper()
	if err := h.e.Accept(h.ctx, acd.AgentID(agent), acd.TaskID(id)); err != nil {
		h.t.Fatalf("accept %s: %v", id, err)
	}
}

func (h *taskHarness) complete(id string) {
	h.t.Helper()
	if err := h.e.Complete(h.ctx, acd.TaskID(id)); err != nil {
		h.t.Fatalf("complete %s: %v", id, err)
	}
}

// TestChatCapacity: an agent with chat capacity 3 is offered three chats
// at once, not a fourth; when one completes, the fourth is offered. An
// agent's own capacity overrides the default.
func TestChatCapacity(t *testing.T) {
	h := newTaskHarness(t, taskYAML)
	h.login("a1", true, sk("chat", 1))
	for _, id := range []string{"t1", "t2", "t3", "t4"} {
		h.submit(id, acd.ChannelChat)
	}
	for range 3 {
		if o := h.offer(h.chat); o.Agent != "a1" || o.Call.Channel != acd.ChannelChat || o.Call.Customer == "" {
			t.Fatalf("offer = %+v, want a chat with its customer to a1", o)
		}
	}
	if got := h.tasks("a1")[acd.TaskOffered]; len(got) != 3 {
		t.Fatalf("a1 offered %v, want three chats", got)
	}
	for _, id := range []string{"t1", "t2", "t3"} {
		h.accept("a1", id)
	}
	if got := h.tasks("a1"); len(got[acd.TaskActive]) != 3 || len(got[acd.TaskOffered]) != 0 {
		t.Fatalf("a1 tasks = %v, want three active and no fourth offer", got)
	}
	h.complete("t2") // no wrap-up: the capacity is free at once
	if o := h.offer(h.chat); o.Call.ID != "t4" || o.Agent != "a1" {
		t.Fatalf("offer = %s to %s, want t4 to a1", o.Call.ID, o.Agent)
	}
	eventually(t, "channel told of t2's end", func() bool { out, ok := h.chat.Ended("t2"); return ok && out == acd.OutcomeAnswered })

	// An override of one chat: a2 takes one chat, not two.
	h.loginSpec(acd.AgentSpec{ID: "a2", Skills: []acd.SkillLevel{sk("chat", 1)}, Capacity: map[acd.Channel]int{acd.ChannelChat: 1}, Ready: true})
	h.submit("t5", acd.ChannelChat)
	h.submit("t6", acd.ChannelChat)
	if o := h.offer(h.chat); o.Call.ID != "t5" || o.Agent != "a2" {
		t.Fatalf("offer = %s to %s, want t5 to a2", o.Call.ID, o.Agent)
	}
	if got := h.tasks("a2"); len(got[acd.TaskOffered]) != 1 {
		t.Fatalf("a2 tasks = %v, want one offer", got)
	}
}

// TestVoiceBlocksOffers: an agent on a call is offered no chat; the chats
// already open continue (and complete); after the call, chat offers
// resume.
func TestVoiceBlocksOffers(t *testing.T) {
	h := newTaskHarness(t, taskYAML)
	h.login("a1", true, sk("sales", 1), sk("chat", 1))
	h.submit("t1", acd.ChannelChat)
	h.offer(h.chat)
	h.accept("a1", "t1")
	leg := h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	h.ring().Answer()
	waitFor(h.harness, func(e *acd.CallAnswered) bool { return e.CallID == "c1" && e.Channel == acd.ChannelVoice })
	h.submit("t2", acd.ChannelChat)
	h.sync()
	if s := h.agentState("a1"); s.State != acd.StateOnCall || len(s.Tasks) != 1 || s.Tasks[0].ID != "t1" {
		t.Fatalf("a1 = %s with %+v, want on-call with t1 only", s.State, s.Tasks)
	}
	h.complete("t1") // an open chat continues during the call
	if got := h.tasks("a1"); len(got) != 0 {
		t.Fatalf("a1 tasks = %v after t1 completed during the call, want none (t2 blocked)", got)
	}
	leg.End()
	if o := h.offer(h.chat); o.Call.ID != "t2" || o.Agent != "a1" {
		t.Fatalf("offer = %s to %s, want t2 to a1 after the call", o.Call.ID, o.Agent)
	}
}

// TestTotalCap: with a total cap of two, an agent with room for three
// chats and five emails holds two tasks across channels.
func TestTotalCap(t *testing.T) {
	h := newTaskHarness(t, taskYAML+"capacity: {total: 2}\n")
	h.login("a1", true, sk("chat", 1), sk("email", 1))
	h.submit("t1", acd.ChannelChat)
	h.submit("m1", acd.ChannelEmail)
	h.submit("t2", acd.ChannelChat)
	h.offer(h.chat)
	h.offer(h.email)
	if got := h.tasks("a1")[acd.TaskOffered]; len(got) != 2 {
		t.Fatalf("a1 offered %v, want t1 and m1 only", got)
	}
	h.accept("a1", "m1")
	h.complete("m1")
	if o := h.offer(h.chat); o.Call.ID != "t2" {
		t.Fatalf("offer = %s, want t2 under the cap", o.Call.ID)
	}
}

// TestCallAndChats: an agent holds a call and two chats at once; the chat
// channel is told of the offers, the acceptances and the ends, and the
// snapshot shows the call and both chats.
func TestCallAndChats(t *testing.T) {
	h := newTaskHarness(t, taskYAML+"wrap_up: 30s\n")
	h.login("a1", true, sk("sales", 1), sk("chat", 1))
	h.submit("t1", acd.ChannelChat)
	h.submit("t2", acd.ChannelChat)
	h.offer(h.chat)
	h.offer(h.chat)
	h.accept("a1", "t1")
	h.accept("a1", "t2")
	for _, id := range []acd.TaskID{"t1", "t2"} {
		eventually(t, "channel told of the acceptance", func() bool { a, ok := h.chat.Accepted(id); return ok && a == "a1" })
	}
	leg := h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	h.ring().Answer()
	waitFor(h.harness, func(e *acd.CallAnswered) bool { return e.CallID == "c1" })
	s := h.agentState("a1")
	if s.State != acd.StateOnCall || s.CallID != "c1" || len(s.Tasks) != 2 || s.Load <= 0 {
		t.Fatalf("a1 = %s %s with %+v (load %v), want on c1 with two chats", s.State, s.CallID, s.Tasks, s.Load)
	}
	h.complete("t1")
	ts := waitFor(h.harness, func(e *acd.TaskStateChanged) bool { return e.TaskID == "t1" && e.State == acd.TaskWrapUp })
	if ts.Channel != acd.ChannelChat || ts.Agent != "a1" || !ts.WrapUpEnd.Equal(t0.Add(30*time.Second)) {
		t.Errorf("wrap-up event = %+v, want chat by a1 until +30s", ts)
	}
	if err := h.e.WrapTask(h.ctx, "a1", "t1", "resolved", "ok"); err != nil {
		t.Fatal(err)
	}
	it := waitFor(h.harness, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "t1" })
	if it.Interaction.Channel != acd.ChannelChat || it.Interaction.Agent != "a1" || it.Interaction.Disposition != "resolved" {
		t.Errorf("interaction = %+v", it.Interaction)
	}
	leg.End()
	waitFor(h.harness, func(e *acd.AgentStateChanged) bool { return e.Agent == "a1" && e.State == acd.StateWrapUp })
	h.complete("t2")
	h.advance(30 * time.Second)
	if s := h.agentState("a1"); s.State != acd.StateIdle || len(s.Tasks) != 0 {
		t.Fatalf("a1 = %s with %+v, want idle without tasks", s.State, s.Tasks)
	}
	eventually(t, "channel told of t2's end", func() bool { _, ok := h.chat.Ended("t2"); return ok })
}

// TestOccupancyRouting: when routing weighs occupancy alone, a chat goes
// to the agent using less of their capacity (a tie would go to a1).
func TestOccupancyRouting(t *testing.T) {
	h := newTaskHarness(t, `
queues:
  - name: chat
    strategy: least-occupied
    weights: {occupancy: 1, skill: 0, idle: 0, calls: 0, geo: 0, language: 0, timezone: 0, sticky: 0, fairness: 0}
    skills: [{skill: chat, level: 1}]
`)
	h.login("a1", true, sk("chat", 1))
	h.login("a2", false, sk("chat", 1))
	h.submit("t1", acd.ChannelChat)
	h.submit("t2", acd.ChannelChat)
	h.offer(h.chat)
	h.offer(h.chat)
	h.accept("a1", "t1")
	h.accept("a1", "t2")
	if err := h.e.SetPresence(h.ctx, "a2", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	h.submit("t3", acd.ChannelChat)
	o := h.offer(h.chat)
	if o.Agent != "a2" {
		t.Fatalf("t3 offered to %s, want a2 (a1 holds two of three chats)", o.Agent)
	}
	ev := waitFor(h.harness, func(e *acd.CallOffered) bool { return e.Call.ID == "t3" })
	found := false
	for _, r := range ev.Reasons {
		found = found || r.Factor == "occupancy"
	}
	if !found {
		t.Errorf("reasons = %+v, want occupancy", ev.Reasons)
	}
}

// TestTaskTransitionsRefused: accepting an active task, rejecting it, or
// completing an offered one are refused and change nothing; an unknown
// channel or another agent's task are refused too.
func TestTaskTransitionsRefused(t *testing.T) {
	h := newTaskHarness(t, taskYAML)
	h.login("a1", true, sk("chat", 1))
	h.login("a2", true)
	if _, err := h.e.Submit(h.ctx, acd.Task{ID: "x", Channel: acd.ChannelTicket, Queue: "chat"}); !errors.Is(err, acd.ErrNotSupported) {
		t.Errorf("submit ticket without adapter = %v, want ErrNotSupported", err)
	}
	if _, err := h.e.Submit(h.ctx, acd.Task{ID: "x", Channel: acd.ChannelVoice, Queue: "chat"}); !errors.Is(err, acd.ErrNotSupported) {
		t.Errorf("submit voice = %v, want ErrNotSupported", err)
	}
	h.submit("t1", acd.ChannelChat)
	h.offer(h.chat)
	if err := h.e.Complete(h.ctx, "t1"); !errors.Is(err, acd.ErrTransition) {
		t.Errorf("complete offered = %v, want ErrTransition", err)
	}
	if err := h.e.Accept(h.ctx, "a2", "t1"); !errors.Is(err, acd.ErrNoCall) {
		t.Errorf("accept by a2 = %v, want ErrNoCall", err)
	}
	h.accept("a1", "t1")
	if err := h.e.Accept(h.ctx, "a1", "t1"); !errors.Is(err, acd.ErrTransition) {
		t.Errorf("accept active = %v, want ErrTransition", err)
	}
	if err := h.e.RejectTask(h.ctx, "a1", "t1"); !errors.Is(err, acd.ErrTransition) {
		t.Errorf("reject active = %v, want ErrTransition", err)
	}
	if got := h.tasks("a1")[acd.TaskActive]; len(got) != 1 {
		t.Fatalf("a1 active = %v, want t1 unchanged", got)
	}
	h.complete("t1")
	if err := h.e.Complete(h.ctx, "t1"); !errors.Is(err, acd.ErrUnknownCall) {
		t.Errorf("complete twice = %v, want ErrUnknownCall", err)
	}
}

// TestTaskOfferFails: a rejected offer and one the channel cannot present
// send the task to the next agent; a task withdrawn while waiting is
// abandoned.
func TestTaskOfferFails(t *testing.T) {
	h := newTaskHarness(t, taskYAML)
	h.login("a1", true, sk("chat", 2))
	h.login("a2", false, sk("chat", 1))
	h.submit("t1", acd.ChannelChat)
	h.offer(h.chat)
	if err := h.e.SetPresence(h.ctx, "a2", acd.PresenceReady, ""); err != nil {
		t.Fatal(err)
	}
	if err := h.e.RejectTask(h.ctx, "a1", "t1"); err != nil {
		t.Fatal(err)
	}
	if o := h.offer(h.chat); o.Call.ID != "t1" || o.Agent != "a2" {
		t.Fatalf("offer = %s to %s, want t1 to a2 after a1 rejected", o.Call.ID, o.Agent)
	}
	h.chat.FailOffers(true)
	h.submit("t2", acd.ChannelChat)
	waitFor(h.harness, func(e *acd.OfferFailed) bool { return e.CallID == "t2" && e.Cause == "failed" })
	h.chat.FailOffers(false)
	if err := h.e.Withdraw(h.ctx, "t2"); err != nil {
		t.Fatal(err)
	}
	ab := waitFor(h.harness, func(e *acd.CallAbandoned) bool { return e.CallID == "t2" })
	if ab.Queue != "chat" {
		t.Errorf("abandoned = %+v", ab)
	}
	eventually(t, "channel told of t2's end", func() bool { out, ok := h.chat.Ended("t2"); return ok && out == acd.OutcomeAbandoned })
}

// TestTaskTransfer: an active chat transferred to another agent is
// offered to them and accepted; the first agent wraps up their part,
// whose record says transferred. Transferring a task not active is
// refused.
func TestTaskTransfer(t *testing.T) {
	h := newTaskHarness(t, taskYAML+"wrap_up: 10s\n")
	h.login("a1", true, sk("chat", 1))
	h.submit("t1", acd.ChannelChat)
	h.offer(h.chat)
	if err := h.e.TransferTask(h.ctx, "t1", acd.TransferTarget{Queue: "email"}); !errors.Is(err, acd.ErrTransition) {
		t.Errorf("transfer offered = %v, want ErrTransition", err)
	}
	h.accept("a1", "t1")
	h.login("a2", true, sk("email", 1))
	if err := h.e.TransferTask(h.ctx, "t1", acd.TransferTarget{Agent: "a2"}); err != nil {
		t.Fatal(err)
	}
	if o := h.offer(h.chat); o.Call.ID != "t1" || o.Agent != "a2" {
		t.Fatalf("offer = %s to %s, want t1 to a2", o.Call.ID, o.Agent)
	}
	if got := h.tasks("a1")[acd.TaskWrapUp]; len(got) != 1 {
		t.Fatalf("a1 tasks = %v, want t1 in wrap-up", h.tasks("a1"))
	}
	h.accept("a2", "t1")
	eventually(t, "channel told a2 took t1", func() bool { a, ok := h.chat.Accepted("t1"); return ok && a == "a2" })
	h.advance(10 * time.Second)
	it := waitFor(h.harness, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "t1" })
	if it.Interaction.Agent != "a1" || it.Interaction.Outcome != acd.OutcomeTransferred || it.Interaction.TransferTo != "a2" {
		t.Errorf("first record = %+v, want a1's, transferred to a2", it.Interaction)
	}
	if got := h.tasks("a2")[acd.TaskActive]; len(got) != 1 {
		t.Errorf("a2 tasks = %v, want t1 active", h.tasks("a2"))
	}
}

// TestWrapTaskPerAgent: after a transfer, the transferring agent's
// WrapTask ends their own wrap-up and lands on their record (outcome
// transferred) while the new agent's active task is untouched; the new
// agent's WrapTask on the active task only records, and the record of
// their part carries it. An agent who does not hold the task, or holds
// it only offered, is refused.
func TestWrapTaskPerAgent(t *testing.T) {
	h := newTaskHarness(t, taskYAML+"wrap_up: 1h\n")
	h.login("a1", true, sk("chat", 1))
	h.submit("t1", acd.ChannelChat)
	h.offer(h.chat)
	h.accept("a1", "t1")
	h.login("b1", true, sk("email", 1))
	if err := h.e.TransferTask(h.ctx, "t1", acd.TransferTarget{Agent: "b1"}); err != nil {
		t.Fatal(err)
	}
	h.offer(h.chat)
	if err := h.e.WrapTask(h.ctx, "b1", "t1", "early", ""); !errors.Is(err, acd.ErrTransition) {
		t.Errorf("b1's WrapTask of the offered task = %v, want ErrTransition", err)
	}
	h.accept("b1", "t1")

	if err := h.e.WrapTask(h.ctx, "a1", "t1", "handed-over", "to billing"); err != nil {
		t.Fatal(err)
	}
	first := waitFor(h.harness, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "t1" })
	wantFirst := acd.Interaction{Agent: "a1", Outcome: acd.OutcomeTransferred, Disposition: "handed-over", Notes: "to billing", TransferTo: "b1"}
	gotFirst := acd.Interaction{Agent: first.Interaction.Agent, Outcome: first.Interaction.Outcome,
		Disposition: first.Interaction.Disposition, Notes: first.Interaction.Notes, TransferTo: first.Interaction.TransferTo}
	if diff := cmp.Diff(wantFirst, gotFirst); diff != "" {
		t.Errorf("a1's record (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[acd.TaskState][]acd.TaskID{}, h.tasks("a1")); diff != "" {
		t.Errorf("a1's tasks after their wrap-up (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[acd.TaskState][]acd.TaskID{acd.TaskActive: {"t1"}}, h.tasks("b1")); diff != "" {
		t.Errorf("b1's tasks (-want +got):\n%s", diff)
	}
	if err := h.e.WrapTask(h.ctx, "a1", "t1", "again", ""); !errors.Is(err, acd.ErrNoCall) {
		t.Errorf("a1's WrapTask after their part ended = %v, want ErrNoCall", err)
	}

	if err := h.e.WrapTask(h.ctx, "b1", "t1", "solved", "refund issued"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[acd.TaskState][]acd.TaskID{acd.TaskActive: {"t1"}}, h.tasks("b1")); diff != "" {
		t.Errorf("b1's tasks after recording (-want +got):\n%s", diff)
	}
	h.complete("t1")
	waitFor(h.harness, func(e *acd.TaskStateChanged) bool {
		return e.TaskID == "t1" && e.Agent == "b1" && e.State == acd.TaskWrapUp
	})
	h.advance(time.Hour)
	second := waitFor(h.harness, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "t1" })
	if it := second.Interaction; it.Agent != "b1" || it.Outcome != acd.OutcomeAnswered || it.Disposition != "solved" || it.Notes != "refund issued" {
		t.Errorf("b1's record = %+v, want answered by b1 with their disposition", it)
	}
	if err := h.e.WrapTask(h.ctx, "nobody", "t1", "x", ""); !errors.Is(err, acd.ErrUnknownAgent) {
		t.Errorf("WrapTask by an unknown agent = %v, want ErrUnknownAgent", err)
	}
}
