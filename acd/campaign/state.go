package campaign

import (
	"errors"
	"fmt"
)

// ErrTransition is wrapped when a contact's state machine refuses a move.
var ErrTransition = errors.New("campaign: transition not allowed")

// State is where a contact is in the dialling state machine.
type State uint8

// The states. A contact starts pending; a dial moves it to dialing; the
// attempt's result sends it to retry (dialled again once due), back to
// pending (the dial did not happen: out of the window) or to done.
const (
	// StatePending: never dialled, or its dial did not happen; callable
	// when the window is open.
	StatePending State = iota
	// StateDialing: a dial was handed out (Next) and has no result yet.
	StateDialing
	// StateRetry: an attempt failed to reach the contact; the next one
	// is due later.
	StateRetry
	// StateDone: finished (connected, out of attempts, on the
	// do-not-call list, or uncallable).
	StateDone
)

var stateNames = [...]string{"pending", "dialing", "retry", "done"}

// String returns the state's name.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// transitions lists the allowed moves.
var transitions = map[State][]State{
	StatePending: {StateDialing, StateDone},
	StateDialing: {StatePending, StateRetry, StateDone},
	StateRetry:   {StateDialing, StateDone},
}

// To reports whether s may move to next: nil, or an error wrapping
// ErrTransition.
func (s State) To(next State) error {
	for _, t := range transitions[s] {
		if t == next {
			return nil
		}
	}
	return fmt.Errorf("%w: %s → %s", ErrTransition, s, next)
}

// Result is how one attempt on a contact ended.
type Result string

// The results.
const (
	// ResultConnected: a person answered and an agent took the call.
	ResultConnected Result = "connected"
	// ResultAbandoned: a person answered and no agent took the call
	// within the grace; they heard the abandon prompt.
	ResultAbandoned Result = "abandoned"
	// ResultMachine: an answering machine answered (dropped, or given the
	// machine prompt).
	ResultMachine Result = "machine"
	// ResultBusy: the line was busy.
	ResultBusy Result = "busy"
	// ResultNoAnswer: nobody answered.
	ResultNoAnswer Result = "no-answer"
	// ResultFailed: the network or the trunk refused the call.
	ResultFailed Result = "failed"
	// ResultDNC: the number is on the do-not-call list; it was not
	// dialled and never will be.
	ResultDNC Result = "dnc"
	// ResultOutOfWindow: the contact's calling window closed before the
	// dial was placed (a preview left open); it was not dialled and is
	// callable again when the window opens.
	ResultOutOfWindow Result = "out-of-window-later"
	// ResultUncallable: the number can never be dialled by this campaign:
	// it is not a valid number, the dial plan refuses it, its time zone
	// is unknown, its window never opens in all its zones, or another
	// contact has it.
	ResultUncallable Result = "uncallable"
)
