package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"switchboard/acd"
	"switchboard/crmcore"
)

// transitions is the conversation's state machine (crmcore.ChatStatus*): the bot hands
// the chat to a queue; an agent takes it (active); a transfer queues it again; any state
// may close.
var transitions = map[string][]string{
	crmcore.ChatStatusBot:    {crmcore.ChatStatusQueued, crmcore.ChatStatusClosed},
	crmcore.ChatStatusQueued: {crmcore.ChatStatusActive, crmcore.ChatStatusClosed},
	crmcore.ChatStatusActive: {crmcore.ChatStatusQueued, crmcore.ChatStatusClosed},
	crmcore.ChatStatusClosed: nil,
}

// canMove reports whether a conversation may go from one status to the next.
func canMove(from, to string) bool { return slices.Contains(transitions[from], to) }

// maxClientIDs bounds the client ids a conversation remembers to answer resends.
const maxClientIDs = 256

// conv is one open conversation. mu guards every field and is held across each store
// write, so that messages are stored, numbered and delivered in one order.
type conv struct {
	id string

	mu        sync.Mutex
	c         crmcore.ChatConversation
	clients   map[*client]struct{}
	bot       *botSession
	botCancel context.CancelFunc
	offered   string // the agent the task is offered to
	clientIDs map[string]int64
	idOrder   []string
	limiter   *rate.Limiter
	// lastTyping is when a typing indicator last went each way (customer, agent).
	lastTyping [2]time.Time
	queue      queueInfo // the place last sent to the customer
	noAgents   bool      // the NoAgents text was sent
	pop        *Pop      // the desk's pop, built when the chat is queued
	// idle ends the chat once it has had no customer socket for Options.AbandonAfter.
	idle *time.Timer
}

// attachLocked joins customer socket c to the conversation.
func (cv *conv) attachLocked(c *client) {
	cv.clients[c] = struct{}{}
	if cv.idle != nil {
		cv.idle.Stop()
		cv.idle = nil
	}
}

// detach takes customer socket c off the conversation; the last one gone starts the
// countdown to its abandonment.
func (s *Service) detach(cv *conv, c *client) {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	delete(cv.clients, c)
	s.idleLocked(cv)
}

// idleLocked starts the countdown to the abandonment of a conversation that has no
// customer socket.
func (s *Service) idleLocked(cv *conv) {
	// A closing service leaves its chats to the next one (the customers resume there).
	if len(cv.clients) > 0 || cv.c.Status == crmcore.ChatStatusClosed || cv.idle != nil || s.ctx.Err() != nil {
		return
	}
	cv.idle = time.AfterFunc(s.opts.AbandonAfter, func() {
		cv.mu.Lock()
		gone := len(cv.clients) == 0 && cv.c.Status != crmcore.ChatStatusClosed
		cv.idle = nil
		cv.mu.Unlock()
		if gone && s.ctx.Err() == nil {
			s.log.Info("chat: the customer left", "conversation_id", cv.id, "after", s.opts.AbandonAfter)
			s.customerClose(s.ctx, cv)
		}
	})
}

// queueInfo is a waiting customer's place.
type queueInfo struct {
	Position int   `json:"position"`
	EWT      int64 `json:"ewt_s"`
}

func (s *Service) newConv(c crmcore.ChatConversation) *conv {
	return &conv{id: c.ID, c: c, clients: map[*client]struct{}{}, clientIDs: map[string]int64{},
		limiter: rate.NewLimiter(rate.Limit(s.opts.MessageRate), s.opts.MessageBurst)}
}

// moveLocked moves the conversation to status next and saves it; a refused move is an
// error and changes nothing.
func (s *Service) moveLocked(ctx context.Context, cv *conv, next string, edit func(*crmcore.ChatConversation)) error {
	if !canMove(cv.c.Status, next) {
		return fmt.Errorf("chat: conversation %s cannot go from %s to %s", cv.id, cv.c.Status, next)
	}
	c := cv.c
	c.Status = next
	if edit != nil {
		edit(&c)
	}
	if err := s.store.UpdateConversation(context.WithoutCancel(ctx), c); err != nil {
		return fmt.Errorf("chat: save conversation %s: %w", cv.id, err)
	}
	cv.c = c
	return nil
}

