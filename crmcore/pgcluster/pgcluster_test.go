package pgcluster_test

import (
	"context"
	"net"
	"os"
	"testing"

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
