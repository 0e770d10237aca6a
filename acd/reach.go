package acd

import (
	"context"
	"errors"
	"fmt"
)

// Reacher is implemented by a Dialer that can tell, before anyone is rung,
// whether a route leads to a number at all (a registered phone, or a
// trunk for customer numbers). Engine.Dial asks it, so a click-to-dial
// that cannot succeed fails at once instead of ringing the agent first.
type Reacher interface {
	Reachable(ctx context.Context, number string) error
}

// ErrUnreachable is wrapped when no route leads to a number.
var ErrUnreachable = errors.New("acd: number unreachable")

// reachable asks the dialer, if it can tell, whether number can be dialled.
func (e *Engine) reachable(ctx context.Context, number string) error {
	r, ok := e.dialer.(Reacher)
	if !ok {
		return nil
	}
	if err := r.Reachable(ctx, number); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnreachable, number, err)
	}
	return nil
}
