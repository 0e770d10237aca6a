package campaign

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("campaign: invalid config")

// Mode is how a campaign paces its dials.
type Mode string

// The modes.
const (
	// Preview: the agent pulls the next contact (Campaign.Next), sees it
	// and clicks to dial; the campaign starts no dial by itself.
	Preview Mode = "preview"
	// Progressive: one dial per idle agent, whose agent is reserved
	// before the number is dialled; nobody answers to silence.
	Progressive Mode = "progressive"
	// Predictive: dial ahead of free agents from the measured answer
	// rate, time to answer and handle time, under the abandonment cap.
	Predictive Mode = "predictive"
)

// Treatment is what happens to a call answering-machine detection
// classified as a machine.
type Treatment string

// The treatments.
const (
	// Drop hangs the line up at once.
	Drop Treatment = "drop"
	// Message plays the machine prompt (Prompts.Machine) after the beep,
	// then hangs up.
	Message Treatment = "message"
)

// Config is a campaign's configuration (YAML). Zero fields take the
// defaults documented on each; Validate checks the result.
type Config struct {
	// ID identifies the campaign: 1..64 letters, digits, '.', '_' or
	// '-'. It prefixes every dial's id, so it should be unique (a UUID).
	ID string `yaml:"id"`
	// Name is shown on the wallboard (up to 128 bytes).
	Name string `yaml:"name"`
	// Queue is the ACD queue whose agents take the campaign's calls.
	Queue string `yaml:"queue"`
	// Mode is preview, progressive or predictive (required).
	Mode Mode `yaml:"mode"`
	// Window is when contacts may be called, in their local time.
	Window Window `yaml:"window"`
	// Abandon is the abandonment rule.
	Abandon Abandon `yaml:"abandon"`
	// Retry says when a contact is dialled again after each result.
	Retry Retries `yaml:"retry"`
	// MaxAttempts caps the dials of one contact whatever the results
	// (default 3).
	MaxAttempts int `yaml:"max_attempts"`
	// AMD is the treatment of calls answering-machine detection
	// classifies as machines: drop (default) or message.
	AMD Treatment `yaml:"amd"`
	// Prompts name the recorded messages the campaign plays.
	Prompts Prompts `yaml:"prompts"`
	// MaxLinesPerAgent caps the lines in progress (dialling, waiting for
	// an agent, or held by a machine's treatment) per ready agent of the
	// queue (default 3).
	MaxLinesPerAgent float64 `yaml:"max_lines_per_agent"`
	// InitialRatio is the predictive dial ratio (lines per agent expected
	// free) used until the answer rate is measured (default 1, which
	// dials no further ahead than progressive).
	InitialRatio float64 `yaml:"initial_ratio"`
}

// Window is the calling window in the contact's local time: from Start
// to End on the listed days. Default: 09:00 to 21:00, Monday to Saturday.
type Window struct {
	// Start and End are local times of day ("09:00", "21:00"); End is
	// after Start and may be "24:00". Both zero take the default.
	Start TimeOfDay `yaml:"start"`
	End   TimeOfDay `yaml:"end"`
	// Days are the weekdays calls are allowed ("mon", "tue", …);
	// empty: Monday to Saturday.
	Days []Day `yaml:"days"`
}

// Abandon is the abandonment rule: a call answered by a person who is
// not connected to an agent within Grace is abandoned (the person hears
// the abandon prompt and the call is released), and abandoned calls stay
// under Cap of the calls answered by a person over the rolling Window.
type Abandon struct {
	// Cap is the highest abandonment rate allowed, a fraction of the
	// calls answered by a person (default 0.03).
	Cap float64 `yaml:"cap"`
	// Target is the rate the predictive pacer steers to, below Cap so
	// that chance leaves room (default half the cap).
	Target float64 `yaml:"target"`
	// Window is the rolling period the rate is measured over: 24h
	// (default) is the UK Ofcom rule; the US TCPA rule measures 30 days
	// (720h).
	Window time.Duration `yaml:"window"`
	// Grace is how long a person who answered may wait for an agent
	// (default 2s, both rules' figure).
	Grace time.Duration `yaml:"grace"`
}

// RetryRule says when to dial a contact again after a result: After the
// attempt ended, unless the contact has had Attempts dials already.
// Attempts ≤ 1 means never again.
type RetryRule struct {
	After    time.Duration `yaml:"after"`
	Attempts int           `yaml:"attempts"`
}

