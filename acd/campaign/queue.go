package campaign

import (
	"container/heap"
	"time"
)

// dueHeap orders contacts by due time, then list order.
type dueHeap []*entry

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }

// Push implements heap.Interface.
func (h *dueHeap) Push(x any) { e := x.(*entry); e.index = len(*h); *h = append(*h, e) }

// Pop implements heap.Interface.
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

func (h *dueHeap) push(e *entry) { e.heap = h; heap.Push(h, e) }
func (h *dueHeap) pop() *entry   { return heap.Pop(h).(*entry) }

// ready reports whether the first contact is due at now.
func (h dueHeap) ready(now time.Time) bool { return len(h) > 0 && !h[0].due.After(now) }
