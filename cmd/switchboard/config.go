package main

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"switchboard/acd"
	"switchboard/acd/dialplan"
	"switchboard/sip"
)

// demoConfig is the configuration `make run` uses when no --config is given.
//
//go:embed demo.yaml
var demoConfig []byte

// Config is the whole server configuration, read from one YAML file.
type Config struct {
	Log      LogConfig      `yaml:"log"`
	HTTP     HTTPConfig     `yaml:"http"`
	Database DatabaseConfig `yaml:"database"`
	SIP      SIPConfig      `yaml:"sip"`
	IVR      IVRConfig      `yaml:"ivr"`
	CRM      CRMConfig      `yaml:"crm"`
	ACD      acd.Config     `yaml:"acd"`
	CTI      CTIConfig      `yaml:"cti"`
	// DialPlan is the outbound dial plan every leg to the trunk passes;
	// its home_country defaults to ivr.default_region.
	DialPlan dialplan.Config `yaml:"dialplan"`
	Cluster  ClusterConfig   `yaml:"cluster"`
	Mail     MailConfig      `yaml:"mail"`
	Chat     ChatConfig      `yaml:"chat"`
	WebCall  WebCallConfig   `yaml:"webcall"`
	Tracing  TracingConfig   `yaml:"tracing"`

	// path is the file the configuration was read from ("": the embedded
	// demo configuration); a reload (SIGHUP) reads it again.
	path string
}

// SIPConfig is the gateway's listeners and media settings.
type SIPConfig struct {
	UDP            string   `yaml:"udp"`       // UDP listen address ("" disables)
	TCP            string   `yaml:"tcp"`       // TCP listen address ("" disables)
	TLS            string   `yaml:"tls"`       // TLS listen address, used with tls_cert/tls_key
	TLSCert        string   `yaml:"tls_cert"`  // PEM certificate file
	TLSKey         string   `yaml:"tls_key"`   // PEM key file
	PublicIP       string   `yaml:"public_ip"` // address in Contact and SDP
	RTPPortMin     int      `yaml:"rtp_port_min"`
	RTPPortMax     int      `yaml:"rtp_port_max"`
	RTPShared      *int     `yaml:"rtp_shared_sockets"` // shared RTP sockets at the bottom of the range (0: a port pair per leg)
	MaxCalls       int      `yaml:"max_calls"`          // concurrent legs before 503
	TrustedSources []string `yaml:"trusted_sources"`    // trunk IPs accepted without auth
	EdgeProxies    []string `yaml:"edge_proxies"`       // SIP edge proxies (Kamailio) whose Via names the client
	RequireAuth    bool     `yaml:"require_auth"`       // digest-authenticate other INVITEs
	Realm          string   `yaml:"realm"`              // SIP digest realm; changing it needs every SIP password set again
	// Digest algorithms challenged and accepted, most preferred first.
	DigestAlgorithms []string `yaml:"digest_algorithms"`
	// Registration interval bounds: less gets 423, more is shortened.
	RegistrationMinExpiry Duration `yaml:"registration_min_expiry"`
	RegistrationMaxExpiry Duration `yaml:"registration_max_expiry"`
	// Requests without valid credentials allowed per source address
	// (per second, burst); trusted sources are exempt.
	UnauthenticatedRate  float64 `yaml:"unauthenticated_rate"`
	UnauthenticatedBurst int     `yaml:"unauthenticated_burst"`
	// Inbound TCP/TLS connections: in all, per source address, and how
	// long one may stay open before it authenticates a request.
	TCPMaxConnections int      `yaml:"tcp_max_connections"`
	TCPMaxPerSource   int      `yaml:"tcp_max_per_source"`
	TCPIdleTimeout    Duration `yaml:"tcp_idle_timeout"`
	MusicOnHold       string   `yaml:"music_on_hold"` // WAV looped to a held party
	RecordingDir      string   `yaml:"recording_dir"`
	RecordCalls       bool     `yaml:"record_calls"` // stereo WAV of every answered call
	// RecordingRetention deletes recordings older than this (zero keeps).
	RecordingRetention Duration `yaml:"recording_retention"`
	Trunk              string   `yaml:"trunk"`         // host:port for customer numbers
	CallerID           string   `yaml:"caller_id"`     // number shown on outbound calls
	TestEndpoint       string   `yaml:"test_endpoint"` // DNIS answered internally (load tests)
	AnswerDelay        Duration `yaml:"answer_delay"`  // how long inbound calls ring before the answer
	EarlyMedia         bool     `yaml:"early_media"`   // 183 + ringback while they ring
	Ringback           string   `yaml:"ringback"`      // WAV, country tone or tone spec for early media
	DrainTimeout       Duration `yaml:"drain_timeout"` // how long shutdown lets calls finish
	CampaignRing       Duration `yaml:"campaign_ring"` // how long a campaign's dial rings before it counts as no answer
	WebRTCIPs          []string `yaml:"webrtc_ips"`    // ICE host candidate addresses
}

