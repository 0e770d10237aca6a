package chat

import (
	"context"

	"switchboard/crmcore"
	"switchboard/ivr"
)

// nopStore and nopFlows stand in where a test needs a Service but no conversation.
type nopStore struct{}

func (nopStore) CreateConversation(context.Context, crmcore.ChatConversation) (crmcore.ChatConversation, error) {
	return crmcore.ChatConversation{}, ErrClosed
}
func (nopStore) AppendMessage(context.Context, crmcore.ChatMessage) (crmcore.ChatMessage, error) {
	return crmcore.ChatMessage{}, ErrClosed
}
func (nopStore) Messages(context.Context, string, int64, int) ([]crmcore.ChatMessage, error) {
	return nil, ErrClosed
}
func (nopStore) Conversation(context.Context, string) (crmcore.ChatConversation, error) {
	return crmcore.ChatConversation{}, ErrClosed
}
func (nopStore) UpdateConversation(context.Context, crmcore.ChatConversation) error { return ErrClosed }

func (nopStore) OpenConversations(context.Context, int) ([]crmcore.ChatConversation, error) {
	return nil, nil
}

type nopFlows struct{}

func (nopFlows) ForChat(string) (ivr.EntryPoint, bool, error) { return ivr.EntryPoint{}, false, nil }
