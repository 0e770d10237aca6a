package siptest

import (
	"os"
	"os/exec"
	"testing"
)

// RequireProgram returns the path of an external program a test needs
// (sipp, chromium). When it is missing the test fails under CI=true — a
// missing dependency is never a silent pass there — and is skipped
// elsewhere, naming the Debian package to install.
func RequireProgram(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (apt-get install %s)", name, pkg)
		}
		t.Skipf("%s not installed (apt-get install %s)", name, pkg)
	}
	return p
}
