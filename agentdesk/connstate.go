package agentdesk

import (
	"errors"
	"fmt"
)

// ErrTransition is wrapped by every refused connection-state transition.
var ErrTransition = errors.New("agentdesk: transition not allowed")

// connState is the life cycle of one CTI connection, owned by its reader
// goroutine: it starts authenticating (token check or waiting for "login"),
// becomes open once bound to an identity and registered with the hub, and
// ends closed.
type connState uint8

const (
	connAuthenticating connState = iota
	connOpen
	connClosed
	numConnStates
)

var connStateNames = [numConnStates]string{"authenticating", "open", "closed"}

// String returns the state's name.
func (s connState) String() string {
	if s < numConnStates {
		return connStateNames[s]
	}
	return fmt.Sprintf("connState(%d)", uint8(s))
}

// connTable lists the allowed transitions.
var connTable = map[connState][]connState{
	connAuthenticating: {connOpen, connClosed},
	connOpen:           {connClosed},
	connClosed:         nil,
}

// To returns nil if s may change to next, or an error wrapping ErrTransition.
func (s connState) To(next connState) error {
	for _, n := range connTable[s] {
		if n == next {
			return nil
		}
	}
	return fmt.Errorf("%w: connection %s → %s", ErrTransition, s, next)
}
