package acdnats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"switchboard/acd"
)

// Telephony is what a node's gateway does for the leader's engine
// (*sip.Agents satisfies it).
type Telephony interface {
	acd.Ringer
	acd.Bridger
	acd.Dialer
	acd.VoicemailTaker
}

// NodeOptions configure a Node.
type NodeOptions struct {
	// Node is this node's id, unique in the cluster.
	Node string
	// Prefix starts every subject (default "switchboard"): clusters
	// sharing a NATS server need distinct prefixes.
	Prefix string
	// SIP is this node's SIP address ("10.0.0.5:5060"), where the other
	// nodes send the legs that carry a call's audio to an agent here.
	SIP string
	// Local rings, bridges, dials and takes voicemail on this node.
	Local Telephony
	// AfterCall is the engine's after-call hook on this node's callers
	// (acd.WithAfterCall); nil: none.
	AfterCall func(acd.CallID, acd.Leg) bool
	// AttachTicket links a ticket to a call's record on this node.
	AttachTicket func(callID, ticketID string)
	// Heartbeat is how often the node tells the leader it is alive
	// (default 500 ms); the leader takes a node silent for LostAfter
	// (Leader's option) for lost.
	Heartbeat time.Duration
	// LeaderWait bounds how long Enqueue waits for a leader to answer,
	// across a takeover (default 30 s).
	LeaderWait time.Duration
	// Logger is optional.
	Logger *slog.Logger
}

// Node is a cluster node's link to the leader's routing engine: it sends
// the leader its calls, carries out the leader's commands on their legs,
// hands the node's journey the engine's events about them, and
// re-announces its live calls when a new leader takes over. Its methods
// are safe for concurrent use.
type Node struct {
	nc   *nats.Conn
	opts NodeOptions
	log  *slog.Logger
	up   string // the leader's subject
	ctx  context.Context
	stop context.CancelFunc
	done chan struct{}

	mu      sync.Mutex
	epoch   uint64 // highest leader epoch seen
	leader  string
	legs    map[string]*nodeLeg // handle → leg
	calls   map[acd.CallID]*nodeCall
	placed  map[acd.CallID]bool    // outbound calls the leader placed here (they have no nodeCall)
	ops     map[string]*nodeOp     // operation id → ring, dial, voicemail or bridge in progress
	bridges map[string]*nodeBridge // caller handle → bridge running here
	expects map[string]string      // relay token → agent leg handle waiting for it
	feeds   map[*Feed]struct{}
	mon     monitors
	sub     *nats.Subscription
}

type nodeLeg struct {
	leg   acd.Leg
	agent acd.AgentID // the agent whose leg it is, if rung for one
	call  acd.CallID  // the call whose caller it is, if announced
}

// nodeCall is a call this node sent the leader: what re-announces it.
type nodeCall struct {
	req    acd.CallRequest // Data is this node's own (the record's)
	caller string          // handle
	// queued, prio and fronted are what the leader last said of the
	// waiting call (CallQueued), a supervisor's changes included: a new
	// leader gets them back. prioSet: prio was said.
	queued, fronted time.Time
	prio            int
	prioSet         bool
	epoch           uint64 // the epoch it was last announced under
	// agent and answered are set when a bridge to an agent starts here,
	// ended when the caller's leg ends: what the node records itself for
	// a call that ended while no leader could (a takeover).
	agent           acd.AgentID
	answered, ended time.Time
	// called is set once a callback's customer was dialled from here:
	// caller is then the customer's leg, and the callback no longer
	// waits (a new leader must not call them again).
	called bool
}

type nodeOp struct {
	call   acd.CallID
	epoch  uint64
	cancel context.CancelFunc
	accept chan struct{} // ring: closed on the desk's accept
	once   sync.Once
}

type nodeBridge struct {
	agent   string // handle
	agentID acd.AgentID
	since   time.Time
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
}

