package chat

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"switchboard/acd"
	"switchboard/crmcore"
	"switchboard/ivr"
)

// errNoAudio is what a chat answers the flow's audio-only requests with; the validator
// keeps such nodes out of chat flows.
var errNoAudio = errors.New("chat: a chat has no audio")

// botSession is the IVR's text session of one conversation. The flow's goroutine calls
// Show and ReadDigit; the customer's socket reader calls feed.
type botSession struct {
	s  *Service
	cv *conv
	// lang are the texts of the language the flow starts in, for the
	// labels of its confirmations.
	lang Texts

	mu      sync.Mutex
	texts   []string         // shown, not yet sent
	buttons []ivr.TextButton // of the texts not yet sent
	current ivr.TextPrompt   // the last message sent: what a reply answers
	input   []byte           // the reply's digits not yet read
	end     bool             // the reply's end is not yet read
	wake    chan struct{}
}

var _ ivr.TextSession = (*botSession)(nil)

// Show collects a prompt's text; the texts shown before the flow waits for the customer
// go out as one bot message.
func (b *botSession) Show(_ context.Context, p ivr.TextPrompt) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Text != "" {
		b.texts = append(b.texts, p.Text)
	}
	if p.Buttons != nil {
		b.buttons = b.lang.confirmButtons(p.Buttons)
	}
	return nil
}

// flush sends the texts shown as one bot message; input typed before it answers nothing
// and is dropped.
func (b *botSession) flush(ctx context.Context) error {
	b.mu.Lock()
	if len(b.texts) == 0 && b.buttons == nil {
		b.mu.Unlock()
		return nil
	}
	p := ivr.TextPrompt{Text: strings.Join(b.texts, "\n"), Buttons: b.buttons}
	b.texts, b.buttons = nil, nil
	b.current, b.input, b.end = p, nil, false
	b.mu.Unlock()
	m := crmcore.ChatMessage{Sender: crmcore.ChatBot, Text: p.Text}
	for _, bt := range p.Buttons {
		m.Buttons = append(m.Buttons, crmcore.ChatButton{Label: bt.Label, Value: bt.Value})
	}
	if len(m.Text) > crmcore.MaxChatText {
		m.Text = truncate(m.Text, crmcore.MaxChatText)
	}
	b.cv.mu.Lock()
	defer b.cv.mu.Unlock()
	if b.cv.c.Status != crmcore.ChatStatusBot {
		return ErrClosed
	}
	_, err := b.s.postLocked(ctx, b.cv, m, nil, "")
	return err
}