// postLocked stores m in cv, then delivers it: to every customer socket (the sender's,
// from, gets delivered{client_id, seq} instead) and, for a customer's message in an active
// chat, to the agent.
func (s *Service) postLocked(ctx context.Context, cv *conv, m crmcore.ChatMessage, from *client, clientID string) (crmcore.ChatMessage, error) {
	m.ConversationID = cv.id
	m.CreatedAt = s.now()
	stored, err := s.store.AppendMessage(context.WithoutCancel(ctx), m)
	if err != nil {
		return crmcore.ChatMessage{}, fmt.Errorf("chat: store message: %w", err)
	}
	storedAt := time.Now()
	s.metrics.message(stored.Sender)
	var msgFrame []byte
	for c := range cv.clients {
		if c == from {
			c.send(frame("delivered", deliveredData{ClientID: clientID, Seq: stored.Seq}))
			continue
		}
		if msgFrame == nil {
			msgFrame = frame("message", stored)
		}
		c.send(msgFrame)
	}
	if clientID != "" {
		cv.rememberClientID(clientID, stored.Seq)
	}
	if stored.Sender == crmcore.ChatCustomer && cv.c.Status == crmcore.ChatStatusActive {
		s.toAgentLocked(cv, AgentEvent{Type: EvMessage, Message: &stored})
		s.metrics.delivered(time.Since(storedAt))
	}
	return stored, nil
}

// systemLocked posts a system message; a failure is logged (the chat goes on).
func (s *Service) systemLocked(ctx context.Context, cv *conv, text string) {
	if _, err := s.postLocked(ctx, cv, crmcore.ChatMessage{Sender: crmcore.ChatSystem, Text: text}, nil, ""); err != nil {
		s.log.Error("chat: system message", "conversation_id", cv.id, "err", err)
	}
}

// toAgentLocked hands ev to the agent holding cv.
func (s *Service) toAgentLocked(cv *conv, ev AgentEvent) {
	if cv.c.AgentID == "" {
		return
	}
	ev.TaskID = cv.id
	s.opts.OnAgentEvent(cv.c.AgentID, ev)
}

func (cv *conv) rememberClientID(id string, seq int64) {
	if _, ok := cv.clientIDs[id]; ok {
		return
	}
	if len(cv.idOrder) >= maxClientIDs {
		delete(cv.clientIDs, cv.idOrder[0])
		cv.idOrder = cv.idOrder[1:]
	}
	cv.clientIDs[id] = seq
	cv.idOrder = append(cv.idOrder, id)
}

// stopBot ends the conversation's bot, if it runs.
func (cv *conv) stopBot() {
	if cv.botCancel != nil {
		cv.botCancel()
		cv.botCancel = nil
	}
}

// broadcastLocked sends one frame to every customer socket of cv.
func (cv *conv) broadcastLocked(b []byte) {
	for c := range cv.clients {
		c.send(b)
	}
}

// closeLocked closes the conversation (status closed, ended now), tells the customer
// (the ended text, then closed, and their sockets end) and the agent, and forgets it.
func (s *Service) closeLocked(ctx context.Context, cv *conv, outcome string, text string) {
	if cv.c.Status == crmcore.ChatStatusClosed {
		return
	}
	cv.stopBot()
	ended := s.now()
	if err := s.moveLocked(ctx, cv, crmcore.ChatStatusClosed, func(c *crmcore.ChatConversation) { c.EndedAt = &ended }); err != nil {
		s.log.Error("chat: close", "conversation_id", cv.id, "err", err)
		cv.c.Status = crmcore.ChatStatusClosed // the conversation ends here whatever the store says
	}
	if text != "" {
		s.systemLocked(ctx, cv, text)
	}
	s.toAgentLocked(cv, AgentEvent{Type: EvEnded})
	for c := range cv.clients {
		c.send(frame("closed", nil))
		c.finish()
	}
	cv.clients = map[*client]struct{}{}
	s.metrics.conversation(outcome)
	s.mu.Lock()
	if s.convs[cv.id] == cv {
		delete(s.convs, cv.id)
	}
	s.mu.Unlock()
}

