package acd_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
)

func (h *taskHarness) adopt(id string, ch acd.Channel, agent string) {
	h.t.Helper()
	t := acd.Task{ID: acd.TaskID(id), Channel: ch, Queue: string(ch), Customer: "cust-" + id, Handle: "h-" + id}
	if err := h.e.Adopt(h.ctx, t, acd.AgentID(agent)); err != nil {
		h.t.Fatalf("adopt %s: %v", id, err)
	}
}

// agentIDs lists the agents in a snapshot.
func (h *taskHarness) agentIDs() []acd.AgentID {
	h.t.Helper()
	s, err := h.e.Snapshot(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var ids []acd.AgentID
	for _, a := range s.Agents {
		ids = append(ids, a.ID)
	}
	return ids
}

// TestAdopt: an adopted task is active on its agent at once, published as
// an accepted task is, without the channel being asked to offer it or
// told of an acceptance; it holds capacity (beyond it, if need be), so a
// waiting chat is offered only once the agent holds fewer than their
// capacity; it completes as any task, the channel told of its end.
func TestAdopt(t *testing.T) {
	h := newTaskHarness(t, taskYAML)
	h.loginSpec(acd.AgentSpec{ID: "a1", Skills: []acd.SkillLevel{sk("chat", 1)}, Capacity: map[acd.Channel]int{acd.ChannelChat: 1}, Ready: true})
	h.adopt("t1", acd.ChannelChat, "a1")
	st := waitFor(h.harness, func(e *acd.TaskStateChanged) bool { return e.TaskID == "t1" })
	if st.State != acd.TaskActive || st.Agent != "a1" || st.Channel != acd.ChannelChat || st.Queue != "chat" {
		t.Errorf("first task event = %+v, want t1 active on a1", st)
	}
	ans := waitFor(h.harness, func(e *acd.CallAnswered) bool { return e.CallID == "t1" })
	if ans.Agent != "a1" || ans.Channel != acd.ChannelChat || ans.Queue != "chat" {
		t.Errorf("answered = %+v, want t1 by a1 in chat", ans)
	}
	info, err := h.e.Call(h.ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if info.Handle != "h-t1" || info.Customer != "cust-t1" || info.Channel != acd.ChannelChat {
		t.Errorf("adopted task's info = %+v, want the task's handle, customer and channel", info)
	}

	h.submit("t2", acd.ChannelChat)
	h.adopt("t3", acd.ChannelChat, "a1") // beyond the capacity: the work is already theirs
	if diff := cmp.Diff(map[acd.TaskState][]acd.TaskID{acd.TaskActive: {"t1", "t3"}}, h.tasks("a1")); diff != "" {
		t.Fatalf("a1 tasks (-want +got):\n%s", diff)
	}
	h.complete("t1")
	if diff := cmp.Diff(map[acd.TaskState][]acd.TaskID{acd.TaskActive: {"t3"}}, h.tasks("a1")); diff != "" {
		t.Fatalf("a1 tasks at capacity (-want +got):\n%s", diff)
	}
	h.complete("t3")
	if o := h.offer(h.chat); o.Call.ID != "t2" || o.Agent != "a1" {
		t.Fatalf("offer = %s to %s, want t2 to a1 once below capacity", o.Call.ID, o.Agent)
	}
	it := waitFor(h.harness, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "t1" })
	if it.Interaction.Agent != "a1" || it.Interaction.Outcome != acd.OutcomeAnswered {
		t.Errorf("t1's record = %+v, want answered by a1", it.Interaction)
	}
	eventually(t, "channel told of t1's end", func() bool { out, ok := h.chat.Ended("t1"); return ok && out == acd.OutcomeAnswered })
	eventually(t, "engine quiet", h.e.Quiet)
	for _, id := range []acd.TaskID{"t1", "t3"} {
		if a, ok := h.chat.Accepted(id); ok {
			t.Errorf("channel told %s accepted %s; an adopted task is not accepted again", a, id)
		}
	}
	select {
	case o := <-h.chat.Offers:
		t.Errorf("channel asked to offer %s to %s; only t2 was offered", o.Call.ID, o.Agent)
	default:
	}
}

// TestAdoptedTaskControls: an adopted task is transferred, wrapped up by
// its first agent and withdrawn as any active task.
func TestAdoptedTaskControls(t *testing.T) {
	h := newTaskHarness(t, taskYAML+"wrap_up: 30s\n")
	h.login("a1", true, sk("chat", 1))
	h.login("b1", true, sk("chat", 1))
	h.adopt("t1", acd.ChannelChat, "a1")
	if err := h.e.TransferTask(h.ctx, "t1", acd.TransferTarget{Agent: "b1"}); err != nil {
		t.Fatal(err)
	}
	if o := h.offer(h.chat); o.Call.ID != "t1" || o.Agent != "b1" {
		t.Fatalf("offer = %s to %s, want t1 to b1", o.Call.ID, o.Agent)
	}
	if err := h.e.WrapTask(h.ctx, "a1", "t1", "moved", ""); err != nil {
		t.Fatal(err)
	}
	it := waitFor(h.harness, func(e *acd.InteractionCompleted) bool { return e.Interaction.CallID == "t1" })
	if it.Interaction.Agent != "a1" || it.Interaction.Outcome != acd.OutcomeTransferred || it.Interaction.Disposition != "moved" {
		t.Errorf("a1's record = %+v, want transferred with a1's disposition", it.Interaction)
	}

	h.adopt("t2", acd.ChannelChat, "a1")
	if err := h.e.Withdraw(h.ctx, "t2"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[acd.TaskState][]acd.TaskID{acd.TaskWrapUp: {"t2"}}, h.tasks("a1")); diff != "" {
		t.Errorf("a1 tasks after the withdrawal (-want +got):\n%s", diff)
	}
	eventually(t, "channel told of t2's end", func() bool { out, ok := h.chat.Ended("t2"); return ok && out == acd.OutcomeAnswered })
}

// TestAdoptNotLoggedIn: a task adopted for an agent the engine does not
// know is held by them offline; they are not logged in (their commands
// are refused) until Login, which keeps the task counted against the
// capacity of their spec. An agent logged out while holding work adopts
// too and gets it back with their presence. An agent known only from
// Adopt is forgotten when their last task completes.
func TestAdoptNotLoggedIn(t *testing.T) {
	h := newTaskHarness(t, taskYAML)
	h.adopt("t1", acd.ChannelChat, "z1")
	if s := h.agentState("z1"); s.Presence != acd.PresenceOffline || len(s.Tasks) != 1 || s.Tasks[0].State != acd.TaskActive {
		t.Fatalf("z1 = %s with %+v, want offline holding t1", s.Presence, s.Tasks)
	}
	if err := h.e.SetPresence(h.ctx, "z1", acd.PresenceReady, ""); !errors.Is(err, acd.ErrUnknownAgent) {
		t.Errorf("SetPresence before Login = %v, want ErrUnknownAgent", err)
	}
	if err := h.e.SetCapacity(h.ctx, "z1", nil); !errors.Is(err, acd.ErrUnknownAgent) {
		t.Errorf("SetCapacity before Login = %v, want ErrUnknownAgent", err)
	}
	h.login("a1", false)
	h.adopt("t9", acd.ChannelChat, "a1")
	if err := h.e.TransferTask(h.ctx, "t9", acd.TransferTarget{Agent: "z1"}); !errors.Is(err, acd.ErrUnknownAgent) {
		t.Errorf("transfer to z1 before Login = %v, want ErrUnknownAgent", err)
	}

	h.loginSpec(acd.AgentSpec{ID: "z1", Skills: []acd.SkillLevel{sk("chat", 1)}, Capacity: map[acd.Channel]int{acd.ChannelChat: 1}, Ready: true})
	if c := waitFor(h.harness, func(e *acd.AgentCapacityChanged) bool { return e.Agent == "z1" }); c.Capacity[acd.ChannelChat] != 1 {
		t.Errorf("z1 capacity event = %v, want chat 1", c.Capacity)
	}
	h.submit("t2", acd.ChannelChat)
	if diff := cmp.Diff(map[acd.TaskState][]acd.TaskID{acd.TaskActive: {"t1"}}, h.tasks("z1")); diff != "" {
		t.Errorf("z1 tasks after Login (-want +got):\n%s", diff)
	}
	h.complete("t1")
	if o := h.offer(h.chat); o.Call.ID != "t2" || o.Agent != "z1" {
		t.Fatalf("offer = %s to %s, want t2 to z1 once t1 no longer holds their one chat", o.Call.ID, o.Agent)
	}
	h.accept("z1", "t2")
	if err := h.e.Logout(h.ctx, "z1"); err != nil {
		t.Fatal(err)
	}
	h.adopt("t3", acd.ChannelChat, "z1") // logged out, still holding t2
	if err := h.e.SetPresence(h.ctx, "z1", acd.PresenceNotReady, ""); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[acd.TaskState][]acd.TaskID{acd.TaskActive: {"t2", "t3"}}, h.tasks("z1")); diff != "" {
		t.Errorf("z1 tasks back from logout (-want +got):\n%s", diff)
	}

	h.adopt("t4", acd.ChannelChat, "y1")
	h.complete("t4")
	if got := h.agentIDs(); len(got) != 2 || got[0] != "a1" || got[1] != "z1" {
		t.Errorf("agents = %v, want y1 gone with its last task", got)
	}
}

