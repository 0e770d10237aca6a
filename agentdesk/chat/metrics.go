package chat

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/crmcore"
)

// Metrics are the chat's Prometheus collectors (namespace switchboard, subsystem chat).
// A nil *Metrics records nothing.
type Metrics struct {
	conversations *prometheus.CounterVec
	messages      *prometheus.CounterVec
	customers     prometheus.Gauge
	delivery      prometheus.Histogram
}

// NewMetrics creates the chat's metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		conversations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "chat", Name: "conversations_total",
			Help: "Chats ended, by outcome (answered, abandoned, transferred, overflow, bot, failed).",
		}, []string{"outcome"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "chat", Name: "messages_total",
			Help: "Chat messages stored, by sender (customer, agent, bot, system).",
		}, []string{"sender"}),
		customers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "switchboard", Subsystem: "chat", Name: "customers_connected",
			Help: "Customer chat sockets open.",
		}),
		delivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "switchboard", Subsystem: "chat", Name: "delivery_seconds",
			Help:    "Time from a customer's message stored to its hand-off to the agent's desk.",
			Buckets: []float64{.00001, .00005, .0001, .0005, .001, .005, .01, .05, .1},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.conversations, m.messages, m.customers, m.delivery)
	}
	return m
}

func (m *Metrics) conversation(outcome string) {
	if m != nil {
		m.conversations.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) message(s crmcore.ChatSender) {
	if m != nil {
		m.messages.WithLabelValues(string(s)).Inc()
	}
}

func (m *Metrics) connected(delta float64) {
	if m != nil {
		m.customers.Add(delta)
	}
}

func (m *Metrics) delivered(d time.Duration) {
	if m != nil {
		m.delivery.Observe(d.Seconds())
	}
}
