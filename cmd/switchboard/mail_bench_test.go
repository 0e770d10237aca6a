package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"switchboard/crmcore/mail"
	"switchboard/crmcore/pgcluster/pgtest"
	"switchboard/crmcore/pgstore"
)

// BenchmarkEmailIngest is the inbound email path behind the SMTP
// listener, on the durable PostgreSQL settings `serve` runs with: each
// message is parsed, its sender matched or made a contact, threaded (one
// in four answers an earlier message) or opened as a ticket queued for
// routing, with its acknowledgement queued, in one committed transaction.
// Sixteen deliveries run at once, as from an MTA's parallel connections.
func BenchmarkEmailIngest(b *testing.B) {
	ctx := context.Background()
	pool := migratedPool(b, pgtest.NewDurableDatabase(b))
	inbox := mail.NewInbox(pgstore.New(pool), mail.InboxOptions{Domain: "bench.test",
		Routes: map[string]mail.Route{"support@example.com": {Group: "support"}}, Logger: slog.New(slog.DiscardHandler)})
	body := bytes.Repeat([]byte("My router blinks red since this morning; I restarted it twice.\r\n"), 30)
	var seq atomic.Int64
	b.SetParallelism(8) // 16 on two cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			thread := ""
			if i%4 == 0 {
				thread = fmt.Sprintf("In-Reply-To: <bench-%d@cust.example>\r\n", i-1)
			}
			raw := fmt.Appendf(nil, "From: Customer %d <c%d@cust.example>\r\nTo: support@example.com\r\nSubject: Router %d\r\n"+
				"Message-ID: <bench-%d@cust.example>\r\n%sMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
				i%500, i%500, i, i, thread, body)
			if err := inbox.Deliver(ctx, "c@cust.example", []string{"support@example.com"}, bytes.NewReader(raw)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
