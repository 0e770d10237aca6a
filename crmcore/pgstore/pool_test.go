package pgstore

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/crmcore/pgcluster/pgtest"
)

// TestPoolSizeAndMetrics: Connect sizes the pool to DefaultMaxConns unless
// the DSN says otherwise, and the collector reports the pool's statistics.
func TestPoolSizeAndMetrics(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	pool, err := Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if got := pool.Config().MaxConns; got != DefaultMaxConns {
		t.Errorf("max conns = %d, want %d", got, DefaultMaxConns)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	small, err := Connect(ctx, dsn+sep+"pool_max_conns=3")
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	if got := small.Config().MaxConns; got != 3 {
		t.Errorf("pool_max_conns=3 in the DSN: max conns = %d", got)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(NewPoolCollector(small))
	if _, err := small.Exec(ctx, "select 1"); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		m := f.GetMetric()[0]
		got[f.GetName()] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
	}
	if got["switchboard_pgstore_pool_max_conns"] != 3 || got["switchboard_pgstore_pool_acquires_total"] < 1 ||
		got["switchboard_pgstore_pool_idle_conns"] < 1 || len(got) != 6 {
		t.Errorf("pool metrics = %v", got)
	}
}