// live returns the open conversation id, rebuilt from the store when this process does
// not hold it (another node started it, or this one restarted). A closed conversation is
// ErrClosed.
func (s *Service) live(ctx context.Context, id string) (*conv, error) {
	s.mu.Lock()
	cv := s.convs[id]
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if cv != nil {
		return cv, nil
	}
	c, err := s.store.Conversation(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnknownConversation, id, err)
	}
	if c.Status == crmcore.ChatStatusClosed {
		return nil, ErrClosed
	}
	fresh := s.newConv(c)
	// Locked before it is shared: nobody sees it before its bot runs.
	fresh.mu.Lock()
	s.mu.Lock()
	if cv := s.convs[id]; cv != nil {
		s.mu.Unlock()
		fresh.mu.Unlock()
		return cv, nil
	}
	s.convs[id] = fresh
	s.mu.Unlock()
	if c.Status == crmcore.ChatStatusBot {
		// Its bot ran elsewhere and is gone: the flow starts again here.
		s.startBotLocked(fresh)
		fresh.mu.Unlock()
		return fresh, nil
	}
	fresh.pop = &Pop{ConversationID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Language: c.Language, ContactID: c.ContactID}
	if fresh.pop.Messages, err = s.store.Messages(ctx, c.ID, 0, popMessages); err != nil {
		s.log.Warn("chat: pop without messages", "conversation_id", c.ID, "err", err)
	}
	fresh.mu.Unlock()
	s.rejoin(ctx, fresh)
	return fresh, nil
}

// rejoin gives the engine a conversation this service took over, queued or active: the
// task is submitted again, or adopted by its agent. An engine that has it already (the
// conversation moved between services of one engine) keeps it.
func (s *Service) rejoin(ctx context.Context, cv *conv) {
	e, err := s.eng()
	if err != nil {
		return // Attach's restore rejoins it
	}
	cv.mu.Lock()
	c, pop := cv.c, cv.pop
	cv.mu.Unlock()
	t := acd.Task{ID: acd.TaskID(c.ID), Channel: acd.ChannelChat, Queue: c.Queue, Language: c.Language, Customer: c.ContactID,
		Arrived: c.StartedAt, Handle: c.ID, Data: pop}
	switch c.Status {
	case crmcore.ChatStatusQueued:
		_, err = e.Submit(ctx, t)
	case crmcore.ChatStatusActive:
		err = e.Adopt(ctx, t, acd.AgentID(c.AgentID))
	default:
		return
	}
	if err != nil && !errors.Is(err, acd.ErrDuplicate) {
		s.log.Error("chat: a chat taken over could not be routed", "conversation_id", c.ID, "status", c.Status, "err", err)
		cv.mu.Lock()
		s.closeLocked(ctx, cv, "failed", s.textsLocked(cv).Error)
		cv.mu.Unlock()
		return
	}
	s.log.Info("chat: chat taken over", "conversation_id", c.ID, "status", c.Status, "agent_id", c.AgentID)
}

// maxRestore bounds the open conversations a service takes over at once.
const maxRestore = 100000

// restore takes over the conversations left open in the store (Attach): each is
// rebuilt (live) and, with no customer connected yet, counts down to its abandonment.
func (s *Service) restore() {
	open, err := s.store.OpenConversations(s.ctx, maxRestore)
	if err != nil {
		s.log.Error("chat: cannot read the open chats to take them over", "err", err)
		return
	}
	for _, c := range open {
		cv, err := s.live(s.ctx, c.ID)
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			continue
		}
		cv.mu.Lock()
		s.idleLocked(cv)
		cv.mu.Unlock()
	}
	if len(open) > 0 {
		s.log.Info("chat: open chats taken over", "chats", len(open))
		s.refreshQueue()
	}
}
