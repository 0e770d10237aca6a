package agentdesk

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"switchboard/crmcore"
)

// WebSocket close codes the hub uses besides the RFC 6455 ones. A client
// that sees closeResync reconnects and redraws from the snapshot.
const (
	closeGoingAway       = websocket.CloseGoingAway
	closeResync          = 4001 // send buffer full: reconnect and resync
	closeReplaced        = 4002 // the same agent connected again elsewhere
	closeRoleChanged     = 4003 // the agent's role changed: reconnect
	closeUnauthenticated = 4401 // bad token, no login in time, or the session ended
)

// outMsg is one encoded outbound message.
type outMsg struct {
	typ     string
	b       []byte
	decided time.Time // screen pops: when the engine chose the agent
	direct  bool      // enqueue may write it itself (see enqueue)
}

// client is one CTI connection. The reader goroutine (readLoop) decodes and
// executes commands; the writer goroutine (writeLoop) writes the queue, and
// enqueue writes an agent event (a screen pop) itself when it can (both
// under wmu). done is closed once by kill.
//
// The outbound queue is a slice that grows with what is pending, not a
// channel of Config.SendBuffer messages per connection: idle connections
// then hold no buffer of pointers for the garbage collector to scan at
// every cycle, and each mark phase delays the screen pops.
type client struct {
	h    *Hub
	conn *websocket.Conn
	id   Identity
	connAuth
	state   connState // owned by the reader goroutine; see connstate.go
	desktop bool      // false: a wallboard connection (no presence binding)
	source  string    // the peer's IP address, for the login throttle
	done    chan struct{}
	once    sync.Once
	closeC  int
	closeR  string

	qmu   sync.Mutex
	queue []outMsg      // pending messages, at most Config.SendBuffer
	spare []outMsg      // the writer's last batch, emptied, for reuse
	wake  chan struct{} // capacity 1: the queue has something for the writer

	// wmu is held by whoever writes data frames: the writer goroutine for
	// a batch it took from the queue (taken under wmu, so that nothing
	// overtakes it), or enqueue writing an agent event itself.
	wmu sync.Mutex

	// Owned by the hub (under its mutex).
	registered bool
	resumed    bool

	// Owned by the reader goroutine.
	tokens float64
	last   time.Time
}

func (c *client) supervisor() bool {
	return c.id.Role == crmcore.RoleSupervisor || c.id.Role == crmcore.RoleAdmin
}

// kill closes the connection once, telling the peer why.
func (c *client) kill(code int, reason string) {
	c.once.Do(func() {
		c.closeC, c.closeR = code, reason
		close(c.done)
	})
}

// enqueue queues m without blocking; a full buffer drops the client, which
// is told to resync. It reports whether m was queued (or sent).
//
// An agent event from the hub (m.direct: a screen pop, the state change
// before it) is written at once by the caller — the goroutine applying the
// engine's events, the engine's own with the ACD adapter — when nothing is
// queued before it and the writer is idle: under load, waking the writer
// goroutine cost up to tens of milliseconds of run-queue wait, and the pop
// is what an agent waits for. The
// write does not wait for a full socket: directWriteWait bounds it, and a
// connection that cannot take a few hundred bytes at once has stopped
// reading; it is dropped and reconnects, as when its queue is full.
// Supervisor deltas stay queued: the hub does not write a wallboard's
// hundreds of messages itself.
func (c *client) enqueue(m outMsg) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	c.qmu.Lock()
	if m.direct && len(c.queue) == 0 && c.wmu.TryLock() {
		c.qmu.Unlock()
		err := c.write(m, directWriteWait)
		c.wmu.Unlock()
		if err != nil {
			c.kill(websocket.CloseAbnormalClosure, "")
			return false
		}
		return true
	}
	if len(c.queue) >= c.h.cfg.SendBuffer {
		c.qmu.Unlock()
		c.h.m.dropped.Inc()
		c.h.log.Warn("agentdesk: slow client dropped", "agent_id", c.id.AgentID)
		c.kill(closeResync, "send buffer full: reconnect and resync")
		return false
	}
	c.queue = append(c.queue, m)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // the writer is already due to look
	}
	return true
}

// take hands the writer everything queued; it gives the batch back with
// giveBack once written.
func (c *client) take() []outMsg {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	b := c.queue
	c.queue, c.spare = c.spare, nil
	return b
}

// directWriteWait bounds a write by enqueue: a socket with room takes the
// message at once, and one without is a client that stopped reading.
const directWriteWait = 20 * time.Millisecond

// write sends one data frame; c.wmu is held.
func (c *client) write(m outMsg, wait time.Duration) error {
	c.conn.SetWriteDeadline(time.Now().Add(wait))
	if err := c.conn.WriteMessage(websocket.TextMessage, m.b); err != nil {
		return err
	}
	c.h.m.msgsOut.WithLabelValues(m.typ).Inc()
	if !m.decided.IsZero() {
		c.h.m.popLatency.Observe(time.Since(m.decided).Seconds())
	}
	return nil
}

