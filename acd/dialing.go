package acd

import (
	"errors"
	"fmt"

	"switchboard/acd/dialplan"
)

// ErrNotPermitted is wrapped when the dial plan refuses a number the
// engine was asked to dial (click-to-dial, a transfer, a callback).
var ErrNotPermitted = errors.New("acd: not permitted")

// DialPlan vets the numbers the engine dials (*dialplan.Plan satisfies
// it). The telephony side checks again where it dials.
type DialPlan interface {
	Check(role dialplan.Role, number string) (dialplan.Decision, error)
}

var _ DialPlan = (*dialplan.Plan)(nil)

// WithDialPlan makes the engine refuse, before anything rings, a
// click-to-dial or transfer number the agent role may not dial and a
// callback number the callback role may not dial (Dial, Transfer and
// Enqueue return an error wrapping ErrNotPermitted; an overflow to
// callback keeps the caller waiting instead).
func WithDialPlan(p DialPlan) Option { return func(e *Engine) { e.plan = p } }

// DialRole is the dial plan role on whose behalf a leg for call is dialled:
// the callback role for a callback, otherwise the agent who asked
// (click-to-dial, a transfer to a number).
func DialRole(call CallInfo) dialplan.Role {
	if call.Direction == Callback {
		return dialplan.RoleCallback
	}
	return dialplan.RoleAgent
}

// permitDial checks number against the dial plan, if there is one.
func (e *Engine) permitDial(role dialplan.Role, number string) error {
	if e.plan == nil {
		return nil
	}
	if _, err := e.plan.Check(role, number); err != nil {
		return fmt.Errorf("%w: %w", ErrNotPermitted, err)
	}
	return nil
}
