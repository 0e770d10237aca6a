package pgstore

import (
	"context"
	"testing"
	"time"

	"switchboard/crmcore"
)

// TestQueueMinutes: the completed inbound calls of a queue, counted by
// the minute they joined it; calls in progress, or that ended after
// until, are left to the router that sees them live.
func TestQueueMinutes(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	w, err := NewWriter(pool, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, b := testInteraction(1, "", ""), testInteraction(2, "", "")
	ab := testInteraction(3, "", "")
	end := ab.QueuedAt.Add(30 * time.Second)
	ab.AnsweredAt, ab.EndedAt, ab.Outcome = nil, &end, crmcore.OutcomeAbandoned
	open := openRecord(4)
	q := open.ArrivedAt.Add(time.Second)
	open.Queue, open.QueuedAt = "support", &q
	late := testInteraction(5, "", "")
	lateEnd := late.ArrivedAt.Add(2 * time.Hour)
	late.EndedAt = &lateEnd
	for _, in := range []crmcore.Interaction{a, b, ab, open, late} {
		if err := w.Write(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	since := a.ArrivedAt.Truncate(time.Hour)
	rows, err := s.QueueMinutes(ctx, since, since.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Key != "support" || !rows[0].Period.Equal(a.QueuedAt.Truncate(time.Minute)) {
		t.Fatalf("rows = %+v, want one minute of support", rows)
	}
	got := rows[0].Sums
	want := crmcore.ReportSums{Offered: 3, Answered: 2, AbandonedLong: 1, AnsweredWithinSL: 2, SumWaitMS: 30000,
		SumTalkMS: got.SumTalkMS, Handled: 2}
	if got.Offered != want.Offered || got.Answered != want.Answered || got.AbandonedLong != want.AbandonedLong ||
		got.AnsweredWithinSL != want.AnsweredWithinSL || got.SumWaitMS != want.SumWaitMS || got.Handled != want.Handled || got.SumTalkMS <= 0 {
		t.Errorf("sums = %+v, want %+v", got, want)
	}
}
