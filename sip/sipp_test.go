package sip

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"switchboard/sip/siptest"
)

var sippPort = 47000

// runSIPp runs one SIPp scenario call against the gateway.
func runSIPp(t *testing.T, g *Gateway, scenario, service string, extra ...string) {
	t.Helper()
	sipp := siptest.RequireProgram(t, "sipp", "sip-tester")
	scen, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	sippPort += 10
	dir := t.TempDir()
	args := []string{"-sf", scen, "-m", "1", "-i", "127.0.0.1", "-p", strconv.Itoa(sippPort),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(sippPort + 2), "-s", service,
		"-timeout", "20s", "-timeout_error", "-trace_err", "-error_file", filepath.Join(dir, "err.log"),
		g.UDPAddr().String()}
	args = append(args, extra...)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		errLog, _ := os.ReadFile(filepath.Join(dir, "err.log"))
		t.Fatalf("sipp %s: %v\n%s\n%s", scenario, err, lastLines(out, 20), errLog)
	}
}

func lastLines(b []byte, n int) string {
	s := string(b)
	cnt := 0
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			cnt++
			if cnt > n {
				return s[i+1:]
			}
		}
	}
	return s
}

// TestSIPpDTMF: SIPp calls in, plays its shipped RFC 2833 captures, the
// gateway reports exactly the digits, SIPp hangs up.
func TestSIPpDTMF(t *testing.T) {
	digits := make(chan string, 1)
	g := startGateway(t, Config{}, WithCallHandler(func(c *Call) {
		var got []byte
		for {
			d, ok, err := c.ReadDigit(c.Context(), 10*time.Second)
			if err != nil || !ok {
				break
			}
			got = append(got, d)
		}
		digits <- string(got)
	}))
	runSIPp(t, g, "uac_dtmf.xml", "support")
	select {
	case got := <-digits:
		if got != "15#" {
			t.Errorf("digits = %q, want %q", got, "15#")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler did not finish after SIPp hung up")
	}
}

// TestSIPpGatewayHangsUp: the gateway's test endpoint answers, plays 2 s
// and sends BYE; SIPp expects it.
func TestSIPpGatewayHangsUp(t *testing.T) {
	g := startGateway(t, Config{TestEndpoint: "playtest"})
	runSIPp(t, g, "uac_remote_bye.xml", "playtest")
	waitFor(t, "leg gone", func() bool { return g.ActiveCalls() == 0 })
	if got := fmt.Sprint(g.pool.InUse()); got != "0" {
		t.Errorf("ports in use after call: %s", got)
	}
}
