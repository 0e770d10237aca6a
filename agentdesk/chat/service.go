package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"switchboard/acd"
	"switchboard/agentdesk"
	"switchboard/crmcore"
	"switchboard/ivr"
)

// Errors of the agent side. They wrap the hub's sentinels, so that a desk
// gets not_found or invalid_state as for any task.
var (
	// ErrUnknownConversation: no open conversation has that id.
	ErrUnknownConversation = fmt.Errorf("chat: unknown conversation: %w", agentdesk.ErrNotFound)
	// ErrNotHeld: the agent does not hold the chat (not active with them).
	ErrNotHeld = fmt.Errorf("chat: the agent does not hold this chat: %w", agentdesk.ErrNotFound)
	// ErrClosed: the conversation or the service is closed.
	ErrClosed = fmt.Errorf("chat: closed: %w", agentdesk.ErrInvalidState)
	// ErrInvalidText: a message's text is empty, not UTF-8 or too long.
	ErrInvalidText = fmt.Errorf("chat: invalid text: %w", agentdesk.ErrInvalidState)
	// ErrNoEngine: Attach has not been called.
	ErrNoEngine = errors.New("chat: no routing engine attached")
)

// Store keeps conversations and their messages; the CRM's PostgreSQL store implements it
// (package chattest has an in-memory one).
type Store interface {
	// CreateConversation stores c (its ID set by the caller, crmcore.NewID) and opens its
	// interaction record (in progress); a contact is matched by c.Email or c.Phone, else created
	// when c.Name/Email/Phone were given; it returns c with ContactID set.
	CreateConversation(ctx context.Context, c crmcore.ChatConversation) (crmcore.ChatConversation, error)
	// AppendMessage stores m, assigning the next Seq of its conversation, and returns it.
	AppendMessage(ctx context.Context, m crmcore.ChatMessage) (crmcore.ChatMessage, error)
	// Messages returns the conversation's messages after seq, oldest first (at most limit).
	Messages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]crmcore.ChatMessage, error)
	// Conversation returns a conversation.
	Conversation(ctx context.Context, id string) (crmcore.ChatConversation, error)
	// UpdateConversation saves status, queue, agent, disposition, ended (and completes the
	// interaction record when status is closed, with outcome answered/abandoned).
	UpdateConversation(ctx context.Context, c crmcore.ChatConversation) error
	// OpenConversations returns the conversations not closed, oldest first
	// (at most limit), for a service that takes over after a restart or a
	// takeover.
	OpenConversations(ctx context.Context, limit int) ([]crmcore.ChatConversation, error)
}

// Engine is the routing engine as the chat uses it; *acd.Engine satisfies it. Snapshot is
// how a waiting customer learns their place: the service reads it every
// Options.QueueInterval while a chat waits, rather than following the engine's events.
type Engine interface {
	Submit(ctx context.Context, t acd.Task) (acd.TaskID, error)
	Withdraw(ctx context.Context, id acd.TaskID) error
	Complete(ctx context.Context, id acd.TaskID) error
	TransferTask(ctx context.Context, id acd.TaskID, to acd.TransferTarget) error
	Snapshot(ctx context.Context) (acd.Snapshot, error)
	// Adopt takes over a chat an agent already holds (acd.Engine.Adopt).
	Adopt(ctx context.Context, t acd.Task, agent acd.AgentID) error
}

// Flows finds the chat's IVR flow; *ivr.Registry satisfies it.
type Flows interface {
	ForChat(name string) (ivr.EntryPoint, bool, error)
}

// AgentEvent is what the service tells an agent's desk about a chat they hold.
type AgentEvent struct {
	// Type is chat.message, chat.typing, chat.read or chat.ended.
	Type string `json:"type"`
	// TaskID is the conversation's task id (its id).
	TaskID string `json:"task_id"`
	// Message is the customer's message (chat.message).
	Message *crmcore.ChatMessage `json:"message,omitempty"`
	// Seq is the last message the customer has read (chat.read).
	Seq int64 `json:"seq,omitempty"`
}

