package livesim

import (
	"math"
	"os"
	"runtime"
	"strconv"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// TestHostCPU: on Linux the machine's and this process's CPU times are
// read from /proc and grow with work.
func TestHostCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		if readHostCPU(0).ok {
			t.Fatal("host CPU read without /proc")
		}
		return
	}
	a := readHostCPU(os.Getpid())
	x := 0
	for i := range 200_000_000 {
		x ^= i
	}
	b := readHostCPU(os.Getpid())
	if !a.ok || !b.ok || b.busy < a.busy || b.self <= a.self || b.sipp <= a.sipp {
		t.Fatalf("host CPU %+v then %+v (x=%d)", a, b, x)
	}
	if got := procCPU(strconv.Itoa(1 << 30)); got != 0 {
		t.Errorf("CPU of a missing process = %v", got)
	}
}

// TestQuantile: quantiles between two snapshots of a cumulative histogram,
// including one beyond the last finite bucket.
func TestQuantile(t *testing.T) {
	hist := func(counts ...uint64) *dto.Histogram {
		bounds := []float64{0.01, 0.1, math.Inf(1)}
		h := &dto.Histogram{}
		var total uint64
		for i, c := range counts {
			total = c
			h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(bounds[i]), CumulativeCount: proto.Uint64(c)})
		}
		h.SampleCount = proto.Uint64(total)
		return h
	}
	before := hist(10, 10, 10)
	after := hist(60, 108, 110) // window: 50 ≤ 10 ms, 48 more ≤ 100 ms, 2 above
	for _, tc := range []struct {
		q    float64
		want string
	}{{0.5, "≤ 10ms"}, {0.98, "≤ 100ms"}, {0.99, "> 100ms"}} {
		if got := quantile(before, after, tc.q).String(); got != tc.want {
			t.Errorf("q%.2f = %s, want %s", tc.q, got, tc.want)
		}
	}
	if got := quantile(after, after, 0.5); got != (bound{}) {
		t.Errorf("empty window = %v", got)
	}
	for _, tc := range []struct{ le, want float64 }{{0.01, 0.5}, {0.1, 0.98}, {0.05, 0}} {
		if got := within(before, after, tc.le); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("within(%v) = %v, want %v", tc.le, got, tc.want)
		}
	}
	if got := within(after, after, 0.01); got != 0 {
		t.Errorf("within on an empty window = %v", got)
	}
}

// TestMerged: the histograms of one label value add up bucket by bucket;
// the others are left out.
func TestMerged(t *testing.T) {
	metric := func(lookup string, counts ...uint64) *dto.Metric {
		h := &dto.Histogram{SampleCount: proto.Uint64(counts[len(counts)-1]), SampleSum: proto.Float64(1)}
		for i, c := range counts {
			h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(float64(i + 1)), CumulativeCount: proto.Uint64(c)})
		}
		return &dto.Metric{Label: []*dto.LabelPair{{Name: proto.String("lookup"), Value: proto.String(lookup)}}, Histogram: h}
	}
	f := &dto.MetricFamily{Metric: []*dto.Metric{metric("caller", 1, 2), metric("ticket", 5, 50), metric("caller", 3, 4)}}
	h := merged(f, "lookup", "caller")
	if h.GetSampleCount() != 6 || h.GetSampleSum() != 2 || h.Bucket[0].GetCumulativeCount() != 4 || h.Bucket[1].GetCumulativeCount() != 6 {
		t.Errorf("merged = %v", h)
	}
	if merged(f, "lookup", "none") != nil || merged(nil, "lookup", "caller") != nil {
		t.Error("merged histogram without a match")
	}
}
