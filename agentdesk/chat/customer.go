package chat

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"switchboard/agentdesk"
	"switchboard/crmcore"
)

// sendQueue is how many frames may wait for a customer socket; a socket that falls that
// far behind is closed (the widget resumes).
const sendQueue = 256

// replayPage is how many messages a resume reads per store call.
const replayPage = 200

// client is one customer socket. The handler's goroutine reads it; writeLoop writes it.
type client struct {
	s    *Service
	conn *websocket.Conn
	out  chan []byte
	done chan struct{} // closed when the socket ends
	once sync.Once
	// cv is the conversation the socket is in (nil before start or resume); only the
	// reading goroutine sets it.
	cv *conv
	// addr is the client's address; key its entry in Service.pending, where the socket
	// counts while pending (guarded by Service.mu) is true: until it joins a conversation.
	addr    netip.Addr
	key     netip.Prefix
	pending bool
}

// send queues a frame; a nil frame ends the socket once the frames before it are
// written. A full queue closes the socket.
func (c *client) send(b []byte) {
	select {
	case c.out <- b:
	case <-c.done:
	default:
		c.kill()
	}
}

// finish ends the socket after the frames queued so far.
func (c *client) finish() { c.send(nil) }

// kill ends the socket now.
func (c *client) kill() {
	c.once.Do(func() {
		close(c.done)
		c.conn.Close()
	})
}

// Handler serves the customer side: GET /chat (the standalone page), GET /chat/widget.js
// and GET /chat/ws (the WebSocket).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /chat", s.servePage)
	mux.HandleFunc("GET /chat/widget.js", s.serveWidget)
	mux.HandleFunc("GET /chat/ws", s.serveWS)
	return mux
}

// checkOrigin allows requests without Origin (not from a browser), from the server's own
// host, or from a configured origin.
func (s *Service) checkOrigin(r *http.Request) bool {
	return agentdesk.OriginAllowed(r, s.opts.AllowedOrigins)
}

// remoteHost is the address a socket's limit counts against.
func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// remoteAddr is the client's address (the zero Addr when unknown).
func remoteAddr(r *http.Request) netip.Addr {
	a, _ := netip.ParseAddr(remoteHost(r))
	return a
}

func (s *Service) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.checkOrigin(r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	// Whether a socket starts or resumes a chat is known only after the upgrade: until
	// it joins one it counts against its address's pending sockets, and only a start
	// counts against the address's rate (Service.start).
	c := &client{s: s, out: make(chan []byte, sendQueue), done: make(chan struct{}), addr: remoteAddr(r), pending: true}
	c.key = crmcore.AddrKey(c.addr)
	s.mu.Lock()
	if s.closed || s.customers >= s.opts.MaxCustomers {
		s.mu.Unlock()
		http.Error(w, "chat unavailable", http.StatusServiceUnavailable)
		return
	}
	if s.pending[c.key] >= s.opts.MaxPendingPerAddress {
		s.mu.Unlock()
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many chats", http.StatusTooManyRequests)
		return
	}
	s.customers++ // reserved before the upgrade, so that the caps hold under a burst
	s.pending[c.key]++
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }, ReadBufferSize: 4096, WriteBufferSize: 4096}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.settle(c)
		s.mu.Lock()
		s.customers--
		s.mu.Unlock()
		return
	}
	c.conn = conn
	hello := time.AfterFunc(s.opts.HelloWait, func() {
		if s.isPending(c) {
			c.kill()
		}
	})
	s.mu.Lock()
	s.clients[c] = struct{}{}
	closed := s.closed
	s.mu.Unlock()
	s.metrics.connected(1)
	defer func() {
		hello.Stop()
		c.kill()
		if cv := c.cv; cv != nil {
			s.detach(cv, c)
		}
		s.settle(c)
		s.mu.Lock()
		delete(s.clients, c)
		s.customers--
		s.mu.Unlock()
		s.metrics.connected(-1)
	}()
	if closed || !s.goWait(c.writeLoop) {
		return
	}
	c.readLoop()
}

func (c *client) writeLoop() {
	s := c.s
	ping := time.NewTicker(s.opts.PingInterval)
	defer ping.Stop()
	defer c.kill()
	for {
		select {
		case b := <-c.out:
			_ = c.conn.SetWriteDeadline(time.Now().Add(s.opts.WriteWait))
			if b == nil {
				_ = c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "closed"))
				return
			}
			if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				return
			}
		case <-ping.C:
			_ = c.conn.SetWriteDeadline(time.Now().Add(s.opts.WriteWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		case <-c.done:
			return
		}
	}
}

