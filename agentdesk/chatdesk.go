package agentdesk

import (
	"context"
	"unicode/utf8"

	"switchboard/crmcore"
)

// Chats is the web chat channel as the desks use it: what an agent
// writes in a chat they hold, their typing and read receipts, and the
// conversation so far. Each method checks that the agent holds the task.
type Chats interface {
	AgentSend(ctx context.Context, agentID, taskID, text string) (crmcore.ChatMessage, error)
	AgentTyping(ctx context.Context, agentID, taskID string) error
	AgentRead(ctx context.Context, agentID, taskID string, seq int64) error
	History(ctx context.Context, agentID, taskID string) ([]crmcore.ChatMessage, error)
}

// ChatSend is the data of "chat.send": a message in a chat the agent
// holds. Text is data: desks show it as text.
type ChatSend struct {
	TaskID string `json:"task_id"`
	Text   string `json:"text"`
}

// ChatRead is the data of "chat.read": the agent has read the customer's
// messages up to Seq.
type ChatRead struct {
	TaskID string `json:"task_id"`
	Seq    int64  `json:"seq"`
}

// ChatEvent is the data of the chat events a desk receives about a chat
// its agent holds: "chat.message" (Message), "chat.typing" (the customer
// is typing), "chat.read" (the customer read up to Seq) and "chat.ended"
// (the customer left).
type ChatEvent struct {
	TaskID  string               `json:"task_id"`
	Message *crmcore.ChatMessage `json:"message,omitempty"`
	Seq     int64                `json:"seq,omitempty"`
}

// ChatHistory is the reply of "chat.history": the conversation so far.
type ChatHistory struct {
	TaskID   string                `json:"task_id"`
	Messages []crmcore.ChatMessage `json:"messages"`
}

func vChatSend(v any) *ProtocolError {
	d := v.(*ChatSend)
	if e := short("data.task_id", d.TaskID, true); e != nil {
		return e
	}
	switch {
	case d.Text == "":
		return missing("data.text")
	case len(d.Text) > crmcore.MaxChatText || !utf8.ValidString(d.Text):
		return bad("data.text", "UTF-8 of at most 4000 bytes")
	}
	return nil
}

func vChatRead(v any) *ProtocolError {
	d := v.(*ChatRead)
	if e := short("data.task_id", d.TaskID, true); e != nil {
		return e
	}
	if d.Seq < 1 {
		return bad("data.seq", "a message number from 1")
	}
	return nil
}

// NotifyChat sends a chat event about a chat agentID holds to the agent's
// desk, if connected (the desk asks for the history when it comes back).
// typ is EvChatMessage, EvChatTyping, EvChatRead or EvChatEnded. It does
// not wait for the hub's goroutine.
func (h *Hub) NotifyChat(agentID, typ string, ev ChatEvent) {
	b, err := encode(typ, "", ev)
	if err != nil {
		h.log.Error("agentdesk: encode chat event", "task_id", ev.TaskID, "err", err)
		return
	}
	h.mu.Lock()
	c := h.desks[agentID]
	h.mu.Unlock()
	if c != nil {
		c.enqueue(outMsg{typ: typ, b: b})
	}
}

// chatCommand runs a chat command of agent's.
func (h *Hub) chatCommand(ctx context.Context, agent string, cmd Command) (any, error) {
	if h.cfg.Chats == nil {
		return nil, ErrUnsupported
	}
	switch cmd.Type {
	case CmdChatSend:
		d := cmd.Data.(*ChatSend)
		m, err := h.cfg.Chats.AgentSend(ctx, agent, d.TaskID, d.Text)
		if err != nil {
			return nil, err
		}
		return map[string]int64{"seq": m.Seq}, nil
	case CmdChatTyping:
		return nil, h.cfg.Chats.AgentTyping(ctx, agent, cmd.Data.(*TaskRef).TaskID)
	case CmdChatRead:
		d := cmd.Data.(*ChatRead)
		return nil, h.cfg.Chats.AgentRead(ctx, agent, d.TaskID, d.Seq)
	case CmdChatHistory:
		id := cmd.Data.(*TaskRef).TaskID
		ms, err := h.cfg.Chats.History(ctx, agent, id)
		if err != nil {
			return nil, err
		}
		if ms == nil {
			ms = []crmcore.ChatMessage{}
		}
		return ChatHistory{TaskID: id, Messages: ms}, nil
	}
	return nil, ErrUnsupported
}
