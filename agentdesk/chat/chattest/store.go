// Package chattest has an in-memory chat.Store for tests.
package chattest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"switchboard/agentdesk/chat"
	"switchboard/crmcore"
)

// ErrNotFound is returned for an unknown conversation.
var ErrNotFound = errors.New("chattest: not found")

// Store is an in-memory chat.Store. Contacts are made up from the form's email or phone
// ("contact:<email or phone>").
type Store struct {
	mu       sync.Mutex
	convs    map[string]crmcore.ChatConversation
	messages map[string][]crmcore.ChatMessage
	// Fail, when set, fails every AppendMessage.
	Fail error
}

var _ chat.Store = (*Store)(nil)

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{convs: map[string]crmcore.ChatConversation{}, messages: map[string][]crmcore.ChatMessage{}}
}

// CreateConversation implements chat.Store.
func (s *Store) CreateConversation(_ context.Context, c crmcore.ChatConversation) (crmcore.ChatConversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.convs[c.ID]; dup || c.ID == "" {
		return crmcore.ChatConversation{}, fmt.Errorf("chattest: bad or duplicate id %q", c.ID)
	}
	switch {
	case c.Email != "":
		c.ContactID = "contact:" + c.Email
	case c.Phone != "":
		c.ContactID = "contact:" + c.Phone
	}
	s.convs[c.ID] = c
	return c, nil
}

// AppendMessage implements chat.Store.
func (s *Store) AppendMessage(_ context.Context, m crmcore.ChatMessage) (crmcore.ChatMessage, error) {
	if err := m.Validate(); err != nil {
		return crmcore.ChatMessage{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return crmcore.ChatMessage{}, s.Fail
	}
	if _, ok := s.convs[m.ConversationID]; !ok {
		return crmcore.ChatMessage{}, ErrNotFound
	}
	m.Seq = int64(len(s.messages[m.ConversationID]) + 1)
	m.Buttons = slices.Clone(m.Buttons)
	s.messages[m.ConversationID] = append(s.messages[m.ConversationID], m)
	return m, nil
}

// Messages implements chat.Store.
func (s *Store) Messages(_ context.Context, id string, after int64, limit int) ([]crmcore.ChatMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.messages[id]
	if after < 0 {
		after = 0
	}
	if after >= int64(len(all)) {
		return nil, nil
	}
	out := all[after:]
	if len(out) > limit {
		out = out[:limit]
	}
	return slices.Clone(out), nil
}

// Conversation implements chat.Store.
func (s *Store) Conversation(_ context.Context, id string) (crmcore.ChatConversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[id]
	if !ok {
		return crmcore.ChatConversation{}, ErrNotFound
	}
	return c, nil
}

// OpenConversations implements chat.Store.
func (s *Store) OpenConversations(_ context.Context, limit int) ([]crmcore.ChatConversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []crmcore.ChatConversation
	for _, c := range s.convs {
		if c.Status != crmcore.ChatStatusClosed && len(out) < limit {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b crmcore.ChatConversation) int { return a.StartedAt.Compare(b.StartedAt) })
	return out, nil
}

// UpdateConversation implements chat.Store.
func (s *Store) UpdateConversation(_ context.Context, c crmcore.ChatConversation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.convs[c.ID]
	if !ok {
		return ErrNotFound
	}
	old.Status, old.Queue, old.AgentID, old.Disposition, old.EndedAt, old.Language = c.Status, c.Queue, c.AgentID, c.Disposition, c.EndedAt, c.Language
	s.convs[c.ID] = old
	return nil
}

// All returns every message of a conversation.
func (s *Store) All(id string) []crmcore.ChatMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages[id])
}
