package sip

import (
	"context"
	"sync"
	"time"
)

// StoredBinding is a registered contact as a BindingStore keeps it.
type StoredBinding struct {
	User    string
	Contact string // the contact URI as registered
	Source  string // transport source address of the REGISTER
	Expires time.Time
	// Path holds the binding's Path URIs (Binding.Path) as strings, in
	// order; nil when it has none.
	Path []string
}

// BindingStore keeps the registrar's bindings outside the process, so a
// restart, or another node, still reaches registered phones. The CRM's
// PostgreSQL store implements it.
type BindingStore interface {
	// Bindings returns user's bindings that expire after now.
	Bindings(ctx context.Context, user string, now time.Time) ([]StoredBinding, error)
	// SetBindings replaces every binding of user by bs (none: removes them).
	SetBindings(ctx context.Context, user string, bs []StoredBinding) error
	// PurgeBindings deletes the bindings expired at now and returns how
	// many bindings remain.
	PurgeBindings(ctx context.Context, now time.Time) (remaining int, err error)
}

// memBindings is the BindingStore of a gateway configured without one:
// bindings live as long as the process.
type memBindings struct {
	mu sync.Mutex
	m  map[string][]StoredBinding
}

func newMemBindings() *memBindings { return &memBindings{m: map[string][]StoredBinding{}} }

func (s *memBindings) Bindings(_ context.Context, user string, now time.Time) ([]StoredBinding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []StoredBinding
	for _, b := range s.m[user] {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	return out, nil
}

func (s *memBindings) SetBindings(_ context.Context, user string, bs []StoredBinding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(bs) == 0 {
		delete(s.m, user)
		return nil
	}
	s.m[user] = append([]StoredBinding(nil), bs...)
	return nil
}

func (s *memBindings) PurgeBindings(_ context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for u, bs := range s.m {
		kept := bs[:0]
		for _, b := range bs {
			if b.Expires.After(now) {
				kept = append(kept, b)
			}
		}
		if len(kept) == 0 {
			delete(s.m, u)
		} else {
			s.m[u] = kept
		}
		n += len(kept)
	}
	return n, nil
}

var _ BindingStore = (*memBindings)(nil)
