package acd

import (
	"context"
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
// click-to-dial or transfer number the agent's role (agent, or supervisor
// for AgentSpec.Supervisor) may not dial and a
// callback number the callback role may not dial (Dial, Transfer and
// Enqueue return an error wrapping ErrNotPermitted; an overflow to
// callback keeps the caller waiting instead).
func WithDialPlan(p DialPlan) Option { return func(e *Engine) { e.plan = p } }

// DialRole is the dial plan role on whose behalf a leg for call is
// dialled: the role of the agent who asked (click-to-dial, a transfer to
// a number; CallInfo.Role), else the callback role for a callback, else
// the agent role.
func DialRole(call CallInfo) dialplan.Role {
	switch {
	case call.Role != "":
		return call.Role
	case call.Direction == Callback:
		return dialplan.RoleCallback
	}
	return dialplan.RoleAgent
}

// role is the dial plan role a dials for: supervisor or agent.
func (a *agent) role() dialplan.Role {
	if a.spec.Supervisor {
		return dialplan.RoleSupervisor
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

// permitAgentDial checks number against the dial plan, if there is one,
// for the role of agent id. It asks the actor for the role, so that Dial
// refuses a number before it asks the dialer (I/O) whether it is
// reachable.
func (e *Engine) permitAgentDial(ctx context.Context, id AgentID, number string) error {
	if e.plan == nil {
		return nil
	}
	var role dialplan.Role
	err := e.do(ctx, func() error {
		a, err := e.agent(id)
		if err != nil {
			return err
		}
		role = a.role()
		return nil
	})
	if err != nil {
		return err
	}
	return e.permitDial(role, number)
}
