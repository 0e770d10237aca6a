package livesim

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func TestSIPpCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stat.csv")
	stat := "StartTime;TotalCallCreated;SuccessfulCall(C);FailedCall(C);FailedMaxUDPRetrans(P);FailedMaxUDPRetrans(C);FailedCallRejected(C);FailedTimeoutOnRecv(C);Retransmissions(C);\n" +
		"t0;10;5;0;0;0;0;0;0;\n" +
		"t1;100;90;10;1;7;0;3;40;\n"
	if err := os.WriteFile(path, []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	created, ok, failed, why := sippCounts(path)
	if created != 100 || ok != 90 || failed != 10 {
		t.Errorf("counts = %d, %d, %d; want 100, 90, 10", created, ok, failed)
	}
	if want := "FailedMaxUDPRetrans 7, FailedTimeoutOnRecv 3"; why != want {
		t.Errorf("why = %q; want %q", why, want)
	}
	if c, _, _, why := sippCounts(filepath.Join(t.TempDir(), "missing.csv")); c != 0 || why != "" {
		t.Errorf("missing file: %d, %q", c, why)
	}
}

// TestSIPpMediaPortSkipsTakenPorts: a taken port among the four SIPp binds
// moves the choice past it.
func TestSIPpMediaPortSkipsTakenPorts(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	want := 0
	for p := 50000; p < 60000; p += 4 {
		if portsFree(ip, p, 8) {
			want = p
			break
		}
	}
	if want == 0 {
		t.Fatal("no eight free UDP ports in 50000–60000")
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(want+2))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := sippMediaPort(ip, want)
	if err != nil || got != want+4 {
		t.Fatalf("sippMediaPort = %d, %v; want %d (port %d is taken)", got, err, want+4, want+2)
	}
}
