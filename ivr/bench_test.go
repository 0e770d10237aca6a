package ivr_test

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

// BenchmarkParseDemo measures loading and validating the demo flows (a reload).
func BenchmarkParseDemo(b *testing.B) {
	data, err := os.ReadFile("testdata/demo.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ivr.Parse("demo.yaml", data, ivr.Options{Queues: demoQueues}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunDemoTicket measures one call through the longest demo branch: menu, ticket
// number with confirmation, lookup, status read back, ticket menu, queue.
func BenchmarkRunDemoTicket(b *testing.B) {
	set := loadDemo(b)
	ep, _ := set.ForDNIS("+15550100")
	lookup := demoLookup()
	in := ivr.Input{ANI: anyANI, E164: anyANI, Lookup: lookup, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return mondayMorning }}
	b.ReportAllocs()
	for b.Loop() {
		sess := ivrtest.NewSession(ivrtest.Keys("2"), ivrtest.Keys("1042#"), ivrtest.Keys("1"), ivrtest.Keys("1"))
		out := ivr.Run(b.Context(), sess, ep.Flow, in)
		if out.Queue != "support" {
			b.Fatalf("queue %q", out.Queue)
		}
	}
}
