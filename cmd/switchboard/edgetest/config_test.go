package edgetest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDeployConfigsCheck: the shipped configs pass the programs' own
// checks with each set of knobs, the example node lists included.
func TestDeployConfigsCheck(t *testing.T) {
	deploy := deployDir(t)
	kamailio := func(defines ...string) []string {
		args := []string{"-c", "-f", filepath.Join(deploy, "kamailio", "kamailio.cfg"),
			"-A", `DS_LIST="` + filepath.Join(deploy, "kamailio", "dispatcher.list") + `"`}
		for _, d := range defines {
			args = append(args, "-A", d)
		}
		return args
	}
	for _, tc := range []struct {
		name, program string
		args          func(t *testing.T) []string
	}{
		{"kamailio defaults", "kamailio", func(*testing.T) []string { return kamailio() }},
		{"kamailio without pike", "kamailio", func(*testing.T) []string { return kamailio("NO_PIKE") }},
		{"kamailio advertised", "kamailio", func(*testing.T) []string {
			return kamailio("SIP_LISTEN=127.0.0.1:5070", "SIP_ADVERTISE=192.0.2.10:5060", "PIKE_DENSITY=100")
		}},
		{"nginx", "nginx", func(t *testing.T) []string {
			return []string{"-t", "-p", t.TempDir() + "/", "-c", filepath.Join(deploy, "nginx", "nginx.conf"), "-e", "stderr"}
		}},
		{"nats-server", "nats-server", func(*testing.T) []string {
			return []string{"-t", "-c", filepath.Join(deploy, "nats", "nats.conf")}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(program(t, tc.program, tc.program), tc.args(t)...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s check: %v\n%s", tc.program, err, out)
			}
		})
	}
}
