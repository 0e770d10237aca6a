package chat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"switchboard/acd"
	"switchboard/crmcore"
)

// Offer notes the agent the chat is offered to (the desk pops it from the engine's
// events). An offer of a chat that is active is the engine routing it again after a
// transfer: the customer is told and waits.
func (s *Service) Offer(ctx context.Context, o acd.Offer) error {
	cv, err := s.live(ctx, string(o.Call.ID))
	if errors.Is(err, ErrClosed) {
		// The customer is gone: the task must not go round the agents.
		s.goWait(func() {
			if e, err := s.eng(); err == nil {
				_ = e.Withdraw(s.ctx, o.Call.ID)
			}
		})
		return err
	}
	if err != nil {
		return err
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.c.Status == crmcore.ChatStatusActive {
		s.transferredLocked(ctx, cv)
	}
	cv.offered = string(o.Agent)
	return nil
}

// transferredLocked moves an active chat back to waiting: its agent transferred it.
func (s *Service) transferredLocked(ctx context.Context, cv *conv) {
	old := cv.c.AgentID
	if err := s.moveLocked(ctx, cv, crmcore.ChatStatusQueued, func(c *crmcore.ChatConversation) { c.AgentID = "" }); err != nil {
		s.log.Error("chat: transfer", "conversation_id", cv.id, "err", err)
		return
	}
	cv.queue, cv.noAgents = queueInfo{}, false
	s.opts.OnAgentEvent(old, AgentEvent{Type: EvEnded, TaskID: cv.id})
	s.systemLocked(ctx, cv, s.textsLocked(cv).Transfer)
}

// Accept joins agent to the chat: it is active with them, and the customer is told.
func (s *Service) Accept(ctx context.Context, task acd.CallInfo, agent acd.AgentID) error {
	cv, err := s.live(ctx, string(task.ID))
	if err != nil {
		return err
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.c.Status == crmcore.ChatStatusActive && cv.c.AgentID == string(agent) {
		return nil
	}
	if cv.c.Status == crmcore.ChatStatusActive {
		s.transferredLocked(ctx, cv) // the transfer's offer went unseen
	}
	if err := s.moveLocked(ctx, cv, crmcore.ChatStatusActive, func(c *crmcore.ChatConversation) {
		c.AgentID = string(agent)
		if task.Queue != "" {
			c.Queue = task.Queue
		}
	}); err != nil {
		return err
	}
	cv.offered = ""
	s.systemLocked(ctx, cv, s.textsLocked(cv).joined(s.opts.AgentName(string(agent))))
	return nil
}

// End closes the chat: the agent completed it, the customer left, or the engine gave up.
// The customer gets closed.
func (s *Service) End(ctx context.Context, task acd.CallInfo, outcome acd.Outcome) error {
	cv, err := s.live(ctx, string(task.ID))
	if errors.Is(err, ErrClosed) {
		return nil
	}
	if err != nil {
		return err
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	s.closeLocked(ctx, cv, outcomeLabel(outcome), s.textsLocked(cv).Ended)
	return nil
}

// outcomeLabel bounds the metrics label of an engine outcome.
func outcomeLabel(o acd.Outcome) string {
	switch o {
	case acd.OutcomeAnswered, acd.OutcomeAbandoned, acd.OutcomeOverflow, acd.OutcomeTransferred:
		return string(o)
	}
	return "failed"
}

// SetDisposition stores the agent's wrap-up disposition of a conversation, open or
// closed.
func (s *Service) SetDisposition(ctx context.Context, conversationID, disposition string) error {
	if len(disposition) > 128 {
		return fmt.Errorf("%w: disposition longer than 128 bytes", ErrInvalidText)
	}
	s.mu.Lock()
	cv := s.convs[conversationID]
	s.mu.Unlock()
	if cv != nil {
		cv.mu.Lock()
		defer cv.mu.Unlock()
		c := cv.c
		c.Disposition = disposition
		if err := s.store.UpdateConversation(ctx, c); err != nil {
			return fmt.Errorf("chat: save disposition: %w", err)
		}
		cv.c = c
		return nil
	}
	c, err := s.store.Conversation(ctx, conversationID)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnknownConversation, conversationID, err)
	}
	c.Disposition = disposition
	if err := s.store.UpdateConversation(ctx, c); err != nil {
		return fmt.Errorf("chat: save disposition: %w", err)
	}
	return nil
}

// customerClose ends the chat from the customer's side: a waiting chat is withdrawn, an
// active one completed; the engine's End then closes it. A chat the engine does not know
// (in the bot, or already gone) closes here.
func (s *Service) customerClose(ctx context.Context, cv *conv) {
	cv.mu.Lock()
	status := cv.c.Status
	if status == crmcore.ChatStatusBot {
		s.closeLocked(ctx, cv, "abandoned", "")
		cv.mu.Unlock()
		return
	}
	cv.mu.Unlock()
	e, err := s.eng()
	if err == nil {
		if status == crmcore.ChatStatusActive {
			err = e.Complete(ctx, acd.TaskID(cv.id))
		} else {
			err = e.Withdraw(ctx, acd.TaskID(cv.id))
		}
	}
	if err != nil {
		s.log.Info("chat: closed without the engine", "conversation_id", cv.id, "err", err)
		cv.mu.Lock()
		s.closeLocked(ctx, cv, "abandoned", "")
		cv.mu.Unlock()
	}
}

// refreshQueue asks the queue watcher to refresh the waiting customers now.
func (s *Service) refreshQueue() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// watchQueue refreshes the places of waiting customers from the engine's snapshot every
// QueueInterval (and when asked), tells them when nobody is logged in for their queue,
// and notices a transfer whose offer has not come yet.
func (s *Service) watchQueue() {
	t := time.NewTicker(s.opts.QueueInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.wake:
		case <-s.ctx.Done():
			return
		}
		s.refreshOnce(s.ctx)
	}
}

