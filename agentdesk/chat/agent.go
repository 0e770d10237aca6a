package chat

import (
	"context"
	"fmt"
	"time"

	"switchboard/crmcore"
)

// typingEvery is the least time between two typing indicators one way of a chat.
const typingEvery = time.Second

// historyPage is how many messages History reads per store call.
const historyPage = 500

// acceptWait bounds how long an agent's command waits for the engine's
// Accept of a chat offered to them: the desk may act on its accept's reply
// before the engine has told the channel.
const acceptWait = 2 * time.Second

// held returns the chat agentID holds (active with them), locked; the caller unlocks.
func (s *Service) held(ctx context.Context, agentID, taskID string) (*conv, error) {
	cv, err := s.live(ctx, taskID)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(acceptWait)
	for {
		cv.mu.Lock()
		if cv.c.Status == crmcore.ChatStatusActive && cv.c.AgentID == agentID {
			return cv, nil
		}
		offered := cv.offered == agentID && agentID != "" && cv.c.Status == crmcore.ChatStatusQueued
		cv.mu.Unlock()
		if !offered || time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s, agent %s", ErrNotHeld, taskID, agentID)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// AgentSend stores the agent's message in the chat they hold and delivers it to the
// customer; it returns the stored message (with its Seq).
func (s *Service) AgentSend(ctx context.Context, agentID, taskID, text string) (crmcore.ChatMessage, error) {
	text, code := cleanText(text)
	if code != "" {
		return crmcore.ChatMessage{}, fmt.Errorf("%w: %s", ErrInvalidText, code)
	}
	cv, err := s.held(ctx, agentID, taskID)
	if err != nil {
		return crmcore.ChatMessage{}, err
	}
	defer cv.mu.Unlock()
	return s.postLocked(ctx, cv, crmcore.ChatMessage{Sender: crmcore.ChatAgent, AgentID: agentID, Text: text}, nil, "")
}

// AgentTyping shows the customer that the agent is typing (at most once a second).
func (s *Service) AgentTyping(ctx context.Context, agentID, taskID string) error {
	cv, err := s.held(ctx, agentID, taskID)
	if err != nil {
		return err
	}
	defer cv.mu.Unlock()
	if now := time.Now(); now.Sub(cv.lastTyping[1]) >= typingEvery {
		cv.lastTyping[1] = now
		cv.broadcastLocked(frame("typing", typingData{From: "agent"}))
	}
	return nil
}

// AgentRead tells the customer the agent has read their messages up to seq.
func (s *Service) AgentRead(ctx context.Context, agentID, taskID string, seq int64) error {
	cv, err := s.held(ctx, agentID, taskID)
	if err != nil {
		return err
	}
	defer cv.mu.Unlock()
	cv.broadcastLocked(frame("read", readData{Seq: seq}))
	return nil
}

// History returns every message of the chat, oldest first, to the agent who holds it or
// to whom it is offered.
func (s *Service) History(ctx context.Context, agentID, taskID string) ([]crmcore.ChatMessage, error) {
	cv, err := s.live(ctx, taskID)
	if err != nil {
		return nil, err
	}
	cv.mu.Lock()
	ok := (cv.c.Status == crmcore.ChatStatusActive && cv.c.AgentID == agentID) || cv.offered == agentID && agentID != ""
	cv.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s, agent %s", ErrNotHeld, taskID, agentID)
	}
	var out []crmcore.ChatMessage
	var after int64
	for {
		page, err := s.store.Messages(ctx, taskID, after, historyPage)
		if err != nil {
			return nil, fmt.Errorf("chat: history: %w", err)
		}
		out = append(out, page...)
		if len(page) < historyPage {
			return out, nil
		}
		after = page[len(page)-1].Seq
	}
}
