package acdnats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"switchboard/acd"
)

// LeaderOptions configure a Leader.
type LeaderOptions struct {
	// Node is the leader's own node id; Epoch its term's fencing epoch.
	Node  string
	Epoch uint64
	// Prefix starts every subject (default "switchboard"), as the nodes'.
	Prefix string
	// LostAfter is how long a node may stay silent before the leader
	// takes it for lost and ends its calls (default 3 s).
	LostAfter time.Duration
	// Announce is how often the leader announces itself (default 1 s).
	Announce time.Duration
	// Heartbeat is the nodes' heartbeat interval (default 500 ms, as
	// NodeOptions'): Settle hears from every live node within it.
	Heartbeat time.Duration
	// NewData returns a new value to decode a call's data into (the
	// journey's screen pop); nil leaves the data out.
	NewData func() any
	// RingOn names the node where an offer rings, when it is not the
	// call's node: the node holding the agent's softphone. "" (or nil)
	// rings on the node that holds the caller.
	RingOn func(o acd.Offer) string
	// Logger is optional.
	Logger *slog.Logger
}

// Leader is the routing engine's side of the bus: it takes the nodes'
// calls into the engine and carries out the engine's telephony on the
// node that holds each call (it is the engine's Ringer, Bridger, Dialer,
// VoicemailTaker and after-call hook). It forwards the engine's events
// about a call to the node that holds it, announces its epoch, and ends
// the calls of a node that stops answering. Its methods are safe for
// concurrent use.
type Leader struct {
	nc   *nats.Conn
	opts LeaderOptions
	log  *slog.Logger

	mu       sync.Mutex
	epoch    uint64
	detached bool
	owner    map[acd.CallID]string
	legs     map[string]*remoteLeg
	pending  map[string]*pending
	nodes    map[string]*nodeState
	// settled is, by node, the last epoch it re-announced its calls to.
	settled map[string]uint64
	// serving is closed once Serve takes the nodes' messages, at since.
	serving chan struct{}
	since   time.Time
}

type pending struct {
	node string
	ch   chan msg
}

type nodeState struct {
	last time.Time
	sip  string
	inst string // the node process's instance, new at each start
	lost bool
}

var (
	_ acd.Ringer         = (*Leader)(nil)
	_ acd.Bridger        = (*Leader)(nil)
	_ acd.Dialer         = (*Leader)(nil)
	_ acd.VoicemailTaker = (*Leader)(nil)
	_ acd.Holder         = (*remoteLeg)(nil)
	_ acd.Conferencer    = (*Leader)(nil)
)

// NewLeader returns the leader's side of the bus; Serve starts it.
func NewLeader(nc *nats.Conn, opts LeaderOptions) *Leader {
	if opts.Prefix == "" {
		opts.Prefix = "switchboard"
	}
	if opts.LostAfter <= 0 {
		opts.LostAfter = 3 * time.Second
	}
	if opts.Announce <= 0 {
		opts.Announce = time.Second
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 500 * time.Millisecond
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Leader{nc: nc, opts: opts, log: log.With("leader", opts.Node), epoch: opts.Epoch,
		owner: map[acd.CallID]string{}, legs: map[string]*remoteLeg{}, pending: map[string]*pending{}, nodes: map[string]*nodeState{},
		settled: map[string]uint64{}, serving: make(chan struct{})}
}

// SetEpoch changes the epoch the leader's messages carry (the same
// leader took its term back after losing its lock connection).
func (l *Leader) SetEpoch(epoch uint64) {
	l.mu.Lock()
	l.epoch = epoch
	l.mu.Unlock()
	l.announce()
}

// Serve takes the nodes' calls into engine and forwards its events until
// ctx ends.
func (l *Leader) Serve(ctx context.Context, engine *acd.Engine) error {
	events, _, err := engine.Subscribe(ctx, acd.SubscribeOptions{Name: "cluster", Buffer: 1 << 16, Records: true})
	if err != nil {
		return err
	}
	defer events.Close()
	sub, err := l.nc.Subscribe(leaderSubject(l.opts.Prefix), func(nm *nats.Msg) { l.handle(ctx, engine, nm) })
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	l.mu.Lock()
	l.since = time.Now()
	l.mu.Unlock()
	close(l.serving)
	l.announce()
	tick := time.NewTicker(l.opts.Announce / 2)
	defer tick.Stop()
	var evs []acd.Event
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-events.Ready():
			var open bool
			evs, open = events.Take(evs[:0])
			for _, ev := range evs {
				if _, ok := ev.(*acd.ResyncRequired); ok {
					_, _ = events.Resync(ctx)
					continue
				}
				l.forward(ev)
			}
			if !open {
				return acd.ErrClosed
			}
		case <-tick.C:
			if time.Since(last) >= l.opts.Announce {
				l.announce()
				last = time.Now()
			}
			l.checkNodes()
		}
	}
}

