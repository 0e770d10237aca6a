package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules enforces the package boundaries of ARCHITECTURE.md on the
// real dependency graph (go list -deps): core packages import no adapter and
// no protocol/database library; adapters do not import each other.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "switchboard/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	if len(deps) < 3 {
		t.Fatalf("go list found only %d packages", len(deps))
	}

	libraries := []string{"github.com/emiago/sipgo", "github.com/pion/", "github.com/gorilla/websocket", "github.com/jackc/pgx",
		"github.com/nats-io/", "github.com/emersion/", "github.com/riverqueue/"}
	// acd/acdnats is the engine's NATS adapter, as pgstore is the CRM's
	// PostgreSQL one.
	adapters := []string{"switchboard/sip", "switchboard/agentdesk", "switchboard/crmcore/pgstore", "switchboard/crmcore/crmapi",
		"switchboard/crmcore/dispatch", "switchboard/acd/acdnats", "switchboard/crmcore/mail", "switchboard/crmcore/webhook",
		"switchboard/crmcore/callbacks"}
	ours := func(p string) bool { return p == "switchboard" || strings.HasPrefix(p, "switchboard/") }
	under := func(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }
	// xxxtest packages hold fakes for tests and may use real libraries.
	isTestSupport := func(p string) bool { return strings.HasSuffix(p, "test") }

	type rule struct {
		name   string
		match  func(pkg string) bool
		forbid func(pkg, dep string) bool
	}
	rules := []rule{
		{
			name:  "crmcore domain imports nothing of ours",
			match: func(p string) bool { return p == "switchboard/crmcore" },
			forbid: func(_, d string) bool {
				return ours(d)
			},
		},
		{
			name: "core packages import no adapter and no protocol or database library",
			match: func(p string) bool {
				return (p == "switchboard/crmcore" || under(p, "switchboard/ivr") || under(p, "switchboard/acd")) && !isTestSupport(p) &&
					!under(p, "switchboard/acd/acdnats")
			},
			forbid: func(_, d string) bool {
				for _, a := range adapters {
					if under(d, a) {
						return true
					}
				}
				for _, l := range libraries {
					if strings.HasPrefix(d, l) {
						return true
					}
				}
				return false
			},
		},
		{
			name:  "ivr imports nothing of ours",
			match: func(p string) bool { return under(p, "switchboard/ivr") },
			forbid: func(p, d string) bool {
				return ours(d) && !under(d, "switchboard/ivr")
			},
		},
		{
			name:  "acd imports nothing of ours but its own packages, the voice journey also ivr and crmcore, the dialer also crmcore",
			match: func(p string) bool { return under(p, "switchboard/acd") },
			forbid: func(p, d string) bool {
				if !ours(d) || under(d, "switchboard/acd") {
					return false
				}
				switch {
				case under(p, "switchboard/acd/voice"):
					return !(under(d, "switchboard/ivr") || d == "switchboard/crmcore")
				case under(p, "switchboard/acd/outbound"):
					return d != "switchboard/crmcore"
				}
				return true
			},
		},
		{
			name:  "the CRM's routing channel imports only crmcore and acd of ours, and no database library",
			match: func(p string) bool { return under(p, "switchboard/crmcore/dispatch") },
			forbid: func(_, d string) bool {
				return (ours(d) && d != "switchboard/crmcore" && !under(d, "switchboard/acd")) || strings.HasPrefix(d, "github.com/jackc/pgx")
			},
		},
		{
			name: "adapters do not import each other",
			match: func(p string) bool {
				for _, a := range adapters {
					if under(p, a) {
						return true
					}
				}
				return false
			},
			forbid: func(p, d string) bool {
				for _, a := range adapters {
					if under(d, a) && !under(p, a) {
						return true
					}
				}
				return false
			},
		},
		{
			name:  "nothing imports cmd",
			match: func(p string) bool { return !under(p, "switchboard/cmd") },
			forbid: func(_, d string) bool {
				return under(d, "switchboard/cmd")
			},
		},
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			for pkg, ds := range deps {
				if !r.match(pkg) {
					continue
				}
				for _, d := range ds {
					if r.forbid(pkg, d) {
						t.Errorf("%s imports %s", pkg, d)
					}
				}
			}
		})
	}
}
