package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// needTool returns the path of a program the test runs. Under CI=true a
// missing program fails the test (.ci/install-deps installs it); elsewhere
// the test is skipped with the Debian package to install.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join("/usr/sbin", name); isExecutable(p) {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not installed: run .ci/install-deps", name)
	}
	t.Skipf("%s not installed; apt-get install %s", name, pkg)
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestAlertRules(t *testing.T) {
	promtool := needTool(t, "promtool", "prometheus")
	run(t, promtool, "check", "rules", "prometheus/alerts.yml")
	run(t, promtool, "test", "rules", "prometheus/alerts_test.yml")
}

// ruleFile is the part of a Prometheus rule file (and of a promtool test
// file) the checks read.
type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
	Tests []struct {
		InputSeries []struct {
			Series string `yaml:"series"`
		} `yaml:"input_series"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestAlertRulesMetrics checks the rules and their tests against the
// registered metrics, and each alert for a severity, a summary, a
// description, a runbook section that exists, and unit tests.
func TestAlertRulesMetrics(t *testing.T) {
	cat := registeredMetrics(t)
	var rules, tests ruleFile
	readYAML(t, "prometheus/alerts.yml", &rules)
	readYAML(t, "prometheus/alerts_test.yml", &tests)
	anchors := docAnchors(t, "../docs/operations.md")

	tested := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, s := range tc.InputSeries {
			name, _, _ := strings.Cut(s.Series, "{")
			cat.check(t, "alerts_test.yml series", name)
		}
		for _, a := range tc.AlertRuleTest {
			tested[a.Alertname] = true
		}
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			cat.check(t, r.Alert, r.Expr)
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			for _, k := range []string{"summary", "description", "runbook"} {
				if r.Annotations[k] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, k)
				}
			}
			if want := "docs/operations.md#" + strings.ToLower(r.Alert); r.Annotations["runbook"] != want {
				t.Errorf("%s: runbook %q, want %q", r.Alert, r.Annotations["runbook"], want)
			}
			if !anchors[strings.ToLower(r.Alert)] {
				t.Errorf("%s: docs/operations.md has no section %q", r.Alert, r.Alert)
			}
			if !tested[r.Alert] {
				t.Errorf("%s: no unit test in alerts_test.yml", r.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatal("no alert in alerts.yml")
	}
}

// docAnchors returns the anchors of the Markdown headings of path, as
// GitHub makes them: lower case, punctuation dropped, spaces as dashes.
func docAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	anchors := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if h, ok := strings.CutPrefix(sc.Text(), "#"); ok {
			h = strings.TrimSpace(strings.TrimLeft(h, "#"))
			anchors[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-")] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return anchors
}

// dashboard is the part of a Grafana dashboard the checks read.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// dsVar is the dashboard's data source variable: Grafana asks for it at
// import, and provisioning picks the default Prometheus.
const dsVar = "${DS_PROMETHEUS}"

// grafanaVars are the variables the queries may use: the built-in
// intervals become a duration, the dashboard's own variables (only ever
// inside a regex matcher) a regex.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
	"${instance}", ".*", "$instance", ".*", "${queue}", ".*", "$queue", ".*")

// TestDashboard checks that the dashboard parses, that every panel has a
// query on the data source variable, that every query is valid PromQL
// (promtool checks them as recording rules) and that every metric it
// names is registered by the code.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana/switchboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("switchboard.json: %v", err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 {
		t.Errorf("uid %q, title %q, schemaVersion %d: want both set and a schema of Grafana 9 or later", d.UID, d.Title, d.SchemaVersion)
	}
	cat := registeredMetrics(t)

	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Errorf("variable %s: query: %v", v.Name, err)
			continue
		}
		m := regexp.MustCompile(`^label_values\((\w+),\s*\w+\)$`).FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q.Query)
			continue
		}
		cat.check(t, "variable "+v.Name, m[1])
		if v.Datasource == nil || v.Datasource.UID != dsVar {
			t.Errorf("variable %s: data source %+v, want %s", v.Name, v.Datasource, dsVar)
		}
	}
	for _, v := range []string{"DS_PROMETHEUS", "instance", "queue"} {
		if !vars[v] {
			t.Errorf("no variable %s", v)
		}
	}

	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	ids := map[int]bool{}
	var walk func([]panel)
	queries := 0
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if p.Title == "" {
				t.Errorf("panel %d has no title", p.ID)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			if p.Datasource == nil || p.Datasource.UID != dsVar {
				t.Errorf("panel %q: data source %+v, want %s", p.Title, p.Datasource, dsVar)
			}
			for _, tg := range p.Targets {
				where := fmt.Sprintf("panel %q query %s", p.Title, tg.RefID)
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s is empty", where)
					continue
				}
				if tg.Datasource == nil || tg.Datasource.UID != dsVar {
					t.Errorf("%s: data source %+v, want %s", where, tg.Datasource, dsVar)
				}
				expr := grafanaVars.Replace(tg.Expr)
				if strings.Contains(expr, "$") && !strings.Contains(expr, "${1}") {
					t.Errorf("%s: unknown variable in %q", where, tg.Expr)
				}
				cat.check(t, where, expr)
				queries++
				fmt.Fprintf(&rules, "      - record: dashboard:panel%d:%s\n        expr: %q\n", p.ID, tg.RefID, expr)
			}
		}
	}
	walk(d.Panels)
	if queries == 0 {
		t.Fatal("no query in the dashboard")
	}

	promtool := needTool(t, "promtool", "prometheus")
	path := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, promtool, "check", "rules", path)
}

// TestSystemdUnit builds the server, checks that the unit's command line
// is one it accepts, and has systemd-analyze verify a copy of the unit
// whose ExecStart runs the binary just built.
func TestSystemdUnit(t *testing.T) {
	analyze := needTool(t, "systemd-analyze", "systemd")
	unit, err := os.ReadFile("systemd/switchboard.service")
	if err != nil {
		t.Fatal(err)
	}
	const installed = "/usr/local/bin/switchboard"
	var execStart []string
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			execStart = strings.Fields(v)
		}
	}
	want := []string{installed, "serve", "--config", "/etc/switchboard/config.yaml"}
	if strings.Join(execStart, " ") != strings.Join(want, " ") {
		t.Fatalf("ExecStart=%s, want %s", strings.Join(execStart, " "), strings.Join(want, " "))
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "switchboard")
	run(t, "go", "build", "-o", bin, "switchboard/cmd/switchboard")
	// serve -h lists the flags serve takes (and exits 2).
	out, _ := exec.Command(bin, "serve", "-h").CombinedOutput()
	if !strings.Contains(string(out), "Usage of serve") || !strings.Contains(string(out), "-config") {
		t.Fatalf("switchboard serve -h does not offer -config:\n%s", out)
	}

	copyPath := filepath.Join(dir, "switchboard.service")
	if err := os.WriteFile(copyPath, []byte(strings.ReplaceAll(string(unit), "ExecStart="+installed, "ExecStart="+bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(analyze, "verify", copyPath).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// Unknown keys and unsafe settings are warnings, with exit status 0.
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(line, "switchboard.service") {
			t.Errorf("systemd-analyze verify: %s", line)
		} else if line != "" {
			t.Logf("systemd-analyze verify: %s", line)
		}
	}
}
