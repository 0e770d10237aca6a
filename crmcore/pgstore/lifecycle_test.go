package pgstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/crmcore"
)

// openRecord is the record of a call as it arrives: in progress.
func openRecord(i int) crmcore.Interaction {
	in := testInteraction(i, "", "")
	in.QueuedAt, in.AnsweredAt, in.EndedAt = nil, nil, nil
	in.Queue, in.IVRPath, in.RoutingReasons = "", nil, nil
	in.Outcome = crmcore.OutcomeInProgress
	return in
}

// TestWriterOpenThenCompleteIsOneRow: a call opened at arrival and
// completed at its end under the same id is one row holding the
// completion, whether the two records reach PostgreSQL in one transaction
// or in two, in order or not; an opening written again after the
// completion changes nothing.
func TestWriterOpenThenCompleteIsOneRow(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	w, err := NewWriter(pool, t.TempDir(), WithNodeID("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	type call struct{ open, done crmcore.Interaction }
	calls := make([]call, 4)
	for i := range calls {
		calls[i].open = openRecord(i)
		calls[i].done = testInteraction(i, "", "")
		calls[i].done.ID = calls[i].open.ID
	}
	// 0: open, then complete once the opening is committed (the upsert).
	if err := w.Write(ctx, calls[0].open); err != nil {
		t.Fatal(err)
	}
	waitRow(t, s, calls[0].open.ID, crmcore.OutcomeInProgress)
	// 1: open and complete back to back (likely one chunk).
	// 2: completed before it was opened.
	// 3: open, complete, and the opening once more.
	for _, in := range []crmcore.Interaction{calls[0].done, calls[1].open, calls[1].done, calls[2].done, calls[2].open,
		calls[3].open, calls[3].done, calls[3].open} {
		if err := w.Write(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s); n != int64(len(calls)) {
		t.Fatalf("rows = %d, want %d (one per call)", n, len(calls))
	}
	for i, c := range calls {
		got, err := s.GetInteraction(ctx, c.open.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Outcome != crmcore.OutcomeAnswered || got.EndedAt == nil || got.Queue != "support" {
			t.Errorf("call %d: stored %s ended %v queue %q, want the completion", i, got.Outcome, got.EndedAt, got.Queue)
		}
	}
}

// waitRow waits until the interaction id is stored with outcome.
func waitRow(t *testing.T, s *Store, id string, outcome crmcore.Outcome) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := s.GetInteraction(context.Background(), id)
		if err == nil && got.Outcome == outcome {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("interaction %s not stored as %s: %+v, %v", id, outcome, got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWriterClosesInterruptedOnStart: records left in progress by an
// earlier run of this node are closed at start as failed with the reason
// interrupted; those of another node and those opened by the new run are
// left alone.
func TestWriterClosesInterruptedOnStart(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	mine, other, done := openRecord(1), openRecord(2), testInteraction(3, "", "")
	for _, tc := range []struct {
		node string
		in   crmcore.Interaction
	}{{"node-a", done}, {"node-b", other}, {"node-a", mine}} {
		w, err := NewWriter(pool, t.TempDir(), WithNodeID(tc.node))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, tc.in); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}

	m := NewMetrics(prometheus.NewRegistry())
	w, err := NewWriter(pool, t.TempDir(), WithNodeID("node-a"), WithWriterMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	fresh := openRecord(4)
	if err := w.Write(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id      string
		outcome crmcore.Outcome
		reason  bool
	}{
		{mine.ID, crmcore.OutcomeFailed, true},
		{other.ID, crmcore.OutcomeInProgress, false},
		{done.ID, crmcore.OutcomeAnswered, false},
		{fresh.ID, crmcore.OutcomeInProgress, false},
	} {
		got, err := s.GetInteraction(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Outcome != tc.outcome || slices.Contains(got.RoutingReasons, crmcore.ReasonInterrupted) != tc.reason {
			t.Errorf("%s: outcome %s, reasons %q; want %s, interrupted %v", tc.id, got.Outcome, got.RoutingReasons, tc.outcome, tc.reason)
		}
	}
	if got := testutil.ToFloat64(m.Interrupted); got != 1 {
		t.Errorf("interrupted = %v, want 1", got)
	}
}

// TestWriterStoresEverySurveyAnswer: a survey with CSAT then NPS stores
// both answers (and the headline score), through the journal, the
// wrap-up fold and the read path.
func TestWriterStoresEverySurveyAnswer(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	w, err := NewWriter(pool, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	in := testInteraction(1, "", "")
	csat := 4
	if err := w.Write(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := w.AppendWrapUp(ctx, crmcore.WrapUp{InteractionID: in.ID, At: in.ArrivedAt.Add(time.Minute),
		SurveyScore: &csat, Survey: map[string]int{"csat": 4, "nps": 9}}); err != nil {
		t.Fatal(err)
	}
	bad := crmcore.WrapUp{InteractionID: in.ID, At: in.ArrivedAt, Survey: map[string]int{"nps": 11}}
	if err := w.AppendWrapUp(ctx, bad); err == nil {
		t.Error("a survey answer of 11 accepted")
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetInteraction(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Survey["csat"] != 4 || got.Survey["nps"] != 9 || len(got.Survey) != 2 || got.SurveyScore == nil || *got.SurveyScore != 4 {
		t.Errorf("survey %v, score %v; want csat 4 and nps 9, score 4", got.Survey, got.SurveyScore)
	}
}

// TestWriterSameCallOnTwoNodes: the SIP edge handed one call to two nodes
// (the first answered too late), and both record it under the id its
// signalling gives. The record of the node that lost the call (never
// acknowledged) gives way to the other node's, whichever reaches
// PostgreSQL first; an answered call's record never gives way to it.
func TestWriterSameCallOnTwoNodes(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	a, err := NewWriter(pool, t.TempDir(), WithNodeID("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewWriter(pool, t.TempDir(), WithNodeID("node-b"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(w *Writer, ins ...crmcore.Interaction) {
		t.Helper()
		for _, in := range ins {
			if err := w.Write(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	lost := func(i int) (open, refused crmcore.Interaction) {
		open = openRecord(i)
		open.ID = crmcore.CallRecordID(open.CallID, open.ANI, open.DNIS)
		refused = open
		ended := open.ArrivedAt.Add(32 * time.Second)
		refused.EndedAt, refused.Outcome, refused.RoutingReasons = &ended, crmcore.OutcomeFailed, []string{"refused: no ack"}
		return open, refused
	}
	taken := func(i int) (open, done crmcore.Interaction) {
		open = openRecord(i)
		open.ID = crmcore.CallRecordID(open.CallID, open.ANI, open.DNIS)
		done = testInteraction(i, "", "")
		done.ID = open.ID
		return open, done
	}

	// Call 1: the losing node's refusal is written first.
	aOpen, aRefused := lost(1)
	write(a, aOpen, aRefused)
	waitRow(t, s, aOpen.ID, crmcore.OutcomeFailed)
	bOpen, bDone := taken(1)
	write(b, bOpen)
	waitRow(t, s, bOpen.ID, crmcore.OutcomeInProgress)
	write(b, bDone)
	waitRow(t, s, bOpen.ID, crmcore.OutcomeAnswered)

	// Call 2: the call is over on the winning node before the other node
	// gives up on its acknowledgement.
	bOpen, bDone = taken(2)
	write(b, bOpen, bDone)
	waitRow(t, s, bOpen.ID, crmcore.OutcomeAnswered)
	aOpen, aRefused = lost(2)
	write(a, aOpen, aRefused)
	for _, w := range []*Writer{a, b} {
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := countRows(t, s); n != 2 {
		t.Fatalf("rows = %d, want one per call", n)
	}
	got, err := s.GetInteraction(ctx, bOpen.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != crmcore.OutcomeAnswered || got.Queue != "support" {
		t.Errorf("call 2 stored %s in %q, want the answered call's record", got.Outcome, got.Queue)
	}
}
