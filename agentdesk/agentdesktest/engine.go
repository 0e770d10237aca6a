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

// Task is one recorded TaskControl call.
type Task struct {
	AgentID string
	agentdesk.TaskAction
}

// Engine is a fake engine. Commands are recorded on the channels (buffered;
// a test that does not read them must not send more than their capacity).
// The zero value is not usable; call NewEngine.
type Engine struct {
	Presences chan Presence
	Actions   chan Action
	Dials     chan agentdesk.Dial
	Tasks     chan Task

	mu     sync.Mutex
	state  agentdesk.State
	subs   []*Feed
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
		Tasks: make(chan Task, 1024),
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

// TaskControl implements agentdesk.Engine.
func (e *Engine) TaskControl(_ context.Context, agentID string, a agentdesk.TaskAction) error {
	if err := e.err(); err != nil {
		return err
	}
	e.Tasks <- Task{agentID, a}
	return nil
}

// Subscribe implements agentdesk.EventSource.
func (e *Engine) Subscribe(ctx context.Context) (agentdesk.State, agentdesk.Feed, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := &Feed{ready: make(chan struct{}, 1)}
	e.subs = append(e.subs, f)
	e.opened++
	return e.state, f, nil
}

// Publish hands ev to every subscriber.
func (e *Engine) Publish(ev agentdesk.Event) {
	e.mu.Lock()
	subs := append([]*Feed(nil), e.subs...)
	e.mu.Unlock()
	for _, f := range subs {
		f.push(ev)
	}
}

// Drop ends every subscription, as the engine does to a subscriber that
// fell behind; subscribers are expected to subscribe again.
func (e *Engine) Drop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, f := range e.subs {
		f.Close()
	}
	e.subs = nil
}

// Feed is a subscription to the fake engine: an unbounded queue.
type Feed struct {
	ready chan struct{}

	mu     sync.Mutex
	q      []agentdesk.Event
	closed bool
}

var _ agentdesk.Feed = (*Feed)(nil)

func (f *Feed) push(ev agentdesk.Event) {
	f.mu.Lock()
	if !f.closed {
		f.q = append(f.q, ev)
	}
	f.mu.Unlock()
	f.signal()
}

func (f *Feed) signal() {
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

// Ready implements agentdesk.Feed.
func (f *Feed) Ready() <-chan struct{} { return f.ready }

// Take implements agentdesk.Feed.
func (f *Feed) Take(buf []agentdesk.Event) ([]agentdesk.Event, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	buf = append(buf, f.q...)
	f.q = nil
	return buf, !f.closed
}

// Close implements agentdesk.Feed.
func (f *Feed) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.signal()
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
