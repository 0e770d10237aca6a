package pgstore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
)

// clusterWait bounds every wait of these tests for something that must
// happen; it guards against hangs and is not a latency assertion.
const clusterWait = 20 * time.Second

// newClusterDB returns the DSN of a fresh, migrated database and a pool on
// it (the "third connection" that observes and kills members).
func newClusterDB(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	pool, err := Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return dsn, pool
}

// join makes node a member, closed when the test ends.
func join(t *testing.T, dsn, node string, opts ...MemberOption) *Member {
	t.Helper()
	m, err := Join(context.Background(), dsn, node, opts...)
	if err != nil {
		t.Fatalf("join %s: %v", node, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// kill terminates m's server process, as when its node dies.
func kill(t *testing.T, pool *pgxpool.Pool, m *Member) {
	t.Helper()
	var pid int32
	err := m.do(context.Background(), func(ctx context.Context, c *pgx.Conn, _ *memberRole) error {
		return c.QueryRow(ctx, `select pg_backend_pid()`).Scan(&pid)
	})
	if err != nil {
		t.Fatal(err)
	}
	var ok bool
	if err := pool.QueryRow(context.Background(), `select pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate backend %d of %s: %v, %v", pid, m.node, ok, err)
	}
}

func waitLost(t *testing.T, m *Member) {
	t.Helper()
	select {
	case <-m.Lost():
	case <-time.After(clusterWait):
		t.Fatalf("member %s: Lost not closed", m.node)
	}
}

func checkLeader(t *testing.T, s *Store, node string, epoch int64) {
	t.Helper()
	gotNode, gotEpoch, err := s.Leader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if gotNode != node || gotEpoch != epoch {
		t.Errorf("leader = %q epoch %d, want %q epoch %d", gotNode, gotEpoch, node, epoch)
	}
}

type campaignResult struct {
	term Term
	err  error
}

// campaign runs m's campaign in the background.
func campaign(ctx context.Context, m *Member) <-chan campaignResult {
	res := make(chan campaignResult, 1)
	go func() {
		term, err := m.Campaign(ctx)
		res <- campaignResult{term, err}
	}()
	return res
}

func await(t *testing.T, res <-chan campaignResult) campaignResult {
	t.Helper()
	select {
	case r := <-res:
		return r
	case <-time.After(clusterWait):
		t.Fatal("campaign did not return")
		return campaignResult{}
	}
}

// TestCampaignFailover: the first member to campaign leads at once with
// epoch 1, a second waits, and takes over with epoch 2 when the first
// member's connection ends, closed or killed; the first one's Lost fires
// and it can do nothing more.
func TestCampaignFailover(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, pool *pgxpool.Pool, m *Member)
	}{
		{"closed", func(t *testing.T, _ *pgxpool.Pool, m *Member) {
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
		}},
		{"backend terminated", kill},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dsn, pool := newClusterDB(t)
			s := New(pool)
			checkLeader(t, s, "", 0)
			a, b := join(t, dsn, "a"), join(t, dsn, "b")
			ta, err := a.Campaign(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ta.Epoch != 1 || ta.Since.IsZero() || ta.Since.Location() != time.UTC {
				t.Fatalf("a's term = %+v, want epoch 1 since a UTC time", ta)
			}
			if _, err := a.Campaign(ctx); !errors.Is(err, ErrRoleTransition) {
				t.Errorf("leader campaigning again: %v, want ErrRoleTransition", err)
			}
			won := campaign(ctx, b)
			checkLeader(t, s, "a", 1)
			select {
			case r := <-won:
				t.Fatalf("b won while a leads: %+v", r)
			default:
			}

			tc.end(t, pool, a)
			waitLost(t, a)
			r := await(t, won)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.term.Epoch != ta.Epoch+1 || r.term.Since.Before(ta.Since) {
				t.Errorf("b's term = %+v, want epoch %d since %v or later", r.term, ta.Epoch+1, ta.Since)
			}
			checkLeader(t, s, "b", ta.Epoch+1)
			if _, err := a.LostNodes(ctx); !errors.Is(err, ErrMemberGone) {
				t.Errorf("LostNodes of a gone member: %v, want ErrMemberGone", err)
			}
			if _, err := a.Campaign(ctx); !errors.Is(err, ErrMemberGone) {
				t.Errorf("Campaign of a gone member: %v, want ErrMemberGone", err)
			}
		})
	}
}

// TestCampaignCancel: a campaign waiting for the leader lock returns
// ctx's error when ctx ends, takes nothing, and the member can campaign
// again later.
func TestCampaignCancel(t *testing.T) {
	dsn, pool := newClusterDB(t)
	s := New(pool)
	a, b := join(t, dsn, "a"), join(t, dsn, "b")
	if _, err := a.Campaign(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := campaign(ctx, b)
	cancel()
	if r := await(t, res); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled campaign: %+v, want context.Canceled", r)
	}
	checkLeader(t, s, "a", 1)

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	r := await(t, campaign(context.Background(), b))
	if r.err != nil || r.term.Epoch != 2 {
		t.Fatalf("campaign after cancel: %+v, want epoch 2", r)
	}
}

// TestJoinNodeIDInUse: a second member under a live node's id is refused;
// once the first is gone, however it went, the id can join again, and its
// row says it is joined with the new address.
func TestJoinNodeIDInUse(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, pool *pgxpool.Pool, m *Member)
	}{
		{"closed", func(t *testing.T, _ *pgxpool.Pool, m *Member) {
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
		}},
		{"left", func(t *testing.T, _ *pgxpool.Pool, m *Member) {
			if err := m.Leave(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{"backend terminated", func(t *testing.T, pool *pgxpool.Pool, m *Member) {
			kill(t, pool, m)
			waitLost(t, m)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn, pool := newClusterDB(t)
			a := join(t, dsn, "a", WithAddr("old"))
			if m, err := Join(ctx, dsn, "a"); !errors.Is(err, ErrNodeIDInUse) {
				if m != nil {
					m.Close()
				}
				t.Fatalf("second join under a live id: %v, want ErrNodeIDInUse", err)
			}
			tc.end(t, pool, a)
			join(t, dsn, "a", WithAddr("sip:127.0.0.1:5060 http://127.0.0.1:8080"))
			var addr string
			var joined bool
			if err := pool.QueryRow(ctx, `select addr, left_at is null from cluster_nodes where id = 'a'`).Scan(&addr, &joined); err != nil {
				t.Fatal(err)
			}
			if addr != "sip:127.0.0.1:5060 http://127.0.0.1:8080" || !joined {
				t.Errorf("row: addr %q joined %v, want the new address, joined", addr, joined)
			}
		})
	}
}

func TestJoinRefusesEmptyID(t *testing.T) {
	dsn, _ := newClusterDB(t)
	if m, err := Join(context.Background(), dsn, ""); !errors.Is(err, crmcore.ErrInvalid) {
		if m != nil {
			m.Close()
		}
		t.Fatalf("join with an empty id: %v, want ErrInvalid", err)
	}
}

// TestLostNodes: a node whose process is gone (killed, or closed without
// leaving) is lost; a live node, a node that left and the asking node
// itself are not.
func TestLostNodes(t *testing.T) {
	ctx := context.Background()
	dsn, pool := newClusterDB(t)
	a := join(t, dsn, "a")
	join(t, dsn, "b")
	c, d, e := join(t, dsn, "c"), join(t, dsn, "d"), join(t, dsn, "e")
	if _, err := a.Campaign(ctx); err != nil {
		t.Fatal(err)
	}
	kill(t, pool, c)
	if err := d.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"c", "e"}
	deadline := time.Now().Add(clusterWait)
	for {
		got, err := a.LostNodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cmp.Equal(want, got) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lost nodes (-want +got):\n%s", cmp.Diff(want, got))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Probing the locks took none of them: the lost ids can join again.
	join(t, dsn, "c")
	join(t, dsn, "e")
	got, err := a.LostNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("lost nodes after they rejoined: %q, want none", got)
	}
}

// TestLostNodesGrace: a member that has just joined lists no node lost,
// since after PostgreSQL restarted every node is joining again; once its
// grace is over it lists the nodes whose processes are gone.
func TestLostNodesGrace(t *testing.T) {
	ctx := context.Background()
	dsn, pool := newClusterDB(t)
	b := join(t, dsn, "b")
	a := join(t, dsn, "a", WithTakeoverGrace(time.Hour))
	c := join(t, dsn, "c", WithTakeoverGrace(0))
	kill(t, pool, b)
	waitLost(t, b)
	deadline := time.Now().Add(clusterWait)
	for {
		got, err := c.LostNodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cmp.Equal([]string{"b"}, got) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lost nodes after the grace: %q, want [b]", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := a.LostNodes(ctx); err != nil || len(got) != 0 {
		t.Errorf("lost nodes within the grace: %q, %v; want none", got, err)
	}
}

// TestCloseNodeRecords: the records a lost node left in progress are
// closed as failed with the reason node lost, once, however many callers
// race; its completed records and other nodes' records are untouched; a
// live node's records are refused.
func TestCloseNodeRecords(t *testing.T) {
	ctx := context.Background()
	dsn, pool := newClusterDB(t)
	s := New(pool)
	a := join(t, dsn, "a")
	b := join(t, dsn, "b")
	aOpen1, aOpen2, aDone, bOpen := openRecord(1), openRecord(2), testInteraction(3, "", ""), openRecord(4)
	for _, tc := range []struct {
		node string
		recs []crmcore.Interaction
	}{{"a", []crmcore.Interaction{aOpen1, aOpen2, aDone}}, {"b", []crmcore.Interaction{bOpen}}} {
		w, err := NewWriter(pool, t.TempDir(), WithNodeID(tc.node))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range tc.recs {
			if err := w.Write(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil { // a's process is gone, a never left
		t.Fatal(err)
	}
	// The server ends a's session, and frees its lock, a moment after the
	// client closed it.
	for deadline := time.Now().Add(clusterWait); ; {
		var free bool
		if err := pool.QueryRow(ctx, `select case when pg_try_advisory_lock($1) then pg_advisory_unlock($1) else false end`,
			nodeLockKey("a")).Scan(&free); err != nil {
			t.Fatal(err)
		}
		if free {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a's lock is still held after its member closed")
		}
		time.Sleep(20 * time.Millisecond)
	}

	if n, err := s.CloseNodeRecords(ctx, "b"); !errors.Is(err, ErrNodeIDInUse) || n != 0 {
		t.Errorf("closing a live node's records: %d, %v; want 0, ErrNodeIDInUse", n, err)
	}
	var wg sync.WaitGroup
	counts := make([]int64, 2)
	errs := make([]error, 2)
	for i := range counts {
		wg.Go(func() { counts[i], errs[i] = s.CloseNodeRecords(ctx, "a") })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if counts[0]+counts[1] != 2 {
		t.Errorf("records closed by two racing callers: %v, want 2 in all", counts)
	}
	if n, err := s.CloseNodeRecords(ctx, "a"); err != nil || n != 0 {
		t.Errorf("second call: %d, %v; want 0, nil", n, err)
	}

	type stored struct {
		Outcome crmcore.Outcome
		Reasons []string
	}
	want := map[string]stored{
		aOpen1.ID: {crmcore.OutcomeFailed, []string{crmcore.ReasonNodeLost}},
		aOpen2.ID: {crmcore.OutcomeFailed, []string{crmcore.ReasonNodeLost}},
		aDone.ID:  {crmcore.OutcomeAnswered, []string{"skill"}},
		bOpen.ID:  {crmcore.OutcomeInProgress, nil},
	}
	got := map[string]stored{}
	for id := range want {
		in, err := s.GetInteraction(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got[id] = stored{in.Outcome, in.RoutingReasons}
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if lost, err := b.LostNodes(ctx); err != nil || len(lost) != 0 {
		t.Errorf("lost nodes after a's records were closed: %q, %v; want none (a left)", lost, err)
	}
}

// TestMemberConnectionSettings: the member's session gets short server
// keepalives and a name, unless the DSN sets them.
func TestMemberConnectionSettings(t *testing.T) {
	dsn, _ := newClusterDB(t)
	for _, tc := range []struct {
		name, dsn string
		want      []string
	}{
		{"defaults", dsn, []string{"5", "1", "3", "8000", "switchboard node a"}},
		{"from the DSN", dsn + "&tcp_keepalives_idle=7&application_name=edge", []string{"7", "1", "3", "8000", "edge"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := join(t, tc.dsn, "a")
			got := make([]string, 5)
			err := m.do(context.Background(), func(ctx context.Context, c *pgx.Conn, _ *memberRole) error {
				return c.QueryRow(ctx, `select current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'),
					current_setting('tcp_keepalives_count'), current_setting('tcp_user_timeout'), current_setting('application_name')`).
					Scan(&got[0], &got[1], &got[2], &got[3], &got[4])
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMemberCloseEndsGoroutine: a closed member leaves no goroutine behind.
func TestMemberCloseEndsGoroutine(t *testing.T) {
	dsn, _ := newClusterDB(t)
	ignore := goleak.IgnoreCurrent()
	m, err := Join(context.Background(), dsn, "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	goleak.VerifyNone(t, ignore)
}

// TestClusterLockKeys: the lock keys are fixed by their derivation; a
// change would let nodes of two builds both lead.
func TestClusterLockKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  int64
		want int64
	}{
		{"leader", leaderLockKey, 4342231830362674546},
		{"node a", nodeLockKey("a"), 6518111649733038715},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("key = %d, want %d", tc.got, tc.want)
			}
		})
	}
}

// TestCampaignLeavesTermToRejoiningLeader: when every connection dropped
// at once, the node that led joins again and takes its term back: a
// standby that joined within the takeover grace leaves the free leader
// lock alone, and one past the grace leaves it while the last leader's
// node lock is held; once the last leader is gone for good, the standby
// takes over.
func TestCampaignLeavesTermToRejoiningLeader(t *testing.T) {
	dsn, pool := newClusterDB(t)
	s := New(pool)
	ctx := context.Background()
	a := join(t, dsn, "a", WithTakeoverGrace(0))
	if _, err := a.Campaign(ctx); err != nil {
		t.Fatal(err)
	}
	kill(t, pool, a)
	waitLost(t, a)

	// b joins just after the drop: within its grace it does not lead.
	b := join(t, dsn, "b", WithTakeoverGrace(time.Hour))
	short, cancel := context.WithTimeout(ctx, time.Second)
	_, err := b.Campaign(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("standby within its grace: campaign = %v, want no term", err)
	}

	// a joins again (its node lock held): c, past its grace, still waits.
	a2 := join(t, dsn, "a", WithTakeoverGrace(0))
	c := join(t, dsn, "c", WithTakeoverGrace(0))
	short, cancel = context.WithTimeout(ctx, time.Second)
	_, err = c.Campaign(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("standby while the last leader is alive: campaign = %v, want no term", err)
	}
	term, err := a2.Campaign(ctx)
	if err != nil || term.Epoch != 2 {
		t.Fatalf("rejoined leader: term %+v, %v; want epoch 2", term, err)
	}
	checkLeader(t, s, "a", 2)

	// a dies for good: c takes over.
	kill(t, pool, a2)
	waitLost(t, a2)
	wctx, cancel := context.WithTimeout(ctx, clusterWait)
	defer cancel()
	if term, err = c.Campaign(wctx); err != nil || term.Epoch != 3 {
		t.Fatalf("standby after the leader died: term %+v, %v; want epoch 3", term, err)
	}
	checkLeader(t, s, "c", 3)
}