func (c *client) readLoop() {
	s := c.s
	defer s.recover("chat reader")
	c.conn.SetReadLimit(maxFrame)
	_ = c.conn.SetReadDeadline(time.Now().Add(s.opts.PongWait))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(s.opts.PongWait)) })
	for {
		typ, b, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(s.opts.PongWait))
		switch {
		case typ != websocket.TextMessage:
			c.send(errFrame(codeBadRequest, "text frames only"))
			continue
		case !utf8.Valid(b):
			// Checked on the frame: the JSON decoder would turn bad bytes into U+FFFD.
			c.send(errFrame(codeBadText, "text must be UTF-8"))
			continue
		}
		m, err := decodeClient(b)
		if err != nil {
			c.send(errFrame(codeBadRequest, "malformed frame"))
			continue
		}
		c.handle(s.ctx, m)
	}
}

// handle acts on one client frame.
func (c *client) handle(ctx context.Context, m clientMsg) {
	s := c.s
	switch m.Type {
	case "start", "resume":
		if c.cv != nil {
			c.send(errFrame(codeAlreadyStart, "this socket is in a chat already"))
			return
		}
		if m.Type == "start" {
			s.start(ctx, c, m.Start)
		} else {
			s.resume(ctx, c, m.Resume)
		}
		return
	}
	cv := c.cv
	if cv == nil {
		c.send(errFrame(codeNoChat, "start or resume a chat first"))
		return
	}
	switch m.Type {
	case "message":
		s.customerMessage(ctx, c, cv, m.Message.Text, m.Message.ClientID, "")
	case "button":
		s.customerButton(ctx, c, cv, m.Button.Value)
	case "typing":
		cv.mu.Lock()
		if now := time.Now(); cv.c.Status == crmcore.ChatStatusActive && now.Sub(cv.lastTyping[0]) >= typingEvery {
			cv.lastTyping[0] = now
			s.toAgentLocked(cv, AgentEvent{Type: EvTyping})
		}
		cv.mu.Unlock()
	case "read":
		cv.mu.Lock()
		if cv.c.Status == crmcore.ChatStatusActive {
			s.toAgentLocked(cv, AgentEvent{Type: EvRead, Seq: m.Read.Seq})
		}
		cv.mu.Unlock()
	case "close":
		s.customerClose(ctx, cv)
	}
}

// start opens a conversation from the pre-chat form and runs its bot.
func (s *Service) start(ctx context.Context, c *client, f startData) {
	var ok [4]bool
	f.Name, ok[0] = cleanField(f.Name, maxName)
	f.Email, ok[1] = cleanField(f.Email, maxEmail)
	f.Phone, ok[2] = cleanField(f.Phone, maxPhone)
	f.Language, ok[3] = cleanField(f.Language, maxLanguage)
	if !ok[0] || !ok[1] || !ok[2] || !ok[3] || (f.Email != "" && !strings.Contains(f.Email, "@")) ||
		strings.Trim(f.Phone, "+0123456789 -().") != "" {
		c.send(errFrame(codeBadRequest, "invalid pre-chat form"))
		return
	}
	if !s.limits.Allow(c.addr, time.Now()) {
		c.send(errFrame(codeRateLimited, "too many chats started from your network, please try again later"))
		return
	}
	conv, err := s.store.CreateConversation(ctx, crmcore.ChatConversation{ID: crmcore.NewID(), Name: f.Name, Email: f.Email,
		Phone: f.Phone, Language: f.Language, Status: crmcore.ChatStatusBot, StartedAt: s.now()})
	if err != nil {
		s.log.Error("chat: create conversation", "err", err)
		c.send(errFrame(codeUnavailable, "the chat is unavailable, please try again later"))
		return
	}
	cv := s.newConv(conv)
	cv.mu.Lock()
	defer cv.mu.Unlock()
	s.mu.Lock()
	s.convs[cv.id] = cv
	s.mu.Unlock()
	cv.attachLocked(c)
	c.cv = cv
	s.settle(c)
	c.send(frame("welcome", welcomeData{Token: s.signToken(cv.id, s.now().Add(s.opts.TokenTTL)), ConversationID: cv.id}))
	s.log.Info("chat: started", "conversation_id", cv.id, "contact_id", conv.ContactID)
	s.startBotLocked(cv)
}