// IVRConfig says where the flows and prompts are.
type IVRConfig struct {
	Flows         string `yaml:"flows"`          // flows file (YAML)
	Prompts       string `yaml:"prompts"`        // prompt root with per-language folders
	DefaultRegion string `yaml:"default_region"` // country for numbers without "+"
	SurveyFlow    string `yaml:"survey_flow"`    // flow run on callers left on the line by the agent
	HoursOverride string `yaml:"hours_override"` // "open" or "closed" forces every hours node
	// Speech configures spoken input in menus and gathers.
	Speech SpeechConfig `yaml:"speech"`
}

// CRMConfig says which unanswered calls become help-desk tickets (voicemails
// always do).
type CRMConfig struct {
	TicketAbandoned bool `yaml:"ticket_abandoned"` // a ticket for every caller who hung up in queue
}

// CTIConfig configures the agent desktop's CTI channel.
type CTIConfig struct {
	Dispositions   []string `yaml:"dispositions"`    // wrap-up codes
	ReasonCodes    []string `yaml:"reason_codes"`    // not-ready reasons
	AllowedOrigins []string `yaml:"allowed_origins"` // extra browser origins
	// AuthTimeout closes a connection that has not authenticated in time;
	// at most MaxUnauthenticated connections wait to authenticate at once.
	AuthTimeout        Duration `yaml:"auth_timeout"`
	MaxUnauthenticated int      `yaml:"max_unauthenticated"`
}

// LogConfig selects the log format and level.
type LogConfig struct {
	Format string `yaml:"format"` // text or json
	Level  string `yaml:"level"`  // debug, info, warn, error
}

// HTTPConfig is the one HTTP listener (web UI, CTI, REST, metrics, health).
type HTTPConfig struct {
	Listen          string   `yaml:"listen"`
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	TLSCert         string   `yaml:"tls_cert"` // PEM certificate chain: serve HTTPS (with tls_key)
	TLSKey          string   `yaml:"tls_key"`  // PEM private key
	// Time limits of one request: its headers, the whole request with its
	// body, the response, and a kept-alive connection waiting for the next.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	WriteTimeout      Duration `yaml:"write_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	MaxConnsPerSource int      `yaml:"max_conns_per_source"` // open connections per client address (0: no cap)
	ConnLimitExempt   []string `yaml:"conn_limit_exempt"`    // addresses or prefixes not capped (a local reverse proxy)
	// EdgeProxies are the HTTP edges (nginx) whose requests name the
	// client in X-Forwarded-For: per-client limits (logins, new chats)
	// then count the client, not the edge.
	EdgeProxies  []string `yaml:"edge_proxies"`
	Metrics      string   `yaml:"metrics"`       // who may read /metrics: loopback, token or open
	MetricsToken string   `yaml:"metrics_token"` // the bearer token when metrics is token
}

// DatabaseConfig says where PostgreSQL is. With no URL (and no DATABASE_URL
// in the environment) the server starts a private cluster under DataDir.
type DatabaseConfig struct {
	URL      string `yaml:"url"`
	DataDir  string `yaml:"data_dir"`
	SeedDemo bool   `yaml:"seed_demo"`
}

