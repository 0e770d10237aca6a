package pgstore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/crmcore"
)

// BenchmarkEventWriter measures the durable event log write path end to
// end on the durable cluster: b.N agent events written by concurrent
// producers in batches of eventBatch (as a node's event subscriber hands
// over what one wake-up brought), each WriteEvents returning once the
// journal's fsync covers it, then Close, which returns only when all of
// them are committed to PostgreSQL.
func BenchmarkEventWriter(b *testing.B) {
	const (
		producers  = 64
		eventBatch = 16
	)
	ctx := context.Background()
	pool := newDurablePool(b)
	w, err := NewWriter(pool, b.TempDir(), WithWriterMetrics(NewMetrics(prometheus.NewRegistry())))
	if err != nil {
		b.Fatal(err)
	}
	agents := make([]string, 1000)
	for i := range agents {
		agents[i] = crmcore.NewID()
	}
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	evs := make([]crmcore.AgentEvent, b.N)
	kinds := []crmcore.AgentEventKind{crmcore.AgentEventOffered, crmcore.AgentEventState, crmcore.AgentEventAnswered,
		crmcore.AgentEventState, crmcore.AgentEventCompleted, crmcore.AgentEventPresence}
	for i := range evs {
		e := crmcore.AgentEvent{ID: crmcore.NewID(), At: t0.Add(time.Duration(i) * time.Millisecond),
			Kind: kinds[i%len(kinds)], AgentID: agents[i%len(agents)], Queue: "support", Channel: "phone",
			TaskID: "call-1234567890", Node: "node-a", Wait: 12 * time.Second}
		switch e.Kind {
		case crmcore.AgentEventState:
			e.State = crmcore.AgentStateOnCall
		case crmcore.AgentEventPresence:
			e.Presence, e.Reason = crmcore.AgentPresenceNotReady, "break"
		}
		evs[i] = e
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			for {
				i := int(next.Add(eventBatch) - eventBatch)
				if i >= b.N {
					return
				}
				if err := w.WriteEvents(ctx, evs[i:min(i+eventBatch, b.N)]...); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(ctx); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
	var n int
	if err := pool.QueryRow(ctx, "select count(*) from agent_events").Scan(&n); err != nil || n != b.N {
		b.Fatalf("rows = %d, %v; want %d", n, err, b.N)
	}
}
