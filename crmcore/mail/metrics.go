package mail

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the email channel's counters (namespace switchboard,
// subsystem mail).
type Metrics struct {
	// Received counts inbound messages by result: ticket_created,
	// threaded, duplicate, or refused (not accepted: the sender gets an
	// SMTP error).
	Received *prometheus.CounterVec
	// ParseErrors counts messages refused as malformed or too large.
	ParseErrors prometheus.Counter
	// AcksSuppressed counts new tickets that got no acknowledgement, by
	// reason: auto (auto-generated mail), loop (our own mail) or limit
	// (the sender's hourly limit).
	AcksSuppressed *prometheus.CounterVec
	// AcksSent counts acknowledgements handed to the relay.
	AcksSent prometheus.Counter
	// Sent and Failed count outbound delivery attempts by kind (ack,
	// reply).
	Sent, Failed *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg (which may be
// nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	opts := func(name, help string) prometheus.CounterOpts {
		return prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "mail", Name: name, Help: help}
	}
	m := &Metrics{
		Received:       prometheus.NewCounterVec(opts("received_total", "Inbound messages by result (ticket_created, threaded, duplicate, refused)."), []string{"result"}),
		ParseErrors:    prometheus.NewCounter(opts("parse_errors_total", "Inbound messages refused as malformed or too large.")),
		AcksSuppressed: prometheus.NewCounterVec(opts("acks_suppressed_total", "New tickets without an acknowledgement, by reason (auto, loop, limit)."), []string{"reason"}),
		AcksSent:       prometheus.NewCounter(opts("acks_sent_total", "Acknowledgements handed to the relay.")),
		Sent:           prometheus.NewCounterVec(opts("outbound_sent_total", "Outbound emails handed to the relay, by kind."), []string{"kind"}),
		Failed:         prometheus.NewCounterVec(opts("outbound_failed_total", "Failed outbound delivery attempts, by kind."), []string{"kind"}),
	}
	if reg != nil {
		reg.MustRegister(m.Received, m.ParseErrors, m.AcksSuppressed, m.AcksSent, m.Sent, m.Failed)
	}
	return m
}
