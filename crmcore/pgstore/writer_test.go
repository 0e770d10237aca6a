package pgstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
)

func testInteraction(i int, contactID, agentID string) crmcore.Interaction {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	q, a, e := t0.Add(5*time.Second), t0.Add(20*time.Second), t0.Add(200*time.Second)
	return crmcore.Interaction{ID: crmcore.NewID(), CallID: fmt.Sprintf("call-%d", i), Direction: crmcore.Inbound,
		Channel: crmcore.ChannelPhone, ANI: "+14155550100", DNIS: "+18005550100", ContactID: contactID, AgentID: agentID,
		Queue: "support", ArrivedAt: t0, QueuedAt: &q, AnsweredAt: &a, EndedAt: &e, Outcome: crmcore.OutcomeAnswered,
		IVRPath: []crmcore.IVRStep{{Node: "menu", Digits: "2"}}, RoutingReasons: []string{"skill"}}
}

func countRows(t testing.TB, s *Store) int64 {
	t.Helper()
	n, err := s.CountInteractions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWriterWritesAndWrapUps(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	w, err := NewWriter(pool, t.TempDir(), WithWriterMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	in := testInteraction(1, "", "")
	in.Notes = "caller angry"
	score := 9
	// The wrap-up may overtake its interaction: it is folded in either way.
	if err := w.AppendWrapUp(ctx, crmcore.WrapUp{InteractionID: in.ID, At: in.ArrivedAt.Add(time.Hour), Disposition: "refund", Notes: "refund issued"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, in); err != nil { // a duplicate is absorbed
		t.Fatal(err)
	}
	bad := in
	bad.Outcome = "exploded"
	if err := w.Write(ctx, bad); err == nil {
		t.Fatal("invalid interaction accepted")
	}
	if err := w.AppendWrapUp(ctx, crmcore.WrapUp{InteractionID: in.ID, At: in.ArrivedAt.Add(2 * time.Hour), SurveyScore: &score, Notes: "called back"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, in); err != ErrWriterClosed {
		t.Fatalf("write after close = %v", err)
	}
	if n := countRows(t, s); n != 1 {
		t.Fatalf("rows = %d, want 1", n)
	}
	got, err := s.GetInteraction(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Disposition != "refund" || got.SurveyScore == nil || *got.SurveyScore != 9 ||
		got.Notes != "caller angry\nrefund issued\ncalled back" || got.CallID != "call-1" {
		t.Fatalf("folded interaction = %+v", got)
	}
	if d := got.Durations(); d.Wait != 15*time.Second || d.Talk != 180*time.Second {
		t.Errorf("durations = %+v", d)
	}
	if v := testutil.ToFloat64(m.Written.WithLabelValues("wrapup")); v != 2 {
		t.Errorf("wrapups written = %v", v)
	}
	list, err := s.ListInteractions(ctx, crmcore.InteractionFilter{Queue: "support", Outcome: crmcore.OutcomeAnswered})
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %d, %v", len(list), err)
	}
}

// TestWriterReplaysOnStart: files an earlier run left in the journal
// directory (a spill file of the version without segments ending in a torn
// record, and a segment) are written at start, and every segment is gone
// once its records are committed.
func TestWriterReplaysOnStart(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	dir := t.TempDir()
	pre := []crmcore.Interaction{testInteraction(0, "", ""), testInteraction(1, "", "")}
	for i := range pre {
		normalizeInteraction(&pre[i])
	}
	legacy := journalFile(journalMagicV2, 2, []record{{I: &pre[0]}})
	legacy = append(legacy, "\x7f\xff\x01torn"...)
	if err := os.WriteFile(filepath.Join(dir, legacyJournalName), legacy, 0o600); err != nil {
		t.Fatal(err)
	}
	seg := appendJournalRecord(slices.Clone(journalMagic), &record{I: &pre[1]})
	if err := os.WriteFile(segmentPath(dir, 7), seg, 0o600); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	w, err := NewWriter(pool, dir, WithBatchSize(8), WithSegmentSize(4096), WithWriterMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	for i := 2; i < n; i++ {
		if err := w.Write(ctx, testInteraction(i, "", "")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, s); got != n {
		t.Fatalf("rows = %d, want %d", got, n)
	}
	if got := testutil.ToFloat64(m.Replayed); got != 2 {
		t.Errorf("replayed = %v, want 2", got)
	}
	left, _ := filepath.Glob(filepath.Join(dir, segmentPrefix+"*"))
	if len(left) != 0 {
		t.Errorf("segments left: %v", left)
	}
}

// TestWriterSurvivesPostgresRestart stops the cluster while interactions are
// being written, keeps writing, starts it again and checks that every
// interaction accepted by Write is in the database exactly once.
func TestWriterSurvivesPostgresRestart(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	cluster := pgtest.Cluster(t)
	w, err := NewWriter(pool, t.TempDir(), WithBatchSize(100), WithSegmentSize(64<<10),
		WithMaxBackoff(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		written int
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	for g := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := w.Write(ctx, testInteraction(g*1_000_000+i, "", "")); err != nil {
					t.Errorf("write: %v", err)
					return
				}
				mu.Lock()
				written++
				mu.Unlock()
				if i%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	snapshot := func() int { mu.Lock(); defer mu.Unlock(); return written }
	waitFor("first writes", func() bool { return snapshot() > 1000 })
	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	atStop := snapshot()
	waitFor("writes during the outage", func() bool { return snapshot() > atStop+3000 })
	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	atStart := snapshot()
	waitFor("writes after the restart", func() bool { return snapshot() > atStart+1000 })
	close(stop)
	wg.Wait()
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := w.Close(cctx); err != nil {
		t.Fatal(err)
	}
	total := snapshot()
	if got := countRows(t, s); got != int64(total) {
		t.Fatalf("rows = %d, written = %d: %d lost", got, total, int64(total)-got)
	}
	t.Logf("written %d interactions (%d during the outage), all stored", total, atStart-atStop)
}

func TestWriterCloseTimeoutKeepsJournal(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	pool, err := Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Point a writer at a closed port: nothing can be written.
	dead, err := Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	dead.Close()
	w, err := NewWriter(dead, dir, WithMaxBackoff(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := w.Write(ctx, testInteraction(i, "", "")); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := w.Close(cctx); err == nil {
		t.Fatal("Close succeeded with no database")
	}
	// A new writer on a live pool replays everything.
	w2, err := NewWriter(pool, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, New(pool)); got != 50 {
		t.Fatalf("rows after replay = %d, want 50", got)
	}
}

func TestWriterLeavesNoGoroutines(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if err := pool.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	ignore := goleak.IgnoreCurrent()
	w, err := NewWriter(pool, t.TempDir(), WithBatchSize(600))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 { // large enough for the two-connection split
		if err := w.Write(ctx, testInteraction(i, "", "")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, ignore, goleak.IgnoreAnyFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
		goleak.IgnoreAnyFunction("github.com/jackc/puddle/v2.(*Pool[...]).initResourceValue.func1"))
}

func TestWriterReferences(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if _, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	c, err := crmcore.NewContact(crmcore.ContactInput{Name: "Short Lived", Phones: []crmcore.PhoneInput{{Number: "+1 212 555 0166"}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if c, err = s.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	alice, _ := s.AgentByLogin(ctx, "alice")
	w, err := NewWriter(pool, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	good := testInteraction(1, c.ID, alice.ID)
	dangling := testInteraction(2, crmcore.NewID(), crmcore.NewID())
	for _, in := range []crmcore.Interaction{good, dangling} {
		if err := w.Write(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetInteraction(ctx, good.ID)
	if got.ContactID != c.ID || got.AgentID != alice.ID {
		t.Fatalf("references lost: %+v", got)
	}
	got, _ = s.GetInteraction(ctx, dangling.ID)
	if got.ContactID != "" || got.AgentID != "" {
		t.Fatalf("dangling references stored: contact=%q agent=%q", got.ContactID, got.AgentID)
	}
	if err := s.DeleteContact(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetInteraction(ctx, good.ID)
	if got.ContactID != "" || got.AgentID != alice.ID {
		t.Fatalf("after contact delete: contact=%q agent=%q", got.ContactID, got.AgentID)
	}
}

// TestWriterFoldsWrapUpCommittedFirst covers a wrap-up committed in an
// earlier transaction than its interaction (the interaction's chunk finds
// it through the id-range probe, then the exact check), next to a wrap-up
// for another interaction whose id falls in the same range.
func TestWriterFoldsWrapUpCommittedFirst(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	ids := []string{crmcore.NewID(), crmcore.NewID(), crmcore.NewID()}
	slices.Sort(ids)
	first, other, last := testInteraction(1, "", ""), ids[1], testInteraction(2, "", "")
	first.ID, last.ID = ids[0], ids[2]

	w1, err := NewWriter(pool, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, wu := range []crmcore.WrapUp{
		{InteractionID: last.ID, At: last.ArrivedAt.Add(time.Hour), Disposition: "sold", Notes: "first note"},
		{InteractionID: other, At: last.ArrivedAt, Disposition: "elsewhere"},
	} {
		if err := w1.AppendWrapUp(ctx, wu); err != nil {
			t.Fatal(err)
		}
	}
	if err := w1.Close(ctx); err != nil {
		t.Fatal(err)
	}

	w2, err := NewWriter(pool, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []crmcore.Interaction{first, last} {
		if err := w2.Write(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := w2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetInteraction(ctx, last.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Disposition != "sold" || got.Notes != "first note" {
		t.Errorf("wrap-up not folded: disposition %q, notes %q", got.Disposition, got.Notes)
	}
	got, err = s.GetInteraction(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Disposition != "" || got.Notes != "" {
		t.Errorf("unrelated wrap-up folded: disposition %q, notes %q", got.Disposition, got.Notes)
	}
}
