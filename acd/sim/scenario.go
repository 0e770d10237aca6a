package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"go.yaml.in/yaml/v3"

	"switchboard/acd"
)

// ErrScenario is wrapped by scenario errors.
var ErrScenario = errors.New("sim: invalid scenario")

// Scenario is a simulation input (YAML).
type Scenario struct {
	Name string `yaml:"name"`
	// Duration is the simulated time; Warmup is excluded from the results.
	Duration acd.Duration `yaml:"duration"`
	Warmup   acd.Duration `yaml:"warmup"`
	Seed     uint64       `yaml:"seed"`
	// Start is when the simulated time starts (RFC 3339; default Monday
	// 5 January 2026, 00:00 UTC): campaigns call in their contacts'
	// local hours.
	Start time.Time `yaml:"start"`
	// ACD is the engine configuration, capacity rules (acd.capacity)
	// included.
	ACD acd.Config `yaml:"acd"`
	// Rules are named alternatives to acd.capacity, one of which replaces
	// it for a run (Options.Rules), so that runs can compare them.
	Rules    []RuleSet `yaml:"rules"`
	Arrivals []Arrival `yaml:"arrivals"`
	// Campaigns are outbound campaigns dialled during the run.
	Campaigns []Campaign `yaml:"campaigns"`
	Agents    []Pool     `yaml:"agents"`
}

// start returns when the simulated time starts.
func (s *Scenario) start() time.Time {
	if s.Start.IsZero() {
		return time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	}
	return s.Start.UTC()
}

// RuleSet is a named set of capacity rules (per-channel capacity,
// blocking channels, a total cap) that replaces the scenario's
// acd.capacity for a run.
type RuleSet struct {
	Name     string             `yaml:"name"`
	Capacity acd.CapacityConfig `yaml:"capacity"`
}

// Arrival is a Poisson stream of calls or tasks into a queue.
type Arrival struct {
	Queue string `yaml:"queue"`
	// Channel is the stream's channel: voice (the default) enters as a
	// call (Engine.Enqueue); any other channel (chat, email, …) enters as
	// a task (Engine.Submit). Callback is not a stream's channel.
	Channel acd.Channel `yaml:"channel"`
	// Rate is arrivals per hour (0 only with a Backlog).
	Rate float64 `yaml:"rate"`
	// Backlog is how many tasks wait at the start (an email backlog).
	// They count in the results even with a warm-up.
	Backlog int `yaml:"backlog"`
	// Handle is the handle time distribution: talk time of a call, the
	// time a chat stays open or an email is worked on.
	Handle Dist `yaml:"handle"`
	// Patience is how long customers wait before leaving (mean 0: forever).
	Patience Dist `yaml:"patience"`
	// Target is a response-time target: a task meets the service level
	// when it is handled (accepted and completed) within Target of its
	// arrival. Zero: when it is answered within the queue's
	// service-level threshold.
	Target acd.Duration `yaml:"target"`
	// VIP is the fraction of callers in segment "vip".
	VIP float64 `yaml:"vip"`
	// Priority is added to every call.
	Priority int `yaml:"priority"`
	// Language and ANI are copied to the call request.
	Language string `yaml:"language"`
	ANI      string `yaml:"ani"`
}

// Dist is a positive random duration.
type Dist struct {
	Mean acd.Duration `yaml:"mean"`
	// Dist is "exponential" (default) or "lognormal" (with CV, the
	// coefficient of variation) or "fixed".
	Dist string  `yaml:"dist"`
	CV   float64 `yaml:"cv"`
}

// Pool is a group of identical agents.
type Pool struct {
	Name      string           `yaml:"name"`
	Count     int              `yaml:"count"`
	Skills    []acd.SkillLevel `yaml:"skills"`
	Languages []string         `yaml:"languages"`
	Country   string           `yaml:"country"`
	TimeZone  string           `yaml:"time_zone"`
	// Capacity overrides the capacity rules per channel for these
	// agents (acd.AgentSpec.Capacity), e.g. {chat: 2}.
	Capacity map[acd.Channel]int `yaml:"capacity"`
}

// channel is the stream's channel, voice by default.
func (a Arrival) channel() acd.Channel {
	if a.Channel == "" {
		return acd.ChannelVoice
	}
	return a.Channel
}

// maxCount bounds a pool's agents, a backlog and the agents in all.
const maxCount = 100000

// maxScenario caps the scenario file size.
const maxScenario = 1 << 20

// ParseScenario decodes and validates a scenario.
func ParseScenario(r io.Reader) (*Scenario, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxScenario+1))
	if err != nil {
		return nil, fmt.Errorf("sim: read scenario: %w", err)
	}
	if len(b) > maxScenario {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrScenario, maxScenario)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrScenario, err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate checks the scenario and names the offending field.
