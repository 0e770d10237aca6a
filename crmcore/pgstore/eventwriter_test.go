package pgstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/crmcore"
)

// eventChildEnv names the journal directory of TestWriteEventsDurableAcrossKill's child.
const eventChildEnv = "PGSTORE_EVENT_CHILD"

// TestWriteEventsRoundTrip: events written are read back as written, in
// time order and by page; an invalid event refuses its batch; an event
// written twice is stored once.
func TestWriteEventsRoundTrip(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	w, err := NewWriter(pool, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	agent := crmcore.NewID()
	var evs []crmcore.AgentEvent
	for i := range 25 {
		e := offer(crmcore.AgentEventOffered, agent, at(9, 0, i))
		e.TaskID, e.InteractionID, e.Wait, e.Reason = fmt.Sprintf("call-%d", i), crmcore.NewID(), 1500*time.Millisecond, "r"
		evs = append(evs, e)
	}
	other := ev(crmcore.AgentEventLogout, crmcore.NewID(), at(9, 0, 0).Add(500*time.Millisecond).In(time.FixedZone("X", 3600)))
	bad := ev(crmcore.AgentEventLogin, agent, at(9, 1, 0)) // no presence
	if err := w.WriteEvents(ctx, other, bad); !errors.Is(err, crmcore.ErrInvalid) {
		t.Fatalf("invalid batch: %v", err)
	}
	if err := w.WriteEvents(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteEvents(ctx, append([]crmcore.AgentEvent{other}, evs[3:5]...)...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "select count(*) from agent_events").Scan(&n); err != nil || n != 26 {
		t.Fatalf("rows = %d, %v; want 26", n, err)
	}
	var got []crmcore.AgentEvent
	q := crmcore.AgentEventQuery{AgentID: agent, From: reportDay, To: reportDay.Add(24 * time.Hour), Limit: 10}
	for {
		page, err := s.AgentEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) < q.Limit {
			break
		}
		q.After = page[len(page)-1].ID
	}
	if d := cmp.Diff(evs, got); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	all, err := s.AgentEvents(ctx, crmcore.AgentEventQuery{From: reportDay, To: reportDay.Add(24 * time.Hour)})
	if err != nil || len(all) != 26 || all[1].ID != other.ID || !all[1].At.Equal(other.At) || all[1].At.Location() != time.UTC {
		t.Errorf("all events: %d, %v; second %+v", len(all), err, all[1])
	}
}

// TestWriteEventsDurableAcrossKill: a writer in another process, whose
// PostgreSQL cannot be reached, acknowledges events and is killed with
// SIGKILL. A writer started on the same journal stores every acknowledged
// event exactly once, also when a segment is replayed after its events
// were committed.
func TestWriteEventsDurableAcrossKill(t *testing.T) {
	if dir := os.Getenv(eventChildEnv); dir != "" {
		eventChild(t, dir)
		return
	}
	ctx := context.Background()
	pool := newPool(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriteEventsDurableAcrossKill$", "-test.v")
	cmd.Env = append(os.Environ(), eventChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	all := false
	sc := bufio.NewScanner(out)
	for !all && sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "ack":
			acked = append(acked, f[1])
		case len(f) == 1 && f[0] == "all":
			all = true
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !all {
		t.Fatalf("the child ended after %d acknowledged events", len(acked))
	}
	// Keep a copy of the journal: replayed once more after it is
	// written, it must change nothing.
	segs, err := listSegments(dir)
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments: %v, %v", segs, err)
	}
	again := t.TempDir()
	for _, n := range segs {
		b, err := os.ReadFile(segmentPath(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(segmentPath(again, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{dir, again} {
		w, err := NewWriter(pool, d)
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		err = w.Close(cctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	rows, err := pool.Query(ctx, "select id::text from agent_events order by id")
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, id)
	}
	slices.Sort(acked)
	if d := cmp.Diff(acked, stored); d != "" {
		t.Errorf("stored events differ from the acknowledged ones (-acked +stored):\n%s", d)
	}
}

// eventChild is the killed process: a writer whose PostgreSQL is a port
// nobody listens on.
func eventChild(t *testing.T, dir string) {
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	pool, err := pgxpool.New(ctx, "postgres://nobody@"+addr+"/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(pool, dir, WithSegmentSize(8<<10), WithMaxBackoff(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	agent := crmcore.NewID()
	for i := range 200 {
		e := state(agent, at(8, 0, i), crmcore.AgentStateOnCall)
		batch := []crmcore.AgentEvent{e}
		if i%10 == 0 {
			batch = append(batch, offer(crmcore.AgentEventOffered, agent, e.At))
		}
		if err := w.WriteEvents(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		for _, e := range batch {
			fmt.Printf("ack %s\n", e.ID)
		}
	}
	fmt.Println("all")
	select {} // until killed
}
