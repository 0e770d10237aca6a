package voice

import (
	"switchboard/acd"
	"switchboard/acd/dialplan"
	"switchboard/ivr"
)

// callbackPolicy is the dial plan as the IVR asks it about a callback
// number.
type callbackPolicy struct{ plan acd.DialPlan }

// CheckCallback implements ivr.CallbackPolicy.
func (p callbackPolicy) CheckCallback(number string) (string, error) {
	d, err := p.plan.Check(dialplan.RoleCallback, number)
	return d.Number, err
}

// callbacks returns the IVR's callback policy: the journey's dial plan, or
// nil without one.
func (x *Journey) callbacks() ivr.CallbackPolicy {
	if x.opts.DialPlan == nil {
		return nil
	}
	return callbackPolicy{x.opts.DialPlan}
}
