package acdnats

import (
	"context"
	"sync"

	"switchboard/acd"
)

// Feed hands a node's journey the engine's events about the node's calls,
// in the order the leader sent them. It holds only this node's calls'
// events and never drops one, so it never asks for a resync.
type Feed struct {
	n     *Node
	ready chan struct{}

	mu    sync.Mutex
	q     []acd.Event
	ended bool
}

func (f *Feed) push(ev acd.Event) {
	f.mu.Lock()
	if f.ended {
		f.mu.Unlock()
		return
	}
	f.q = append(f.q, ev)
	f.mu.Unlock()
	f.signal()
}

func (f *Feed) signal() {
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

func (f *Feed) end() {
	f.mu.Lock()
	f.ended = true
	f.mu.Unlock()
	f.signal()
}

// Ready is signalled when events are pending or the feed ended.
func (f *Feed) Ready() <-chan struct{} { return f.ready }

// Take appends the pending events to buf; open is false once the feed
// ended.
func (f *Feed) Take(buf []acd.Event) ([]acd.Event, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	buf = append(buf, f.q...)
	clear(f.q)
	f.q = f.q[:0]
	return buf, !f.ended
}

// Resync returns an empty snapshot: a Feed loses nothing to resync from.
func (f *Feed) Resync(context.Context) (acd.Snapshot, error) { return acd.Snapshot{}, nil }

// Close ends the feed.
func (f *Feed) Close() {
	f.n.mu.Lock()
	delete(f.n.feeds, f)
	f.n.mu.Unlock()
	f.end()
}
