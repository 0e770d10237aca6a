package ivr

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the IVR's Prometheus metrics (namespace switchboard, subsystem ivr). A nil
// *Metrics is valid and records nothing.
type Metrics struct {
	outcomes *prometheus.CounterVec
	steps    prometheus.Histogram
	runaway  prometheus.Counter
	reloads  *prometheus.CounterVec
	lookups  *prometheus.HistogramVec
	duration *prometheus.HistogramVec
	speeches *prometheus.HistogramVec
}

// NewMetrics creates the IVR metrics and registers them with reg (nil: not registered). It
// panics if they are already registered with reg, like promauto.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		outcomes: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "ivr", Name: "outcomes_total",
			Help: "Calls that left the IVR, by outcome kind.",
		}, []string{"kind"}),
		steps: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: "switchboard", Subsystem: "ivr", Name: "path_steps",
			Help:    "Length of the IVR path (nodes, digits, events) per call.",
			Buckets: prometheus.ExponentialBuckets(2, 2, 9),
		}),
		runaway: f.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "ivr", Name: "step_limit_total",
			Help: "Calls stopped by the per-call step limit.",
		}),
		reloads: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "ivr", Name: "reloads_total",
			Help: "Flow reloads, by result (ok, invalid).",
		}, []string{"result"}),
		lookups: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "switchboard", Subsystem: "ivr", Name: "lookup_seconds",
			Help:    "Latency of the IVR's data dips into the CRM, by lookup (caller, ticket) and result (found, not_found, error).",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 3},
		}, []string{"lookup", "result"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "switchboard", Subsystem: "ivr", Name: "duration_seconds",
			Help:    "Time from the start of the IVR to the call leaving it, by outcome kind.",
			Buckets: []float64{1, 2, 4, 6, 8, 10, 15, 20, 30, 60, 120, 300},
		}, []string{"kind"}),
		speeches: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "switchboard", Subsystem: "ivr", Name: "speech_recognition_seconds",
			Help:    "Time to recognize one utterance, by result (match, low_confidence, no_match, error).",
			Buckets: []float64{.005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
		}, []string{"result"}),
	}
}

func (m *Metrics) observe(o Outcome, took time.Duration) {
	if m == nil {
		return
	}
	m.outcomes.WithLabelValues(o.Kind.String()).Inc()
	m.duration.WithLabelValues(o.Kind.String()).Observe(took.Seconds())
	m.steps.Observe(float64(len(o.Path)))
	if o.Err != nil && errorsIsMaxSteps(o.Err) {
		m.runaway.Inc()
	}
}

func (m *Metrics) lookup(kind, result string, took time.Duration) {
	if m == nil {
		return
	}
	m.lookups.WithLabelValues(kind, result).Observe(took.Seconds())
}

func (m *Metrics) speech(result string, took time.Duration) {
	if m == nil {
		return
	}
	m.speeches.WithLabelValues(result).Observe(took.Seconds())
}

func (m *Metrics) reload(ok bool) {
	if m == nil {
		return
	}
	result := "ok"
	if !ok {
		result = "invalid"
	}
	m.reloads.WithLabelValues(result).Inc()
}

// StepLimitCounter returns the counter of calls stopped by the step limit (for tests).
func (m *Metrics) StepLimitCounter() prometheus.Counter { return m.runaway }

// OutcomeCounter returns the counter of one outcome kind (for tests).
func (m *Metrics) OutcomeCounter(k OutcomeKind) prometheus.Counter {
	return m.outcomes.WithLabelValues(k.String())
}

// ReloadCounter returns the counter of successful (ok) or rejected reloads (for tests).
func (m *Metrics) ReloadCounter(ok bool) prometheus.Counter {
	if ok {
		return m.reloads.WithLabelValues("ok")
	}
	return m.reloads.WithLabelValues("invalid")
}
