package agentdesk

import (
	"context"
	"errors"
	"log/slog"
	"net"
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

// Reasons the server closes a connection, logged and counted
// (switchboard_agentdesk_disconnects_total{reason}).
const (
	reasonQueueFull    = "queue_full"    // its send queue overflowed: not reading
	reasonWriteTimeout = "write_timeout" // its socket took nothing for WriteWait
	reasonWriteError   = "write_error"   // writing failed otherwise
	reasonNoPong       = "no_pong"       // no pong (nor anything) for 2.5 pings
	reasonReplaced     = "replaced"      // the same agent connected again
	reasonShutdown     = "shutdown"      // the server is stopping
)

// outMsg is one encoded outbound message.
type outMsg struct {
	typ     string
	b       []byte
	decided time.Time // screen pops: when the engine chose the agent
}

// client is one CTI connection. The reader goroutine (readLoop) decodes and
// executes commands; the writer goroutine (writeLoop) is the only one that
// writes data frames: woken through wake, it writes everything queued.
// done is closed once, by kill or disconnect.
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

// disconnect closes the connection on the server's initiative, once, and
// says so: a log record with the agent and the reason, and the
// disconnects metric.
func (c *client) disconnect(reason string, code int, text string) {
	c.once.Do(func() {
		c.closeC, c.closeR = code, text
		close(c.done)
		c.h.m.disconnects.WithLabelValues(reason).Inc()
		level := slog.LevelWarn
		if reason == reasonShutdown || reason == reasonReplaced {
			level = slog.LevelInfo
		}
		c.h.log.Log(context.Background(), level, "agentdesk: connection closed by the server",
			"agent_id", c.id.AgentID, "role", string(c.id.Role), "reason", reason)
	})
}

// enqueue queues m for the writer without blocking and wakes it; the
// writer writes everything pending per wake-up. A full queue
// (Config.SendBuffer messages) means the peer stopped reading: the
// connection is closed and told to resync. It reports whether m was
// queued.
func (c *client) enqueue(m outMsg) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	c.qmu.Lock()
	if len(c.queue) >= c.h.cfg.SendBuffer {
		c.qmu.Unlock()
		c.disconnect(reasonQueueFull, closeResync, "send buffer full: reconnect and resync")
		return false
	}
	c.queue = append(c.queue, m)
	c.qmu.Unlock()
	c.signal()
	return true
}

// enqueueDeltas queues a flush's supervisor deltas. When they do not fit,
// the deltas still pending are replaced by one fresh snapshot (resync in
// place, keeping replies and their order): a supervisor that reads slowly
// catches up instead of being dropped. snapshot is called at most once.
func (c *client) enqueueDeltas(msgs []outMsg, snapshot func() (outMsg, bool)) {
	select {
	case <-c.done:
		return
	default:
	}
	c.qmu.Lock()
	if len(c.queue)+len(msgs) <= c.h.cfg.SendBuffer {
		c.queue = append(c.queue, msgs...)
		c.qmu.Unlock()
		c.signal()
		return
	}
	kept := c.queue[:0]
	for _, m := range c.queue {
		if m.typ != EvSupQueue && m.typ != EvSupAgent && m.typ != EvSupSnapshot {
			kept = append(kept, m)
		}
	}
	clear(c.queue[len(kept):])
	c.queue = kept
	full := len(c.queue) >= c.h.cfg.SendBuffer
	c.qmu.Unlock()
	if full {
		c.disconnect(reasonQueueFull, closeResync, "send buffer full: reconnect and resync")
		return
	}
	c.h.m.supResyncs.Inc()
	if m, ok := snapshot(); ok {
		c.enqueue(m)
	}
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default: // the writer is already due to look
	}
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

// write sends one data frame; only the writer goroutine calls it.
func (c *client) write(m outMsg) error {
	c.conn.SetWriteDeadline(time.Now().Add(c.h.cfg.WriteWait))
	if err := c.conn.WriteMessage(websocket.TextMessage, m.b); err != nil {
		return err
	}
	c.h.m.msgsOut.WithLabelValues(m.typ).Inc()
	if !m.decided.IsZero() {
		c.h.m.popLatency.Observe(time.Since(m.decided).Seconds())
	}
	return nil
}

