package sip

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/sip/siptest"
)

// TestSIPpLoad drives the gateway's test endpoint ("answer, play 2 s, hang
// up") with SIPp at SWITCHBOARD_LOAD_RATE calls/s for
// SWITCHBOARD_LOAD_SECONDS and reports failed calls, peak concurrency and
// the INVITE→200 percentiles. SWITCHBOARD_LOAD_SCENARIO=setup makes SIPp
// hang up as soon as it has acknowledged the 200 (the set-up rate: answer +
// hang-up). It only runs with SWITCHBOARD_LOAD=1 (it is a measurement, not
// a unit test): `make load` sets it.
func TestSIPpLoad(t *testing.T) {
	if os.Getenv("SWITCHBOARD_LOAD") != "1" {
		t.Skip("set SWITCHBOARD_LOAD=1 to run the SIPp load measurement")
	}
	sipp := siptest.RequireProgram(t, "sipp", "sip-tester")
	rate := envInt("SWITCHBOARD_LOAD_RATE", 100)
	secs := envInt("SWITCHBOARD_LOAD_SECONDS", 20)
	runtime.GOMAXPROCS(envInt("SWITCHBOARD_LOAD_PROCS", runtime.GOMAXPROCS(0)))
	// SWITCHBOARD_LOAD_SHARED: shared RTP sockets (default 2; -1 gives
	// every leg its own port pair, for comparison).
	shared := 2
	if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_LOAD_SHARED")); err == nil && v != 0 {
		shared = v
	}
	// SIPp stands for a trunk: trusted, so the per-source limit of
	// unauthenticated requests does not apply.
	g := startGateway(t, Config{TestEndpoint: "playtest", MaxCalls: 20000, RTPSharedSockets: shared, TrustedSources: []string{"127.0.0.1"}})
	peak := 0
	stopPeak := make(chan struct{})
	go func() {
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for i := 1; ; i++ {
			select {
			case <-stopPeak:
				return
			case <-tk.C:
				peak = max(peak, g.ActiveCalls())
				if i%50 == 0 {
					shared := 0
					if g.mux != nil {
						shared = g.mux.Legs()
					}
					t.Logf("t=%ds active %d shared-socket legs %d dedicated ports %d goroutines %d", i/10, g.ActiveCalls(), shared, g.pool.InUse(), runtime.NumGoroutine())
				}
			}
		}
	}()
	dir := t.TempDir()
	if d := os.Getenv("SWITCHBOARD_LOAD_DIR"); d != "" {
		dir = d
	}
	scenario := "uac_remote_bye.xml"
	switch sc := os.Getenv("SWITCHBOARD_LOAD_SCENARIO"); sc {
	case "", "play":
	case "setup":
		scenario = "uac_setup.xml"
	default:
		t.Fatalf("SWITCHBOARD_LOAD_SCENARIO=%q: want play or setup", sc)
	}
	scen, _ := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	total := rate * secs
	args := []string{"-sf", scen, "-s", "playtest", "-i", "127.0.0.1", "-p", "48500", "-mi", "127.0.0.1", "-mp", "40000",
		"-r", strconv.Itoa(rate), "-m", strconv.Itoa(total), "-l", strconv.Itoa(rate * 10),
		"-timeout", strconv.Itoa(secs+30) + "s", "-trace_rtt", "-rtt_freq", "1", "-trace_stat", "-stf", filepath.Join(dir, "stat.csv"),
		"-max_socket", "5000", "-buff_size", "4194304", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"), g.UDPAddr().String()}
	if cpu := os.Getenv("SWITCHBOARD_LOAD_SIPP_CPU"); cpu != "" {
		args = append([]string{"-c", cpu, sipp}, args...)
		sipp = "taskset"
	}
	stealBefore, totalBefore := cpuSteal()
	ctx, cancel := context.WithTimeout(t.Context(), time.Duration(secs+60)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	close(stopPeak)
	stealAfter, totalAfter := cpuSteal()
	if totalAfter > totalBefore {
		// Time the hypervisor gave to other guests: latency this test
		// cannot be blamed for, or remove.
		t.Logf("CPU steal during the run: %.1f%%", 100*float64(stealAfter-stealBefore)/float64(totalAfter-totalBefore))
	}
	rtts := readRTTs(t, dir)
	sort.Float64s(rtts)
	pct := func(p float64) float64 {
		if len(rtts) == 0 {
			return 0
		}
		return rtts[min(len(rtts)-1, int(p*float64(len(rtts))))]
	}
	t.Logf("%s: rate %d calls/s for %d s: %d calls, sipp err=%v, peak concurrent %d, INVITE→200 p50 %.2f ms p99 %.2f ms max %.2f ms (%d samples)",
		scenario, rate, secs, total, err, peak, pct(.5), pct(.99), pct(1), len(rtts))
	if err != nil {
		t.Fatalf("sipp reported failed calls: %v\n%s", err, lastLines(out, 30))
	}
}

// cpuSteal returns the steal and total jiffies of /proc/stat's cpu line
// (zeros where there is none).
func cpuSteal() (steal, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fs := strings.Fields(line)
	if len(fs) < 9 || fs[0] != "cpu" {
		return 0, 0
	}
	for i, f := range fs[1:9] {
		v, _ := strconv.ParseUint(f, 10, 64)
		total += v
		if i == 7 {
			steal = v
		}
	}
	return steal, total
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

// readRTTs reads SIPp's -trace_rtt file (Date_ms;response_time_ms;rtd_no).
func readRTTs(t *testing.T, dir string) []float64 {
	files, _ := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
	var out []float64
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fs := strings.Split(sc.Text(), ";")
			if len(fs) < 3 {
				continue
			}
			if v, err := strconv.ParseFloat(strings.TrimSpace(fs[1]), 64); err == nil {
				out = append(out, v)
			}
		}
		fh.Close()
	}
	if len(out) == 0 {
		t.Logf("no rtt samples in %s", fmt.Sprint(files))
	}
	return out
}