// Retries are the retry rules per result. A nil rule takes its default:
// busy after 15m up to 3 attempts; no answer after 1h up to 3; machine
// after 4h up to 3 when machines are dropped, never when a message is
// left; abandoned after 72h up to 3 (Ofcom allows a repeat call within
// 72 hours only with a live agent guaranteed); failed never.
type Retries struct {
	Busy      *RetryRule `yaml:"busy"`
	NoAnswer  *RetryRule `yaml:"no_answer"`
	Machine   *RetryRule `yaml:"machine"`
	Abandoned *RetryRule `yaml:"abandoned"`
	Failed    *RetryRule `yaml:"failed"`
}

// Prompts are the names of the campaign's recorded messages (as the IVR
// names prompts).
type Prompts struct {
	// Abandon is played to a person no agent took within the grace: the
	// rules require it to name the caller and offer a way to opt out
	// (default "campaign_abandon").
	Abandon string `yaml:"abandon"`
	// Machine is left on an answering machine with treatment message
	// (default "campaign_machine").
	Machine string `yaml:"machine"`
}

// Defaults.
const (
	defaultCap          = 0.03
	defaultAbandonSpan  = 24 * time.Hour
	defaultGrace        = 2 * time.Second
	defaultMaxAttempts  = 3
	defaultMaxLines     = 3
	defaultInitialRatio = 1
	defaultStart        = 9 * 60
	defaultEnd          = 21 * 60
)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Window.Start == 0 && c.Window.End == 0 {
		c.Window.Start, c.Window.End = defaultStart, defaultEnd
	}
	if len(c.Window.Days) == 0 {
		c.Window.Days = []Day{Day(time.Monday), Day(time.Tuesday), Day(time.Wednesday), Day(time.Thursday),
			Day(time.Friday), Day(time.Saturday)}
	}
	if c.Abandon.Cap == 0 {
		c.Abandon.Cap = defaultCap
	}
	if c.Abandon.Target == 0 {
		c.Abandon.Target = c.Abandon.Cap / 2
	}
	if c.Abandon.Window == 0 {
		c.Abandon.Window = defaultAbandonSpan
	}
	if c.Abandon.Grace == 0 {
		c.Abandon.Grace = defaultGrace
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = defaultMaxAttempts
	}
	if c.AMD == "" {
		c.AMD = Drop
	}
	rule := func(r **RetryRule, def RetryRule) {
		if *r == nil {
			*r = &def
		}
	}
	rule(&c.Retry.Busy, RetryRule{After: 15 * time.Minute, Attempts: 3})
	rule(&c.Retry.NoAnswer, RetryRule{After: time.Hour, Attempts: 3})
	if c.AMD == Message {
		rule(&c.Retry.Machine, RetryRule{})
	}
	rule(&c.Retry.Machine, RetryRule{After: 4 * time.Hour, Attempts: 3})
	rule(&c.Retry.Abandoned, RetryRule{After: 72 * time.Hour, Attempts: 3})
	rule(&c.Retry.Failed, RetryRule{})
	if c.Prompts.Abandon == "" {
		c.Prompts.Abandon = "campaign_abandon"
	}
	if c.Prompts.Machine == "" {
		c.Prompts.Machine = "campaign_machine"
	}
	if c.MaxLinesPerAgent == 0 {
		c.MaxLinesPerAgent = defaultMaxLines
	}
	if c.InitialRatio == 0 {
		c.InitialRatio = defaultInitialRatio
	}
	return c
}

// Validate checks c with its defaults applied and names the offending
// field; the error wraps ErrConfig.
func (c *Config) Validate() error {
	_, err := c.effective()
	return err
}

