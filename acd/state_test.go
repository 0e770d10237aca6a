package acd_test

import (
	"errors"
	"fmt"
	"testing"

	"switchboard/acd"
)

func TestPresenceTransitions(t *testing.T) {
	all := []acd.Presence{acd.PresenceOffline, acd.PresenceReady, acd.PresenceNotReady}
	allowed := map[[2]acd.Presence]bool{
		{acd.PresenceOffline, acd.PresenceReady}:     true,
		{acd.PresenceOffline, acd.PresenceNotReady}:  true,
		{acd.PresenceReady, acd.PresenceNotReady}:    true,
		{acd.PresenceReady, acd.PresenceOffline}:     true,
		{acd.PresenceNotReady, acd.PresenceReady}:    true,
		{acd.PresenceNotReady, acd.PresenceNotReady}: true,
		{acd.PresenceNotReady, acd.PresenceOffline}:  true,
	}
	for _, from := range all {
		for _, to := range all {
			t.Run(fmt.Sprintf("%s→%s", from, to), func(t *testing.T) {
				err := from.To(to)
				if want := allowed[[2]acd.Presence{from, to}]; (err == nil) != want {
					t.Errorf("To = %v, want allowed=%v", err, want)
				}
				if err != nil && !errors.Is(err, acd.ErrTransition) {
					t.Errorf("error %v does not wrap ErrTransition", err)
				}
			})
		}
	}
}

func TestAgentStateTransitions(t *testing.T) {
	all := []acd.AgentState{acd.StateIdle, acd.StateReserved, acd.StateOnCall, acd.StateOnHold, acd.StateWrapUp}
	allowed := map[[2]acd.AgentState]bool{
		{acd.StateIdle, acd.StateReserved}:   true,
		{acd.StateIdle, acd.StateOnCall}:     true,
		{acd.StateReserved, acd.StateIdle}:   true,
		{acd.StateReserved, acd.StateOnCall}: true,
		{acd.StateOnCall, acd.StateOnHold}:   true,
		{acd.StateOnCall, acd.StateWrapUp}:   true,
		{acd.StateOnCall, acd.StateIdle}:     true,
		{acd.StateOnHold, acd.StateOnCall}:   true,
		{acd.StateOnHold, acd.StateWrapUp}:   true,
		{acd.StateWrapUp, acd.StateIdle}:     true,
	}
	for _, from := range all {
		for _, to := range all {
			t.Run(fmt.Sprintf("%s→%s", from, to), func(t *testing.T) {
				err := from.To(to)
				if want := allowed[[2]acd.AgentState{from, to}]; (err == nil) != want {
					t.Errorf("To = %v, want allowed=%v", err, want)
				}
				if err != nil && !errors.Is(err, acd.ErrTransition) {
					t.Errorf("error %v does not wrap ErrTransition", err)
				}
			})
		}
	}
}

func TestCallStateTransitions(t *testing.T) {
	all := []acd.CallState{acd.CallStateQueued, acd.CallStateOffering, acd.CallStateConnected, acd.CallStateHeld,
		acd.CallStateTransferring, acd.CallStateCallback, acd.CallStateDialing, acd.CallStateEnded}
	type e = [2]acd.CallState
	allowed := map[e]bool{
		{acd.CallStateQueued, acd.CallStateOffering}:        true,
		{acd.CallStateQueued, acd.CallStateCallback}:        true,
		{acd.CallStateQueued, acd.CallStateEnded}:           true,
		{acd.CallStateOffering, acd.CallStateQueued}:        true,
		{acd.CallStateOffering, acd.CallStateCallback}:      true,
		{acd.CallStateOffering, acd.CallStateConnected}:     true,
		{acd.CallStateOffering, acd.CallStateDialing}:       true,
		{acd.CallStateOffering, acd.CallStateEnded}:         true,
		{acd.CallStateConnected, acd.CallStateHeld}:         true,
		{acd.CallStateConnected, acd.CallStateQueued}:       true,
		{acd.CallStateConnected, acd.CallStateTransferring}: true,
		{acd.CallStateConnected, acd.CallStateEnded}:        true,
		{acd.CallStateHeld, acd.CallStateConnected}:         true,
		{acd.CallStateHeld, acd.CallStateQueued}:            true,
		{acd.CallStateHeld, acd.CallStateTransferring}:      true,
		{acd.CallStateHeld, acd.CallStateEnded}:             true,
		{acd.CallStateTransferring, acd.CallStateConnected}: true,
		{acd.CallStateTransferring, acd.CallStateEnded}:     true,
		{acd.CallStateCallback, acd.CallStateOffering}:      true,
		{acd.CallStateCallback, acd.CallStateEnded}:         true,
		{acd.CallStateDialing, acd.CallStateConnected}:      true,
		{acd.CallStateDialing, acd.CallStateEnded}:          true,
	}
	for _, from := range all {
		for _, to := range all {
			t.Run(fmt.Sprintf("%s→%s", from, to), func(t *testing.T) {
				err := from.To(to)
				if want := allowed[e{from, to}]; (err == nil) != want {
					t.Errorf("To = %v, want allowed=%v", err, want)
				}
				if err != nil && !errors.Is(err, acd.ErrTransition) {
					t.Errorf("error %v does not wrap ErrTransition", err)
				}
			})
		}
	}
}

func TestTaskStateTransitions(t *testing.T) {
	all := []acd.TaskState{acd.TaskWaiting, acd.TaskOffered, acd.TaskActive, acd.TaskWrapUp, acd.TaskDone}
	type e = [2]acd.TaskState
	allowed := map[e]bool{
		{acd.TaskWaiting, acd.TaskOffered}: true,
		{acd.TaskWaiting, acd.TaskActive}:  true, // adoption
		{acd.TaskWaiting, acd.TaskDone}:    true,
		{acd.TaskOffered, acd.TaskWaiting}: true,
		{acd.TaskOffered, acd.TaskActive}:  true,
		{acd.TaskOffered, acd.TaskDone}:    true,
		{acd.TaskActive, acd.TaskWaiting}:  true,
		{acd.TaskActive, acd.TaskWrapUp}:   true,
		{acd.TaskActive, acd.TaskDone}:     true,
		{acd.TaskWrapUp, acd.TaskDone}:     true,
	}
	for _, from := range all {
		for _, to := range all {
			t.Run(fmt.Sprintf("%s→%s", from, to), func(t *testing.T) {
				err := from.To(to)
				if want := allowed[e{from, to}]; (err == nil) != want {
					t.Errorf("To = %v, want allowed=%v", err, want)
				}
				if err != nil && !errors.Is(err, acd.ErrTransition) {
					t.Errorf("error %v does not wrap ErrTransition", err)
				}
			})
		}
	}
}

func TestParsePresence(t *testing.T) {
	for _, p := range []acd.Presence{acd.PresenceOffline, acd.PresenceReady, acd.PresenceNotReady} {
		got, err := acd.ParsePresence(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePresence(%q) = %v, %v", p, got, err)
		}
	}
	if _, err := acd.ParsePresence("away"); err == nil {
		t.Error("ParsePresence(away) succeeded")
	}
}
