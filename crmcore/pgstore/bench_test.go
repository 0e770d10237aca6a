package pgstore

import (
	"context"

	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
)

const benchContacts = 1_000_000

var (
	lookupOnce sync.Once
	lookupPool *pgxpool.Pool
	lookupErr  error
)

func benchPhone(i int) string { return fmt.Sprintf("+1415%07d", i) }

// newDurablePool returns a pool on a fresh, migrated database in the
// durable cluster: the settings `switchboard serve` runs with.
func newDurablePool(b *testing.B) *pgxpool.Pool {
	b.Helper()
	ctx := context.Background()
	pool, err := Connect(ctx, pgtest.NewDurableDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if err := Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	return pool
}

// loadContacts bulk-loads n contacts with one number each, plus tickets and
// interactions for every 100th contact, with COPY.
func loadContacts(ctx context.Context, pool *pgxpool.Pool, n int) error {
	// The search indexes (trigram, GIN) are dropped to keep the load quick;
	// the lookup does not use them. The indexes it does use are rebuilt
	// after the load, which is cheaper than maintaining them row by row.
	if _, err := pool.Exec(ctx, `drop index contacts_name_trgm, contacts_emails, contacts_tags, contacts_account,
		contact_phones_contact, tickets_requester, tickets_requester_open, interactions_contact`); err != nil {
		return err
	}
	agentID := crmcore.NewID()
	if _, err := pool.Exec(ctx, `insert into agents (id, login, name, role, password_hash) values ($1, 'bench', 'Bench Agent', 'agent', '$2a$10$x')`, agentID); err != nil {
		return err
	}
	now := time.Now().UTC()
	ids := make([]pgtype.UUID, n)
	for i := range ids {
		ids[i] = pgUUID(crmcore.NewID())
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"id", "name", "country", "time_zone", "created_at", "updated_at"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return []any{ids[i], fmt.Sprintf("Contact %d", i), "US", "America/Los_Angeles", now, now}, nil
		})); err != nil {
		return err
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"contact_phones"}, []string{"e164", "contact_id", "label", "country"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return []any{benchPhone(i), ids[i], "mobile", "US"}, nil
		})); err != nil {
		return err
	}
	hot := n / 100
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"tickets"}, []string{"id", "number", "subject", "status", "requester_id", "assignee_id", "created_at", "updated_at"},
		pgx.CopyFromSlice(hot, func(i int) ([]any, error) {
			return []any{pgUUID(crmcore.NewID()), int64(10000 + i), "Bench ticket", "open", ids[i*100], pgUUID(agentID), now, now}, nil
		})); err != nil {
		return err
	}
	const perContact = 8
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"interactions"}, []string{"id", "direction", "channel", "ani", "contact_id", "agent_id", "queue", "arrived_at", "outcome"},
		pgx.CopyFromSlice(hot*perContact, func(i int) ([]any, error) {
			c := (i / perContact) * 100
			return []any{pgUUID(crmcore.NewID()), "inbound", "phone", benchPhone(c), ids[c], pgUUID(agentID), "support",
				now.Add(-time.Duration(i) * time.Minute), "answered"}, nil
		})); err != nil {
		return err
	}
	for _, sql := range []string{
		`create index contacts_account on contacts (account_id)`,
		`create index contact_phones_contact on contact_phones (contact_id, position)`,
		`create index tickets_requester on tickets (requester_id, status)`,
		`create index tickets_requester_open on tickets (requester_id, number desc) where status in ('new', 'open', 'pending')`,
		`create index interactions_contact on interactions (contact_id, arrived_at) where contact_id is not null`,
		`vacuum analyze`,
		// A running server is not in the middle of writing out a bulk
		// load: flush it before anything is measured.
		`checkpoint`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			return err
		}
	}
	return nil
}

// lookupStore returns a Store over the 1,000,000-contact database in the
// durable cluster, loading it on first use (in about 25 s).
func lookupStore(b *testing.B) *Store {
	b.Helper()
	if testing.Short() {
		b.Skip("needs a 1M-contact database")
	}
	lookupOnce.Do(func() {
		ctx := context.Background()
		// The database outlives the benchmark that creates it, for the
		// others; pgtest.Main removes the whole cluster at the end.
		c := pgtest.DurableCluster(b)
		if lookupErr = c.CreateDatabase(ctx, "lookup_bench"); lookupErr != nil {
			return
		}
		start := time.Now()
		// The load runs on its own connections, closed afterwards: the
		// lookups run on fresh ones, as a server's would, not on the
		// backends that just built indexes over a million rows.
		load, err := Connect(ctx, c.DSN("lookup_bench"))
		if err != nil {
			lookupErr = err
			return
		}
		defer load.Close()
		if lookupErr = Migrate(ctx, load); lookupErr != nil {
			return
		}
		if lookupErr = loadContacts(ctx, load, benchContacts); lookupErr != nil {
			return
		}
		b.Logf("loaded %d contacts in %v", benchContacts, time.Since(start).Round(time.Millisecond))
		lookupPool, lookupErr = Connect(ctx, c.DSN("lookup_bench"))
	})
	if lookupErr != nil {
		b.Fatal(lookupErr)
	}
	return New(lookupPool)
}