// TestAdoptRefused: what Submit refuses, a live id and an unknown queue
// are refused, and nothing is held.
func TestAdoptRefused(t *testing.T) {
	h := newTaskHarness(t, taskYAML)
	h.login("a1", true, sk("chat", 1))
	h.submit("live", acd.ChannelChat)
	for _, tt := range []struct {
		name  string
		task  acd.Task
		agent acd.AgentID
		want  error
	}{
		{"live id", acd.Task{ID: "live", Channel: acd.ChannelChat, Queue: "chat"}, "a1", acd.ErrDuplicate},
		{"unknown queue", acd.Task{ID: "x", Channel: acd.ChannelChat, Queue: "nope"}, "a1", acd.ErrUnknownQueue},
		{"no adapter", acd.Task{ID: "x", Channel: acd.ChannelTicket, Queue: "chat"}, "a1", acd.ErrNotSupported},
		{"voice", acd.Task{ID: "x", Channel: acd.ChannelVoice, Queue: "chat"}, "a1", acd.ErrNotSupported},
		{"empty id", acd.Task{Channel: acd.ChannelChat, Queue: "chat"}, "a1", acd.ErrInvalidArgument},
		{"bad skill", acd.Task{ID: "x", Channel: acd.ChannelChat, Queue: "chat", Skills: []acd.SkillLevel{sk("chat", 9)}}, "a1", acd.ErrInvalidArgument},
		{"empty agent", acd.Task{ID: "x", Channel: acd.ChannelChat, Queue: "chat"}, "", acd.ErrInvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := h.e.Adopt(h.ctx, tt.task, tt.agent); !errors.Is(err, tt.want) {
				t.Errorf("Adopt = %v, want %v", err, tt.want)
			}
		})
	}
	if diff := cmp.Diff(map[acd.TaskState][]acd.TaskID{acd.TaskOffered: {"live"}}, h.tasks("a1")); diff != "" {
		t.Errorf("a1 tasks (-want +got):\n%s", diff)
	}
}