// ClusterConfig makes the node one of several sharing database.url and
// a NATS bus: every node takes calls, and the nodes elect one leader
// through PostgreSQL, which routes them and serves the desks and the REST
// API (see cluster.go).
type ClusterConfig struct {
	Enabled bool `yaml:"enabled"`
	// NodeID names the node in the database (its lock, its interaction
	// records); default: the host name. Nodes need distinct ids.
	NodeID string `yaml:"node_id"`
	// NATS is the bus between the nodes ("nats://host:4222", several
	// comma-separated for a NATS cluster): nodes send their calls to the
	// leader's routing engine over it and the leader drives their legs.
	NATS string `yaml:"nats"`
}

// node is the node's id: cluster.node_id, else the host name, under
// which its interaction records are kept (a node closes those it left in
// progress when it starts again).
func (c ClusterConfig) node() string {
	if c.NodeID != "" {
		return c.NodeID
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "switchboard"
}

// Duration is a time.Duration written as "30s", "5m" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return &lineError{line: n.Line, reason: fmt.Sprintf("%q is not a duration (use e.g. 30s, 5m)", n.Value)}
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ConfigError is a problem in a configuration file, with its position.
type ConfigError struct {
	File   string
	Line   int
	Reason string
}

// Error formats the problem as "file:line: reason".
func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Reason)
}

type lineError struct {
	line   int
	reason string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.reason) }

// defaultSharedSockets is the default of sip.rtp_shared_sockets: one
// shared RTP socket per core of the 2-core reference machine.
const defaultSharedSockets = 2

// sharedSockets returns sip.rtp_shared_sockets with its default applied.
func (s SIPConfig) sharedSockets() int {
	if s.RTPShared == nil {
		return defaultSharedSockets
	}
	return *s.RTPShared
}

func defaultConfig() Config {
	return Config{
		Log:      LogConfig{Format: "text", Level: "info"},
		HTTP:     defaultHTTPConfig(),
		CTI:      CTIConfig{AuthTimeout: Duration(10 * time.Second), MaxUnauthenticated: 1000},
		Database: DatabaseConfig{DataDir: "var"},
		SIP: SIPConfig{UDP: "127.0.0.1:5060", TCP: "127.0.0.1:5060", PublicIP: "127.0.0.1",
			RTPPortMin: 20000, RTPPortMax: 29999, MaxCalls: 4000, Realm: sip.DefaultRealm, RecordingDir: "var/recordings", DrainTimeout: Duration(30 * time.Second), CampaignRing: Duration(25 * time.Second),
			DigestAlgorithms: sip.DefaultDigestAlgorithms(), RegistrationMinExpiry: Duration(sip.DefaultMinExpiry), RegistrationMaxExpiry: Duration(sip.DefaultMaxExpiry),
			UnauthenticatedRate: sip.DefaultUnauthRate, UnauthenticatedBurst: sip.DefaultUnauthBurst,
			TCPMaxConnections: sip.DefaultTCPMaxConns, TCPMaxPerSource: sip.DefaultTCPMaxPerSource, TCPIdleTimeout: Duration(sip.DefaultTCPIdleTimeout)},
		IVR:     IVRConfig{Flows: "ivr/testdata/demo.yaml", Prompts: "ivr/prompts", DefaultRegion: "US"},
		Tracing: TracingConfig{ServiceName: "switchboard", SampleRatio: 1},
	}
}

// loadConfig reads path ("" means the embedded demo config), applies
// environment overrides, and validates. Every error names file and line.
func loadConfig(path string) (*Config, error) {
	name, data := "demo.yaml (embedded)", demoConfig
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		name, data = path, b
	}
	cfg, err := parseConfig(name, data)
	if err != nil {
		return nil, err
	}
	cfg.path = path
	if v := os.Getenv("DATABASE_URL"); v != "" {
		cfg.Database.URL = v
	}
	if v := os.Getenv("SWITCHBOARD_HTTP_LISTEN"); v != "" {
		cfg.HTTP.Listen = v
	}
	if v := os.Getenv("SWITCHBOARD_RECORDING_DIR"); v != "" {
		cfg.SIP.RecordingDir = v
	}
	return cfg, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// parseConfig decodes data strictly: unknown keys and bad values are errors.
