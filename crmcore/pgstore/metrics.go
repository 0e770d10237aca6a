package pgstore

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the durable writer's counters and gauges (namespace
// switchboard, subsystem pgstore).
type Metrics struct {
	Written      *prometheus.CounterVec // rows committed, by kind (interaction, wrapup)
	Spilled      prometheus.Counter     // records appended to the journal because the queue was full
	Replayed     prometheus.Counter     // records read back from the journal
	Retries      prometheus.Counter     // failed batch attempts that will be retried
	DeadLettered prometheus.Counter     // records the database rejected, kept in the dead-letter file
	QueueDepth   prometheus.GaugeFunc
	FlushSeconds prometheus.Histogram

	queueLen func() int
}

// NewMetrics creates the metrics and registers them with reg (which may be nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Written: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "written_total", Help: "Interaction records committed to PostgreSQL, by kind."}, []string{"kind"}),
		Spilled: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "journal_spilled_total", Help: "Records appended to the journal because the write queue was full."}),
		Replayed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "journal_replayed_total", Help: "Records read back from the journal and written."}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "flush_retries_total", Help: "Batch writes that failed and were retried."}),
		DeadLettered: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "dead_lettered_total", Help: "Records rejected by the database and kept in the dead-letter file."}),
		FlushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "switchboard", Subsystem: "pgstore",
			Name: "flush_seconds", Help: "Time to commit one batch.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
	}
	m.QueueDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "switchboard", Subsystem: "pgstore",
		Name: "queue_depth", Help: "Records waiting in the in-process write queue."}, func() float64 {
		if m.queueLen == nil {
			return 0
		}
		return float64(m.queueLen())
	})
	if reg != nil {
		reg.MustRegister(m.Written, m.Spilled, m.Replayed, m.Retries, m.DeadLettered, m.QueueDepth, m.FlushSeconds)
	}
	return m
}
