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

var (
	cluster  *pgcluster.Cluster
	startErr error
	dbSeq    atomic.Int64
	once     sync.Once
	tmpDir   string
)

// Main runs the package's tests with a private cluster, started lazily by the
// first test that asks for a database, and removes it afterwards.
func Main(m *testing.M) int {
	code := m.Run()
	if cluster != nil {
		_ = cluster.Close()
	}
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	return code
}

func start() {
	dir, err := os.MkdirTemp("", "switchboard-pgtest-")
	if err != nil {
		startErr = err
		return
	}
	tmpDir = dir
	cluster, startErr = pgcluster.Start(context.Background(), dir)
}

// Cluster returns the package's cluster, starting it if needed; the test
// fails when PostgreSQL cannot be started.
func Cluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	once.Do(start)
	if startErr != nil {
		t.Fatalf("pgtest: cannot start PostgreSQL: %v", startErr)
	}
	return cluster
}

// NewDatabase creates an empty database for this test and returns its DSN;
// the database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	c := Cluster(t)
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
