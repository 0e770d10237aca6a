package webcall

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the web caller's Prometheus collectors (namespace switchboard, subsystem
// webcall). A nil *Metrics records nothing.
type Metrics struct {
	offers  prometheus.Counter
	calls   *prometheus.CounterVec
	refused *prometheus.CounterVec
	active  prometheus.Gauge
}

// NewMetrics creates the web caller's metrics and registers them with reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		offers: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "webcall", Name: "offers_total",
			Help: "Offers posted by callers' browsers (POST /call/offer).",
		}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "webcall", Name: "calls_total",
			Help: "Web calls placed, by caller identity (verified: a host site's token; form; anonymous).",
		}, []string{"identity"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "webcall", Name: "refused_total",
			Help: "Offers refused, by reason (the error code sent to the page).",
		}, []string{"reason"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "switchboard", Subsystem: "webcall", Name: "calls_active",
			Help: "Web calls in progress (counted against webcall max_calls).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.offers, m.calls, m.refused, m.active)
	}
	return m
}

func (m *Metrics) offer() {
	if m != nil {
		m.offers.Inc()
	}
}

func (m *Metrics) placed(identity string) {
	if m != nil {
		m.calls.WithLabelValues(identity).Inc()
	}
}

func (m *Metrics) refuse(reason string) {
	if m != nil {
		m.refused.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) setActive(n int) {
	if m != nil {
		m.active.Set(float64(n))
	}
}
