package agentdesk_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"switchboard/agentdesk"
	"switchboard/crmcore"
)

// fakeChats is a chat channel that keeps what agents write, for chat task
// "chat-1" held by id-a1.
type fakeChats struct {
	mu   sync.Mutex
	sent []string
	read int64
}

var errNotYours = fmt.Errorf("%w: not your chat", agentdesk.ErrNotFound)

func (f *fakeChats) check(agentID, taskID string) error {
	if agentID != "id-a1" || taskID != "chat-1" {
		return errNotYours
	}
	return nil
}

func (f *fakeChats) AgentSend(_ context.Context, agentID, taskID, text string) (crmcore.ChatMessage, error) {
	if err := f.check(agentID, taskID); err != nil {
		return crmcore.ChatMessage{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, text)
	return crmcore.ChatMessage{ConversationID: taskID, Seq: int64(len(f.sent) + 1), Sender: crmcore.ChatAgent, Text: text}, nil
}

func (f *fakeChats) AgentTyping(_ context.Context, agentID, taskID string) error {
	return f.check(agentID, taskID)
}

func (f *fakeChats) AgentRead(_ context.Context, agentID, taskID string, seq int64) error {
	if err := f.check(agentID, taskID); err != nil {
		return err
	}
	f.mu.Lock()
	f.read = seq
	f.mu.Unlock()
	return nil
}

func (f *fakeChats) History(_ context.Context, agentID, taskID string) ([]crmcore.ChatMessage, error) {
	if err := f.check(agentID, taskID); err != nil {
		return nil, err
	}
	return []crmcore.ChatMessage{{ConversationID: taskID, Seq: 1, Sender: crmcore.ChatCustomer, Text: "<b>hi</b>"}}, nil
}

// TestChatCommands: a desk writes, types, reads and fetches the history of
// a chat its agent holds through the chat channel; another agent's chat
// is refused; without a chat channel the commands are unsupported; chat
// events reach only the holding agent's desk.
func TestChatCommands(t *testing.T) {
	chats := &fakeChats{}
	r := newACDRig(t, func(c *agentdesk.Config) { c.Chats = chats })
	desk := login(t, r.srv, "a1")
	other := login(t, r.srv, "a2")

	ok := desk.mustOK(agentdesk.CmdChatSend, agentdesk.ChatSend{TaskID: "chat-1", Text: "Hello <script>x</script>"})
	if got := decode[map[string]int64](t, ok); got["seq"] != 2 {
		t.Errorf("chat.send reply = %v, want seq 2", got)
	}
	desk.mustOK(agentdesk.CmdChatTyping, agentdesk.TaskRef{TaskID: "chat-1"})
	desk.mustOK(agentdesk.CmdChatRead, agentdesk.ChatRead{TaskID: "chat-1", Seq: 1})
	hist := decode[agentdesk.ChatHistory](t, desk.mustOK(agentdesk.CmdChatHistory, agentdesk.TaskRef{TaskID: "chat-1"}))
	if len(hist.Messages) != 1 || hist.Messages[0].Text != "<b>hi</b>" {
		t.Errorf("history = %+v", hist)
	}
	chats.mu.Lock()
	if len(chats.sent) != 1 || chats.sent[0] != "Hello <script>x</script>" || chats.read != 1 {
		t.Errorf("the channel got %q, read %d", chats.sent, chats.read)
	}
	chats.mu.Unlock()

	if e := other.errorData(other.reply(other.send(agentdesk.CmdChatSend, agentdesk.ChatSend{TaskID: "chat-1", Text: "hi"}))); e.Code != agentdesk.CodeNotFound {
		t.Errorf("another agent's chat.send = %+v, want not_found", e)
	}
	if e := desk.errorData(desk.reply(desk.send(agentdesk.CmdChatRead, agentdesk.ChatRead{TaskID: "chat-1"}))); e.Field != "data.seq" {
		t.Errorf("chat.read without seq = %+v, want data.seq refused", e)
	}

	r.hub.NotifyChat("id-a1", agentdesk.EvChatMessage, agentdesk.ChatEvent{TaskID: "chat-1",
		Message: &crmcore.ChatMessage{ConversationID: "chat-1", Seq: 3, Sender: crmcore.ChatCustomer, Text: "thanks"}})
	ev := decode[agentdesk.ChatEvent](t, desk.waitType(agentdesk.EvChatMessage))
	if ev.Message == nil || ev.Message.Text != "thanks" || ev.Message.Seq != 3 {
		t.Errorf("chat.message = %+v", ev)
	}
	other.noneBeforePing(agentdesk.EvChatMessage)

	bare := newACDRig(t, nil)
	d := login(t, bare.srv, "a1")
	if e := d.errorData(d.reply(d.send(agentdesk.CmdChatSend, agentdesk.ChatSend{TaskID: "chat-1", Text: "hi"}))); e.Code != agentdesk.CodeUnsupported {
		t.Errorf("chat.send without a chat channel = %+v, want unsupported", e)
	}
}