// NewNode subscribes to the node's subject and starts the heartbeat.
func NewNode(nc *nats.Conn, opts NodeOptions) (*Node, error) {
	if opts.Node == "" || opts.Local == nil {
		return nil, errors.New("acdnats: a node needs an id and its telephony")
	}
	if opts.Prefix == "" {
		opts.Prefix = "switchboard"
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 500 * time.Millisecond
	}
	if opts.LeaderWait <= 0 {
		opts.LeaderWait = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	n := &Node{nc: nc, opts: opts, log: log.With("node", opts.Node), up: leaderSubject(opts.Prefix), ctx: ctx, stop: stop,
		done: make(chan struct{}), legs: map[string]*nodeLeg{}, calls: map[acd.CallID]*nodeCall{}, placed: map[acd.CallID]bool{}, ops: map[string]*nodeOp{},
		bridges: map[string]*nodeBridge{}, expects: map[string]string{}, feeds: map[*Feed]struct{}{}}
	sub, err := nc.Subscribe(nodeSubject(opts.Prefix, opts.Node), n.handle)
	if err != nil {
		stop()
		return nil, err
	}
	// The leader's announcements share the node's ordered handler.
	ann, err := nc.Subscribe(announceSubject(opts.Prefix), n.handle)
	if err != nil {
		_ = sub.Unsubscribe()
		stop()
		return nil, err
	}
	n.sub = sub
	inst := newHandle() // tells the leader this process from an earlier one of the node
	go func() {
		defer close(n.done)
		t := time.NewTicker(opts.Heartbeat)
		defer t.Stop()
		for {
			n.send(msg{Kind: kindHello, SIP: opts.SIP, Op: inst})
			select {
			case <-ctx.Done():
				_ = ann.Unsubscribe()
				return
			case <-t.C:
			}
		}
	}()
	return n, nil
}

// Close stops the node's link: no command is taken after it returns.
// Legs and bridges in progress are left to the gateway's shutdown.
func (n *Node) Close() {
	n.stop()
	<-n.done
	_ = n.sub.Unsubscribe()
	n.mu.Lock()
	for f := range n.feeds {
		f.end()
	}
	n.mu.Unlock()
}

// send publishes m to the leader, stamped with this node's id.
func (n *Node) send(m msg) {
	m.Node = n.opts.Node
	b, err := json.Marshal(m)
	if err == nil {
		err = n.nc.Publish(n.up, b)
	}
	if err != nil {
		n.log.Warn("acdnats: sending to the leader", "kind", m.Kind, "err", err)
	}
}

// request sends m to the leader and waits for its reply, retrying while no
// leader answers (a takeover) until ctx ends or LeaderWait passed.
// retried reports whether an earlier attempt may have reached the leader.
func (n *Node) request(ctx context.Context, m msg) (reply msg, retried bool, err error) {
	m.Node = n.opts.Node
	b, err := json.Marshal(m)
	if err != nil {
		return msg{}, false, err
	}
	deadline := time.Now().Add(n.opts.LeaderWait)
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		r, err := n.nc.RequestWithContext(rctx, n.up, b)
		cancel()
		if err == nil {
			if err := json.Unmarshal(r.Data, &reply); err != nil {
				return msg{}, attempt > 0, fmt.Errorf("acdnats: leader's reply: %w", err)
			}
			n.observe(reply.Epoch, reply.Node)
			return reply, attempt > 0, reply.Err.err()
		}
		if ctx.Err() != nil {
			return msg{}, attempt > 0, ctx.Err()
		}
		if time.Now().After(deadline) || n.ctx.Err() != nil {
			return msg{}, attempt > 0, fmt.Errorf("%w: %w", ErrNoLeader, err)
		}
		select {
		case <-ctx.Done():
			return msg{}, true, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// newHandle returns a random id for a leg or an operation.
func newHandle() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// register keeps leg under a new handle until it ends, and tells the
// leader when it does.
func (n *Node) register(leg acd.Leg, agent acd.AgentID) string {
	h := newHandle()
	n.mu.Lock()
	n.legs[h] = &nodeLeg{leg: leg, agent: agent}
	n.mu.Unlock()
	context.AfterFunc(leg.Context(), func() {
		n.mu.Lock()
		delete(n.legs, h)
		n.mu.Unlock()
		n.send(msg{Kind: kindGone, Leg: h})
	})
	return h
}

func (n *Node) leg(h string) *nodeLeg {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.legs[h]
}

// Enqueue sends a call that finished the IVR on this node to the leader's
// queue; leg is the caller's leg, which stays here. A callback owed to a
// customer no longer on the line (req.Callback and req.ID set) has no
// leg: the node keeps it and re-announces it to a new leader as a
// virtual caller. It waits for a leader across a takeover
// (NodeOptions.LeaderWait).
func (n *Node) Enqueue(ctx context.Context, req acd.CallRequest, leg acd.Leg) (acd.CallID, error) {
	if leg == nil && (req.Callback == "" || req.ID == "") {
		return "", fmt.Errorf("%w: nil leg", acd.ErrInvalidArgument)
	}
	if req.ID == "" {
		req.ID = acd.CallID(leg.ID())
	}
	n.mu.Lock()
	if _, dup := n.calls[req.ID]; dup {
		n.mu.Unlock()
		return "", fmt.Errorf("%w: call %q", acd.ErrDuplicate, req.ID)
	}
	n.mu.Unlock()
	c := &nodeCall{req: req, queued: time.Now()}
	if leg != nil {
		c.caller = n.register(leg, "")
	}
	n.mu.Lock()
	n.calls[req.ID] = c
	if l := n.legs[c.caller]; l != nil {
		l.call = req.ID
	}
	n.mu.Unlock()
	if leg != nil {
		context.AfterFunc(leg.Context(), func() {
			n.mu.Lock()
			c.ended = time.Now()
			n.mu.Unlock()
		})
	}
	err := n.announce(ctx, c, leg)
	if err != nil {
		n.mu.Lock()
		delete(n.calls, req.ID)
		n.mu.Unlock()
		return "", err
	}
	return req.ID, nil
}

// announce sends c to the leader: waiting (Enqueue; when re-announced,
// with its queue time, its whole priority and when it was moved to the
// front, as the earlier leader had them), or connected to an agent
// through a bridge running here (the engine adopts it).
func (n *Node) announce(ctx context.Context, c *nodeCall, leg acd.Leg) error {
	n.mu.Lock()
	req := c.req
	reannounced := c.epoch != 0
	if reannounced {
		req.Queued, req.Fronted = c.queued, c.fronted
		if c.prioSet {
			req.Priority, req.WholePriority = c.prio, true
		}
	}
	b := n.bridges[c.caller]
	n.mu.Unlock()
	data, err := json.Marshal(req.Data)
	if err != nil {
		return fmt.Errorf("acdnats: call data: %w", err)
	}
	req.Data = nil
	m := msg{Kind: kindEnqueue, Request: &req, Data: data, Leg: c.caller}
	if leg != nil {
		m.LegID = leg.ID()
	}
	if b != nil {
		m.Kind, m.Agent, m.Peer, m.Answered = kindAdopt, b.agentID, b.agent, b.since
		if al := n.leg(b.agent); al != nil {
			m.PeerID = al.leg.ID()
		}
	}
	reply, retried, err := n.request(ctx, m)
	if (retried || reannounced) && errors.Is(err, acd.ErrDuplicate) {
		err = nil // an earlier attempt got through
	}
	if err == nil {
		n.mu.Lock()
		c.epoch = max(c.epoch, reply.Epoch)
		n.mu.Unlock()
	}
	return err
}

// keepAlone looks after a call the new leader would not take: a call
// bridged to its agent goes on here, and when the bridge ends the node
// completes its record itself (answered by that agent); a waiting one is
// hung up and recorded as failed. Either way it keeps its one record.
func (n *Node) keepAlone(c *nodeCall) {
	n.mu.Lock()
	b := n.bridges[c.caller]
	l := n.legs[c.caller]
	delete(n.calls, c.req.ID)
	n.mu.Unlock()
	go func() {
		if b != nil {
			<-b.done
		} else if l != nil {
			_ = l.leg.Hangup(n.ctx)
		}
		n.mu.Lock()
		if c.ended.IsZero() {
			c.ended = time.Now()
		}
		it := n.ownRecord(c)
		n.mu.Unlock()
		n.complete(it)
	}()
}

// ownRecord is the node's own summary of a call no leader will complete:
// answered by the agent its bridge here connected, or abandoned (a
// caller who waited), or failed (hung up here). n.mu is held.
func (n *Node) ownRecord(c *nodeCall) acd.Interaction {
	it := acd.Interaction{CallID: c.req.ID, Channel: acd.ChannelVoice, Direction: acd.Inbound, Queue: c.req.Queue,
		ANI: c.req.ANI, E164: c.req.Caller.E164, Arrived: c.req.Arrived, Queued: c.queued, Data: c.req.Data,
		Ended: c.ended, Completed: time.Now(), Outcome: acd.OutcomeAbandoned}
	if it.Ended.IsZero() {
		it.Ended, it.Outcome = it.Completed, acd.OutcomeFailed
	}
	if c.agent != "" {
		it.Agent, it.Answered, it.Outcome = c.agent, c.answered, acd.OutcomeAnswered
		it.Wait, it.Talk = c.answered.Sub(c.queued), it.Ended.Sub(c.answered)
	} else {
		it.Wait = it.Ended.Sub(c.queued)
	}
	return it
}

// complete hands a record the node made itself to its journey.
func (n *Node) complete(it acd.Interaction) {
	n.mu.Lock()
	feeds := make([]*Feed, 0, len(n.feeds))
	for f := range n.feeds {
		feeds = append(feeds, f)
	}
	n.mu.Unlock()
	for _, f := range feeds {
		f.push(&acd.InteractionCompleted{Interaction: it})
	}
}

// Transfer asks the leader for agent's blind transfer (a REFER from the
// agent's phone on this node).
func (n *Node) Transfer(ctx context.Context, agent acd.AgentID, to acd.TransferTarget) error {
	_, _, err := n.request(ctx, msg{Kind: kindTransfer, Agent: agent, Target: &to})
	return err
}

// observe notes a leader epoch; it reports false for an old leader's
// message. A new leader makes the node re-announce its calls.
func (n *Node) observe(epoch uint64, leader string) bool {
	if epoch == 0 {
		return true
	}
	n.mu.Lock()
	switch {
	case epoch < n.epoch:
		n.mu.Unlock()
		return false
	case epoch == n.epoch:
		if leader != "" {
			n.leader = leader
		}
		n.mu.Unlock()
		return true
	}
	n.epoch = epoch
	if leader != "" {
		n.leader = leader
	}
	n.mu.Unlock()
	n.log.Info("acdnats: leader", "epoch", epoch, "leader", leader)
	go n.reannounce(epoch)
	return true
}

// reannounce sends a new leader every call announced under an earlier
// one whose caller is still here. Rings of the old leader still
// ringing are withdrawn first: the new leader offers the call again.
func (n *Node) reannounce(epoch uint64) {
	n.mu.Lock()
	var calls []*nodeCall
	var ended []*nodeCall
	for id, c := range n.calls {
		if c.epoch == 0 || c.epoch >= epoch {
			// Announced under this leader, or its first announcement is
			// still on its way (and goes to the leader that answers).
			continue
		}
		if n.virtual(c) {
			// A callback waiting for an agent: its caller left the line
			// (or never was on it); it waits under the new leader.
			calls = append(calls, c)
			continue
		}
		if l := n.legs[c.caller]; l == nil || l.leg.Context().Err() != nil {
			// It ended under the old leader, whose record of it (after
			// the agent's wrap-up) died with it: recorded here.
			delete(n.calls, id)
			ended = append(ended, c)
			continue
		}
		calls = append(calls, c)
	}
	for _, op := range n.ops {
		if op.epoch < epoch && op.accept != nil {
			op.cancel()
		}
	}
	n.mu.Unlock()
	for _, c := range ended {
		n.mu.Lock()
		it := n.ownRecord(c)
		n.mu.Unlock()
		n.complete(it)
	}
	// Connected calls first: their agents are the ones a new leader must
	// not offer anything else. Each call's announcement waits for the
	// leader's reply, so several go at once.
	connected, waiting := calls[:0:0], calls[:0:0]
	for _, c := range calls {
		if n.bridged(c) {
			connected = append(connected, c)
		} else {
			waiting = append(waiting, c)
		}
	}
	var wg sync.WaitGroup
	next := make(chan *nodeCall)
	for range min(len(calls), reannounceAtOnce) {
		wg.Go(func() {
			for c := range next {
				n.reannounceCall(c, epoch)
			}
		})
	}
	for _, c := range append(connected, waiting...) {
		next <- c
	}
	close(next)
	wg.Wait()
	n.send(msg{Kind: kindSettled, Epoch: epoch})
}

// reannounceAtOnce bounds the announcements a node has in flight to a new
// leader.
const reannounceAtOnce = 8

// bridged reports whether c's caller is bridged to an agent here.
func (n *Node) bridged(c *nodeCall) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.bridges[c.caller] != nil
}

// virtual reports whether c is a callback waiting as a virtual caller:
// the engine released its caller's leg, if it had one, and its customer
// was not dialled yet. n.mu is held.
func (n *Node) virtual(c *nodeCall) bool {
	return c.req.Callback != "" && !c.called
}

// reannounceCall sends the leader of epoch the call c, or keeps it here
// when that leader will not take it.
func (n *Node) reannounceCall(c *nodeCall, epoch uint64) {
	n.mu.Lock()
	virtual := n.virtual(c)
	n.mu.Unlock()
	if virtual {
		if err := n.announce(n.ctx, c, nil); err != nil {
			n.log.Warn("acdnats: callback not re-announced to the new leader", "call_id", c.req.ID, "err", err)
			n.keepAlone(c)
		}
		return
	}
	l := n.leg(c.caller)
	if l == nil {
		// The caller hung up since the new leader appeared: recorded here,
		// as the calls that ended before it.
		n.mu.Lock()
		_, mine := n.calls[c.req.ID]
		delete(n.calls, c.req.ID)
		it := n.ownRecord(c)
		n.mu.Unlock()
		if mine {
			n.complete(it)
		}
		return
	}
	if err := n.announce(l.leg.Context(), c, l.leg); err != nil {
		n.log.Warn("acdnats: call not re-announced to the new leader", "call_id", c.req.ID, "err", err)
		n.keepAlone(c)
		return
	}
	n.log.Info("acdnats: call re-announced", "call_id", c.req.ID, "epoch", epoch)
}

// handle takes the leader's messages to this node, in order.
func (n *Node) handle(nm *nats.Msg) {
	var m msg
	if err := json.Unmarshal(nm.Data, &m); err != nil {
		n.log.Warn("acdnats: bad message from the leader", "err", err)
		return
	}
	if m.Kind == kindLeader {
		n.observe(m.Epoch, m.Node)
		return
	}
	if !n.observe(m.Epoch, "") {
		n.log.Info("acdnats: ignored a command of an old leader", "kind", m.Kind, "epoch", m.Epoch)
		if nm.Reply != "" {
			_ = nm.Respond(mustJSON(msg{Kind: kindResult, Err: toWire(errors.New("old leader"))}))
		}
		return
	}
	switch m.Kind {
	case kindRing:
		n.ring(m)
	case kindAccept:
		n.mu.Lock()
		op := n.ops[m.Op]
		n.mu.Unlock()
		if op != nil && op.accept != nil {
			op.once.Do(func() { close(op.accept) })
		}
	case kindCancel:
		n.mu.Lock()
		op := n.ops[m.Op]
		n.mu.Unlock()
		if op != nil {
			op.cancel()
		}
	case kindBridge:
		n.bridge(m)
	case kindExpect:
		n.mu.Lock()
		n.expects[m.Token] = m.Peer
		n.mu.Unlock()
		_ = nm.Respond(mustJSON(msg{Kind: kindResult, OK: true}))
	case kindRelay:
		n.relay(m)
	case kindConf:
		n.conference(m)
	case kindMonitor:
		n.monitor(m, nm)
	case kindUnmon:
		n.stopMonitor(m, nm)
	case kindDial:
		n.dial(m)
	case kindMail:
		n.voicemail(m)
	case kindHangup:
		if l := n.leg(m.Leg); l != nil {
			go func() { _ = l.leg.Hangup(n.ctx) }()
		}
	case kindHold:
		var err error = fmt.Errorf("%w: leg gone", acd.ErrUnknownCall)
		if l := n.leg(m.Leg); l != nil {
			err = acd.ErrNotSupported
			if h, ok := l.leg.(acd.Holder); ok {
				err = h.Hold(n.ctx, m.On)
			}
		}
		_ = nm.Respond(mustJSON(msg{Kind: kindResult, Err: toWire(err)}))
	case kindAfter:
		// The caller is this node's to finish: the survey, or a hang-up.
		if l := n.leg(m.Leg); l != nil && m.Call != nil {
			if n.opts.AfterCall == nil || !n.opts.AfterCall(m.Call.ID, l.leg) {
				go func() { _ = l.leg.Hangup(n.ctx) }()
			}
		}
	case kindAttach:
		if n.opts.AttachTicket != nil {
			n.opts.AttachTicket(string(m.Call.ID), m.Text)
		}
		_ = nm.Respond(mustJSON(msg{Kind: kindResult, OK: true}))
	case kindEvent:
		n.event(m)
	case kindNodeLost:
		n.log.Error("acdnats: the leader took this node for lost; its calls were ended there")
	}
}

func mustJSON(m msg) []byte {
	b, _ := json.Marshal(m)
	return b
}

// startOp registers an operation the leader may cancel.
func (n *Node) startOp(id string, call acd.CallID, epoch uint64, accept bool) (context.Context, *nodeOp) {
	ctx, cancel := context.WithCancel(n.ctx)
	op := &nodeOp{call: call, epoch: epoch, cancel: cancel}
	if accept {
		op.accept = make(chan struct{})
	}
	n.mu.Lock()
	n.ops[id] = op
	n.mu.Unlock()
	return ctx, op
}

func (n *Node) endOp(id string) {
	n.mu.Lock()
	if op := n.ops[id]; op != nil {
		op.cancel()
		delete(n.ops, id)
	}
	n.mu.Unlock()
}

// result answers a long operation.
func (n *Node) result(op string, epoch uint64, leg acd.Leg, agent acd.AgentID, text string, err error) {
	r := msg{Kind: kindResult, Op: op, Epoch: epoch, Err: toWire(err), Text: text}
	if err == nil && leg != nil {
		r.Leg, r.LegID = n.register(leg, agent), leg.ID()
	}
	n.send(r)
}

func (n *Node) ring(m msg) {
	if m.Call == nil {
		return
	}
	ctx, op := n.startOp(m.Op, m.Call.ID, m.Epoch, true)
	o := acd.Offer{Call: *m.Call, Agent: m.Agent, Endpoint: m.Endpoint}
	if m.HasAccept {
		o.Accept = op.accept
	}
	go func() {
		leg, err := n.opts.Local.Ring(ctx, o)
		if err == nil && ctx.Err() != nil { // withdrawn as it answered
			_ = leg.Hangup(context.WithoutCancel(ctx))
			leg, err = nil, ctx.Err()
		}
		if err == nil {
			// Answered: what the node records itself if no leader can
			// (a bridge that starts later says the same).
			n.mu.Lock()
			if c := n.calls[m.Call.ID]; c != nil {
				c.agent, c.answered = m.Agent, time.Now()
			}
			n.mu.Unlock()
		}
		n.endOp(m.Op)
		n.result(m.Op, m.Epoch, leg, m.Agent, "", err)
	}()
}

func (n *Node) dial(m msg) {
	if m.Call == nil {
		return
	}
	ctx, _ := n.startOp(m.Op, m.Call.ID, m.Epoch, false)
	n.mu.Lock()
	if _, ok := n.calls[m.Call.ID]; !ok {
		n.placed[m.Call.ID] = true // an outbound call: this node records it
	}
	n.mu.Unlock()
	go func() {
		leg, err := n.opts.Local.Dial(ctx, m.Number, *m.Call)
		if err == nil && ctx.Err() != nil {
			_ = leg.Hangup(context.WithoutCancel(ctx))
			leg, err = nil, ctx.Err()
		}
		n.endOp(m.Op)
		if err != nil {
			n.result(m.Op, m.Epoch, nil, "", "", err)
			return
		}
		h := n.register(leg, "")
		n.mu.Lock()
		if c := n.calls[m.Call.ID]; c != nil && c.req.Callback != "" {
			// A callback's customer answered: from now on the call is
			// theirs, recorded here if no leader can (as a caller's).
			c.caller, c.called, c.ended = h, true, time.Time{}
			if l := n.legs[h]; l != nil {
				l.call = c.req.ID
			}
			context.AfterFunc(leg.Context(), func() {
				n.mu.Lock()
				c.ended = time.Now()
				n.mu.Unlock()
			})
		}
		n.mu.Unlock()
		n.send(msg{Kind: kindResult, Op: m.Op, Epoch: m.Epoch, Leg: h, LegID: leg.ID()})
	}()
}

func (n *Node) voicemail(m msg) {
	l := n.leg(m.Leg)
	if l == nil || m.Call == nil {
		n.result(m.Op, m.Epoch, nil, "", "", fmt.Errorf("%w: caller leg gone", acd.ErrUnknownCall))
		return
	}
	ctx, _ := n.startOp(m.Op, m.Call.ID, m.Epoch, false)
	go func() {
		file, err := n.opts.Local.TakeVoicemail(ctx, l.leg, *m.Call)
		n.endOp(m.Op)
		n.result(m.Op, m.Epoch, nil, "", file, err)
	}()
}

// bridge relays a caller and an agent leg both held here. A bridge
// already running between them (a call adopted by a new leader) is
// joined rather than started twice; a bridge outlives the leader that
// asked for it, and ends with a leg or a cancel.
func (n *Node) bridge(m msg) {
	caller, agent := n.leg(m.Leg), n.leg(m.Peer)
	if caller == nil || agent == nil {
		n.result(m.Op, m.Epoch, nil, "", "", fmt.Errorf("%w: leg gone", acd.ErrUnknownCall))
		return
	}
	b := n.startBridge(m.Leg, m.Peer, agent.agent, func(ctx context.Context) error {
		return n.opts.Local.Bridge(ctx, caller.leg, agent.leg)
	})
	n.await(m, b)
}

// startBridge runs run as the bridge of caller handle h unless one runs.
func (n *Node) startBridge(h, agentHandle string, agentID acd.AgentID, run func(context.Context) error) *nodeBridge {
	n.mu.Lock()
	defer n.mu.Unlock()
	if b := n.bridges[h]; b != nil {
		return b
	}
	ctx, cancel := context.WithCancel(n.ctx)
	b := &nodeBridge{agent: agentHandle, agentID: agentID, since: time.Now(), cancel: cancel, done: make(chan struct{})}
	n.bridges[h] = b
	if l := n.legs[h]; l != nil && l.call != "" && agentID != "" {
		if c := n.calls[l.call]; c != nil {
			c.agent, c.answered = agentID, b.since
		}
	}
	go func() {
		b.err = run(ctx)
		cancel()
		n.mu.Lock()
		delete(n.bridges, h)
		n.mu.Unlock()
		close(b.done)
	}()
	return b
}

// await answers the leader's bridge operation m when bridge b ends; the
// leader's cancel ends b.
func (n *Node) await(m msg, b *nodeBridge) {
	ctx, _ := n.startOp(m.Op, "", m.Epoch, false)
	go func() {
		select {
		case <-b.done:
		case <-ctx.Done():
			if n.ctx.Err() != nil {
				return // the node is closing: its bridges are the gateway's to end
			}
			b.cancel()
			<-b.done
		}
		n.endOp(m.Op)
		n.result(m.Op, m.Epoch, nil, "", "", b.err)
	}()
}

// relay bridges a caller held here to an agent's leg on another node: it
// calls that node's SIP address for the relay token the other node
// expects, and bridges the caller to that leg.
func (n *Node) relay(m msg) {
	caller := n.leg(m.Leg)
	if caller == nil || m.Call == nil {
		n.result(m.Op, m.Epoch, nil, "", "", fmt.Errorf("%w: caller leg gone", acd.ErrUnknownCall))
		return
	}
	call := *m.Call
	b := n.startBridge(m.Leg, "", m.Agent, func(ctx context.Context) error {
		out, err := n.opts.Local.Dial(ctx, "sip:"+RelayPrefix+m.Token+"@"+m.Number, call)
		if err != nil {
			return fmt.Errorf("acdnats: relay to %s: %w", m.Number, err)
		}
		defer func() { _ = out.Hangup(context.WithoutCancel(ctx)) }()
		return n.opts.Local.Bridge(ctx, caller.leg, out)
	})
	n.await(m, b)
}

// conference mixes legs held here (Local must be an acd.Conferencer)
// until a leg ends or the leader cancels it.
func (n *Node) conference(m msg) {
	conf, ok := n.opts.Local.(acd.Conferencer)
	if !ok {
		n.result(m.Op, m.Epoch, nil, "", "", fmt.Errorf("%w: no mixer on node %s", acd.ErrNotSupported, n.opts.Node))
		return
	}
	legs := make([]acd.Leg, 0, len(m.Legs))
	for _, h := range m.Legs {
		l := n.leg(h)
		if l == nil {
			n.result(m.Op, m.Epoch, nil, "", "", fmt.Errorf("%w: conference leg gone", acd.ErrUnknownCall))
			return
		}
		legs = append(legs, l.leg)
	}
	ctx, _ := n.startOp(m.Op, "", m.Epoch, false)
	go func() {
		err := conf.Conference(ctx, legs)
		n.endOp(m.Op)
		n.result(m.Op, m.Epoch, nil, "", "", err)
	}()
}

// RelayPrefix starts the user part of the SIP request a node sends
// another to carry a call's audio to an agent's leg there.
const RelayPrefix = "relay-"

// Relay takes an incoming relay leg (a SIP call from another node to
// RelayPrefix+token): it reports false for a token nobody expects, and
// otherwise bridges the leg to the agent's leg that waits for it until
// either ends, then hangs the relay leg up.
func (n *Node) Relay(token string, leg acd.Leg) bool {
	if n.monitorRelay(token, leg) {
		return true
	}
	n.mu.Lock()
	h, ok := n.expects[token]
	delete(n.expects, token)
	agent := n.legs[h]
	n.mu.Unlock()
	if !ok || agent == nil {
		return false
	}
	go func() {
		defer func() { _ = leg.Hangup(context.WithoutCancel(n.ctx)) }()
		b := n.startBridge(h, h, agent.agent, func(ctx context.Context) error {
			return n.opts.Local.Bridge(ctx, leg, agent.leg)
		})
		<-b.done
	}()
	return true
}

// Expects reports whether a relay token is awaited here.
func (n *Node) Expects(token string) bool {
	if n.expectsMonitor(token) {
		return true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.expects[token]
	return ok
}

// event hands a forwarded engine event to the node's journey.
func (n *Node) event(m msg) {
	ev, err := decodeEvent(m.EventType, m.Event)
	if err != nil {
		n.log.Warn("acdnats: event", "err", err)
		return
	}
	n.mu.Lock()
	switch e := ev.(type) {
	case *acd.CallQueued:
		if c := n.calls[e.Call.ID]; c != nil {
			c.queued, c.fronted = e.Call.Queued, e.Call.Fronted
			c.prio, c.prioSet = e.Call.Priority, true
		}
	case *acd.InteractionCompleted:
		id := e.Interaction.CallID
		c, placed := n.calls[id], n.placed[id]
		if !e.Interaction.Continued {
			// The call's end; an agent's part before it (a transfer, a
			// conference they left) leaves the call here.
			delete(n.calls, id)
			delete(n.placed, id)
		}
		if c == nil && !placed {
			// Not this process's call (the node started again since):
			// its record was closed at start.
			n.mu.Unlock()
			n.log.Warn("acdnats: completed call unknown here; not recorded again", "call_id", id)
			return
		}
		if c != nil {
			e.Interaction.Data = c.req.Data
		}
	}
	feeds := make([]*Feed, 0, len(n.feeds))
	for f := range n.feeds {
		feeds = append(feeds, f)
	}
	n.mu.Unlock()
	for _, f := range feeds {
		f.push(ev)
	}
}

// Follow returns a feed of the engine's events about this node's calls
// (queued, position, offered, answered, ended, and every completed
// interaction, its data the node's own), for the node's journey.
func (n *Node) Follow() *Feed {
	f := &Feed{n: n, ready: make(chan struct{}, 1)}
	n.mu.Lock()
	n.feeds[f] = struct{}{}
	n.mu.Unlock()
	return f
}