// The agent event types.
const (
	EvMessage = "chat.message"
	EvTyping  = "chat.typing"
	EvRead    = "chat.read"
	EvEnded   = "chat.ended"
)

// Options configure a Service. Secret is required; every other field has a default.
type Options struct {
	// Secret keys the HMAC of customers' resume tokens; every node of a cluster needs the
	// same one.
	Secret []byte
	// Entry is the chat entry point of the IVR flows (default "web").
	Entry string
	// Logger and Metrics are optional.
	Logger  *slog.Logger
	Metrics *Metrics
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Lookup serves the flows' lookup nodes (the CRM dips of the voice journey).
	Lookup ivr.Lookup
	// Hours overrides the flows' business hours.
	Hours ivr.HoursOverride
	// IVRMetrics counts the flows' outcomes (optional).
	IVRMetrics *ivr.Metrics
	// TimeoutScale multiplies the flows' reply timeouts: a customer types slower than a
	// caller presses a key (default 6).
	TimeoutScale int
	// AllowedOrigins are the web origins (https://shop.example.com) whose pages may open
	// a chat socket besides the server's own; "*" allows any.
	AllowedOrigins []string
	// MaxCustomers caps the customer sockets open at once (default 20000; more get 503).
	MaxCustomers int
	// StartRate and StartBurst limit the conversations one remote address may start per
	// minute (default 10, burst 20; a start over it gets the error rate_limited). A
	// resume with a valid token starts nothing and is not counted.
	StartRate  float64
	StartBurst int
	// MaxPendingPerAddress caps the sockets of one remote address that are in no
	// conversation yet (default 20; more get 429 before the upgrade), and HelloWait is
	// how long a socket may stay so before it is closed (default 30 s): together they
	// bound the sockets an address holds without starting anything.
	MaxPendingPerAddress int
	HelloWait            time.Duration
	// MaxSocketsPerChat caps the customer sockets of one conversation (tabs, a widget
	// reconnecting before its old socket timed out; default 5): a resume over it gets
	// the error rate_limited and its socket is closed.
	MaxSocketsPerChat int
	// MessageRate and MessageBurst limit a conversation's customer messages per second
	// (default 5, burst 10).
	MessageRate  float64
	MessageBurst int
	// QueueInterval is how often a waiting customer's place is refreshed (default 5 s).
	QueueInterval time.Duration
	// AbandonAfter ends a chat whose customer has had no socket open for that long (closed
	// the page, lost the network for good): it is abandoned, as a caller who hangs up
	// (default 5 min).
	AbandonAfter time.Duration
	// PingInterval, PongWait and WriteWait time the customer sockets (default 25 s,
	// 60 s, 10 s).
	PingInterval, PongWait, WriteWait time.Duration
	// TokenTTL is how long a resume token is valid (default 24 h).
	TokenTTL time.Duration
	// OnAgentEvent receives the events of the chats an agent holds. It must not block
	// (the hub queues them) nor call back into the Service.
	OnAgentEvent func(agentID string, ev AgentEvent)
	// AgentName names an agent to the customer ("Ana joined"); default: the agent id.
	AgentName func(agentID string) string
	// Texts are the service's own texts per language ("en", "es-MX" counts
	// as "es"), chosen by the conversation's language; each text missing
	// takes the language's default (DefaultTexts), else the default
	// language's.
	Texts map[string]Texts
}

func (o *Options) defaults() {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&o.Entry, "web")
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TimeoutScale <= 0 {
		o.TimeoutScale = 6
	}
	if o.MaxCustomers <= 0 {
		o.MaxCustomers = 20000
	}
	if o.StartRate <= 0 {
		o.StartRate = 10
	}
	if o.StartBurst <= 0 {
		o.StartBurst = 20
	}
	if o.MaxPendingPerAddress <= 0 {
		o.MaxPendingPerAddress = 20
	}
	if o.HelloWait <= 0 {
		o.HelloWait = 30 * time.Second
	}
	if o.MaxSocketsPerChat <= 0 {
		o.MaxSocketsPerChat = 5
	}
	if o.MessageRate <= 0 {
		o.MessageRate = 5
	}
	if o.MessageBurst <= 0 {
		o.MessageBurst = 10
	}
	if o.QueueInterval <= 0 {
		o.QueueInterval = 5 * time.Second
	}
	if o.AbandonAfter <= 0 {
		o.AbandonAfter = 5 * time.Minute
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 25 * time.Second
	}
	if o.PongWait <= 0 {
		o.PongWait = 60 * time.Second
	}
	if o.WriteWait <= 0 {
		o.WriteWait = 10 * time.Second
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = 24 * time.Hour
	}
	if o.AgentName == nil {
		o.AgentName = func(id string) string { return id }
	}
	if o.OnAgentEvent == nil {
		o.OnAgentEvent = func(string, AgentEvent) {}
	}
}

