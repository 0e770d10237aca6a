package livesim

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"switchboard/sip/media"
)

// sippCaller is the SIPp scenario of a load-test caller; TALK_FILE,
// HOLD_MIN and HOLD_MAX are filled in by runSIPp.
//
//go:embed sipp_caller.xml
var sippCaller string

// runSIPp places the calls with SIPp (sip-tester) instead of the
// simulator's own user agent: o.Rate calls per minute for o.Duration, each
// caller talking from its own RTP port, pressing 1 by SIP INFO and hanging
// up after an IVR pass and a talk time around o.Talk. It returns when the
// window is over (SIPp then finishes the calls in flight: wait on the
// returned function, which reports SIPp's counts in st). exited is closed
// when SIPp exits, which before the end of the window means it failed.
func (s *sim) runSIPp(ctx context.Context, contacts []string) (exited <-chan struct{}, wait func() error, err error) {
	bin, err := exec.LookPath("sipp")
	if err != nil {
		return nil, nil, fmt.Errorf("livesim: --sipp needs SIPp (apt-get install sip-tester): %w", err)
	}
	dir, err := os.MkdirTemp("", "livesim-sipp-")
	if err != nil {
		return nil, nil, err
	}
	talk, err := s.talkFile(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	// The caller holds for the IVR (~6 s before the queue) plus a talk
	// time spread evenly over ±50 % of the mean.
	ivr := 6 * time.Second
	scen := strings.NewReplacer("TALK_FILE", talk,
		"HOLD_MIN", strconv.FormatInt((ivr+s.o.Talk/2).Milliseconds(), 10),
		"HOLD_MAX", strconv.FormatInt((ivr+s.o.Talk*3/2).Milliseconds(), 10)).Replace(sippCaller)
	scenFile := filepath.Join(dir, "caller.xml")
	if err := os.WriteFile(scenFile, []byte(scen), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	// Injection file: caller number; number dialled. A quarter of the
	// callers are CRM contacts, the rest a thousand numbers the CRM does
	// not know: at load-test rates the few demo contacts alone would each
	// call every second or so and wait for their sticky agent.
	var inf bytes.Buffer
	inf.WriteString("RANDOM\n")
	r := rand.New(rand.NewPCG(s.o.Seed, 11))
	areas := []int{202, 206, 212, 303, 305, 312, 415, 512, 617, 702}
	for i := range 4000 {
		ani := contacts[r.IntN(len(contacts))]
		if i%4 != 0 {
			ani = fmt.Sprintf("+1%d55501%02d", areas[r.IntN(len(areas))], r.IntN(100))
		}
		fmt.Fprintf(&inf, "%s;%s\n", ani, s.o.DNIS[r.IntN(len(s.o.DNIS))])
	}
	infFile := filepath.Join(dir, "callers.csv")
	if err := os.WriteFile(infFile, inf.Bytes(), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	total := max(1, int(s.o.Rate*s.o.Duration.Minutes()))
	statFile := filepath.Join(dir, "stat.csv")
	local := s.server.Addr().String()
	mediaPort, err := sippMediaPort(s.server.Addr(), s.o.RTPMin+12000)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	args := []string{"-sf", scenFile, "-inf", infFile, "-i", local, "-mi", local, "-p", strconv.Itoa(s.o.SIPpPort),
		"-mp", strconv.Itoa(mediaPort), "-r", strconv.FormatFloat(s.o.Rate, 'f', -1, 64), "-rp", "60000",
		"-m", strconv.Itoa(total), "-l", strconv.Itoa(max(100, int(s.o.Rate/60*(ivr+2*s.o.Talk).Seconds()))),
		"-rtp_threadtasks", "100", "-nostdin", "-buff_size", "4194304", "-max_socket", "5000",
		"-trace_stat", "-stf", statFile, "-fd", "1", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		s.server.String()}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("livesim: start sipp: %w", err)
	}
	s.sippPID.Store(int64(cmd.Process.Pid))
	s.log.Info("SIPp callers started", "rate_per_min", s.o.Rate, "calls", total, "dir", dir)
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	return done, func() error {
		defer os.RemoveAll(dir)
		<-done
		err := waitErr
		created, ok, failed, why := sippCounts(statFile)
		s.stats.Calls.Store(created)
		s.stats.Failed.Store(failed)
		s.stats.FailedWhy = why
		s.log.Info("SIPp callers done", "created", created, "successful", ok, "failed", failed, "why", why)
		if err != nil && failed == 0 {
			return fmt.Errorf("livesim: sipp: %w%s: %s", err, sippExitMeaning(cmd.ProcessState), sippErrors(out.String()))
		}
		return nil
	}, nil
}

// sippExitMeaning explains SIPp's fatal exit codes (SIPp's manual, "Exit
// codes").
func sippExitMeaning(ps *os.ProcessState) string {
	if ps == nil {
		return ""
	}
	switch ps.ExitCode() {
	case 255:
		return " (SIPp: fatal error)"
	case 254:
		return " (SIPp: fatal error binding a socket)"
	}
	return ""
}

// sippErrors returns the distinct lines of SIPp's output that report
// errors (the last five), or its last line when none does.
func sippErrors(out string) string {
	var errs []string
	seen := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		low := strings.ToLower(l)
		if !strings.Contains(low, "error") && !strings.Contains(low, "unable") {
			continue
		}
		// SIPp prefixes each error with the date and two clocks.
		if f := strings.SplitN(strings.TrimSpace(l), ": ", 2); len(f) == 2 && strings.Count(f[0], "\t") == 2 {
			l = f[1]
		}
		if l = strings.TrimSpace(l); !seen[l] {
			seen[l] = true
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		return lastLine(out)
	}
	return strings.Join(errs[max(0, len(errs)-5):], "; ")
}

// talkFile writes what the SIPp callers say — the English welcome prompt
// as raw μ-law, which SIPp's rtp_stream sends 160 bytes to a packet — and
// returns its path.
func (s *sim) talkFile(dir string) (string, error) {
	a, err := media.ReadWAVFile(filepath.Join(s.o.Prompts, "en", "welcome.wav"))
	if err != nil {
		return "", err
	}
	buf := make([]byte, len(a.Samples))
	n := media.PCMU.Encode(buf, a.Samples)
	path := filepath.Join(dir, "talk.ulaw")
	return path, os.WriteFile(path, buf[:n], 0o644)
}

// sippCounts reads the last row of SIPp's statistics file: calls created,
// successful and failed, and why they failed ("FailedMaxUDPRetrans 12,
// FailedCallRejected 3": SIPp's nonzero failure counters).
func sippCounts(path string) (created, ok, failed int64, why string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return 0, 0, 0, ""
	}
	head, last := strings.Split(lines[0], ";"), strings.Split(lines[len(lines)-1], ";")
	get := func(name string) int64 {
		for i, h := range head {
			if h == name && i < len(last) {
				v, _ := strconv.ParseInt(strings.TrimSpace(last[i]), 10, 64)
				return v
			}
		}
		return 0
	}
	var reasons []string
	for _, h := range head {
		name, cumulative := strings.CutSuffix(h, "(C)")
		if cumulative && strings.HasPrefix(name, "Failed") && name != "FailedCall" {
			if n := get(h); n > 0 {
				reasons = append(reasons, fmt.Sprintf("%s %d", name, n))
			}
		}
	}
	return get("TotalCallCreated"), get("SuccessfulCall(C)"), get("FailedCall(C)"), strings.Join(reasons, ", ")
}

// sippMediaPort picks the media port for SIPp, which binds it and the
// three above it (audio and video RTP and RTCP) and exits if one is taken:
// want, or the next four free ports above it. The agents' connections are
// open by then, and with 2,000 of them some of the kernel's ephemeral
// ports (32768–60999 here) are taken: once one was SIPp's.
func sippMediaPort(ip netip.Addr, want int) (int, error) {
	for p := want; p+3 <= 65535 && p < want+400; p += 4 {
		if portsFree(ip, p, 4) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("livesim: no four free UDP ports for SIPp's media from %d", want)
}

// portsFree reports whether n UDP ports from first are free on ip.
func portsFree(ip netip.Addr, first, n int) bool {
	var held []*net.UDPConn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for p := first; p < first+n; p++ {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(p))))
		if err != nil {
			return false
		}
		held = append(held, c)
	}
	return true
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
