package deploy

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"switchboard/acd"
	"switchboard/agentdesk"
	"switchboard/agentdesk/chat"
	"switchboard/agentdesk/webcall"
	"switchboard/crmcore/crmapi"
	"switchboard/crmcore/mail"
	"switchboard/crmcore/pgstore"
	"switchboard/ivr"
	"switchboard/sip"
)

// kind is what a metric name stands for in a query: histograms and
// summaries are queried through their _bucket, _sum and _count series.
type kind int

const (
	plain kind = iota
	histogram
	summary
)

// catalog maps every metric name the server can export to its kind.
type catalog map[string]kind

// scrapeMetrics are the series Prometheus adds to every target itself.
var scrapeMetrics = []string{"up"}

// recorder is a prometheus.Registerer that keeps the collectors it is
// given, so that their descriptions can be read without collecting: a vector
// with no child yet exports nothing, and the pool collector would query a
// pool that does not exist here.
type recorder struct{ cs []prometheus.Collector }

func (r *recorder) Register(c prometheus.Collector) error { r.cs = append(r.cs, c); return nil }

func (r *recorder) MustRegister(cs ...prometheus.Collector) { r.cs = append(r.cs, cs...) }

func (r *recorder) Unregister(prometheus.Collector) bool { return false }

var fqName = regexp.MustCompile(`^Desc\{fqName: "([^"]+)"`)

// registeredMetrics builds the catalog from the same constructors that
// cmd/switchboard's serve wires into its registry. The metrics registered
// by cmd/switchboard itself (the main package) cannot be imported and are
// not in it.
func registeredMetrics(t *testing.T) catalog {
	t.Helper()
	rec := &recorder{}
	if _, err := acd.NewMetrics(rec); err != nil {
		t.Fatal(err)
	}
	agentdesk.NewMetrics(rec)
	chat.NewMetrics(rec)
	webcall.NewMetrics(rec)
	ivr.NewMetrics(rec)
	sip.NewMetrics(rec)
	pgstore.NewMetrics(rec)
	rec.MustRegister(pgstore.NewPoolCollector(nil))
	crmapi.NewMetrics(rec)
	mail.NewMetrics(rec)

	cat := catalog{}
	for _, c := range rec.cs {
		k := plain
		switch c.(type) {
		case prometheus.Histogram, *prometheus.HistogramVec:
			k = histogram
		case prometheus.Summary, *prometheus.SummaryVec:
			k = summary
		}
		ch := make(chan *prometheus.Desc, 64)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			m := fqName.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("cannot read the metric name of %s", d)
			}
			cat[m[1]] = k
		}
	}

	// The runtime collectors are gathered for real: their families carry
	// their types.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsScheduler)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			cat[mf.GetName()] = histogram
		case dto.MetricType_SUMMARY:
			cat[mf.GetName()] = summary
		default:
			cat[mf.GetName()] = plain
		}
	}
	for _, n := range scrapeMetrics {
		cat[n] = plain
	}
	if len(cat) < 50 {
		t.Fatalf("only %d metrics found", len(cat))
	}
	return cat
}

// has reports whether name is a series the catalog's metrics export.
func (c catalog) has(name string) bool {
	if _, ok := c[name]; ok {
		return true
	}
	for suffix, kinds := range map[string][]kind{"_bucket": {histogram}, "_sum": {histogram, summary}, "_count": {histogram, summary}} {
		if base, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(kinds, c.kindOf(base)) {
			return true
		}
	}
	return false
}

func (c catalog) kindOf(name string) kind {
	k, ok := c[name]
	if !ok {
		return -1
	}
	return k
}

// check reports every metric of expr that the catalog lacks, and an expr
// that names no metric at all.
func (c catalog) check(t *testing.T, where, expr string) {
	t.Helper()
	names := metricNames(expr)
	if len(names) == 0 {
		t.Errorf("%s: no metric in %q", where, expr)
	}
	for _, n := range names {
		if !c.has(n) {
			t.Errorf("%s: metric %s is not registered by the code", where, n)
		}
	}
}

var (
	// PromQL string literals, label matchers, range and subquery
	// selectors, and the label lists of grouping and vector matching: none
	// of them holds a metric name once strings are gone.
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promMatchers = regexp.MustCompile(`\{[^{}]*\}`)
	promRange    = regexp.MustCompile(`\[[^\[\]]*\]`)
	promLabels   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	// A number or duration (5m, 1e3, 0x1f) is one token, so that its
	// letters are not read as names; a name followed by "(" is a function.
	promToken = regexp.MustCompile(`[0-9.][A-Za-z0-9_.]*|[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
)

// promKeywords are the PromQL words that stand outside parentheses without
// being metrics: operators, modifiers and aggregations written before a
// grouping clause (sum by (x) (…)).
var promKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"inf": true, "nan": true,
}

// metricNames returns the metric names expr selects, sorted and without
// repeats.
func metricNames(expr string) []string {
	e := promString.ReplaceAllString(expr, `""`)
	e = promMatchers.ReplaceAllString(e, " ")
	e = promRange.ReplaceAllString(e, " ")
	e = promLabels.ReplaceAllString(e, " ")
	seen := map[string]bool{}
	for _, tok := range promToken.FindAllString(e, -1) {
		if tok[0] == '.' || (tok[0] >= '0' && tok[0] <= '9') || strings.HasSuffix(tok, "(") || promKeywords[strings.ToLower(tok)] {
			continue
		}
		seen[tok] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		name, expr string
		want       []string
	}{
		{"selector", `up{job="switchboard"} == 0`, []string{"up"}},
		{"histogram quantile", `histogram_quantile(0.95, sum by (job, le) (rate(a_seconds_bucket{le!="x"}[5m])))`, []string{"a_seconds_bucket"}},
		{"vector matching", `a < 0.8 and on (job, queue) increase(b_total[15m]) > 0`, []string{"a", "b_total"}},
		{"group_left and offset", `x / on (i) group_left (v) y offset 1h`, []string{"x", "y"}},
		{"strings with names", `label_replace(rate(r_total[5m]), "class", "${1}xx", "code", "(.)..")`, []string{"r_total"}},
		{"numbers", `c * 1e3 + 0x1f - 1.5`, []string{"c"}},
		{"aggregation after", `sum(rate(c_total[5m])) by (queue)`, []string{"c_total"}},
		{"subquery", `max_over_time(rate(c_total[5m])[1h:1m])`, []string{"c_total"}},
		{"none", `vector(1)`, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, metricNames(tc.expr)); diff != "" {
				t.Errorf("metricNames(%q) (-want +got):\n%s", tc.expr, diff)
			}
		})
	}
}

func TestCatalog(t *testing.T) {
	cat := registeredMetrics(t)
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"switchboard_acd_calls_waiting", true},                   // a vector without children
		{"switchboard_agentdesk_screen_pop_seconds_bucket", true}, // a histogram's series
		{"switchboard_ivr_lookup_seconds_count", true},            // a histogram vector's series
		{"switchboard_pgstore_pool_waited_acquires_total", true},  // the pool collector
		{"go_sched_latencies_seconds_bucket", true},               // the runtime collector
		{"go_gc_duration_seconds_sum", true},                      // a summary's series
		{"switchboard_acd_calls_waiting_bucket", false},           // not a histogram
		{"switchboard_acd_oldest_wait_seconds", false},            // not registered
		{"switchboard_sip_responses_total_count", false},          // a counter has no _count
	} {
		if got := cat.has(tc.name); got != tc.want {
			t.Errorf("has(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
