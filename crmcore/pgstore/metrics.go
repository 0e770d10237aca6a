package pgstore

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the durable writer's counters and gauges (namespace
// switchboard, subsystem pgstore).
type Metrics struct {
	Written      *prometheus.CounterVec // rows committed, by kind (interaction, wrapup)
	Replayed     prometheus.Counter     // records read back from journal segments an earlier run left
	Retries      prometheus.Counter     // failed batch attempts that will be retried
	DeadLettered prometheus.Counter     // records the database rejected, kept in the dead-letter file
	Interrupted  prometheus.Counter     // records an earlier run left in progress, closed at start
	Segments     prometheus.GaugeFunc   // journal segments holding records not yet committed
	SyncSeconds  prometheus.Histogram   // one journal write + fsync (one group commit)
	FlushSeconds prometheus.Histogram

	segments func() int
}

// NewMetrics creates the metrics and registers them with reg (which may be nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Written: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "written_total", Help: "Interaction records committed to PostgreSQL, by kind."}, []string{"kind"}),
		Replayed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "journal_replayed_total", Help: "Records read back from journal segments left by an earlier run."}),
		Interrupted: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "interrupted_total", Help: "Interactions an earlier run of this node left in progress, closed as failed at start."}),
		SyncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "journal_sync_seconds", Help: "Time to write and fsync one group of journal records.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "flush_retries_total", Help: "Batch writes that failed and were retried."}),
		DeadLettered: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "dead_lettered_total", Help: "Records rejected by the database and kept in the dead-letter file."}),
		FlushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "flush_seconds", Help: "Time to commit one batch.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
	}
	m.Segments = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "switchboard", Subsystem: "pgstore",
		Name: "journal_segments", Help: "Journal segments holding records not yet committed to PostgreSQL."}, func() float64 {
		if m.segments == nil {
			return 0
		}
		return float64(m.segments())
	})
	if reg != nil {
		reg.MustRegister(m.Written, m.Replayed, m.Retries, m.DeadLettered, m.Interrupted, m.Segments, m.SyncSeconds, m.FlushSeconds)
	}
	return m
}

// poolCollector exports a pool's statistics (pgxpool.Stat) at scrape time.
type poolCollector struct {
	pool                          *pgxpool.Pool
	acquired, idle, max           *prometheus.Desc
	acquires, waited, waitSeconds *prometheus.Desc
}

// NewPoolCollector returns a collector of pool's statistics (namespace
// switchboard, subsystem pgstore_pool): connections in use, idle and
// allowed, and how many acquisitions had to wait for a connection and for
// how long in all — the sign that the pool is too small.
func NewPoolCollector(pool *pgxpool.Pool) prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("switchboard", "pgstore_pool", name), help, nil, nil)
	}
	return &poolCollector{pool: pool,
		acquired:    d("acquired_conns", "Connections in use."),
		idle:        d("idle_conns", "Idle connections."),
		max:         d("max_conns", "Most connections the pool opens (pool_max_conns)."),
		acquires:    d("acquires_total", "Connections acquired from the pool."),
		waited:      d("waited_acquires_total", "Acquisitions that waited for a connection (none was idle)."),
		waitSeconds: d("acquire_wait_seconds_total", "Time spent acquiring connections, waiting included."),
	}
}

// Describe implements prometheus.Collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.max, c.acquires, c.waited, c.waitSeconds} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one pool.Stat per scrape.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.waited, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.waitSeconds, prometheus.CounterValue, s.AcquireDuration().Seconds())
}
