package campaign

import (
	"errors"
	"fmt"
	"testing"
)

// TestStateTransitions asks every pair of states and compares with the
// table: the allowed edges pass, every other one is refused.
func TestStateTransitions(t *testing.T) {
	allowed := map[[2]State]bool{
		{StatePending, StateDialing}: true,
		{StatePending, StateDone}:    true,
		{StateDialing, StatePending}: true,
		{StateDialing, StateRetry}:   true,
		{StateDialing, StateDone}:    true,
		{StateRetry, StateDialing}:   true,
		{StateRetry, StateDone}:      true,
	}
	all := []State{StatePending, StateDialing, StateRetry, StateDone}
	for _, from := range all {
		for _, to := range all {
			t.Run(fmt.Sprintf("%s→%s", from, to), func(t *testing.T) {
				err := from.To(to)
				if allowed[[2]State{from, to}] {
					if err != nil {
						t.Errorf("refused: %v", err)
					}
				} else if !errors.Is(err, ErrTransition) {
					t.Errorf("got %v, want ErrTransition", err)
				}
			})
		}
	}
	if got := State(9).String(); got != "State(9)" {
		t.Errorf("String = %q", got)
	}
}
