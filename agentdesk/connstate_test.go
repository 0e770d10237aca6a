package agentdesk

import (
	"errors"
	"testing"
)

func TestConnStateTransitions(t *testing.T) {
	allowed := map[[2]connState]bool{
		{connAuthenticating, connOpen}:   true,
		{connAuthenticating, connClosed}: true,
		{connOpen, connClosed}:           true,
	}
	for from := connState(0); from < numConnStates; from++ {
		for to := connState(0); to < numConnStates; to++ {
			t.Run(from.String()+"→"+to.String(), func(t *testing.T) {
				err := from.To(to)
				if want := allowed[[2]connState{from, to}]; want != (err == nil) {
					t.Fatalf("got %v, want allowed=%v", err, want)
				}
				if err != nil && !errors.Is(err, ErrTransition) {
					t.Fatalf("error %v does not wrap ErrTransition", err)
				}
			})
		}
	}
	if got := connState(9).String(); got != "connState(9)" {
		t.Errorf("String() = %q", got)
	}
}
