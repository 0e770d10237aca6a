package acd

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"
)

// TestEngineRefusesTransitions walks every edge the tables refuse through
// the engine's setters: each returns an error wrapping ErrTransition and
// leaves the state (and everything else) as it was.
func TestEngineRefusesTransitions(t *testing.T) {
	e := &Engine{log: slog.New(slog.DiscardHandler)}
	for from := range numStates {
		for to := range numStates {
			if from.To(to) == nil {
				continue
			}
			t.Run(fmt.Sprintf("agent %s→%s", from, to), func(t *testing.T) {
				a := &agent{state: from}
				err := e.setState(a, to, nil)
				if !errors.Is(err, ErrTransition) || a.state != from || !a.stateSince.IsZero() {
					t.Errorf("setState = %v, state %s; want ErrTransition, %s unchanged", err, a.state, from)
				}
			})
		}
	}
	for from := range numCallStates {
		for to := range numCallStates {
			if from.To(to) == nil {
				continue
			}
			t.Run(fmt.Sprintf("call %s→%s", from, to), func(t *testing.T) {
				c := &call{state: from}
				if err := e.setCallState(c, to); !errors.Is(err, ErrTransition) || c.state != from {
					t.Errorf("setCallState = %v, state %s; want ErrTransition, %s unchanged", err, c.state, from)
				}
			})
		}
	}
	for from := range numTaskStates {
		for to := range numTaskStates {
			if from.To(to) == nil {
				continue
			}
			t.Run(fmt.Sprintf("task %s→%s", from, to), func(t *testing.T) {
				c := &call{tstate: from}
				if err := e.setTaskState(c, nil, to); !errors.Is(err, ErrTransition) || c.tstate != from {
					t.Errorf("setTaskState = %v, state %s; want ErrTransition, %s unchanged", err, c.tstate, from)
				}
			})
		}
	}
	for from := range numPresences {
		for to := range numPresences {
			if from.To(to) == nil {
				continue
			}
			t.Run(fmt.Sprintf("presence %s→%s", from, to), func(t *testing.T) {
				a := &agent{presence: from, reason: "before"}
				err := e.setPresence(a, to, "after", "")
				if !errors.Is(err, ErrTransition) || a.presence != from || a.reason != "before" {
					t.Errorf("setPresence = %v, presence %s %q; want ErrTransition, unchanged", err, a.presence, a.reason)
				}
			})
		}
	}
}

// TestCallStateAllowed: every edge the call table allows is applied by
// the engine's setter.
func TestCallStateAllowed(t *testing.T) {
	e := &Engine{log: slog.New(slog.DiscardHandler)}
	for from, tos := range callTable {
		for _, to := range tos {
			c := &call{state: from}
			if err := e.setCallState(c, to); err != nil || c.state != to {
				t.Errorf("%s→%s: setCallState = %v, state %s", from, to, err, c.state)
			}
		}
	}
}

// TestTaskStateAllowed: every edge the task table allows is applied by
// the engine's setter.
func TestTaskStateAllowed(t *testing.T) {
	e := &Engine{log: slog.New(slog.DiscardHandler), clock: RealClock()}
	for from, tos := range taskTable {
		for _, to := range tos {
			c := &call{tstate: from}
			if err := e.setTaskState(c, nil, to); err != nil || c.tstate != to {
				t.Errorf("%s→%s: setTaskState = %v, state %s", from, to, err, c.tstate)
			}
		}
	}
}
