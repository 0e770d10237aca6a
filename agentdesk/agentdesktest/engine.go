// Package agentdesktest provides an in-memory fake of the engine the CTI hub
// consumes (agentdesk.Engine and agentdesk.EventSource): it records every
// command and lets a test publish engine events by hand.
package agentdesktest

import (
	"context"
	"fmt"
	"sync"

	"switchboard/agentdesk"
)

// Presence is one recorded SetPresence call.
type Presence struct {
	AgentID, Presence, Reason string
}

// Action is one recorded CallControl call.
type Action struct {
	AgentID string
	agentdesk.CallAction
}

// Engine is a fake engine. Commands are recorded on the channels (buffered;
// a test that does not read them must not send more than their capacity).
// The zero value is not usable; call NewEngine.
type Engine struct {
	Presences chan Presence
	Actions   chan Action
	Dials     chan agentdesk.Dial

	mu     sync.Mutex
	state  agentdesk.State
	subs   []chan agentdesk.Event
	opened int
	// Err, when set, is returned by every command.
	Err error
}

var (
	_ agentdesk.Engine      = (*Engine)(nil)
	_ agentdesk.EventSource = (*Engine)(nil)
)

// NewEngine returns a fake engine whose subscribers start from state.
func NewEngine(state agentdesk.State) *Engine {
	return &Engine{
		Presences: make(chan Presence, 1024), Actions: make(chan Action, 1024), Dials: make(chan agentdesk.Dial, 64),
		state: state,
	}
}

func (e *Engine) err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.Err
}

// SetPresence implements agentdesk.Engine.
func (e *Engine) SetPresence(_ context.Context, agentID, presence, reason string) error {
	if err := e.err(); err != nil {
		return err
	}
	e.Presences <- Presence{agentID, presence, reason}
	return nil
}

// ForcePresence implements agentdesk.Engine; it is recorded like SetPresence.
func (e *Engine) ForcePresence(ctx context.Context, _, agentID, presence, reason string) error {
	return e.SetPresence(ctx, agentID, presence, reason)
}

// CallControl implements agentdesk.Engine.
func (e *Engine) CallControl(_ context.Context, agentID string, a agentdesk.CallAction) error {
	if err := e.err(); err != nil {
		return err
	}
	e.Actions <- Action{agentID, a}
	return nil
}

// Dial implements agentdesk.Engine; the call id is "out-" plus the number.
func (e *Engine) Dial(_ context.Context, agentID string, d agentdesk.Dial) (string, error) {
	if err := e.err(); err != nil {
		return "", err
	}
	e.Dials <- d
	return "out-" + d.Number, nil
}

// Prioritize implements agentdesk.Engine.
func (e *Engine) Prioritize(_ context.Context, callID string, priority int, front bool) error {
	if err := e.err(); err != nil {
		return err
	}
	e.Actions <- Action{CallAction: agentdesk.CallAction{Action: fmt.Sprintf("prioritize:%d:%v", priority, front), CallID: callID}}
	return nil
}

// Subscribe implements agentdesk.EventSource.
func (e *Engine) Subscribe(ctx context.Context) (agentdesk.State, <-chan agentdesk.Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch := make(chan agentdesk.Event, 4096)
	e.subs = append(e.subs, ch)
	e.opened++
	return e.state, ch, nil
}

// Publish delivers ev to every subscriber (blocking if one is full).
func (e *Engine) Publish(ev agentdesk.Event) {
	e.mu.Lock()
	subs := append([]chan agentdesk.Event(nil), e.subs...)
	e.mu.Unlock()
	for _, s := range subs {
		s <- ev
	}
}

// Drop closes every subscription, as the engine does to a subscriber that
// fell behind; subscribers are expected to subscribe again.
func (e *Engine) Drop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.subs {
		close(s)
	}
	e.subs = nil
}

// SetState changes the snapshot later subscriptions start from.
func (e *Engine) SetState(s agentdesk.State) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.state = s
}

// Subscriptions reports how many subscriptions were opened in all.
func (e *Engine) Subscriptions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opened
}
