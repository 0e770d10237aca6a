package acd

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the ACD's Prometheus metrics (namespace switchboard,
// subsystem acd). Labels are bounded: queue names from the configuration,
// presence and state names.
type Metrics struct {
	offered, answered, abandoned *prometheus.CounterVec
	waiting, sl, asa, abandon    *prometheus.GaugeVec
	agents                       *prometheus.GaugeVec
	ringTime                     prometheus.Histogram
	resyncs                      prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	const ns, sub = "switchboard", "acd"
	m := &Metrics{
		offered: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "calls_offered_total",
			Help: "Calls that entered a queue."}, []string{"queue"}),
		answered: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "calls_answered_total",
			Help: "Calls answered by an agent."}, []string{"queue"}),
		abandoned: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "calls_abandoned_total",
			Help: "Calls abandoned while waiting (short abandons included)."}, []string{"queue"}),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "calls_waiting",
			Help: "Calls waiting in the queue."}, []string{"queue"}),
		sl: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "service_level_ratio",
			Help: "Service level over the last 15 minutes (configured formula)."}, []string{"queue"}),
		asa: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "asa_seconds",
			Help: "Average speed of answer over the last 15 minutes."}, []string{"queue"}),
		abandon: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "abandon_ratio",
			Help: "Abandon rate over the last 15 minutes."}, []string{"queue"}),
		agents: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "agents",
			Help: "Logged-in agents by presence and system state."}, []string{"presence", "state"}),
		ringTime: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "offer_answer_seconds",
			Help:    "Time from an offer to the agent's answer (their leg ringing; with auto-answer phones, the system's own overhead).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30}}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "subscriber_resyncs_total",
			Help: "Times an event subscriber fell behind: its pending events were discarded and it had to resync."}),
	}
	for _, c := range []prometheus.Collector{m.offered, m.answered, m.abandoned, m.waiting, m.sl, m.asa, m.abandon, m.agents, m.ringTime, m.resyncs} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("acd: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) update(qs []QueueStats, agents map[AgentID]*agent) {
	for _, q := range qs {
		m.waiting.WithLabelValues(q.Queue).Set(float64(q.Waiting))
		if q.Last15.HasSL {
			m.sl.WithLabelValues(q.Queue).Set(q.Last15.ServiceLevel)
		}
		m.asa.WithLabelValues(q.Queue).Set(q.Last15.ASA.Seconds())
		m.abandon.WithLabelValues(q.Queue).Set(q.Last15.AbandonRate)
	}
	var n [numPresences][numStates]int
	for _, a := range agents {
		n[a.presence][a.state]++
	}
	for p := Presence(0); p < numPresences; p++ {
		for s := AgentState(0); s < numStates; s++ {
			m.agents.WithLabelValues(p.String(), s.String()).Set(float64(n[p][s]))
		}
	}
}

// Offered returns the offered-calls counter of queue (for tests and dashboards).
func (m *Metrics) Offered(queue string) prometheus.Counter { return m.offered.WithLabelValues(queue) }

// Waiting returns the waiting-calls gauge of queue.
func (m *Metrics) Waiting(queue string) prometheus.Gauge { return m.waiting.WithLabelValues(queue) }
