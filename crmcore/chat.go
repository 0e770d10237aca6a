package crmcore

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ChatSender says who wrote a chat message.
type ChatSender string

// The writers of chat messages.
const (
	ChatCustomer ChatSender = "customer"
	ChatAgent    ChatSender = "agent"
	ChatBot      ChatSender = "bot"    // the chat flow's prompts
	ChatSystem   ChatSender = "system" // queue position, transfers, the end
)

// MaxChatText caps one chat message's text (bytes).
const MaxChatText = 4000

// ChatConversation is one web chat from its first message to its close.
// The interaction record of the chat has the same id.
type ChatConversation struct {
	ID        string `json:"id"`
	ContactID string `json:"contact_id,omitempty"`
	// Name, Email and Phone are what the customer gave in the pre-chat form.
	Name     string `json:"name,omitempty"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Language string `json:"language,omitempty"`
	Queue    string `json:"queue,omitempty"`
	AgentID  string `json:"agent_id,omitempty"`
	TicketID string `json:"ticket_id,omitempty"`
	// Status is bot (in the chat flow), queued, active (with an agent) or
	// closed.
	Status      string     `json:"status"`
	Disposition string     `json:"disposition,omitempty"`
	StartedAt   time.Time  `json:"started_at"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
}

// The statuses of a chat conversation.
const (
	ChatStatusBot    = "bot"
	ChatStatusQueued = "queued"
	ChatStatusActive = "active"
	ChatStatusClosed = "closed"
)

// ChatMessage is one message of a conversation. Seq orders the
// conversation's messages from 1; a client that reconnects asks for those
// after the last it has.
type ChatMessage struct {
	ConversationID string     `json:"conversation_id"`
	Seq            int64      `json:"seq"`
	Sender         ChatSender `json:"sender"`
	AgentID        string     `json:"agent_id,omitempty"`
	Text           string     `json:"text"`
	// Buttons are the quick replies a bot message offers.
	Buttons   []ChatButton `json:"buttons,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
}

// ChatButton is a quick reply: its label, and the value sent when chosen.
type ChatButton struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Validate checks the message's sender and text: valid UTF-8 within
// MaxChatText. Text is data: it is never read as markup.
func (m *ChatMessage) Validate() error {
	switch m.Sender {
	case ChatCustomer, ChatAgent, ChatBot, ChatSystem:
	default:
		return fmt.Errorf("%w: chat sender %q", ErrInvalid, m.Sender)
	}
	if !utf8.ValidString(m.Text) || len(m.Text) > MaxChatText {
		return fmt.Errorf("%w: chat text must be UTF-8 of at most %d bytes", ErrInvalid, MaxChatText)
	}
	return nil
}

// ChatTranscript renders a conversation's messages as the text of an
// email: one line per message with its time (UTC) and who wrote it.
func ChatTranscript(c ChatConversation, msgs []ChatMessage, agentName func(id string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Chat of %s\n\n", c.StartedAt.UTC().Format("2 January 2006, 15:04 MST"))
	for _, m := range msgs {
		who := map[ChatSender]string{ChatCustomer: "You", ChatBot: "Bot", ChatSystem: "—"}[m.Sender]
		if m.Sender == ChatAgent {
			who = agentName(m.AgentID)
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", m.CreatedAt.UTC().Format("15:04:05"), who, m.Text)
	}
	return b.String()
}
