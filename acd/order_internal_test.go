package acd

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestOrderAt: calls placed by the time they queued, in any order (here
// each new one in the same gap as the last, which halves it every time,
// then shuffled), end up in the order of those times, with distinct
// orders, and a call queued now comes after them all.
func TestOrderAt(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	for _, tt := range []struct {
		name   string
		offset func(i int) time.Duration // queue time of the i-th call after t0
	}{
		{"same gap", func(i int) time.Duration { return time.Duration(1000-i) * time.Second }},
		{"shuffled", func() func(int) time.Duration {
			p := rand.New(rand.NewPCG(1, 2)).Perm(200)
			return func(i int) time.Duration { return time.Duration(p[i]) * time.Second }
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// As after a thousand calls: orders far from zero, where
			// halving a gap runs out of precision soonest.
			e := &Engine{calls: map[CallID]*call{}, nextOrder: 1000}
			add := func(id string, queued time.Time) {
				c := &call{id: CallID(id), queuedAt: queued}
				c.order = e.orderAt(queued, now)
				e.calls[c.id] = c
				e.waiting = append(e.waiting, c)
			}
			add("first", t0)
			add("last", t0.Add(1001*time.Second))
			for i := range 200 {
				add(fmt.Sprint(i), t0.Add(tt.offset(i)))
			}
			add("now", now)
			byOrder := slices.Clone(e.waiting)
			slices.SortFunc(byOrder, func(a, b *call) int { return cmp.Compare(a.order, b.order) })
			for i := 1; i < len(byOrder); i++ {
				a, b := byOrder[i-1], byOrder[i]
				if a.order == b.order || a.queuedAt.After(b.queuedAt) {
					t.Fatalf("%s (queued %v, order %v) before %s (queued %v, order %v)",
						a.id, a.queuedAt, a.order, b.id, b.queuedAt, b.order)
				}
			}
			if byOrder[len(byOrder)-1].id != "now" {
				t.Errorf("last in order = %s, want the call queued now", byOrder[len(byOrder)-1].id)
			}
		})
	}
}
