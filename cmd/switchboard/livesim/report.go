package livesim

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// serverSample is what the report reads from the server's /metrics.
type serverSample struct {
	at      time.Time
	cpu     float64 // process CPU seconds
	rss     float64 // resident memory bytes
	pop     *dto.Histogram
	ring    *dto.Histogram     // offer → agent's answer
	written float64            // interaction records written (wrap-ups not counted)
	inbound map[string]float64 // switchboard_sip_calls_total{direction="in"} by result
	sched   *dto.Histogram     // Go scheduler latency (runnable → running)
	lookup  *dto.Histogram     // the IVR's caller lookups (any result)
	ivr     *dto.Histogram     // time in the IVR of calls it sent to a queue
	host    hostCPU            // the machine's and the generators' CPU
}

// hostCPU is CPU time in seconds from /proc (Linux; zero elsewhere): the
// machine's busy and stolen time over all CPUs, and what the simulator and
// SIPp used.
type hostCPU struct {
	ok                bool
	busy, steal, self float64
	sipp              float64
}

// readHostCPU reads the machine's counters and those of this process and
// of sippPID (0: none).
func readHostCPU(sippPID int) hostCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return hostCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 9 || f[0] != "cpu" {
		return hostCPU{}
	}
	tick := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v / clockTicks }
	h := hostCPU{ok: true, busy: tick(1) + tick(2) + tick(3) + tick(6) + tick(7), steal: tick(8), self: procCPU("self")}
	if sippPID > 0 {
		h.sipp = procCPU(strconv.Itoa(sippPID))
	}
	return h
}

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on Linux).
const clockTicks = 100

// procCPU is the user + system CPU seconds of /proc/<pid>, 0 when gone.
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	_, rest, ok := strings.Cut(string(b), ") ") // after "pid (comm) "
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks
}

func (s *sim) sample(ctx context.Context) (serverSample, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.o.HTTP+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return serverSample{}, err
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		return serverSample{}, err
	}
	one := func(name string) float64 {
		f := fams[name]
		if f == nil || len(f.Metric) == 0 {
			return 0
		}
		var sum float64
		for _, m := range f.Metric {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
		return sum
	}
	out := serverSample{at: time.Now(), cpu: one("process_cpu_seconds_total"), rss: one("process_resident_memory_bytes"),
		host: readHostCPU(int(s.sippPID.Load()))}
	if f := fams["switchboard_pgstore_written_total"]; f != nil {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "kind" && l.GetValue() == "interaction" {
					out.written += m.Counter.GetValue()
				}
			}
		}
	}
	out.inbound = map[string]float64{}
	if f := fams["switchboard_sip_calls_total"]; f != nil {
		for _, m := range f.Metric {
			var dir, result string
			for _, l := range m.Label {
				switch l.GetName() {
				case "direction":
					dir = l.GetValue()
				case "result":
					result = l.GetValue()
				}
			}
			if dir == "in" {
				out.inbound[result] += m.Counter.GetValue()
			}
		}
	}
	if f := fams["switchboard_agentdesk_screen_pop_seconds"]; f != nil && len(f.Metric) > 0 {
		out.pop = f.Metric[0].Histogram
	}
	if f := fams["go_sched_latencies_seconds"]; f != nil && len(f.Metric) > 0 {
		out.sched = f.Metric[0].Histogram
	}
	if f := fams["switchboard_acd_offer_answer_seconds"]; f != nil && len(f.Metric) > 0 {
		out.ring = f.Metric[0].Histogram
	}
	out.lookup = merged(fams["switchboard_ivr_lookup_seconds"], "lookup", "caller")
	out.ivr = merged(fams["switchboard_ivr_duration_seconds"], "kind", "queue")
	return out, nil
}