// Settle waits until the nodes have re-announced their calls to this
// leader: it first hears from every live node (a heartbeat), then waits
// until each node heard from reported its calls re-announced under the
// leader's epoch, or until within passed or ctx ended. It returns the
// nodes that had not settled. A new leader holds its engine's offers
// until then (acd.WithRoutingHeld), so that an agent whose call is still
// on its way is not offered another.
func (l *Leader) Settle(ctx context.Context, within time.Duration) []string {
	deadline := time.Now().Add(within)
	select {
	case <-l.serving:
	case <-ctx.Done():
		return nil
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var waiting []string
		l.mu.Lock()
		heard := time.Since(l.since) >= l.opts.Heartbeat
		for id, st := range l.nodes {
			if !st.lost && l.settled[id] < l.epoch {
				waiting = append(waiting, id)
			}
		}
		l.mu.Unlock()
		if (heard && len(waiting) == 0) || time.Now().After(deadline) {
			slices.Sort(waiting)
			return waiting
		}
		select {
		case <-ctx.Done():
			return waiting
		case <-tick.C:
		}
	}
}

// announce tells every node who leads under which epoch.
func (l *Leader) announce() {
	l.mu.Lock()
	m := msg{Kind: kindLeader, Epoch: l.epoch, Node: l.opts.Node}
	l.mu.Unlock()
	if err := l.nc.Publish(announceSubject(l.opts.Prefix), mustJSON(m)); err != nil {
		l.log.Warn("acdnats: announcing the leader", "err", err)
	}
}

// Detach stops the leader from sending anything more to the nodes: a
// leader stepping down closes its engine after it, and the calls the
// engine still held go on at their nodes for the next leader to adopt.
func (l *Leader) Detach() {
	l.mu.Lock()
	l.detached = true
	l.mu.Unlock()
}

// down sends m to node, stamped with the epoch.
func (l *Leader) down(node string, m msg) {
	l.mu.Lock()
	m.Epoch = l.epoch
	detached := l.detached
	l.mu.Unlock()
	if detached {
		return
	}
	if err := l.nc.Publish(nodeSubject(l.opts.Prefix, node), mustJSON(m)); err != nil {
		l.log.Warn("acdnats: sending to a node", "node", node, "kind", m.Kind, "err", err)
	}
}

// ask sends m to node and waits for its reply.
func (l *Leader) ask(ctx context.Context, node string, m msg) (msg, error) {
	l.mu.Lock()
	m.Epoch = l.epoch
	l.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	r, err := l.nc.RequestWithContext(rctx, nodeSubject(l.opts.Prefix, node), mustJSON(m))
	if err != nil {
		return msg{}, fmt.Errorf("acdnats: node %s: %w", node, err)
	}
	var reply msg
	if err := json.Unmarshal(r.Data, &reply); err != nil {
		return msg{}, err
	}
	return reply, reply.Err.err()
}

// run starts a long operation on node and waits for its result; when
// ctx ends first the node is told to cancel it.
func (l *Leader) run(ctx context.Context, node string, m msg, started func(op string)) (msg, error) {
	op := newHandle()
	p := &pending{node: node, ch: make(chan msg, 1)}
	l.mu.Lock()
	if st := l.nodes[node]; st != nil && st.lost {
		l.mu.Unlock()
		return msg{}, fmt.Errorf("%w: %s", ErrNodeLost, node)
	}
	l.pending[op] = p
	l.mu.Unlock()
	m.Op = op
	l.down(node, m)
	if started != nil {
		started(op)
	}
	select {
	case r := <-p.ch:
		return r, r.Err.err()
	case <-ctx.Done():
		l.mu.Lock()
		delete(l.pending, op)
		l.mu.Unlock()
		l.down(node, msg{Kind: kindCancel, Op: op})
		return msg{}, ctx.Err()
	}
}

// ownerOf returns the node holding call id; a call no node announced
// (an outbound call the engine places) is the leader's own node's.
func (l *Leader) ownerOf(id acd.CallID) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, ok := l.owner[id]
	if !ok {
		n = l.opts.Node
		l.owner[id] = n
	}
	return n
}

