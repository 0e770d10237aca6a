package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the webhook counters (namespace switchboard, subsystem
// webhook).
type Metrics struct {
	FannedOut prometheus.Counter     // outbox events turned into delivery jobs
	Attempts  *prometheus.CounterVec // delivery attempts by result (ok, failed)
	Duration  prometheus.Histogram   // attempt duration, request to response
}

// NewMetrics creates the metrics and registers them with reg (which may be
// nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		FannedOut: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "webhook",
			Name: "events_fanned_out_total", Help: "Outbox events turned into delivery jobs."}),
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "webhook",
			Name: "attempts_total", Help: "Webhook delivery attempts by result."}, []string{"result"}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "switchboard", Subsystem: "webhook",
			Name: "attempt_seconds", Help: "Webhook delivery attempt duration.", Buckets: prometheus.DefBuckets}),
	}
	if reg != nil {
		reg.MustRegister(m.FannedOut, m.Attempts, m.Duration)
	}
	return m
}

func (m *Metrics) observe(ok bool, d time.Duration) {
	res := "failed"
	if ok {
		res = "ok"
	}
	m.Attempts.WithLabelValues(res).Inc()
	m.Duration.Observe(d.Seconds())
}