// BenchmarkLookupByPhone measures the screen-pop query, Store.LookupByPhone,
// against 1,000,000 contacts (1 in 100 with open tickets and interaction
// history; 1 lookup in 10 for an unknown number) in the durable cluster,
// the configuration `switchboard serve` runs (pgtest.DurableCluster).
// Calls are sequential, one at a time, after 2,000 warm-up lookups (a
// running server's connections have their statements prepared and its
// caches hold the hot rows); it reports the p50/p99 latency per lookup.
// BenchmarkRoundTripFloor measures a bare round trip the same way.
func BenchmarkLookupByPhone(b *testing.B) {
	s := lookupStore(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	known := 0
	lookup := func() error {
		var num string
		switch r := rng.IntN(10); {
		case r == 0:
			num = benchPhone(benchContacts + rng.IntN(1_000_000)) // unknown
		case r < 5:
			num = benchPhone(rng.IntN(benchContacts/100) * 100) // has tickets and history
		default:
			num = benchPhone(rng.IntN(benchContacts))
		}
		res, err := s.LookupByPhone(ctx, num)
		if res.Known {
			known++
		}
		return err
	}
	for range 2000 {
		if err := lookup(); err != nil {
			b.Fatal(err)
		}
	}
	known = 0
	measureLatency(b, lookup)
	if known == 0 {
		b.Fatal("no lookup found a contact")
	}
}

// BenchmarkRoundTripFloor measures `select 1` on the same pool, the same
// way as BenchmarkLookupByPhone: the floor under any query's latency on
// this machine (scheduling and loopback TCP on two shared cores).
func BenchmarkRoundTripFloor(b *testing.B) {
	pool := lookupStore(b).Pool()
	ctx := context.Background()
	one := func() error {
		var x int
		return pool.QueryRow(ctx, "select 1").Scan(&x)
	}
	for range 2000 {
		if err := one(); err != nil {
			b.Fatal(err)
		}
	}
	measureLatency(b, one)
}

// measureLatency runs fn sequentially for the benchmark's duration and
// reports its p50 and p99 latency.
func measureLatency(b *testing.B, fn func() error) {
	durs := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		err := fn()
		durs = append(durs, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(durs)
	pct := func(p float64) float64 {
		return float64(durs[min(len(durs)-1, int(p*float64(len(durs))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
}

// BenchmarkInteractionWriter measures sustained throughput through the
// durable writer on the durable cluster, the configuration `switchboard
// serve` runs (fsync, synchronous commit and full-page writes on; see
// pgtest.NewDurableDatabase): b.N interactions written by concurrent
// producers (as calls record from their own goroutines; each Write returns
// only once the journal's fsync covers its record, so the producers share
// group commits), then Close, which returns only when all of them are
// committed to PostgreSQL.
func BenchmarkInteractionWriter(b *testing.B) {
	const producers = 1024
	if testing.Short() {
		b.Skip("needs PostgreSQL")
	}
	ctx := context.Background()
	pool := newDurablePool(b)
	m := NewMetrics(prometheus.NewRegistry())
	w, err := NewWriter(pool, b.TempDir(), WithWriterMetrics(m))
	if err != nil {
		b.Fatal(err)
	}
	// Realistic rows: 70% from known contacts, 85% handled by an agent.
	if _, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost)); err != nil {
		b.Fatal(err)
	}
	s := New(pool)
	agents, _ := s.ListAgents(ctx)
	contacts, _ := s.SearchContacts(ctx, crmcore.ContactQuery{Limit: 100})
	queues := []string{"support", "billing", "sales", "technical"}
	recs := make([]crmcore.Interaction, b.N)
	for i := range recs {
		c, a := "", ""
		if i%10 < 7 {
			c = contacts[i%len(contacts)].ID
		}
		if i%20 < 17 {
			a = agents[i%len(agents)].ID
		}
		recs[i] = testInteraction(i, c, a)
		recs[i].Queue = queues[i%len(queues)]
	}
	before := countRows(b, s)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				if err := w.Write(ctx, recs[i]); err != nil {
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
	b.ReportMetric(float64(b.N)/el.Seconds(), "rows/s")
	var fs dto.Metric
	m.FlushSeconds.Write(&fs)
	var ss dto.Metric
	m.SyncSeconds.Write(&ss)
	b.Logf("N=%d producers=%d journal_syncs=%d sync_time=%.2fs retries=%v flushes=%d flush_time=%.2fs", b.N, producers,
		ss.GetHistogram().GetSampleCount(), ss.GetHistogram().GetSampleSum(), testutil.ToFloat64(m.Retries), fs.GetHistogram().GetSampleCount(), fs.GetHistogram().GetSampleSum())
	if n := countRows(b, s) - before; n != int64(b.N) {
		b.Fatalf("rows = %d, want %d", n, b.N)
	}
}