// legFor returns the leader's view of leg handle h on node.
func (l *Leader) legFor(node, h, id string) *remoteLeg {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rl := l.legs[h]; rl != nil {
		return rl
	}
	ctx, cancel := context.WithCancel(context.Background())
	rl := &remoteLeg{l: l, node: node, handle: h, id: id, ctx: ctx, cancel: cancel}
	l.legs[h] = rl
	if st := l.nodes[node]; st != nil && st.lost {
		cancel()
	}
	return rl
}

// Ring rings the offer's agent on the node holding the call (or the node
// RingOn names) and returns the agent's leg there.
func (l *Leader) Ring(ctx context.Context, o acd.Offer) (acd.Leg, error) {
	node := l.ownerOf(o.Call.ID)
	if l.opts.RingOn != nil {
		if n := l.opts.RingOn(o); n != "" {
			node = n
		}
	}
	m := msg{Kind: kindRing, Call: stripCall(o.Call), Agent: o.Agent, Endpoint: o.Endpoint, HasAccept: o.Accept != nil}
	r, err := l.run(ctx, node, m, func(op string) {
		if o.Accept == nil {
			return
		}
		go func() {
			select {
			case <-o.Accept:
				l.down(node, msg{Kind: kindAccept, Op: op})
			case <-ctx.Done():
			}
		}()
	})
	if err != nil {
		return nil, err
	}
	return l.legFor(node, r.Leg, r.LegID), nil
}

// Bridge relays caller and agent on the node holding both, or, when the
// agent's leg is on another node (a softphone there), calls that node
// from the caller's and relays through the call.
func (l *Leader) Bridge(ctx context.Context, caller, agent acd.Leg) error {
	cl, ok1 := caller.(*remoteLeg)
	al, ok2 := agent.(*remoteLeg)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: legs not from the bus (%T, %T)", acd.ErrInvalidArgument, caller, agent)
	}
	if cl.node == al.node {
		_, err := l.run(ctx, cl.node, msg{Kind: kindBridge, Leg: cl.handle, Peer: al.handle}, nil)
		return err
	}
	l.mu.Lock()
	var sip string
	if st := l.nodes[al.node]; st != nil {
		sip = st.sip
	}
	l.mu.Unlock()
	if sip == "" {
		return fmt.Errorf("acdnats: node %s has no SIP address for relays", al.node)
	}
	// The agent's node must expect the relay before the caller's node
	// calls it.
	tok := newHandle()
	if _, err := l.ask(ctx, al.node, msg{Kind: kindExpect, Token: tok, Peer: al.handle}); err != nil {
		return err
	}
	_, err := l.run(ctx, cl.node, msg{Kind: kindRelay, Leg: cl.handle, Token: tok, Number: sip,
		Call: &acd.CallInfo{ID: acd.CallID(cl.id)}}, nil)
	return err
}

// Conference mixes legs on the node that holds them: the engine rings a
// call's consulted agent and dials its third party on the caller's node,
// so the parties of a conference are all there. Parties on different
// nodes (a consulted agent's softphone connected to another node) are
// refused with acd.ErrNotSupported.
func (l *Leader) Conference(ctx context.Context, legs []acd.Leg) error {
	var node string
	handles := make([]string, 0, len(legs))
	for _, leg := range legs {
		rl, ok := leg.(*remoteLeg)
		if !ok {
			return fmt.Errorf("%w: leg not from the bus (%T)", acd.ErrInvalidArgument, leg)
		}
		if node == "" {
			node = rl.node
		}
		if rl.node != node {
			return fmt.Errorf("%w: a conference of legs on nodes %s and %s", acd.ErrNotSupported, node, rl.node)
		}
		handles = append(handles, rl.handle)
	}
	if node == "" {
		return fmt.Errorf("%w: a conference of no legs", acd.ErrInvalidArgument)
	}
	_, err := l.run(ctx, node, msg{Kind: kindConf, Legs: handles}, nil)
	return err
}

// Dial places an outbound leg on the node holding call (the leader's own
// node for a call no node announced).
func (l *Leader) Dial(ctx context.Context, number string, call acd.CallInfo) (acd.Leg, error) {
	node := l.ownerOf(call.ID)
	r, err := l.run(ctx, node, msg{Kind: kindDial, Number: number, Call: stripCall(call)}, nil)
	if err != nil {
		return nil, err
	}
	return l.legFor(node, r.Leg, r.LegID), nil
}

