// Package pgtest gives each test package one private PostgreSQL cluster and
// each test a fresh database in it.
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.NewDatabase(t)
//		...
//	}
//
// The test cluster runs without durability (pgcluster.WithoutDurability):
// its data is thrown away after the run, so a crash cannot cost anything.
// Benchmarks that must measure what the product runs with use
// NewDurableDatabase instead, which gives them a database on a second
// cluster started with exactly the settings of `switchboard serve`.
//
// A missing PostgreSQL installation fails the tests that need it (never a
// silent skip), so CI cannot pass without the database.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"switchboard/crmcore/pgcluster"
)

// lazyCluster is a cluster started by the first test that needs it.
type lazyCluster struct {
	opts   []pgcluster.Option
	once   sync.Once
	c      *pgcluster.Cluster
	err    error
	tmpDir string
}

var (
	dbSeq   atomic.Int64
	test    = &lazyCluster{opts: []pgcluster.Option{pgcluster.WithoutDurability()}}
	durable = &lazyCluster{}
)

// Main runs the package's tests with a private cluster, started lazily by the
// first test that asks for a database, and removes it afterwards.
func Main(m *testing.M) int {
	code := m.Run()
	test.close()
	durable.close()
	return code
}

func (l *lazyCluster) get(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	l.once.Do(func() {
		dir, err := os.MkdirTemp("", "switchboard-pgtest-")
		if err != nil {
			l.err = err
			return
		}
		l.tmpDir = dir
		l.c, l.err = pgcluster.Start(context.Background(), dir, l.opts...)
	})
	if l.err != nil {
		t.Fatalf("pgtest: cannot start PostgreSQL: %v", l.err)
	}
	return l.c
}

func (l *lazyCluster) close() {
	if l.c != nil {
		_ = l.c.Close()
	}
	if l.tmpDir != "" {
		os.RemoveAll(l.tmpDir)
	}
}

// Cluster returns the package's test cluster, starting it if needed; the
// test fails when PostgreSQL cannot be started.
func Cluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	return test.get(t)
}

// DurableCluster returns the package's durable cluster, started (once) with
// the same settings as the cluster `switchboard serve` runs: fsync,
// synchronous commit and full-page writes on. It is for benchmarks that
// must measure the configuration the product runs with.
func DurableCluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	return durable.get(t)
}

// NewDatabase creates an empty database for this test on the test cluster
// and returns its DSN; the database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, Cluster(t))
}

// NewDurableDatabase is NewDatabase on the durable cluster (DurableCluster).
func NewDurableDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, DurableCluster(t))
}

func newDatabase(t testing.TB, c *pgcluster.Cluster) string {
	t.Helper()
	name := fmt.Sprintf("t_%d_%s", dbSeq.Add(1), sanitize(t.Name()))
	ctx := context.Background()
	if err := c.CreateDatabase(ctx, name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		// The cluster may have been stopped by the test; bring it back to drop.
		_ = c.Restart(ctx)
		_ = c.DropDatabase(ctx, name)
	})
	return c.DSN(name)
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}
