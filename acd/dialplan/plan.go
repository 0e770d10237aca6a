package dialplan

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// Sentinel errors of Check: every refusal wraps one of them.
var (
	ErrInvalidNumber = errors.New("dialplan: not a phone number")
	ErrDenied        = errors.New("dialplan: number denied")
	ErrUnknownRole   = errors.New("dialplan: unknown role")
)

// maxNumber caps the length of the text Check looks at.
const maxNumber = 32

// Decision is what Check found about a number.
type Decision struct {
	// Number is the number to dial: E.164 ("+19005551234"), or the short
	// code of an emergency number ("911"); "" when it could not be read.
	Number string
	// Class is the number's class ("" when it could not be read).
	Class Class
	// Rule says which rule decided ("class national", "allow +1415*",
	// "deny +1900").
	Rule string
}

// Plan is a dial plan. The zero value is not usable; create one with New.
type Plan struct {
	rules atomic.Pointer[rules]
}

// New returns the plan of cfg, or an error wrapping ErrConfig.
func New(cfg Config) (*Plan, error) {
	r, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	p.rules.Store(r)
	return p, nil
}

// Update replaces the plan's rules with cfg's when cfg is valid; otherwise
// the rules stay and the error wraps ErrConfig. Checks running meanwhile
// use either the old rules or the new ones.
func (p *Plan) Update(cfg Config) error {
	r, err := compile(cfg)
	if err != nil {
		return err
	}
	p.rules.Store(r)
	return nil
}

// Check decides whether number may be dialled on behalf of role. The number
// is E.164, or national in the home country; spaces, dashes, dots,
// parentheses and a "tel:" prefix are ignored. It returns the decision and
// nil when the number may be dialled, or the decision so far and an error
// wrapping ErrInvalidNumber, ErrDenied or ErrUnknownRole.
func (p *Plan) Check(role Role, number string) (Decision, error) {
	r := p.rules.Load()
	perm, ok := r.permit[role]
	if !ok {
		return Decision{}, fmt.Errorf("%w %q", ErrUnknownRole, role)
	}
	raw, ok := clean(number)
	if !ok {
		return Decision{}, ErrInvalidNumber
	}
	d, ok := r.classify(raw)
	if !ok {
		return d, fmt.Errorf("%w: %s", ErrInvalidNumber, raw)
	}
	if d.Class != ClassEmergency {
		for _, pre := range r.deny {
			if strings.HasPrefix(d.Number, pre) {
				d.Rule = "deny " + pre
				return d, fmt.Errorf("%w: %s is in the denied range %s", ErrDenied, d.Number, pre)
			}
		}
		for _, pat := range r.allow {
			if pat.match(d.Number) {
				d.Rule = "allow " + pat.text
				return d, nil
			}
		}
	}
	d.Rule = "class " + string(d.Class)
	if !perm[d.Class] {
		return d, fmt.Errorf("%w: %s is %s, which role %s may not dial", ErrDenied, d.Number, d.Class, role)
	}
	return d, nil
}

// clean strips a tel: prefix and visual separators and returns "+" and
// digits, or digits; ok is false for anything else.
func clean(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > maxNumber {
		return "", false
	}
	s = strings.TrimPrefix(s, "tel:")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '+' && b.Len() == 0:
			b.WriteByte(c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	out := b.String()
	return out, strings.TrimPrefix(out, "+") != ""
}

// classify normalises raw ("+" and digits, or digits) and classes it; ok
// is false when it is no phone number at all.
func (r *rules) classify(raw string) (Decision, bool) {
	if !strings.HasPrefix(raw, "+") && phonenumbers.IsEmergencyNumber(raw, r.home) {
		return Decision{Number: raw, Class: ClassEmergency}, true
	}
	num, err := phonenumbers.Parse(raw, r.home)
	if err != nil {
		return Decision{}, false
	}
	d := Decision{Number: phonenumbers.Format(num, phonenumbers.E164)}
	if !isE164Prefix(d.Number) {
		return Decision{}, false
	}
	if !phonenumbers.IsValidNumber(num) {
		d.Class = ClassInvalid
		return d, true
	}
	switch t := phonenumbers.GetNumberType(num); {
	case t == phonenumbers.PREMIUM_RATE || t == phonenumbers.SHARED_COST || t == phonenumbers.PERSONAL_NUMBER || t == phonenumbers.UAN:
		d.Class = ClassPremium
	case phonenumbers.GetRegionCodeForNumber(num) != r.home:
		d.Class = ClassInternational
	case t == phonenumbers.TOLL_FREE:
		d.Class = ClassTollFree
	default:
		d.Class = ClassNational
	}
	return d, true
}
