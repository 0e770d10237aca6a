package campaign

import (
	"context"
	"sync"
)

// DNCList is a do-not-call list held in memory (a national registry's
// extract, the company's own opt-outs): it satisfies DNC. It is safe for
// concurrent use.
type DNCList struct {
	mu      sync.RWMutex
	numbers map[string]struct{}
}

var _ DNC = (*DNCList)(nil)

// NewDNCList returns a list holding numbers (E.164; anything else is
// normalised if it can be, and kept as given otherwise).
func NewDNCList(numbers ...string) *DNCList {
	l := &DNCList{numbers: map[string]struct{}{}}
	l.Add(numbers...)
	return l
}

// Add puts numbers on the list.
func (l *DNCList) Add(numbers ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range numbers {
		if e, err := normalize(n); err == nil {
			n = e
		}
		l.numbers[n] = struct{}{}
	}
}

// Blocked implements DNC.
func (l *DNCList) Blocked(_ context.Context, number string) (bool, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, ok := l.numbers[number]
	return ok, nil
}
