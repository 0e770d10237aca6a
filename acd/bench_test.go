package acd_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/acd/acdtest"
)

// BenchmarkEngineOffers measures the engine's throughput: each operation
// is one call through the whole journey (enqueue, routing decision, offer,
// answer, bridge, caller hang-up, agent back to idle) with 200 agents, 20
// queues and instant fakes. offers/s is reported.
func BenchmarkEngineOffers(b *testing.B) {
	var yaml = "stats_interval: -1\nwrap_up: 0\nqueues:\n"
	for q := 0; q < 20; q++ {
		yaml += fmt.Sprintf("  - {name: q%d, skills: [{skill: s%d, level: 1}]}\n", q, q)
	}
	cfg, err := acd.ParseConfig([]byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	phone := acdtest.NewPhone()
	var offers atomic.Int64
	phone.AutoAnswer = func(acd.Offer) bool { offers.Add(1); return true }
	clock := acdtest.NewClock(t0)
	e, err := acd.New(cfg, phone, phone, acd.WithClock(clock), acd.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		acd.WithCommandBuffer(1<<14))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	for i := 0; i < 200; i++ {
		sk := []acd.SkillLevel{{Skill: fmt.Sprintf("s%d", i%20), Level: 3}, {Skill: fmt.Sprintf("s%d", (i+7)%20), Level: 2}}
		if err := e.Login(ctx, acd.AgentSpec{ID: acd.AgentID(fmt.Sprintf("a%d", i)), Skills: sk, Ready: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	i := 0
	for b.Loop() {
		leg := acdtest.NewLeg(fmt.Sprintf("c%d", i))
		if _, err := e.Enqueue(ctx, acd.CallRequest{Queue: fmt.Sprintf("q%d", i%20)}, leg); err != nil {
			b.Fatal(err)
		}
		leg.End()
		i++
	}
	for !e.Quiet() {
		time.Sleep(100 * time.Microsecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(offers.Load())/el.Seconds(), "offers/s")
}