func parseConfig(name string, data []byte) (*Config, error) {
	cfg := defaultConfig()
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, toConfigError(name, err)
	}
	if root.Kind != 0 {
		if err := decodeStrict(&root, &cfg); err != nil {
			return nil, toConfigError(name, err)
		}
	}
	if cfg.DialPlan.HomeCountry == "" {
		cfg.DialPlan.HomeCountry = cfg.IVR.DefaultRegion
	}
	if err := validateConfig(&cfg, &root); err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return nil, &ConfigError{File: name, Line: le.line, Reason: le.reason}
		}
		return nil, &ConfigError{File: name, Reason: err.Error()}
	}
	return &cfg, nil
}

// decodeStrict decodes a node into v, refusing unknown fields.
func decodeStrict(n *yaml.Node, v any) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(n); err != nil {
		return err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	return dec.Decode(v)
}

func toConfigError(name string, err error) error {
	var le *lineError
	if errors.As(err, &le) {
		return &ConfigError{File: name, Line: le.line, Reason: le.reason}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		var errs []error
		for _, msg := range te.Errors {
			errs = append(errs, lineMessage(name, msg))
		}
		return errors.Join(errs...)
	}
	return lineMessage(name, err.Error())
}

func lineMessage(name, msg string) error {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ConfigError{File: name, Line: line, Reason: m[2]}
	}
	return &ConfigError{File: name, Reason: strings.TrimPrefix(msg, "yaml: ")}
}

