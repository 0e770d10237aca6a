package acdnats

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"

	"switchboard/acd"
)

// Monitor is what a node's telephony needs for a supervisor to listen,
// whisper or barge on a call it bridges (*sip.Agents).
type Monitor interface {
	// ListenOn mixes the supervisor, on leg, into call callID in mode.
	ListenOn(ctx context.Context, supervisorID, callID, mode string, leg acd.Leg) error
	// StopListening takes the supervisor out of the call.
	StopListening(ctx context.Context, supervisorID, callID string) error
}

// ErrNotHeldElsewhere is returned by Leader.Monitor for a call that no
// other node holds: the leader's own node monitors it directly.
var ErrNotHeldElsewhere = errors.New("acdnats: call not held by another node")

// nodeMonitor is a supervisor monitoring a call held here, through a
// relay leg to the node where their softphone is.
type nodeMonitor struct {
	call acd.CallID
	leg  acd.Leg
}

// monitors are a node's supervisors on its calls, by supervisor.
type monitors struct {
	mu  sync.Mutex
	sup map[string]*nodeMonitor
	// expect are the supervisors' softphone legs on this node awaiting a
	// relay leg from the node that holds the call they monitor.
	expect map[string]acd.Leg
}

// Monitor has the node that holds call id mix supervisor in (mode
// listen, whisper or barge) through a relay leg it places to this
// leader's node for token (ExpectMonitor there). Called again for the
// same supervisor and call it changes the mode only (token unused). A
// call no other node holds gets ErrNotHeldElsewhere.
func (l *Leader) Monitor(ctx context.Context, id acd.CallID, supervisor, mode, token string) error {
	l.mu.Lock()
	node, ok := l.owner[id]
	var sip string
	if st := l.nodes[l.opts.Node]; st != nil {
		sip = st.sip
	}
	l.mu.Unlock()
	if !ok || node == l.opts.Node {
		return ErrNotHeldElsewhere
	}
	if sip == "" {
		return fmt.Errorf("acdnats: node %s has no SIP address for relays", l.opts.Node)
	}
	_, err := l.ask(ctx, node, msg{Kind: kindMonitor, Call: &acd.CallInfo{ID: id}, Agent: acd.AgentID(supervisor),
		Text: mode, Token: token, Number: sip})
	return err
}

// Unmonitor takes supervisor out of call id on the node that holds it.
func (l *Leader) Unmonitor(ctx context.Context, id acd.CallID, supervisor string) error {
	l.mu.Lock()
	node, ok := l.owner[id]
	l.mu.Unlock()
	if !ok || node == l.opts.Node {
		return ErrNotHeldElsewhere
	}
	_, err := l.ask(ctx, node, msg{Kind: kindUnmon, Call: &acd.CallInfo{ID: id}, Agent: acd.AgentID(supervisor)})
	return err
}

// ExpectMonitor awaits the relay leg for token and bridges it to leg (a
// supervisor's softphone on this node) until either ends; then both are
// hung up (leg being a view of the softphone, not the softphone).
func (n *Node) ExpectMonitor(token string, leg acd.Leg) {
	n.mon.mu.Lock()
	defer n.mon.mu.Unlock()
	if n.mon.expect == nil {
		n.mon.expect = map[string]acd.Leg{}
	}
	n.mon.expect[token] = leg
}

// ForgetMonitor drops the expectation of token, if it is still awaited.
func (n *Node) ForgetMonitor(token string) {
	n.mon.mu.Lock()
	leg := n.mon.expect[token]
	delete(n.mon.expect, token)
	n.mon.mu.Unlock()
	if leg != nil {
		_ = leg.Hangup(n.ctx)
	}
}

// monitorRelay takes relay leg for token if a supervisor awaits it.
func (n *Node) monitorRelay(token string, relay acd.Leg) bool {
	n.mon.mu.Lock()
	sup := n.mon.expect[token]
	delete(n.mon.expect, token)
	n.mon.mu.Unlock()
	if sup == nil {
		return false
	}
	go func() {
		defer func() {
			_ = relay.Hangup(context.WithoutCancel(n.ctx))
			_ = sup.Hangup(context.WithoutCancel(n.ctx))
		}()
		_ = n.opts.Local.Bridge(n.ctx, relay, sup)
	}()
	return true
}

func (n *Node) expectsMonitor(token string) bool {
	n.mon.mu.Lock()
	defer n.mon.mu.Unlock()
	_, ok := n.mon.expect[token]
	return ok
}

// monitor mixes a supervisor into a call bridged here (kindMonitor): a
// mode change for one already in it, else through a new relay leg to
// the supervisor's node. It answers once the supervisor is in.
func (n *Node) monitor(m msg, nm *nats.Msg) {
	respond := func(err error) { _ = nm.Respond(mustJSON(msg{Kind: kindResult, Err: toWire(err)})) }
	mon, ok := n.opts.Local.(Monitor)
	if !ok || m.Call == nil {
		respond(fmt.Errorf("%w: no monitoring on node %s", acd.ErrNotSupported, n.opts.Node))
		return
	}
	sup, call := string(m.Agent), m.Call.ID
	n.mon.mu.Lock()
	cur := n.mon.sup[sup]
	n.mon.mu.Unlock()
	if cur != nil && cur.call == call && cur.leg.Context().Err() == nil {
		respond(mon.ListenOn(n.ctx, sup, string(call), m.Text, cur.leg))
		return
	}
	if cur != nil {
		n.unmonitor(mon, sup, cur)
	}
	go func() {
		leg, err := n.opts.Local.Dial(n.ctx, "sip:"+RelayPrefix+m.Token+"@"+m.Number, acd.CallInfo{ID: call})
		if err != nil {
			respond(fmt.Errorf("acdnats: monitor relay to %s: %w", m.Number, err))
			return
		}
		if err := mon.ListenOn(n.ctx, sup, string(call), m.Text, leg); err != nil {
			_ = leg.Hangup(context.WithoutCancel(n.ctx))
			respond(err)
			return
		}
		nmon := &nodeMonitor{call: call, leg: leg}
		n.mon.mu.Lock()
		if n.mon.sup == nil {
			n.mon.sup = map[string]*nodeMonitor{}
		}
		n.mon.sup[sup] = nmon
		n.mon.mu.Unlock()
		context.AfterFunc(leg.Context(), func() { n.unmonitor(mon, sup, nmon) })
		respond(nil)
	}()
}

// unmonitor takes sup out of the call nm watches and hangs its relay up.
func (n *Node) unmonitor(mon Monitor, sup string, nm *nodeMonitor) {
	n.mon.mu.Lock()
	if n.mon.sup[sup] == nm {
		delete(n.mon.sup, sup)
	}
	n.mon.mu.Unlock()
	_ = mon.StopListening(context.WithoutCancel(n.ctx), sup, string(nm.call))
	_ = nm.leg.Hangup(context.WithoutCancel(n.ctx))
}

// stopMonitor answers kindUnmon.
func (n *Node) stopMonitor(m msg, nm *nats.Msg) {
	mon, ok := n.opts.Local.(Monitor)
	if ok && m.Call != nil {
		n.mon.mu.Lock()
		cur := n.mon.sup[string(m.Agent)]
		n.mon.mu.Unlock()
		if cur != nil && cur.call == m.Call.ID {
			n.unmonitor(mon, string(m.Agent), cur)
		}
	}
	_ = nm.Respond(mustJSON(msg{Kind: kindResult, OK: true}))
}
