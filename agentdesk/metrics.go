package agentdesk

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the hub's Prometheus collectors (namespace switchboard,
// subsystem agentdesk). Labels are bounded: roles, and message types from
// the protocol's fixed set ("unknown" for anything else).
type Metrics struct {
	connections *prometheus.GaugeVec
	msgsIn      *prometheus.CounterVec
	msgsOut     *prometheus.CounterVec
	disconnects *prometheus.CounterVec
	supResyncs  prometheus.Counter
	popLatency  prometheus.Histogram
	resyncs     prometheus.Counter

	unauthRefused prometheus.Counter
	sessionsEnded *prometheus.CounterVec
}

// NewMetrics creates the hub's metrics and registers them with reg (nil:
// not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "switchboard", Subsystem: "agentdesk", Name: "connections",
			Help: "Open CTI connections by role.",
		}, []string{"role"}),
		msgsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "agentdesk", Name: "messages_in_total",
			Help: "CTI messages received, by command type.",
		}, []string{"type"}),
		msgsOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "agentdesk", Name: "messages_out_total",
			Help: "CTI messages sent, by event type.",
		}, []string{"type"}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "agentdesk", Name: "disconnects_total",
			Help: "Connections the server closed, by reason (queue_full, write_timeout, write_error, no_pong, replaced, shutdown).",
		}, []string{"reason"}),
		supResyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "agentdesk", Name: "supervisor_resyncs_total",
			Help: "Times a supervisor's pending deltas were replaced by a fresh snapshot because they did not fit its send queue.",
		}),
		popLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "switchboard", Subsystem: "agentdesk", Name: "screen_pop_seconds",
			Help:    "Time from the engine's routing decision to the pop written on the agent's socket.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1},
		}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "agentdesk", Name: "engine_resyncs_total",
			Help: "Times the hub re-subscribed to the engine after falling behind.",
		}),
		unauthRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "agentdesk", Name: "unauthenticated_refused_total",
			Help: "CTI upgrades refused because too many connections were waiting to authenticate.",
		}),
		sessionsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "agentdesk", Name: "sessions_ended_total",
			Help: "CTI connections closed because their session ended or changed, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.msgsIn, m.msgsOut, m.disconnects, m.supResyncs, m.popLatency, m.resyncs, m.unauthRefused, m.sessionsEnded)
	}
	return m
}

// typeLabel bounds a message type for use as a label value.
func typeLabel(t string) string {
	if _, ok := commandSpecs[t]; ok {
		return t
	}
	return "unknown"
}