// nodeLine finds the line of the value at a key path (0 when absent).
func nodeLine(root *yaml.Node, path ...string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, key := range path {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				n, line, found = n.Content[i+1], n.Content[i+1].Line, true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}

func validateConfig(cfg *Config, root *yaml.Node) error {
	switch cfg.Log.Format {
	case "text", "json":
	default:
		return &lineError{nodeLine(root, "log", "format"), fmt.Sprintf("log.format %q must be text or json", cfg.Log.Format)}
	}
	switch cfg.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return &lineError{nodeLine(root, "log", "level"), fmt.Sprintf("log.level %q must be debug, info, warn or error", cfg.Log.Level)}
	}
	if _, _, err := net.SplitHostPort(cfg.HTTP.Listen); err != nil {
		return &lineError{nodeLine(root, "http", "listen"), fmt.Sprintf("http.listen %q is not host:port", cfg.HTTP.Listen)}
	}
	if key, reason := validateHTTP(&cfg.HTTP, &cfg.CTI); key != "" {
		return &lineError{nodeLine(root, strings.Split(key, ".")...), reason}
	}
	if cfg.Database.URL == "" && cfg.Database.DataDir == "" {
		return &lineError{nodeLine(root, "database"), "database needs url or data_dir"}
	}
	if len(cfg.Cluster.NodeID) > 64 || strings.ContainsFunc(cfg.Cluster.NodeID, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return &lineError{nodeLine(root, "cluster", "node_id"), "cluster.node_id must be at most 64 characters without spaces or control characters"}
	}
	if cfg.Cluster.Enabled && cfg.Cluster.NATS == "" {
		return &lineError{nodeLine(root, "cluster"), "cluster.enabled needs cluster.nats, the NATS server the nodes talk over"}
	}
	for _, a := range []struct{ key, addr string }{{"udp", cfg.SIP.UDP}, {"tcp", cfg.SIP.TCP}, {"tls", cfg.SIP.TLS}} {
		if a.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return &lineError{nodeLine(root, "sip", a.key), fmt.Sprintf("sip.%s %q is not host:port", a.key, a.addr)}
		}
	}
	if err := validateSIPSecurity(&cfg.SIP); err != nil {
		return &lineError{nodeLine(root, "sip", err.key), err.reason}
	}
	anyPort := cfg.SIP.RTPPortMin == 0 && cfg.SIP.RTPPortMax == 0 // the system picks
	if !anyPort && (cfg.SIP.RTPPortMin <= 0 || cfg.SIP.RTPPortMax > 65535 || cfg.SIP.RTPPortMin+1 >= cfg.SIP.RTPPortMax) {
		return &lineError{nodeLine(root, "sip", "rtp_port_min"), fmt.Sprintf("sip RTP port range %d-%d is not a valid range", cfg.SIP.RTPPortMin, cfg.SIP.RTPPortMax)}
	}
	if n := cfg.SIP.sharedSockets(); n < 0 || n > 64 || (!anyPort && cfg.SIP.RTPPortMin+4*n > cfg.SIP.RTPPortMax) {
		return &lineError{nodeLine(root, "sip", "rtp_shared_sockets"), fmt.Sprintf("sip.rtp_shared_sockets %d must be 0–64 and leave room in the RTP port range", n)}
	}
	switch cfg.IVR.HoursOverride {
	case "", "open", "closed":
	default:
		return &lineError{nodeLine(root, "ivr", "hours_override"), fmt.Sprintf("ivr.hours_override %q must be open, closed or empty", cfg.IVR.HoursOverride)}
	}
	if cfg.IVR.Flows == "" {
		return &lineError{nodeLine(root, "ivr"), "ivr.flows names no flows file"}
	}
	if err := cfg.ACD.Capacity.Validate(); err != nil {
		return &lineError{nodeLine(root, "acd", "capacity"), err.Error()}
	}
	if err := cfg.ACD.Validate(); err != nil {
		return &lineError{nodeLine(root, "acd"), err.Error()}
	}
	if err := cfg.DialPlan.Validate(); err != nil {
		return &lineError{nodeLine(root, "dialplan"), err.Error()}
	}
	if key, reason := cfg.Mail.validate(); key != "" {
		return &lineError{nodeLine(root, "mail", key), reason}
	}
	if key, reason := cfg.Tracing.validate(); key != "" {
		return &lineError{nodeLine(root, "tracing", key), reason}
	}
	return nil
}

// sipKeyError is a bad sip.* value: the key and why.
type sipKeyError struct{ key, reason string }

// validateSIPSecurity checks the realm, registration bounds and the
// per-source and connection limits.
func validateSIPSecurity(s *SIPConfig) *sipKeyError {
	switch {
	case s.Realm == "" || len(s.Realm) > 128 || strings.ContainsAny(s.Realm, "\"\\\r\n\x00"):
		return &sipKeyError{"realm", fmt.Sprintf("sip.realm %q must be 1–128 characters without quotes, backslashes or line breaks", s.Realm)}
	case sip.CheckDigestAlgorithms(s.DigestAlgorithms) != nil:
		return &sipKeyError{"digest_algorithms", fmt.Sprintf("sip.digest_algorithms %q must list SHA-256 and/or MD5, each once", s.DigestAlgorithms)}
	case s.RegistrationMinExpiry.D() < time.Second || s.RegistrationMaxExpiry.D() < s.RegistrationMinExpiry.D():
		return &sipKeyError{"registration_min_expiry", fmt.Sprintf("sip.registration_min_expiry %v must be at least 1s and not above registration_max_expiry %v",
			s.RegistrationMinExpiry.D(), s.RegistrationMaxExpiry.D())}
	case s.UnauthenticatedRate <= 0 || s.UnauthenticatedBurst <= 0:
		return &sipKeyError{"unauthenticated_rate", "sip.unauthenticated_rate and unauthenticated_burst must be positive"}
	case s.TCPMaxConnections <= 0 || s.TCPMaxPerSource <= 0 || s.TCPIdleTimeout.D() <= 0:
		return &sipKeyError{"tcp_max_connections", "sip.tcp_max_connections, tcp_max_per_source and tcp_idle_timeout must be positive"}
	}
	return nil
}