// Service runs the web chat: the customers' sockets, the bot, the queue and the
// conversation with the agent. It is the engine's adapter of channel chat. See doc.go.
type Service struct {
	store   Store
	flows   Flows
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	limits  *crmcore.AddrLimiter
	texts   map[string]Texts // by base language, resolved

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the service started

	engineMu sync.Mutex
	engine   Engine
	wake     chan struct{} // refresh the waiting customers now

	mu        sync.Mutex
	convs     map[string]*conv
	clients   map[*client]struct{}
	customers int
	pending   map[netip.Prefix]int // sockets in no conversation yet, per crmcore.AddrKey
	closed    bool
}

var _ acd.ChannelAdapter = (*Service)(nil)

// New returns a chat service over store and flows.
func New(store Store, flows Flows, opts Options) (*Service, error) {
	if store == nil || flows == nil {
		return nil, errors.New("chat: nil store or flows")
	}
	if len(opts.Secret) < 16 {
		return nil, errors.New("chat: the token secret must have at least 16 bytes")
	}
	opts.defaults()
	s := &Service{store: store, flows: flows, opts: opts, log: opts.Logger, metrics: opts.Metrics,
		limits: crmcore.NewAddrLimiter(opts.StartRate/60, opts.StartBurst), pending: map[netip.Prefix]int{},
		texts: resolveTexts(opts.Texts), convs: map[string]*conv{}, clients: map[*client]struct{}{}, wake: make(chan struct{}, 1)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Attach gives the service its routing engine, built with acd.WithChannel(acd.ChannelChat,
// service), starts refreshing waiting customers' places, and takes over the chats left
// open by an earlier service (a restart, another leader): each queued chat is submitted
// again, each active one adopted by its agent, each in the bot has its flow run again,
// and a chat whose customer does not come back is abandoned after AbandonAfter. Call
// it once.
func (s *Service) Attach(e Engine) {
	s.engineMu.Lock()
	s.engine = e
	s.engineMu.Unlock()
	s.goWait(s.watchQueue)
	s.goWait(s.restore)
}

func (s *Service) eng() (Engine, error) {
	s.engineMu.Lock()
	defer s.engineMu.Unlock()
	if s.engine == nil {
		return nil, ErrNoEngine
	}
	return s.engine, nil
}

// Close closes every customer socket and stops the bots; conversations stay open in the
// store (customers resume on another node). It waits for the service's goroutines.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	clients := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	convs := make([]*conv, 0, len(s.convs))
	for _, cv := range s.convs {
		convs = append(convs, cv)
	}
	s.mu.Unlock()
	s.cancel()
	for _, c := range clients {
		c.kill()
	}
	for _, cv := range convs {
		cv.mu.Lock()
		cv.stopBot()
		if cv.idle != nil {
			cv.idle.Stop()
			cv.idle = nil
		}
		cv.mu.Unlock()
	}
	s.wg.Wait()
	return nil
}

// goWait runs f on a goroutine Close waits for, unless the service is closed.
func (s *Service) goWait(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.recover("goroutine")
		f()
	}()
	return true
}

// recover logs a panic of one conversation's or connection's goroutine: it ends that
// goroutine, never the process, and nothing of it reaches the customer.
func (s *Service) recover(where string) {
	if r := recover(); r != nil {
		s.log.Error("chat: panic", "where", where, "panic", fmt.Sprint(r))
	}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }
