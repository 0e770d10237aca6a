package main

import (
	"strings"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/acd/dialplan"
)

func TestParseConfigErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "log:\n  format: text\n  colour: red\n", "bad.yaml:3: field colour not found"},
		{"bad duration", "http:\n  listen: 127.0.0.1:1\n  shutdown_timeout: soon\n", `bad.yaml:3: "soon" is not a duration`},
		{"bad log format", "log:\n  format: xml\n", `bad.yaml:2: log.format "xml" must be text or json`},
		{"bad listen", "http:\n  listen: nowhere\n", `bad.yaml:2: http.listen "nowhere" is not host:port`},
		{"syntax", "log:\n  format: [text\n", "bad.yaml:"},
		{"wrong type", "database:\n  seed_demo: maybe\n", "bad.yaml:2:"},
		{"bad hours override", "ivr:\n  flows: f.yaml\n  hours_override: sometimes\n", `bad.yaml:3: ivr.hours_override "sometimes"`},
		{"bad shared sockets", "sip:\n  udp: 127.0.0.1:5060\n  rtp_shared_sockets: -3\n", `bad.yaml:3: sip.rtp_shared_sockets -3 must be 0–64`},
		{"bad realm", "sip:\n  realm: 'a\"b'\n", `bad.yaml:2: sip.realm "a\"b" must be 1–128 characters`},
		{"expiry bounds", "sip:\n  registration_min_expiry: 2h\n", "bad.yaml:2: sip.registration_min_expiry 2h0m0s must be at least 1s and not above registration_max_expiry 1h0m0s"},
		{"digest algorithms", "sip:\n  digest_algorithms: [SHA-512]\n", `bad.yaml:2: sip.digest_algorithms ["SHA-512"] must list SHA-256 and/or MD5`},
		{"tcp limits", "sip:\n  tcp_max_per_source: -1\n", "sip.tcp_max_connections, tcp_max_per_source and tcp_idle_timeout must be positive"},
		{"bad acd", "acd:\n  queues:\n    - name: \"\"\n", "bad.yaml:2: acd:"},
		{"bad capacity", "acd:\n  ring_timeout: 20s\n  capacity:\n    channels:\n      chat: {capacity: 500}\n", "bad.yaml:4: acd: invalid config: capacity.channels.chat.capacity: 500 not in 0..100"},
		{"bad capacity channel", "acd:\n  capacity:\n    channels:\n      Chat!: {capacity: 2}\n", `bad.yaml:3: acd: invalid config: capacity.channels: bad channel name "Chat!"`},
		{"bad capacity total", "acd:\n  capacity:\n    total: -1\n", "bad.yaml:3: acd: invalid config: capacity.total"},
		{"capacity unknown key", "acd:\n  capacity:\n    chat: 3\n", "bad.yaml:3: field chat not found"},
		{"dialplan emergency callbacks", "dialplan:\n  roles:\n    callback: [national, emergency]\n", "bad.yaml:2: dialplan: invalid config: role callback may not dial emergency"},
		{"dialplan unknown class", "dialplan:\n  roles:\n    agent: [cheap]\n", `bad.yaml:2: dialplan: invalid config: role agent: unknown class "cheap"`},
		{"dialplan bad prefix", "dialplan:\n  deny_prefixes: [\"1900\"]\n", `deny prefix "1900"`},
		{"dialplan bad home", "dialplan:\n  home_country: ZZ\n", `home_country "ZZ"`},
		{"dialplan unknown key", "dialplan:\n  allowed: [\"+1*\"]\n", "bad.yaml:2: field allowed not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("parseConfig accepted %q", tt.yaml)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestParseConfigCapacity: acd.capacity sets each channel's default
// capacity and blocking flag over the built-in ones, and the total cap.
func TestParseConfigCapacity(t *testing.T) {
	cfg, err := parseConfig("c.yaml", []byte("acd:\n  capacity:\n    total: 6\n    channels:\n      chat: {capacity: 5}\n      voice: {blocking: false}\n      sms: {capacity: 8, blocking: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.ACD.Capacity
	if c.Total != 6 {
		t.Errorf("total = %d, want 6", c.Total)
	}
	for _, tt := range []struct {
		ch       acd.Channel
		capacity int
		blocking bool
	}{{acd.ChannelChat, 5, false}, {acd.ChannelVoice, 1, false}, {"sms", 8, true}, {acd.ChannelTicket, 10, false}, {acd.ChannelEmail, 5, false}} {
		if n, b := c.Rule(tt.ch); n != tt.capacity || b != tt.blocking {
			t.Errorf("%s = capacity %d blocking %v, want %d %v", tt.ch, n, b, tt.capacity, tt.blocking)
		}
	}
}

func TestDemoConfigParses(t *testing.T) {
	cfg, err := parseConfig("demo.yaml", demoConfig)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.HTTP.ShutdownTimeout.D(), 10*time.Second; got != want {
		t.Errorf("shutdown_timeout = %v, want %v", got, want)
	}
}

// TestDemoDialPlan: the demo's dial plan lets callbacks and agents reach
// the demo's NANP numbers (Canadian contacts included) and nothing premium.
func TestDemoDialPlan(t *testing.T) {
	cfg, err := parseConfig("demo.yaml", demoConfig)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := dialplan.New(cfg.DialPlan)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		role   dialplan.Role
		number string
		ok     bool
	}{
		{dialplan.RoleCallback, "+14155550101", true},
		{dialplan.RoleCallback, "+14165550105", true},
		{dialplan.RoleAgent, "+16045550106", true},
		{dialplan.RoleCallback, "+19005551234", false},
		{dialplan.RoleSupervisor, "+19005550101", false},
		{dialplan.RoleCallback, "+18765551234", false},
		{dialplan.RoleCallback, "911", false},
	} {
		if _, err := plan.Check(tt.role, tt.number); (err == nil) != tt.ok {
			t.Errorf("demo dial plan: %s %s = %v, want allowed %v", tt.role, tt.number, err, tt.ok)
		}
	}
}

// TestDialPlanHomeCountryDefault: without dialplan.home_country the plan
// reads numbers in ivr.default_region.
func TestDialPlanHomeCountryDefault(t *testing.T) {
	cfg, err := parseConfig("uk.yaml", []byte("ivr:\n  flows: f.yaml\n  default_region: GB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DialPlan.HomeCountry != "GB" {
		t.Errorf("home_country = %q, want GB", cfg.DialPlan.HomeCountry)
	}
}

func TestEnvOverrides(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://u@127.0.0.1:1/x")
	t.Setenv("SWITCHBOARD_HTTP_LISTEN", "127.0.0.1:18080")
	t.Setenv("SWITCHBOARD_RECORDING_DIR", "/tmp/rec")
	cfg, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Database.URL; got != "postgres://u@127.0.0.1:1/x" {
		t.Errorf("database.url = %q, want the DATABASE_URL value", got)
	}
	if got := cfg.HTTP.Listen; got != "127.0.0.1:18080" {
		t.Errorf("http.listen = %q, want the SWITCHBOARD_HTTP_LISTEN value", got)
	}
	if got := cfg.SIP.RecordingDir; got != "/tmp/rec" {
		t.Errorf("sip.recording_dir = %q, want the SWITCHBOARD_RECORDING_DIR value", got)
	}
}
