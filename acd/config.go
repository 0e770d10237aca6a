package acd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"switchboard/acd/routing"
	"switchboard/acd/stats"

	"go.yaml.in/yaml/v3"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("acd: invalid config")

// Duration is a time.Duration that decodes from YAML as "30s", "2m" or a
// bare number of seconds.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("acd: line %d: duration must be a scalar", n.Line)
	}
	s := strings.TrimSpace(n.Value)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		*d = Duration(f * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("acd: line %d: bad duration %q", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Config is the ACD configuration (YAML, reloadable with Engine.Reload).
type Config struct {
	// Queues are the call queues.
	Queues []QueueConfig `yaml:"queues"`
	// RingTimeout is the default time an offer rings an agent (20s).
	RingTimeout Duration `yaml:"ring_timeout"`
	// MissedOffers is how many consecutive missed offers put an agent in
	// not-ready "missed" (0 means the default, 2; -1 disables).
	MissedOffers int `yaml:"missed_offers"`
	// StickyWindow is how long a caller waits for their busy preferred
	// agent before any agent may take the call (0 disables).
	StickyWindow Duration `yaml:"sticky_window"`
	// WrapUp is the default wrap-up time.
	WrapUp Duration `yaml:"wrap_up"`
	// Ordering of callers across queues: "priority" (priority, then time
	// waiting; the default) or "oldest-first" (time waiting only).
	Ordering string `yaml:"ordering"`
	// Aging adds one priority point per period waited (0 disables).
	Aging Duration `yaml:"aging"`
	// Segments maps a CRM segment ("vip") to a priority bonus.
	Segments map[string]int `yaml:"segments"`
	// DefaultRegion is the ISO country used to parse ANIs without "+".
	DefaultRegion string `yaml:"default_region"`
	// StatsInterval is the period of QueueStatsTick events (0 means the
	// default, 5s; a negative value disables ticks).
	StatsInterval Duration `yaml:"stats_interval"`
	// ReportInterval is the length of the "current interval" of the
	// statistics (30m).
	ReportInterval Duration `yaml:"report_interval"`
	// Capacity is each channel's default capacity per agent, which
	// channels are blocking, and an optional cap across channels.
	Capacity CapacityConfig `yaml:"capacity"`
	// Assignment routes the work items of rule-routed channels (tickets,
	// leads) to queues; the first matching rule wins.
	Assignment []AssignmentRule `yaml:"assignment"`
}

// QueueConfig is one queue.
type QueueConfig struct {
	Name string `yaml:"name"`
	// Skills are required with minimum levels (Level is the minimum).
	Skills []SkillLevel `yaml:"skills"`
	// Strategy is a routing.Strategy name ("longest-idle" default).
	Strategy string `yaml:"strategy"`
	// Weights override the strategy's weights per factor name.
	Weights map[string]float64 `yaml:"weights"`
	// Priority is added to every call's priority in this queue.
	Priority int `yaml:"priority"`
	// ServiceLevel is the queue's target.
	ServiceLevel SLConfig `yaml:"service_level"`
	// MaxWait and MaxLength trigger Overflow (0 = unlimited).
	MaxWait   Duration `yaml:"max_wait"`
	MaxLength int      `yaml:"max_length"`
	Overflow  Overflow `yaml:"overflow"`
	// NoAgents is "join" (default) or "overflow" when no logged-in agent
	// can serve the call.
	NoAgents string `yaml:"no_agents"`
	// WrapUp and RingTimeout override the global values when set.
	WrapUp      *Duration `yaml:"wrap_up"`
	RingTimeout *Duration `yaml:"ring_timeout"`
	// Announce is the period of position/EWT announcements (0 = none).
	Announce Duration `yaml:"announce"`
	// MusicOnHold is the prompt played while waiting.
	MusicOnHold string `yaml:"music_on_hold"`
	// Geography is the initial hard filter: "any" (default), "country", "region".
	Geography string `yaml:"geography"`
	// LanguageRequired makes the caller's language a hard requirement.
	LanguageRequired bool `yaml:"language_required"`
	// Relax are relaxation steps, applied in order of After.
	Relax []RelaxStep `yaml:"relax"`
}

// SLConfig is a service-level target: Target percent within Threshold.
type SLConfig struct {
	Threshold Duration `yaml:"threshold"`
	Target    float64  `yaml:"target"`
	// Formula is a stats.Formula name ("offered" default).
	Formula string `yaml:"formula"`
	// ShortAbandon: callers hanging up sooner are not counted.
	ShortAbandon Duration `yaml:"short_abandon"`
}

// Overflow is what happens to calls over MaxWait/MaxLength or with no agents.
type Overflow struct {
	// Action is "none", "queue", "voicemail" or "callback".
	Action string `yaml:"action"`
	// Queue is the target of Action "queue".
	Queue string `yaml:"queue"`
}

// RelaxStep relaxes a waiting call's requirements after After; the caller
// keeps their place.
type RelaxStep struct {
	After Duration `yaml:"after"`
	// Lower lowers every required skill's minimum level by this much (floor 1).
	Lower int `yaml:"lower"`
	// Drop removes these skills from the requirements.
	Drop []string `yaml:"drop"`
	// Geography widens the hard filter ("any", "country").
	Geography string `yaml:"geography"`
	// AddQueue makes that queue's agents eligible as well.
	AddQueue string `yaml:"add_queue"`
}

// ParseConfig decodes YAML (unknown fields are errors) and validates it.
func ParseConfig(b []byte) (*Config, error) {
	return LoadConfig(bytes.NewReader(b))
}

// LoadConfig decodes YAML from r and validates it.
func LoadConfig(r io.Reader) (*Config, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func cfgErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
}

func checkGeo(field, s string) error {
	switch s {
	case "", "any", "country", "region":
		return nil
	}
	return cfgErr(field, "unknown geography %q", s)
}

// Validate checks the configuration and names the offending field.
func (c *Config) Validate() error {
	if c.RingTimeout < 0 {
		return cfgErr("ring_timeout", "negative")
	}
	if c.MissedOffers < -1 {
		return cfgErr("missed_offers", "must be -1 (off) or more")
	}
	if c.StickyWindow < 0 || c.WrapUp < 0 || c.Aging < 0 || c.ReportInterval < 0 {
		return cfgErr("sticky_window/wrap_up/aging/report_interval", "negative duration")
	}
	if err := c.Capacity.Validate(); err != nil {
		return err
	}
	if err := c.validateAssignment(); err != nil {
		return err
	}
	switch c.Ordering {
	case "", "priority", "oldest-first":
	default:
		return cfgErr("ordering", "unknown ordering %q", c.Ordering)
	}
	names := map[string]int{}
	for i, q := range c.Queues {
		f := fmt.Sprintf("queues[%d]", i)
		if q.Name == "" {
			return cfgErr(f+".name", "empty")
		}
		if _, dup := names[q.Name]; dup {
			return cfgErr(f+".name", "duplicate queue %q", q.Name)
		}
		names[q.Name] = i
	}
	for i, q := range c.Queues {
		f := fmt.Sprintf("queues[%d]", i)
		for j, s := range q.Skills {
			if s.Skill == "" {
				return cfgErr(fmt.Sprintf("%s.skills[%d].skill", f, j), "empty")
			}
			if s.Level < 1 || s.Level > routing.MaxLevel {
				return cfgErr(fmt.Sprintf("%s.skills[%d].level", f, j), "%d not in 1..%d", s.Level, routing.MaxLevel)
			}
		}
		if q.Strategy != "" {
			if _, err := routing.ParseStrategy(q.Strategy); err != nil {
				return cfgErr(f+".strategy", "%v", err)
			}
		}
		for k, v := range q.Weights {
			if _, err := routing.ParseFactor(k); err != nil {
				return cfgErr(f+".weights", "%v", err)
			}
			if v < 0 {
				return cfgErr(f+".weights."+k, "negative")
			}
		}
		sl := q.ServiceLevel
		if sl.Threshold < 0 {
			return cfgErr(f+".service_level.threshold", "negative")
		}
		if sl.Target < 0 || sl.Target > 100 {
			return cfgErr(f+".service_level.target", "%v not in 0..100", sl.Target)
		}
		if _, err := stats.ParseFormula(sl.Formula); err != nil {
			return cfgErr(f+".service_level.formula", "%v", err)
		}
		if sl.ShortAbandon < 0 {
			return cfgErr(f+".service_level.short_abandon", "negative")
		}
		if q.MaxWait < 0 {
			return cfgErr(f+".max_wait", "negative")
		}
		if q.MaxLength < 0 {
			return cfgErr(f+".max_length", "negative")
		}
		switch q.Overflow.Action {
		case "", "none", "voicemail", "callback":
			if q.Overflow.Queue != "" {
				return cfgErr(f+".overflow.queue", "set but action is %q", q.Overflow.Action)
			}
		case "queue":
			if _, ok := names[q.Overflow.Queue]; !ok {
				return cfgErr(f+".overflow.queue", "unknown queue %q", q.Overflow.Queue)
			}
			if q.Overflow.Queue == q.Name {
				return cfgErr(f+".overflow.queue", "overflows to itself")
			}
		default:
			return cfgErr(f+".overflow.action", "unknown action %q", q.Overflow.Action)
		}
		switch q.NoAgents {
		case "", "join", "overflow":
		default:
			return cfgErr(f+".no_agents", "unknown value %q", q.NoAgents)
		}
		if q.WrapUp != nil && *q.WrapUp < 0 {
			return cfgErr(f+".wrap_up", "negative")
		}
		if q.RingTimeout != nil && *q.RingTimeout <= 0 {
			return cfgErr(f+".ring_timeout", "must be positive")
		}
		if q.Announce < 0 {
			return cfgErr(f+".announce", "negative")
		}
		if err := checkGeo(f+".geography", q.Geography); err != nil {
			return err
		}
		for j, r := range q.Relax {
			rf := fmt.Sprintf("%s.relax[%d]", f, j)
			if r.After <= 0 {
				return cfgErr(rf+".after", "must be positive")
			}
			if j > 0 && r.After < q.Relax[j-1].After {
				return cfgErr(rf+".after", "steps must be in increasing order")
			}
			if r.Lower < 0 || r.Lower >= routing.MaxLevel {
				return cfgErr(rf+".lower", "%d not in 0..%d", r.Lower, routing.MaxLevel-1)
			}
			if err := checkGeo(rf+".geography", r.Geography); err != nil {
				return err
			}
			if r.AddQueue != "" {
				if _, ok := names[r.AddQueue]; !ok {
					return cfgErr(rf+".add_queue", "unknown queue %q", r.AddQueue)
				}
			}
			for k, d := range r.Drop {
				if d == "" {
					return cfgErr(fmt.Sprintf("%s.drop[%d]", rf, k), "empty")
				}
			}
		}
	}
	return nil
}