// TakeVoicemail records the caller's voicemail on the caller's node.
func (l *Leader) TakeVoicemail(ctx context.Context, caller acd.Leg, call acd.CallInfo) (string, error) {
	cl, ok := caller.(*remoteLeg)
	if !ok {
		return "", fmt.Errorf("%w: leg not from the bus (%T)", acd.ErrInvalidArgument, caller)
	}
	r, err := l.run(ctx, cl.node, msg{Kind: kindMail, Leg: cl.handle, Call: stripCall(call)}, nil)
	return r.Text, err
}

// AfterCall is the engine's after-call hook (acd.WithAfterCall): the
// caller's node runs its survey or hangs the caller up, so it always
// takes the caller over. It does not wait for the node.
func (l *Leader) AfterCall(id acd.CallID, caller acd.Leg) bool {
	cl, ok := caller.(*remoteLeg)
	if !ok {
		return false
	}
	l.down(cl.node, msg{Kind: kindAfter, Leg: cl.handle, Call: &acd.CallInfo{ID: id}})
	return true
}

// AttachTicket links a ticket to a call's record on the node that holds
// the call, before the agent's wrap-up completes it.
func (l *Leader) AttachTicket(ctx context.Context, callID, ticketID string) error {
	node := l.ownerOf(acd.CallID(callID))
	_, err := l.ask(ctx, node, msg{Kind: kindAttach, Call: &acd.CallInfo{ID: acd.CallID(callID)}, Text: ticketID})
	return err
}

// forward sends an event about a call to the node that holds it.
func (l *Leader) forward(ev acd.Event) {
	id := eventCall(ev)
	if id == "" {
		return
	}
	if c, ok := ev.(*acd.InteractionCompleted); ok {
		if ch := c.Interaction.Channel; ch != acd.ChannelVoice && ch != acd.ChannelCallback {
			return
		}
	}
	l.mu.Lock()
	node, ok := l.owner[id]
	if c, done := ev.(*acd.InteractionCompleted); done && !c.Interaction.Continued {
		// An agent's part before a transfer or a conference they left
		// (Continued) is not the call's end.
		delete(l.owner, id)
	}
	l.mu.Unlock()
	if !ok {
		return
	}
	name, b, err := encodeEvent(ev)
	if err != nil {
		l.log.Warn("acdnats: event not forwarded", "err", err)
		return
	}
	l.down(node, msg{Kind: kindEvent, EventType: name, Event: b})
}

// handle takes the nodes' messages, in order.
func (l *Leader) handle(ctx context.Context, engine *acd.Engine, nm *nats.Msg) {
	var m msg
	if err := json.Unmarshal(nm.Data, &m); err != nil || m.Node == "" {
		l.log.Warn("acdnats: bad message from a node", "err", err)
		return
	}
	switch m.Kind {
	case kindHello:
		l.mu.Lock()
		st := l.nodes[m.Node]
		if st == nil {
			st = &nodeState{inst: m.Op}
			l.nodes[m.Node] = st
			l.log.Info("acdnats: node joined", "node", m.Node, "sip", m.SIP)
		}
		restarted := st.inst != m.Op && !st.lost
		l.mu.Unlock()
		if restarted {
			// A new process under the node's id: the old one's legs are gone.
			l.log.Warn("acdnats: node restarted; the calls it held end", "node", m.Node)
			l.lose([]string{m.Node})
		}
		l.mu.Lock()
		if st.lost {
			st.lost = false
			l.log.Warn("acdnats: a node taken for lost answers again; the calls it held were ended", "node", m.Node)
		}
		st.last, st.sip, st.inst = time.Now(), m.SIP, m.Op
		l.mu.Unlock()
	case kindSettled:
		l.mu.Lock()
		l.settled[m.Node] = max(l.settled[m.Node], m.Epoch)
		l.mu.Unlock()
	case kindResult:
		l.mu.Lock()
		p := l.pending[m.Op]
		delete(l.pending, m.Op)
		l.mu.Unlock()
		switch {
		case p != nil:
			p.ch <- m
		case m.Leg != "": // answered after the leader gave up: not wanted
			l.down(m.Node, msg{Kind: kindHangup, Leg: m.Leg})
		}
	case kindGone:
		l.mu.Lock()
		rl := l.legs[m.Leg]
		delete(l.legs, m.Leg)
		l.mu.Unlock()
		if rl != nil {
			rl.cancel()
		}
	case kindEnqueue, kindAdopt:
		err := l.enqueue(ctx, engine, m)
		l.mu.Lock()
		reply := msg{Kind: kindResult, Epoch: l.epoch, Node: l.opts.Node, Err: toWire(err)}
		l.mu.Unlock()
		_ = nm.Respond(mustJSON(reply))
	case kindTransfer:
		err := fmt.Errorf("%w: no target", acd.ErrInvalidArgument)
		if m.Target != nil {
			err = engine.Transfer(ctx, m.Agent, *m.Target)
		}
		_ = nm.Respond(mustJSON(msg{Kind: kindResult, Node: l.opts.Node, Err: toWire(err)}))
	}
}