// ReadDigit sends what was shown and waits for the customer's reply, fed digit by digit,
// then its end (ok false); the flow's timeout is scaled by Options.TimeoutScale.
func (b *botSession) ReadDigit(ctx context.Context, timeout time.Duration) (byte, bool, error) {
	if err := b.flush(ctx); err != nil {
		return 0, false, err
	}
	t := time.NewTimer(timeout * time.Duration(b.s.opts.TimeoutScale))
	defer t.Stop()
	for {
		b.mu.Lock()
		switch {
		case len(b.input) > 0:
			d := b.input[0]
			b.input = b.input[1:]
			b.mu.Unlock()
			return d, true, nil
		case b.end:
			b.end = false
			b.mu.Unlock()
			return 0, false, nil
		}
		b.mu.Unlock()
		select {
		case <-b.wake:
		case <-t.C:
			return 0, false, nil
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
}

// feed hands the flow the customer's reply to the last message.
func (b *botSession) feed(text string) {
	b.mu.Lock()
	b.input, b.end = []byte(b.current.Reply(text)), true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// button returns the label of the current message's button with value v.
func (b *botSession) button(v string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, bt := range b.current.Buttons {
		if bt.Value == v {
			return bt.Label, true
		}
	}
	return "", false
}

// Play is not used: Run shows a TextSession's prompts.
func (b *botSession) Play(context.Context, []string, bool) error { return errNoAudio }

// Record is not used: the validator keeps voicemail out of chat flows.
func (b *botSession) Record(context.Context, string, time.Duration) (time.Duration, error) {
	return 0, errNoAudio
}

// Pop is a chat's attachment to its task (acd.Task.Data): what the desk's pop shows.
type Pop struct {
	ConversationID string `json:"conversation_id"`
	// Name, Email, Phone and Language are the pre-chat form.
	Name     string `json:"name,omitempty"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Language string `json:"language,omitempty"`
	// ContactID is the CRM contact the chat is linked to.
	ContactID string `json:"contact_id,omitempty"`
	// IVR is the customer's path through the chat's flow (ivr.PathString).
	IVR string `json:"ivr,omitempty"`
	// Reason is the flow's call.reason, if it set one.
	Reason string `json:"reason,omitempty"`
	// Messages are the conversation's first messages.
	Messages []crmcore.ChatMessage `json:"messages"`
}

// popMessages is how many first messages a pop carries.
const popMessages = 20

// startBotLocked runs the chat's flow on its own goroutine.
func (s *Service) startBotLocked(cv *conv) {
	ep, ok, err := s.flows.ForChat(s.opts.Entry)
	if err != nil || !ok {
		s.log.Error("chat: no flow for the chat entry point", "entry", s.opts.Entry, "err", err)
		s.closeLocked(s.ctx, cv, "failed", s.textsLocked(cv).Error)
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	b := &botSession{s: s, cv: cv, lang: s.textsFor(flowLanguage(cv.c, ep)), wake: make(chan struct{}, 1)}
	cv.bot, cv.botCancel = b, cancel
	c := cv.c
	if !s.goWait(func() { s.runBot(ctx, cv, b, ep, c) }) {
		cancel()
	}
}

// runBot runs the flow, then queues the chat or ends it as the flow says.
func (s *Service) runBot(ctx context.Context, cv *conv, b *botSession, ep ivr.EntryPoint, c crmcore.ChatConversation) {
	out := ivr.Run(ctx, b, ep.Flow, ivr.Input{
		CallID: c.ID, ANI: c.Phone, E164: e164(c.Phone), DNIS: "chat:" + s.opts.Entry, Language: flowLanguage(c, ep),
		Now: s.opts.Now, Lookup: s.opts.Lookup, Logger: s.log, Metrics: s.opts.IVRMetrics, Hours: s.opts.Hours,
	})
	if ctx.Err() != nil {
		return // closed by the customer, or the service stops
	}
	_ = b.flush(ctx)
	s.log.Info("chat: left the bot", "conversation_id", c.ID, "outcome", out.Kind.String(), "queue", out.Queue, "path", ivr.PathString(out.Path))
	switch out.Kind {
	case ivr.OutcomeQueue, ivr.OutcomeError, ivr.OutcomeCallback:
		if out.Queue != "" {
			s.enqueue(ctx, cv, out)
			return
		}
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.bot == b {
		s.closeLocked(ctx, cv, "bot", s.textsLocked(cv).OfferEmail)
	}
}

// flowLanguage is the language a chat's flow starts in: the customer's,
// else the entry point's.
func flowLanguage(c crmcore.ChatConversation, ep ivr.EntryPoint) string {
	if c.Language != "" {
		return c.Language
	}
	return ep.Language
}

// e164 returns phone when it is in E.164 form, else "".
func e164(phone string) string {
	if len(phone) < 3 || phone[0] != '+' || strings.Trim(phone[1:], "0123456789") != "" {
		return ""
	}
	return phone
}

// enqueue hands the chat to the engine as a task of channel chat.
func (s *Service) enqueue(ctx context.Context, cv *conv, out ivr.Outcome) {
	e, err := s.eng()
	cv.mu.Lock()
	if cv.c.Status != crmcore.ChatStatusBot {
		cv.mu.Unlock()
		return
	}
	cv.bot, cv.botCancel = nil, nil
	if err == nil {
		err = s.moveLocked(ctx, cv, crmcore.ChatStatusQueued, func(c *crmcore.ChatConversation) {
			c.Queue = out.Queue
			if out.Language != "" {
				c.Language = out.Language
			}
		})
	}
	if err != nil {
		s.log.Error("chat: cannot queue", "conversation_id", cv.id, "queue", out.Queue, "err", err)
		s.closeLocked(ctx, cv, "failed", s.textsLocked(cv).Error)
		cv.mu.Unlock()
		return
	}
	c := cv.c
	pop := &Pop{ConversationID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Language: c.Language,
		ContactID: c.ContactID, IVR: ivr.PathString(out.Path), Reason: out.Vars["call.reason"]}
	if pop.Messages, err = s.store.Messages(ctx, c.ID, 0, popMessages); err != nil {
		s.log.Warn("chat: pop without messages", "conversation_id", c.ID, "err", err)
	}
	cv.pop = pop
	cv.mu.Unlock()

	t := acd.Task{ID: acd.TaskID(c.ID), Channel: acd.ChannelChat, Queue: out.Queue, Priority: out.Priority,
		Language: out.Language, Customer: c.ContactID, Arrived: c.StartedAt, Handle: c.ID, Data: pop}
	for _, sk := range out.Skills {
		t.Skills = append(t.Skills, acd.SkillLevel{Skill: sk.Name, Level: sk.MinLevel})
	}
	if _, err := e.Submit(ctx, t); err != nil {
		s.log.Error("chat: submit", "conversation_id", c.ID, "queue", out.Queue, "err", err)
		cv.mu.Lock()
		s.closeLocked(ctx, cv, "failed", s.textsLocked(cv).Error)
		cv.mu.Unlock()
		return
	}
	cv.mu.Lock()
	gone := cv.c.Status == crmcore.ChatStatusClosed // the customer left before the task existed
	cv.mu.Unlock()
	if gone {
		_ = e.Withdraw(context.WithoutCancel(ctx), t.ID)
		return
	}
	s.refreshQueue()
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
