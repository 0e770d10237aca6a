package voice

import (
	"switchboard/acd"
	"switchboard/acd/dialplan"
	"switchboard/ivr"
)

// CallbackPolicy is the dial plan as it vets a number to call back: the
// IVR asks it about the number a caller enters, the CRM about a callback
// scheduled over the API.
type CallbackPolicy struct{ Plan acd.DialPlan }

// CheckCallback implements ivr.CallbackPolicy: the number to dial, or why
// the callback role may not dial it.
func (p CallbackPolicy) CheckCallback(number string) (string, error) {
	d, err := p.Plan.Check(dialplan.RoleCallback, number)
	return d.Number, err
}

// callbacks returns the IVR's callback policy: the journey's dial plan, or
// nil without one.
func (x *Journey) callbacks() ivr.CallbackPolicy {
	if x.opts.DialPlan == nil {
		return nil
	}
	return CallbackPolicy{x.opts.DialPlan}
}