// effective returns c with its defaults, or the first problem found.
func (c *Config) effective() (Config, error) {
	d := c.withDefaults()
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, a...))
	}
	if !validID(d.ID) {
		return d, bad("id", "%q must be 1..64 letters, digits, '.', '_' or '-'", d.ID)
	}
	if len(d.Name) > 128 || strings.ContainsAny(d.Name, "\r\n") {
		return d, bad("name", "must be one line of at most 128 bytes")
	}
	if d.Queue == "" || len(d.Queue) > 128 {
		return d, bad("queue", "is required (at most 128 bytes)")
	}
	switch d.Mode {
	case Preview, Progressive, Predictive:
	default:
		return d, bad("mode", "%q is not preview, progressive or predictive", d.Mode)
	}
	w := d.Window
	if w.Start < 0 || w.Start >= 24*60 || w.End <= w.Start || w.End > 24*60 {
		return d, bad("window", "start %s and end %s: want 00:00 ≤ start < end ≤ 24:00", w.Start, w.End)
	}
	for _, day := range w.Days {
		if day < 0 || day > 6 {
			return d, bad("window.days", "bad day %d", day)
		}
	}
	a := d.Abandon
	if !(a.Cap > 0 && a.Cap <= 0.5) {
		return d, bad("abandon.cap", "%v must be in (0, 0.5]", a.Cap)
	}
	if !(a.Target > 0 && a.Target < a.Cap) {
		return d, bad("abandon.target", "%v must be in (0, cap %v)", a.Target, a.Cap)
	}
	if a.Window < time.Hour || a.Window > 31*24*time.Hour {
		return d, bad("abandon.window", "%v must be in [1h, 744h]", a.Window)
	}
	if a.Grace <= 0 || a.Grace > 10*time.Second {
		return d, bad("abandon.grace", "%v must be in (0, 10s]", a.Grace)
	}
	if d.MaxAttempts < 1 || d.MaxAttempts > 20 {
		return d, bad("max_attempts", "%d must be in [1, 20]", d.MaxAttempts)
	}
	for _, r := range []struct {
		name string
		rule *RetryRule
	}{{"busy", d.Retry.Busy}, {"no_answer", d.Retry.NoAnswer}, {"machine", d.Retry.Machine},
		{"abandoned", d.Retry.Abandoned}, {"failed", d.Retry.Failed}} {
		if r.rule.Attempts < 0 || r.rule.Attempts > 20 {
			return d, bad("retry."+r.name+".attempts", "%d must be in [0, 20]", r.rule.Attempts)
		}
		if r.rule.Attempts > 1 && (r.rule.After < time.Minute || r.rule.After > 31*24*time.Hour) {
			return d, bad("retry."+r.name+".after", "%v must be in [1m, 744h]", r.rule.After)
		}
	}
	switch d.AMD {
	case Drop, Message:
	default:
		return d, bad("amd", "%q is not drop or message", d.AMD)
	}
	if !validPrompt(d.Prompts.Abandon) {
		return d, bad("prompts.abandon", "%q is not a prompt name", d.Prompts.Abandon)
	}
	if !validPrompt(d.Prompts.Machine) {
		return d, bad("prompts.machine", "%q is not a prompt name", d.Prompts.Machine)
	}
	if !(d.MaxLinesPerAgent >= 1 && d.MaxLinesPerAgent <= 10) {
		return d, bad("max_lines_per_agent", "%v must be in [1, 10]", d.MaxLinesPerAgent)
	}
	if !(d.InitialRatio >= 1 && d.InitialRatio <= d.MaxLinesPerAgent) {
		return d, bad("initial_ratio", "%v must be in [1, max_lines_per_agent]", d.InitialRatio)
	}
	return d, nil
}

// rule returns the retry rule of result r, nil for a result that is not
// retried (connected, dnc, uncallable).
func (r Retries) rule(res Result) *RetryRule {
	switch res {
	case ResultBusy:
		return r.Busy
	case ResultNoAnswer:
		return r.NoAnswer
	case ResultMachine:
		return r.Machine
	case ResultAbandoned:
		return r.Abandoned
	case ResultFailed:
		return r.Failed
	}
	return nil
}

func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validPrompt accepts what the IVR accepts as a prompt name: a relative
// path of letters, digits, '_', '-' and '/' with no empty or dot segment.
func validPrompt(s string) bool {
	if s == "" || len(s) > 128 || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '/') {
			return false
		}
	}
	return true
}

// TimeOfDay is a local time of day in minutes after midnight; it reads
// and writes as "HH:MM" (00:00 to 24:00).
type TimeOfDay int

// String returns t as "HH:MM".
func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", int(t)/60, int(t)%60) }

// MarshalText implements encoding.TextMarshaler.
func (t TimeOfDay) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *TimeOfDay) UnmarshalText(b []byte) error {
	h, m, ok := strings.Cut(string(b), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 ||
		(hh == 24 && mm != 0) {
		return fmt.Errorf("%w: time of day %q: want HH:MM", ErrConfig, b)
	}
	*t = TimeOfDay(hh*60 + mm)
	return nil
}

// Day is a weekday; it reads and writes as "mon", "tue", … (full English
// names are read too).
type Day time.Weekday

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// String returns the day's short name.
func (d Day) String() string {
	if d < 0 || int(d) >= len(dayNames) {
		return fmt.Sprintf("Day(%d)", int(d))
	}
	return dayNames[d]
}

// MarshalText implements encoding.TextMarshaler.
func (d Day) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Day) UnmarshalText(b []byte) error {
	s := strings.ToLower(string(b))
	for i := time.Sunday; i <= time.Saturday; i++ {
		if s == dayNames[i] || s == strings.ToLower(i.String()) {
			*d = Day(i)
			return nil
		}
	}
	return fmt.Errorf("%w: day %q: want mon, tue, wed, thu, fri, sat or sun", ErrConfig, b)
}

// allows reports whether calls are allowed on weekday w.
func (w Window) allows(wd time.Weekday) bool { return slices.Contains(w.Days, Day(wd)) }