func (s *Service) refreshOnce(ctx context.Context) {
	s.mu.Lock()
	convs := make([]*conv, 0, len(s.convs))
	for _, cv := range s.convs {
		convs = append(convs, cv)
	}
	s.mu.Unlock()
	watched := convs[:0]
	for _, cv := range convs {
		cv.mu.Lock()
		st := cv.c.Status
		cv.mu.Unlock()
		if st == crmcore.ChatStatusQueued || st == crmcore.ChatStatusActive {
			watched = append(watched, cv)
		}
	}
	if len(watched) == 0 {
		return
	}
	e, err := s.eng()
	if err != nil {
		return
	}
	snap, err := e.Snapshot(ctx)
	if err != nil {
		s.log.Debug("chat: engine snapshot", "err", err)
		return
	}
	calls := make(map[string]*acd.CallSnapshot, len(snap.Calls))
	for i := range snap.Calls {
		calls[string(snap.Calls[i].Call.ID)] = &snap.Calls[i]
	}
	loggedIn := make(map[string]int, len(snap.Queues))
	for _, q := range snap.Queues {
		loggedIn[q.Queue] = q.Presence[acd.PresenceReady.String()] + q.Presence[acd.PresenceNotReady.String()]
	}
	for _, cv := range watched {
		cs := calls[cv.id]
		if cs == nil {
			continue
		}
		cv.mu.Lock()
		if cv.c.Status == crmcore.ChatStatusActive && cs.State == acd.CallStateQueued {
			s.transferredLocked(ctx, cv)
		}
		if cv.c.Status == crmcore.ChatStatusQueued && cs.State == acd.CallStateQueued {
			q := queueInfo{Position: cs.Position}
			if cs.EWT.Known {
				q.EWT = int64(cs.EWT.Expected.Round(time.Second) / time.Second)
			}
			if q != cv.queue {
				cv.queue = q
				cv.broadcastLocked(frame("queue", q))
			}
			if n, ok := loggedIn[cs.Call.Queue]; ok && n == 0 && !cv.noAgents {
				cv.noAgents = true
				s.systemLocked(ctx, cv, s.textsLocked(cv).NoAgents)
			}
		}
		cv.mu.Unlock()
	}
}
