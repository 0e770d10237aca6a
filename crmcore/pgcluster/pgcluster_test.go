package pgcluster_test

import (
	"context"
	"net"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore/pgcluster"
	"switchboard/crmcore/pgcluster/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestNewDatabaseAndRestart(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	if dsn == "" {
		t.Fatal("empty DSN")
	}
	c := pgtest.Cluster(t)
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if conn, err := net.Dial("tcp", c.Addr()); err == nil {
		conn.Close()
		t.Fatalf("server still accepts connections on %s after Stop", c.Addr())
	}
	if err := c.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	conn, err := net.Dial("tcp", c.Addr())
	if err != nil {
		t.Fatalf("after Restart: %v", err)
	}
	conn.Close()
}

func TestFindBinDir(t *testing.T) {
	d, err := pgcluster.FindBinDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d + "/postgres"); err != nil {
		t.Errorf("bindir %s has no postgres binary: %v", d, err)
	}
}

// TestDurability checks that only the test cluster trades durability for
// speed: the durable cluster (the settings `switchboard serve` runs with)
// keeps fsync, synchronous commit and full-page writes on.
func TestDurability(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		dsn  string
		want string
	}{
		{"test cluster", pgtest.NewDatabase(t), "off"},
		{"durable cluster", pgtest.NewDurableDatabase(t), "on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := pgx.Connect(ctx, tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			for _, name := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
				var got string
				if err := conn.QueryRow(ctx, "select current_setting($1)", name).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Errorf("%s = %s, want %s", name, got, tc.want)
				}
			}
		})
	}
}