// writeBatch takes what is queued and writes it, holding c.wmu.
func (c *client) writeBatch() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := c.take()
	defer c.giveBack(b)
	for _, m := range b {
		if err := c.write(m, c.h.cfg.WriteWait); err != nil {
			return err
		}
	}
	return nil
}

func (c *client) giveBack(b []outMsg) {
	clear(b) // let the written messages go
	c.qmu.Lock()
	switch {
	case c.queue == nil:
		c.queue = b[:0]
	case c.spare == nil:
		c.spare = b[:0]
	}
	c.qmu.Unlock()
}

func (c *client) sendEvent(typ, id string, data any) bool { return c.send(typ, id, data, false) }

// sendDesk sends an agent event from the hub to the agent's desktop; like
// a screen pop, it is written at once when the connection is idle (the
// "reserved" state change that precedes a pop would otherwise queue the pop
// behind it).
func (c *client) sendDesk(typ string, data any) bool { return c.send(typ, "", data, true) }

func (c *client) send(typ, id string, data any, direct bool) bool {
	b, err := encode(typ, id, data)
	if err != nil {
		c.h.log.Error("agentdesk: encode event", "type", typ, "err", err)
		return false
	}
	return c.enqueue(outMsg{typ: typ, b: b, direct: direct})
}

func (c *client) replyOK(id string, data any) { c.sendEvent(EvOK, id, data) }

func (c *client) replyErr(id string, e ErrorData) { c.sendEvent(EvError, id, e) }

// checkOrigin allows requests without Origin (non-browser clients), from
// the server's own host, or from a configured origin.
func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range h.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

func (c *client) writeLoop() {
	h := c.h
	ping := time.NewTicker(h.cfg.PingInterval)
	check := time.NewTicker(h.cfg.SessionCheck)
	defer func() {
		ping.Stop()
		check.Stop()
		c.conn.Close()
	}()
	for {
		select {
		case <-c.wake:
			if err := c.writeBatch(); err != nil {
				c.kill(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.cfg.WriteWait)); err != nil {
				c.kill(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-check.C:
			h.background(c.recheck)
		case <-c.done:
			// Flush what is queued (replies before a close), then say goodbye.
			if c.closeC != closeResync && c.writeBatch() != nil {
				return
			}
			if c.closeC != websocket.CloseAbnormalClosure {
				msg := websocket.FormatCloseMessage(c.closeC, c.closeR)
				c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			}
			return
		}
	}
}

// allow is the per-connection token bucket.
func (c *client) allow() bool {
	now := time.Now()
	c.tokens += now.Sub(c.last).Seconds() * c.h.cfg.RatePerSecond
	c.last = now
	if max := float64(c.h.cfg.RateBurst); c.tokens > max {
		c.tokens = max
	}
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

func (c *client) readLoop(token string) {
	h := c.h
	defer func() {
		c.kill(websocket.CloseNormalClosure, "")
		wasOpen := c.state == connOpen
		c.setState(connClosed)
		if wasOpen {
			select {
			case h.unregister <- c:
			case <-h.done:
			}
		}
	}()
	pongWait := h.cfg.PingInterval * 5 / 2
	c.conn.SetReadLimit(h.cfg.HardMaxMessage)
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		c.conn.SetReadDeadline(time.Now().Add(pongWait))
		return nil
	})

	if !c.authenticate(token) {
		return
	}
	for {
		cmd, err := c.readCommand()
		if err != nil {
			return
		}
		c.execute(cmd)
	}
}

// readCommand reads messages until one is a valid command, answering the
// others (rate limited, malformed) with errors; it returns the read error
// that ends the connection.
func (c *client) readCommand() (Command, error) {
	h := c.h
	for {
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			return Command{}, err
		}
		c.conn.SetReadDeadline(time.Now().Add(h.cfg.PingInterval * 5 / 2))
		if !c.allow() {
			h.m.msgsIn.WithLabelValues("rate_limited").Inc()
			c.replyErr(sniffID(b), ErrorData{Code: CodeRateLimited, Message: "too many messages; slow down"})
			continue
		}
		cmd, perr := DecodeCommand(b, h.cfg.MaxMessage)
		if perr != nil {
			h.m.msgsIn.WithLabelValues("invalid").Inc()
			c.replyErr(perr.ID, perr.ErrorData)
			continue
		}
		h.m.msgsIn.WithLabelValues(typeLabel(cmd.Type)).Inc()
		return cmd, nil
	}
}

// setState moves the connection's state machine; a refused edge is a bug,
// logged and ignored.
func (c *client) setState(next connState) {
	if err := c.state.To(next); err != nil {
		if c.state != next {
			c.h.log.Error("agentdesk: connection state", "agent_id", c.id.AgentID, "err", err)
		}
		return
	}
	c.state = next
}

