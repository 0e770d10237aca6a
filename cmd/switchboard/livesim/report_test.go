package livesim

import (
	"os"
	"runtime"
	"strconv"
	"testing"
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
