package dialplan

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("dialplan: invalid config")

// Role is the party on whose behalf a leg is dialled.
type Role string

// The roles.
const (
	// RoleAgent: click-to-dial and transfers to a number by an agent.
	RoleAgent Role = "agent"
	// RoleSupervisor: the same, by a supervisor.
	RoleSupervisor Role = "supervisor"
	// RoleCallback: the system calling back a number a caller left.
	RoleCallback Role = "callback"
	// RoleCampaign: the system dialling a campaign's list.
	RoleCampaign Role = "campaign"
)

// roles lists every role.
var roles = []Role{RoleAgent, RoleSupervisor, RoleCallback, RoleCampaign}

// systemRole reports whether nobody is on the line to take responsibility
// for what is dialled (the number comes from a caller or a list).
func (r Role) systemRole() bool { return r == RoleCallback || r == RoleCampaign }

// Class is what kind of number a number is, as far as cost and risk go.
type Class string

// The classes.
const (
	// ClassNational: a fixed or mobile number in the home country.
	ClassNational Class = "national"
	// ClassTollFree: a toll-free number in the home country.
	ClassTollFree Class = "tollfree"
	// ClassInternational: any number outside the home country (another
	// NANP country included).
	ClassInternational Class = "international"
	// ClassPremium: premium-rate, shared-cost, personal and universal
	// access numbers (the callee's tariff is paid by the caller).
	ClassPremium Class = "premium"
	// ClassEmergency: an emergency short code of the home country.
	ClassEmergency Class = "emergency"
	// ClassInvalid: a number that parses but cannot exist.
	ClassInvalid Class = "invalid"
)

// classes lists every class.
var classes = []Class{ClassNational, ClassTollFree, ClassInternational, ClassPremium, ClassEmergency, ClassInvalid}

// defaultDenyPrefixes are premium-rate ranges denied whatever the
// configuration says: US 900 and 976, UK 090x and 091x.
var defaultDenyPrefixes = []string{"+1900", "+1976", "+4490", "+4491"}

// defaultRoles are the classes each role may dial when the configuration
// does not say.
var defaultRoles = map[Role][]Class{
	RoleAgent:      {ClassNational, ClassTollFree},
	RoleSupervisor: {ClassNational, ClassTollFree, ClassInternational},
	RoleCallback:   {ClassNational},
	RoleCampaign:   {ClassNational},
}

// Config is the dial plan's configuration (the `dialplan:` YAML section).
type Config struct {
	// HomeCountry is the ISO 3166 alpha-2 country numbers without "+" are
	// read in and national numbers belong to ("US").
	HomeCountry string `yaml:"home_country"`
	// Allow are patterns of numbers every role may dial whatever their
	// class (a denied prefix still wins; emergency numbers follow the
	// roles): "+" and digits, X for any digit, and a trailing * for any
	// rest ("+1415555XXXX", "+4420*").
	Allow []string `yaml:"allow"`
	// DenyPrefixes are E.164 prefixes nobody may dial ("+1809", "+882"),
	// added to the premium-rate prefixes always denied (+1900, +1976,
	// +4490, +4491).
	DenyPrefixes []string `yaml:"deny_prefixes"`
	// Roles gives the classes a role may dial; a role not listed keeps
	// its default (agent: national, tollfree; supervisor: national,
	// tollfree, international; callback and campaign: national).
	// Callbacks and campaigns may never dial emergency numbers.
	Roles map[Role][]Class `yaml:"roles"`
}

// Validate checks c.
func (c *Config) Validate() error {
	_, err := compile(*c)
	return err
}

// rules is a compiled configuration.
type rules struct {
	home   string
	allow  []pattern
	deny   []string
	permit map[Role]map[Class]bool
}

func compile(c Config) (*rules, error) {
	home := strings.ToUpper(strings.TrimSpace(c.HomeCountry))
	if home == "" {
		return nil, fmt.Errorf("%w: home_country is required", ErrConfig)
	}
	if phonenumbers.GetCountryCodeForRegion(home) == 0 {
		return nil, fmt.Errorf("%w: home_country %q is not a country phonenumbers knows", ErrConfig, c.HomeCountry)
	}
	r := &rules{home: home, permit: map[Role]map[Class]bool{}}
	for _, s := range c.Allow {
		p, err := parsePattern(s)
		if err != nil {
			return nil, err
		}
		r.allow = append(r.allow, p)
	}
	for _, s := range slices.Concat(defaultDenyPrefixes, c.DenyPrefixes) {
		if !isE164Prefix(s) {
			return nil, fmt.Errorf("%w: deny prefix %q must be \"+\" and digits", ErrConfig, s)
		}
		r.deny = append(r.deny, s)
	}
	for role, cs := range defaultRoles {
		r.permit[role] = classSet(cs)
	}
	named := make([]Role, 0, len(c.Roles))
	for role := range c.Roles {
		named = append(named, role)
	}
	slices.Sort(named)
	for _, role := range named {
		if !slices.Contains(roles, role) {
			return nil, fmt.Errorf("%w: unknown role %q (want one of %s)", ErrConfig, role, join(roles))
		}
		for _, cl := range c.Roles[role] {
			if !slices.Contains(classes, cl) {
				return nil, fmt.Errorf("%w: role %s: unknown class %q (want one of %s)", ErrConfig, role, cl, join(classes))
			}
			if cl == ClassEmergency && role.systemRole() {
				return nil, fmt.Errorf("%w: role %s may not dial emergency numbers", ErrConfig, role)
			}
		}
		r.permit[role] = classSet(c.Roles[role])
	}
	return r, nil
}

func classSet(cs []Class) map[Class]bool {
	m := make(map[Class]bool, len(cs))
	for _, c := range cs {
		m[c] = true
	}
	return m
}

func join[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

func isE164Prefix(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' {
		return false
	}
	return allDigits(s[1:])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// pattern is an allowed-number pattern: digits and X (any digit) after the
// "+", matching the whole number unless it ends in * (any rest).
type pattern struct {
	text   string
	body   string // without "+" and "*"
	prefix bool
}

func parsePattern(s string) (pattern, error) {
	p := pattern{text: s}
	body, ok := strings.CutPrefix(s, "+")
	if ok {
		body, p.prefix = strings.CutSuffix(body, "*")
	}
	valid := ok && body != "" && len(body) <= 15
	for i := 0; valid && i < len(body); i++ {
		valid = body[i] >= '0' && body[i] <= '9' || body[i] == 'X'
	}
	if !valid {
		return p, fmt.Errorf("%w: allow pattern %q must be \"+\", digits or X, and an optional trailing *", ErrConfig, s)
	}
	p.body = body
	return p, nil
}

// match reports whether e164 ("+" and digits) fits the pattern.
func (p pattern) match(e164 string) bool {
	digits := e164[1:]
	if len(digits) < len(p.body) || (!p.prefix && len(digits) != len(p.body)) {
		return false
	}
	for i := 0; i < len(p.body); i++ {
		if p.body[i] != 'X' && p.body[i] != digits[i] {
			return false
		}
	}
	return true
}
