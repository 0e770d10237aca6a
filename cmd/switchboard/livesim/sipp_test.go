package livesim

import (
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