// writeBatch takes what is queued and writes it.
func (c *client) writeBatch() error {
	b := c.take()
	defer c.giveBack(b)
	for _, m := range b {
		if err := c.write(m); err != nil {
			return err
		}
	}
	return nil
}

// writeFailed closes the connection after a failed write: a socket that
// took nothing for WriteWait belongs to a peer that stopped reading.
func (c *client) writeFailed(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.disconnect(reasonWriteTimeout, websocket.CloseAbnormalClosure, "")
		return
	}
	c.disconnect(reasonWriteError, websocket.CloseAbnormalClosure, "")
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

// sendEvent encodes and queues one message.
func (c *client) sendEvent(typ, id string, data any) bool {
	b, err := encode(typ, id, data)
	if err != nil {
		c.h.log.Error("agentdesk: encode event", "type", typ, "err", err)
		return false
	}
	return c.enqueue(outMsg{typ: typ, b: b})
}

func (c *client) replyOK(id string, data any) { c.sendEvent(EvOK, id, data) }

func (c *client) replyErr(id string, e ErrorData) { c.sendEvent(EvError, id, e) }

// checkOrigin allows requests without Origin (non-browser clients), from
// the server's own host, or from a configured origin.
func (h *Hub) checkOrigin(r *http.Request) bool { return OriginAllowed(r, h.cfg.AllowedOrigins) }

// OriginAllowed reports whether a browser page may open a WebSocket with
// request r: a request without Origin (not from a browser), from the
// server's own host, or from one of allowed ("https://shop.example.com";
// "*" allows any).
func OriginAllowed(r *http.Request, allowed []string) bool {
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
	for _, o := range allowed {
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
				c.writeFailed(err)
				return
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.cfg.WriteWait)); err != nil {
				c.writeFailed(err)
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
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.disconnect(reasonNoPong, websocket.CloseAbnormalClosure, "")
			}
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
	case CmdCallTransfer, CmdCallConsult, CmdCallConference:
		act := map[string]string{CmdCallTransfer: ActTransfer, CmdCallConsult: ActConsult, CmdCallConference: ActConference}[cmd.Type]
		d := cmd.Data.(*Transfer)
		if err = h.checkCall(agent, cmd.Type, d.CallID); err == nil {
			err = h.cfg.Engine.CallControl(ctx, agent, CallAction{Action: act, CallID: d.CallID, Target: d.Target})
		}
	case CmdConsultDone, CmdConsultCancel, CmdConsultMerge:
		act := map[string]string{CmdConsultDone: ActComplete, CmdConsultCancel: ActCancelConsult, CmdConsultMerge: ActMerge}[cmd.Type]
		callID := cmd.Data.(*CallRef).CallID
		if err = h.checkCall(agent, cmd.Type, callID); err == nil {
			err = h.cfg.Engine.CallControl(ctx, agent, CallAction{Action: act, CallID: callID})
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
	case CmdRecordPause, CmdRecordResume:
		callID := cmd.Data.(*CallRef).CallID
		switch {
		case h.cfg.Recorder == nil:
			err = ErrUnsupported
		default:
			if err = h.checkCall(agent, cmd.Type, callID); err == nil {
				paused := cmd.Type == CmdRecordPause
				if err = h.cfg.Recorder.PauseRecording(ctx, callID, paused); err == nil {
					data = map[string]bool{"paused": paused}
				}
			}
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
	case CmdTaskAccept, CmdTaskReject, CmdTaskComplete, CmdTaskTransfer, CmdTaskWrapUp:
		data, err = h.taskCommand(ctx, agent, cmd)
	case CmdChatSend, CmdChatTyping, CmdChatRead, CmdChatHistory:
		data, err = h.chatCommand(ctx, agent, cmd)
	case CmdPreview, CmdPreviewDial:
		data, err = h.campaignCommand(ctx, c, cmd)
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