// enqueue takes a node's call into the engine: waiting, or connected
// (adopted) when the node reports it bridged to an agent.
func (l *Leader) enqueue(ctx context.Context, engine *acd.Engine, m msg) error {
	if m.Request == nil || m.Request.ID == "" || (m.Leg == "" && (m.Request.Callback == "" || m.Kind == kindAdopt)) {
		return fmt.Errorf("%w: incomplete call", acd.ErrInvalidArgument)
	}
	req := *m.Request
	if l.opts.NewData != nil && len(m.Data) > 0 && string(m.Data) != "null" {
		d := l.opts.NewData()
		if err := json.Unmarshal(m.Data, d); err != nil {
			return fmt.Errorf("%w: call data: %w", acd.ErrInvalidArgument, err)
		}
		req.Data = d
	}
	l.mu.Lock()
	l.owner[req.ID] = m.Node
	l.mu.Unlock()
	var err error
	switch {
	case m.Leg == "": // a callback waiting as a virtual caller
		_, err = engine.Enqueue(ctx, req, nil)
	case m.Kind == kindAdopt:
		caller, agent := l.legFor(m.Node, m.Leg, m.LegID), l.legFor(m.Node, m.Peer, m.PeerID)
		_, err = engine.AdoptCall(ctx, req, caller, m.Agent, agent, m.Answered)
	default:
		_, err = engine.Enqueue(ctx, req, l.legFor(m.Node, m.Leg, m.LegID))
	}
	if err != nil && !errors.Is(err, acd.ErrDuplicate) {
		l.mu.Lock()
		if l.owner[req.ID] == m.Node {
			delete(l.owner, req.ID)
		}
		l.mu.Unlock()
	}
	return err
}

// checkNodes takes the nodes silent for LostAfter for lost: their
// operations fail and their legs end, so the engine ends their calls and
// frees their agents. A node that started again under the same id is
// lost as soon as its new process says hello.
func (l *Leader) checkNodes() {
	now := time.Now()
	l.mu.Lock()
	var lost []string
	for id, st := range l.nodes {
		if !st.lost && now.Sub(st.last) > l.opts.LostAfter {
			lost = append(lost, id)
		}
	}
	l.mu.Unlock()
	if len(lost) > 0 {
		l.lose(lost)
	}
}

// lose takes nodes for lost: their operations fail and their legs end.
func (l *Leader) lose(lost []string) {
	l.mu.Lock()
	for _, id := range lost {
		if st := l.nodes[id]; st != nil {
			st.lost = true
		}
	}
	var legs []*remoteLeg
	var ops []*pending
	for _, node := range lost {
		for h, rl := range l.legs {
			if rl.node == node {
				legs = append(legs, rl)
				delete(l.legs, h)
			}
		}
		for op, p := range l.pending {
			if p.node == node {
				ops = append(ops, p)
				delete(l.pending, op)
			}
		}
	}
	l.mu.Unlock()
	for _, node := range lost {
		l.log.Error("acdnats: node lost; its calls end", "node", node, "after", l.opts.LostAfter)
		l.down(node, msg{Kind: kindNodeLost})
	}
	for _, p := range ops {
		p.ch <- msg{Err: toWire(fmt.Errorf("%w: %s", ErrNodeLost, p.node))}
	}
	for _, rl := range legs {
		rl.cancel()
	}
}

// remoteLeg is the leader's view of a leg held by a node.
type remoteLeg struct {
	l          *Leader
	node       string
	handle, id string
	ctx        context.Context
	cancel     context.CancelFunc
}

func (r *remoteLeg) ID() string               { return r.id }
func (r *remoteLeg) Context() context.Context { return r.ctx }
func (r *remoteLeg) Hangup(context.Context) error {
	r.l.down(r.node, msg{Kind: kindHangup, Leg: r.handle})
	return nil
}

// Hold puts the leg on hold on its node.
func (r *remoteLeg) Hold(ctx context.Context, on bool) error {
	_, err := r.l.ask(ctx, r.node, msg{Kind: kindHold, Leg: r.handle, On: on})
	return err
}
