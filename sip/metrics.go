package sip

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the gateway's Prometheus instruments (namespace switchboard,
// subsystem sip). Labels are bounded: SIP methods, status codes and call
// results, never call ids.
type Metrics struct {
	ActiveCalls   prometheus.Gauge
	ActiveLegs    *prometheus.GaugeVec   // kind: sip, webrtc
	CallResults   *prometheus.CounterVec // result: answered, busy, no_answer, rejected, failed, cancelled, denied
	Requests      *prometheus.CounterVec // method
	Responses     *prometheus.CounterVec // method, code
	Registrations prometheus.Gauge
	AuthFailures  prometheus.Counter
	RTPPackets    *prometheus.CounterVec // dir: in, out, lost
	Jitter        prometheus.Histogram
	DTMFDigits    *prometheus.CounterVec // source: rfc4733, info
	PortsInUse    prometheus.Gauge
	SharedLegs    prometheus.Gauge
	PortsTotal    prometheus.Gauge
	// Refused counts requests and TCP connections turned away by the
	// per-source and connection limits: reason rate_limit, tcp_total,
	// tcp_source, tcp_idle; and requests from an edge proxy without a
	// usable client Via (answered 400): edge_via.
	Refused      *prometheus.CounterVec
	TCPConns     prometheus.Gauge
	AcceptErrors prometheus.Counter
	NonceReuse   prometheus.Counter
	// Panics counts panics recovered in one call's code, which ended that
	// call only: where handler, media, dialog, sip.
	Panics *prometheus.CounterVec
}

// NewMetrics creates the instruments and registers them on reg (nil: not
// registered, for tests and tools).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	const ns, sub = "switchboard", "sip"
	m := &Metrics{
		ActiveCalls:   prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "active_calls", Help: "Calls (legs) currently up."}),
		ActiveLegs:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "active_legs", Help: "Legs currently up by kind."}, []string{"kind"}),
		CallResults:   prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "calls_total", Help: "Call attempts by result."}, []string{"direction", "result"}),
		Requests:      prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_total", Help: "SIP requests received by method."}, []string{"method"}),
		Responses:     prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "responses_total", Help: "SIP final responses sent by method and code."}, []string{"method", "code"}),
		Registrations: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "registrations", Help: "Registered contact bindings."}),
		AuthFailures:  prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "auth_failures_total", Help: "Failed digest authentications."}),
		RTPPackets:    prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rtp_packets_total", Help: "RTP packets by direction (in, out, lost), counted at leg end."}, []string{"dir"}),
		Jitter: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "rtp_jitter_seconds", Help: "Interarrival jitter of incoming streams at leg end.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1}}),
		DTMFDigits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "dtmf_digits_total", Help: "DTMF digits received by source."}, []string{"source"}),
		PortsInUse: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "rtp_ports_in_use", Help: "RTP port pairs allocated."}),
		SharedLegs: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "rtp_shared_legs", Help: "Legs on the shared RTP sockets."}),
		PortsTotal: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "rtp_ports_total", Help: "RTP port pairs in the pool."}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "refused_total",
			Help: "Requests and TCP/TLS connections refused by the per-source and connection limits, and requests from an edge proxy without a client Via, by reason."}, []string{"reason"}),
		TCPConns:     prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "tcp_connections", Help: "Inbound SIP TCP/TLS connections open."}),
		AcceptErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "tcp_accept_errors_total", Help: "Failed accepts on the SIP TCP/TLS listeners (retried after a pause)."}),
		NonceReuse:   prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "digest_replays_total", Help: "Digest credentials refused for a nonce count already used (replays)."}),
		Panics: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "panics_total",
			Help: "Panics recovered in the code of one call (which was ended), by where: handler, media, dialog, sip."}, []string{"where"}),
	}
	if reg != nil {
		reg.MustRegister(m.ActiveCalls, m.ActiveLegs, m.CallResults, m.Requests, m.Responses, m.Registrations,
			m.AuthFailures, m.RTPPackets, m.Jitter, m.DTMFDigits, m.PortsInUse, m.SharedLegs, m.PortsTotal,
			m.Refused, m.TCPConns, m.AcceptErrors, m.NonceReuse, m.Panics)
	}
	return m
}