// merged adds up the histograms of f whose label name has value (nil when
// there is none).
func merged(f *dto.MetricFamily, name, value string) *dto.Histogram {
	var out *dto.Histogram
	for _, m := range f.GetMetric() {
		h := m.GetHistogram()
		if h == nil || !slices.ContainsFunc(m.Label, func(l *dto.LabelPair) bool { return l.GetName() == name && l.GetValue() == value }) {
			continue
		}
		if out == nil {
			out = &dto.Histogram{SampleCount: new(uint64), SampleSum: new(float64)}
			for _, b := range h.Bucket {
				out.Bucket = append(out.Bucket, &dto.Bucket{UpperBound: b.UpperBound, CumulativeCount: new(uint64)})
			}
		}
		*out.SampleCount += h.GetSampleCount()
		*out.SampleSum += h.GetSampleSum()
		for i, b := range h.Bucket {
			if i < len(out.Bucket) {
				*out.Bucket[i].CumulativeCount += b.GetCumulativeCount()
			}
		}
	}
	return out
}

// report prints what the server did between two samples: load, screen-pop
// latency quantiles (from the histogram buckets), CPU and memory.
func (s *sim) report(w io.Writer, before, after serverSample) {
	wall := after.at.Sub(before.at).Seconds()
	calls := float64(s.stats.Calls.Load())
	fmt.Fprintf(w, "\nover %.0f s: %.0f calls placed (%.2f calls/s), %d answered by agents (at most %d at once), %d dial failures, %d wrap-ups, %.0f interaction records written\n",
		wall, calls, calls/wall, s.stats.Answered.Load(), s.stats.PeakTalking.Load(), s.stats.Failed.Load(), s.stats.WrapUps.Load(), after.written-before.written)
	if s.stats.FailedWhy != "" {
		fmt.Fprintf(w, "failed calls by SIPp's reason: %s\n", s.stats.FailedWhy)
	}
	var results []string
	for _, r := range slices.Sorted(maps.Keys(after.inbound)) {
		if n := after.inbound[r] - before.inbound[r]; n > 0 {
			results = append(results, fmt.Sprintf("%s %.0f", r, n))
		}
	}
	if len(results) > 0 {
		// "limit" is the server's max_calls turning calls away with 503.
		fmt.Fprintf(w, "inbound SIP calls by the server's result: %s\n", strings.Join(results, ", "))
	}
	switch {
	case after.pop == nil || before.pop != nil && after.pop.GetSampleCount() == before.pop.GetSampleCount():
		fmt.Fprintln(w, "screen pop: no offer in the window")
	default:
		p50, p99 := quantile(before.pop, after.pop, 0.50), quantile(before.pop, after.pop, 0.99)
		fmt.Fprintf(w, "screen pop (engine decision → agent socket): p50 %s, p99 %s (histogram bucket bounds), %.2f %% within 50 ms\n",
			p50, p99, 100*within(before.pop, after.pop, 0.05))
	}
	if after.ring != nil && (before.ring == nil || after.ring.GetSampleCount() > before.ring.GetSampleCount()) {
		// The simulated phones answer at once: this is what the system
		// adds between choosing the agent and the agent's leg connected.
		fmt.Fprintf(w, "time to answer added by the system (offer → agent's auto-answering phone connected): p50 %s, p99 %s\n",
			quantile(before.ring, after.ring, 0.50), quantile(before.ring, after.ring, 0.99))
	}
	if after.lookup != nil && (before.lookup == nil || after.lookup.GetSampleCount() > before.lookup.GetSampleCount()) {
		fmt.Fprintf(w, "IVR caller lookup in the CRM: p50 %s, p99 %s\n",
			quantile(before.lookup, after.lookup, 0.50), quantile(before.lookup, after.lookup, 0.99))
	}
	if after.ivr != nil && (before.ivr == nil || after.ivr.GetSampleCount() > before.ivr.GetSampleCount()) {
		// Prompts and the caller's keying included: SIPp presses its
		// digit 3 s after the answer, then hears 2.2 s of "please hold".
		fmt.Fprintf(w, "time in the IVR before the queue: p50 %s, p99 %s\n",
			quantile(before.ivr, after.ivr, 0.50), quantile(before.ivr, after.ivr, 0.99))
	}
	if after.sched != nil && before.sched != nil {
		// Goroutines waiting this long for a CPU: every latency above
		// includes it, so a high figure means the machine is saturated.
		fmt.Fprintf(w, "server's Go scheduler latency (runnable → running): p50 %s, p99 %s\n",
			quantile(before.sched, after.sched, 0.50), quantile(before.sched, after.sched, 0.99))
	}
	cpu := (after.cpu - before.cpu) / wall
	fmt.Fprintf(w, "server CPU %.0f%% of one core, resident memory %.0f MiB\n", 100*cpu, after.rss/(1<<20))
	if h0, h1 := before.host, after.host; h0.ok && h1.ok {
		// Where the machine's CPU went: the generators share it with the
		// server, and a busy figure near 100 % means the load is bounded by
		// the machine, not by the server alone.
		pct := func(v float64) float64 { return 100 * v / wall }
		busy := h1.busy - h0.busy
		rest := busy - (after.cpu - before.cpu) - (h1.self - h0.self) - (h1.sipp - h0.sipp)
		fmt.Fprintf(w, "machine (%d CPUs): busy %.0f%% of one core, stolen by the hypervisor %.0f%%; server %.0f%%, SIPp %.0f%%, this simulator %.0f%%, PostgreSQL and the rest %.0f%%\n",
			runtime.NumCPU(), pct(busy), pct(h1.steal-h0.steal), 100*cpu, pct(h1.sipp-h0.sipp), pct(h1.self-h0.self), pct(rest))
	}
}