// execute runs one authenticated command and sends its reply.
func (c *client) execute(cmd Command) {
	h := c.h
	select {
	case <-c.done:
		return // closing (its session may have ended): act on nothing more
	default:
	}
	if SupervisorOnly(cmd.Type) && !c.checkRole(cmd) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.CommandTimeout)
	defer cancel()
	agent := c.id.AgentID
	var err error
	var data any
	switch cmd.Type {
	case CmdLogin, CmdAuth:
		err = &ProtocolError{ErrorData: ErrorData{Code: CodeInvalidState, Field: "type", Message: "already authenticated"}}
	case CmdPing:
		data = map[string]string{"server_time": time.Now().UTC().Format(time.RFC3339Nano)}
	case CmdResync:
		var as *AgentSnapshot
		var ss *SupSnapshot
		if as, ss, err = h.snapshotFor(c); err == nil {
			if as != nil {
				c.sendEvent(EvAgentSnapshot, "", as)
			}
			if ss != nil {
				c.sendEvent(EvSupSnapshot, "", ss)
			}
		}
	case CmdPresenceSet:
		d := cmd.Data.(*PresenceSet)
		if err = h.checkReason(d.Presence, d.Reason); err == nil {
			err = h.cfg.Engine.SetPresence(ctx, agent, d.Presence, d.Reason)
		}
	case CmdCallAnswer, CmdCallReject, CmdCallHangup, CmdCallHold, CmdCallUnhold:
		act := map[string]string{CmdCallAnswer: ActAnswer, CmdCallReject: ActReject, CmdCallHangup: ActHangup,
			CmdCallHold: ActHold, CmdCallUnhold: ActUnhold}[cmd.Type]
		callID := cmd.Data.(*CallRef).CallID
		if err = h.checkCall(agent, cmd.Type, callID); err == nil {
			err = h.cfg.Engine.CallControl(ctx, agent, CallAction{Action: act, CallID: callID})
		}
	case CmdCallTransfer:
		d := cmd.Data.(*Transfer)
		if err = h.checkCall(agent, cmd.Type, d.CallID); err == nil {
			err = h.cfg.Engine.CallControl(ctx, agent, CallAction{Action: ActTransfer, CallID: d.CallID, Target: d.Target})
		}
	case CmdWrapUp:
		data, err = h.wrapUp(ctx, agent, cmd.Data.(*WrapUp))
	case CmdDial:
		var id string
		if id, err = h.cfg.Engine.Dial(ctx, agent, *cmd.Data.(*Dial)); err == nil {
			data = map[string]string{"call_id": id}
		}
	case CmdWebRTCOffer:
		if h.cfg.Softphones == nil {
			err = ErrUnsupported
			break
		}
		var ans string
		if ans, err = h.cfg.Softphones.Connect(ctx, agent, cmd.Data.(*SDP).SDP); err == nil {
			c.sendEvent(EvWebRTCAnswer, cmd.ID, SDP{SDP: ans})
			data = SDP{SDP: ans}
		}
	case CmdWebRTCICE:
		err = &ProtocolError{ErrorData: ErrorData{Code: CodeUnsupported, Field: "type",
			Message: "non-trickle ICE: gather all candidates before sending webrtc.offer"}}
	case CmdWebRTCHangup:
		if h.cfg.Softphones != nil {
			h.cfg.Softphones.Disconnect(agent)
		}
	case CmdSupPresenceSet:
		d := cmd.Data.(*SupPresenceSet)
		if err = h.checkReason(d.Presence, d.Reason); err == nil {
			err = h.cfg.Engine.ForcePresence(ctx, agent, d.AgentID, d.Presence, d.Reason)
		}
	case CmdSupListen, CmdSupListenStop:
		d := cmd.Data.(*SupListen)
		switch {
		case h.cfg.Listener == nil:
			err = ErrUnsupported
		case cmd.Type == CmdSupListen:
			err = h.cfg.Listener.Listen(ctx, agent, d.CallID, d.Mode)
		default:
			err = h.cfg.Listener.StopListening(ctx, agent, d.CallID)
		}
	case CmdSupPriority:
		d := cmd.Data.(*SupPriority)
		err = h.cfg.Engine.Prioritize(ctx, d.CallID, d.Priority, d.Front)
	}
	if err != nil {
		e := errorData(err)
		if errors.Is(err, ErrUnsupported) && e.Field == "" {
			e.Field = "type"
		}
		if e.Code == CodeUnavailable {
			h.log.Warn("agentdesk: command failed", "agent_id", agent, "type", cmd.Type, "err", err)
		}
		c.replyErr(cmd.ID, e)
		return
	}
	c.replyOK(cmd.ID, data)
}

// checkReason validates a not-ready reason against the configured codes.
func (h *Hub) checkReason(presence, reason string) error {
	if presence == PresenceNotReady && !knownCode(h.cfg.ReasonCodes, reason, true) {
		return &ProtocolError{ErrorData: ErrorData{Code: CodeInvalidField, Field: "data.reason", Message: "not a configured reason code"}}
	}
	return nil
}