// resume joins the socket to the conversation of a token and replays the messages after
// afterSeq. The replay and the attachment happen under the conversation's lock, so no
// message falls between them.
func (s *Service) resume(ctx context.Context, c *client, r resumeData) {
	id, ok := s.verifyToken(r.Token)
	if !ok {
		c.send(errFrame(codeBadToken, "invalid or expired token"))
		return
	}
	cv, err := s.live(ctx, id)
	switch {
	case errors.Is(err, ErrClosed):
		s.replay(ctx, c, id, r.AfterSeq)
		c.send(frame("closed", nil))
		c.finish()
		return
	case err != nil:
		s.log.Warn("chat: resume", "conversation_id", id, "err", err)
		c.send(errFrame(codeBadToken, "unknown conversation"))
		return
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.c.Status == crmcore.ChatStatusClosed {
		c.send(frame("closed", nil))
		c.finish()
		return
	}
	if len(cv.clients) >= s.opts.MaxSocketsPerChat {
		c.send(errFrame(codeRateLimited, "this chat is open in too many windows"))
		c.finish()
		return
	}
	c.send(frame("welcome", welcomeData{Token: s.signToken(cv.id, s.now().Add(s.opts.TokenTTL)), ConversationID: cv.id}))
	if !s.replay(ctx, c, id, r.AfterSeq) {
		c.finish()
		return
	}
	if cv.c.Status == crmcore.ChatStatusQueued && cv.queue.Position > 0 {
		c.send(frame("queue", cv.queue))
	}
	cv.attachLocked(c)
	c.cv = cv
	s.settle(c)
}

// settle takes socket c off its address's pending sockets, once: it joined a
// conversation, or it ended.
func (s *Service) settle(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.pending {
		return
	}
	c.pending = false
	if s.pending[c.key]--; s.pending[c.key] <= 0 {
		delete(s.pending, c.key)
	}
}

// isPending reports whether socket c is in no conversation yet.
func (s *Service) isPending(c *client) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.pending
}

// replay sends the conversation's messages after seq.
func (s *Service) replay(ctx context.Context, c *client, id string, after int64) bool {
	for {
		page, err := s.store.Messages(ctx, id, after, replayPage)
		if err != nil {
			s.log.Error("chat: replay", "conversation_id", id, "err", err)
			c.send(errFrame(codeInternal, "cannot read the conversation"))
			return false
		}
		for i := range page {
			c.send(frame("message", page[i]))
		}
		if len(page) < replayPage {
			return true
		}
		after = page[len(page)-1].Seq
	}
}

// customerMessage stores the customer's message, acknowledges it (delivered) and hands
// it on: to the bot while the flow runs, to the agent once active. label, for a button,
// is the text stored in place of its value.
func (s *Service) customerMessage(ctx context.Context, c *client, cv *conv, text, clientID, button string) {
	text, code := cleanText(text)
	if code != "" {
		c.send(errFrame(code, "message refused"))
		return
	}
	cv.mu.Lock()
	if seq, dup := cv.clientIDs[clientID]; dup && clientID != "" {
		cv.mu.Unlock()
		c.send(frame("delivered", deliveredData{ClientID: clientID, Seq: seq}))
		return
	}
	if !cv.limiter.Allow() {
		cv.mu.Unlock()
		c.send(errFrame(codeRateLimited, "too many messages, slow down"))
		return
	}
	if cv.c.Status == crmcore.ChatStatusClosed {
		cv.mu.Unlock()
		c.send(errFrame(codeClosed, "the chat is closed"))
		return
	}
	_, err := s.postLocked(ctx, cv, crmcore.ChatMessage{Sender: crmcore.ChatCustomer, Text: text}, c, clientID)
	bot := cv.bot
	if cv.c.Status != crmcore.ChatStatusBot {
		bot = nil
	}
	cv.mu.Unlock()
	if err != nil {
		s.log.Error("chat: customer message", "conversation_id", cv.id, "err", err)
		c.send(errFrame(codeInternal, "message not stored, please send it again"))
		return
	}
	if bot != nil {
		if button != "" {
			text = button
		}
		bot.feed(text)
	}
}

// customerButton is a quick reply: stored as its label, fed to the bot as its value.
func (s *Service) customerButton(ctx context.Context, c *client, cv *conv, value string) {
	cv.mu.Lock()
	bot := cv.bot
	cv.mu.Unlock()
	if bot == nil {
		c.send(errFrame(codeNotNow, "no question to answer"))
		return
	}
	label, ok := bot.button(value)
	if !ok {
		c.send(errFrame(codeBadRequest, "no such button"))
		return
	}
	s.customerMessage(ctx, c, cv, label, "", value)
}