// awaitRecords waits (up to a minute) until the server has committed an
// interaction record for each of the calls placed since before, and says
// how that went.
func (s *sim) awaitRecords(ctx context.Context, w io.Writer, before serverSample) {
	want := float64(s.stats.Calls.Load())
	deadline := time.Now().Add(time.Minute)
	for {
		now, err := s.sample(ctx)
		if err != nil {
			fmt.Fprintf(w, "interaction records: cannot read the server's metrics: %v\n", err)
			return
		}
		got := now.written - before.written
		if got >= want {
			fmt.Fprintf(w, "every call has its interaction record in PostgreSQL: %.0f written for %.0f calls\n", got, want)
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(w, "interaction records: only %.0f written for %.0f calls a minute after the last call\n", got, want)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// bound is a quantile read from histogram buckets: at most d, or above d
// when it fell in the last, unbounded bucket.
type bound struct {
	d    time.Duration
	over bool
}

func (b bound) String() string {
	if b.over {
		return "> " + b.d.String()
	}
	return "≤ " + b.d.String()
}

// quantile is the bucket bound of quantile q of the observations made
// between two cumulative snapshots.
// within is the share (0–1) of the window's observations at or under the
// bucket bound le (0 when the window is empty or le is not a bound).
func within(before, after *dto.Histogram, le float64) float64 {
	total := float64(after.GetSampleCount())
	if before != nil {
		total -= float64(before.GetSampleCount())
	}
	if total <= 0 {
		return 0
	}
	for i, b := range after.Bucket {
		if b.GetUpperBound() != le {
			continue
		}
		n := float64(b.GetCumulativeCount())
		if before != nil && i < len(before.Bucket) {
			n -= float64(before.Bucket[i].GetCumulativeCount())
		}
		return n / total
	}
	return 0
}

func quantile(before, after *dto.Histogram, q float64) bound {
	total := float64(after.GetSampleCount())
	if before != nil {
		total -= float64(before.GetSampleCount())
	}
	var last time.Duration
	if total <= 0 {
		return bound{}
	}
	for i, b := range after.Bucket {
		n := float64(b.GetCumulativeCount())
		if before != nil && i < len(before.Bucket) {
			n -= float64(before.Bucket[i].GetCumulativeCount())
		}
		if math.IsInf(b.GetUpperBound(), 1) {
			break
		}
		d := time.Duration(b.GetUpperBound() * float64(time.Second))
		if n >= q*total {
			return bound{d: d}
		}
		last = d
	}
	return bound{d: last, over: true}
}
