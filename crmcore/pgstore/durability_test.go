package pgstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
)

// The child process of TestWriterDurableAcrossKill reads these.
const (
	childEnv    = "PGSTORE_DURABILITY_CHILD" // the journal directory
	childDSNEnv = "PGSTORE_DURABILITY_DSN"
	childCalls  = 300
)

// TestWriterDurableAcrossKill: with PostgreSQL stopped, a writer in another
// process acknowledges records (calls opened at arrival, most of them
// completed, the rest still in progress) and is killed with SIGKILL. Once
// PostgreSQL is back, a writer started on the same journal stores every
// acknowledged call exactly once: the completed ones as completed, the
// ones in progress closed as failed, interrupted.
func TestWriterDurableAcrossKill(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		durabilityChild(t, dir, os.Getenv(childDSNEnv))
		return
	}
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
	cluster := pgtest.Cluster(t)
	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = cluster.Restart(ctx)
		}
	}()

	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterDurableAcrossKill$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, childDSNEnv+"="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child prints one line per acknowledged record: "open <id>" or
	// "done <id>", then "all" and waits to be killed.
	acked := map[string]string{} // id → open or done
	sc := bufio.NewScanner(out)
	all := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && (f[0] == "open" || f[0] == "done"):
			acked[f[1]] = f[0]
		case len(f) == 1 && f[0] == "all":
			all = true
		}
		if all {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !all {
		t.Fatalf("the child ended before acknowledging every record (%d acknowledged)", len(acked))
	}
	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true

	w, err := NewWriter(pool, dir, WithNodeID("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := w.Close(cctx); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	if n := countRows(t, s); n != int64(len(acked)) {
		t.Errorf("rows = %d, want %d (one per acknowledged call)", n, len(acked))
	}
	completed, interrupted := 0, 0
	for id, state := range acked {
		got, err := s.GetInteraction(ctx, id)
		if err != nil {
			t.Errorf("acknowledged call %s: %v", id, err)
			continue
		}
		switch {
		case state == "done" && got.Outcome == crmcore.OutcomeAnswered:
			completed++
		case state == "open" && got.Outcome == crmcore.OutcomeFailed && strings.Contains(strings.Join(got.RoutingReasons, ","), crmcore.ReasonInterrupted):
			interrupted++
		default:
			t.Errorf("call %s acknowledged %s, stored %s %q", id, state, got.Outcome, got.RoutingReasons)
		}
	}
	t.Logf("%d calls acknowledged with PostgreSQL down, then SIGKILL: %d completed, %d interrupted, all stored once",
		len(acked), completed, interrupted)
}

// durabilityChild is the killed process: a writer on a stopped PostgreSQL.
func durabilityChild(t *testing.T, dir, dsn string) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn) // PostgreSQL is down: no ping
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(pool, dir, WithNodeID("node-a"), WithSegmentSize(16<<10), WithMaxBackoff(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for i := range childCalls {
		open := openRecord(i)
		if err := w.Write(ctx, open); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("open %s\n", open.ID)
		if i%5 == 4 {
			continue // still in progress when the process dies
		}
		done := testInteraction(i, "", "")
		done.ID = open.ID
		if err := w.Write(ctx, done); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("done %s\n", done.ID)
	}
	fmt.Println("all")
	select {} // until killed
}