func (s *Scenario) Validate() error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrScenario, field, fmt.Sprintf(format, a...))
	}
	if s.Duration <= 0 || s.Duration.D() > 10000*time.Hour {
		return bad("duration", "must be in (0, 10000h]")
	}
	if s.Warmup < 0 || s.Warmup >= s.Duration {
		return bad("warmup", "must be in [0, duration)")
	}
	if err := s.ACD.Validate(); err != nil {
		return fmt.Errorf("%w: acd: %w", ErrScenario, err)
	}
	rules := map[string]bool{}
	for i, r := range s.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		if r.Name == "" || len(r.Name) > 64 || r.Name == "all" || rules[r.Name] {
			return bad(f+".name", "must be 1..64 bytes, unique and not \"all\"")
		}
		rules[r.Name] = true
		if err := r.Capacity.Validate(); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrScenario, f, err)
		}
	}
	queues := map[string]bool{}
	for _, q := range s.ACD.Queues {
		queues[q.Name] = true
	}
	if len(s.Arrivals) == 0 && len(s.Campaigns) == 0 {
		return bad("arrivals", "empty, and no campaigns")
	}
	if !s.Start.IsZero() && (s.Start.Year() < 1970 || s.Start.Year() > 9999) {
		return bad("start", "must be between the years 1970 and 9999")
	}
	ids := map[string]bool{}
	for i := range s.Campaigns {
		c := &s.Campaigns[i]
		f := fmt.Sprintf("campaigns[%d]", i)
		if err := c.validate(f, queues); err != nil {
			return err
		}
		if ids[c.Campaign.ID] {
			return bad(f+".campaign.id", "%q twice", c.Campaign.ID)
		}
		ids[c.Campaign.ID] = true
	}
	backlog := 0
	for i, a := range s.Arrivals {
		f := fmt.Sprintf("arrivals[%d]", i)
		if !queues[a.Queue] {
			return bad(f+".queue", "unknown queue %q", a.Queue)
		}
		if ch := a.channel(); !acd.ValidChannel(ch) || ch == acd.ChannelCallback {
			return bad(f+".channel", "bad channel %q", ch)
		}
		if a.Backlog < 0 || a.Backlog > maxCount || backlog+a.Backlog > maxCount {
			return bad(f+".backlog", "must be in [0, %d], in all streams together", maxCount)
		}
		backlog += a.Backlog
		if !(a.Rate >= 0) || a.Rate > 1e6 || (a.Rate == 0 && a.Backlog == 0) {
			return bad(f+".rate", "must be in (0, 1e6] per hour, or 0 with a backlog")
		}
		if a.Target < 0 || a.Target.D() > 10000*time.Hour {
			return bad(f+".target", "must be in [0, 10000h]")
		}
		if err := a.Handle.check(f+".handle", false); err != nil {
			return err
		}
		if err := a.Patience.check(f+".patience", true); err != nil {
			return err
		}
		if a.VIP < 0 || a.VIP > 1 {
			return bad(f+".vip", "must be in [0, 1]")
		}
	}
	n := 0
	for i, p := range s.Agents {
		f := fmt.Sprintf("agents[%d]", i)
		if p.Count < 0 || p.Count > maxCount {
			return bad(f+".count", "must be in [0, %d]", maxCount)
		}
		if err := acd.ValidateCapacity(p.Capacity); err != nil {
			return fmt.Errorf("%w: %s.capacity: %w", ErrScenario, f, err)
		}
		for j, sk := range p.Skills {
			if sk.Skill == "" || sk.Level < 1 || sk.Level > 5 {
				return bad(fmt.Sprintf("%s.skills[%d]", f, j), "skill and level 1..5 required")
			}
		}
		n += p.Count
	}
	if n == 0 || n > maxCount {
		return bad("agents", "need between 1 and %d agents", maxCount)
	}
	return nil
}

func (d Dist) check(field string, zeroOK bool) error {
	if d.Mean < 0 || (d.Mean == 0 && !zeroOK) {
		return fmt.Errorf("%w: %s.mean: must be positive", ErrScenario, field)
	}
	switch d.Dist {
	case "", "exponential", "fixed":
	case "lognormal":
		if !(d.CV > 0) || d.CV > 10 {
			return fmt.Errorf("%w: %s.cv: must be in (0, 10]", ErrScenario, field)
		}
	default:
		return fmt.Errorf("%w: %s.dist: unknown %q", ErrScenario, field, d.Dist)
	}
	return nil
}

type rng interface {
	ExpFloat64() float64
	NormFloat64() float64
}

// draw returns a random duration; a zero mean means "never" (-1).
func (d Dist) draw(r rng) time.Duration {
	m := d.Mean.D().Seconds()
	if m <= 0 {
		return -1
	}
	var s float64
	switch d.Dist {
	case "fixed":
		s = m
	case "lognormal":
		sig2 := math.Log(1 + d.CV*d.CV)
		mu := math.Log(m) - sig2/2
		s = math.Exp(mu + math.Sqrt(sig2)*r.NormFloat64())
	default:
		s = m * r.ExpFloat64()
	}
	return time.Duration(s * float64(time.Second))
}
