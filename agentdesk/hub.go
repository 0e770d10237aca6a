package agentdesk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"
)

// Code is a configured code with a human label: a wrap-up disposition or a
// not-ready reason.
type Code struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

// Config configures a Hub. Engine, Events and Auth are required.
type Config struct {
	Engine     Engine
	Events     EventSource
	Auth       Authenticator
	Softphones Softphones // nil: WebRTC softphone unavailable
	Listener   Listener   // nil: listen-in unavailable
	Recorder   Recorder   // nil: recording cannot be paused from the desk
	Tickets    Tickets    // nil: wrap-ups with a ticket are refused
	Chats      Chats      // nil: chat commands are refused (unsupported)

	// Campaigns serves preview campaigns (campaign.preview, campaign.dial);
	// nil: those commands are refused (unsupported).
	Campaigns CampaignDesk

	// Dispositions are the wrap-up codes agents choose from (required for wrap-up).
	Dispositions []Code
	// ReasonCodes are the not-ready reasons; empty accepts any reason.
	ReasonCodes []Code

	// AllowedOrigins lists browser origins ("https://crm.example.com") allowed
	// besides the server's own host; "*" allows any.
	AllowedOrigins []string

	Grace          time.Duration // reconnect grace keeping presence (default 30s)
	SendBuffer     int           // queued outbound messages per connection (default 256)
	MaxMessage     int           // soft cap: larger messages get too_large (default 64 KiB)
	HardMaxMessage int64         // read limit: larger messages close the connection (default 1 MiB)
	RatePerSecond  float64       // sustained commands per second per connection (default 20)
	RateBurst      int           // burst (default 40)
	PingInterval   time.Duration // heartbeat (default 20s); a missing pong for 2.5× drops
	WriteWait      time.Duration // write deadline (default 10s)
	AuthTimeout    time.Duration // time to send "auth" or "login" when no token (default 10s)
	CommandTimeout time.Duration // engine/gateway call timeout (default 5s)
	FlushInterval  time.Duration // supervisor delta coalescing period (default 250ms)

	// MaxUnauthenticated caps the connections not yet authenticated; more
	// get HTTP 503 (default 1000).
	MaxUnauthenticated int
	// SessionCheck is how often a connection's session is verified again
	// (expiry, changes not announced through Revoke; default 1m).
	SessionCheck time.Duration

	Logger  *slog.Logger
	Metrics *Metrics // nil: unregistered metrics
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Grace, 30*time.Second)
	def(&c.PingInterval, 20*time.Second)
	def(&c.WriteWait, 10*time.Second)
	def(&c.AuthTimeout, 10*time.Second)
	def(&c.SessionCheck, time.Minute)
	def(&c.CommandTimeout, 5*time.Second)
	def(&c.FlushInterval, 250*time.Millisecond)
	if c.SendBuffer <= 0 {
		c.SendBuffer = 256
	}
	if c.MaxUnauthenticated <= 0 {
		c.MaxUnauthenticated = 1000
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = 64 << 10
	}
	if c.HardMaxMessage <= 0 {
		c.HardMaxMessage = 1 << 20
	}
	if c.HardMaxMessage < int64(c.MaxMessage) {
		c.HardMaxMessage = int64(c.MaxMessage)
	}
	if c.RatePerSecond <= 0 {
		c.RatePerSecond = 20
	}
	if c.RateBurst <= 0 {
		c.RateBurst = 40
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
}

// Hub is the CTI hub: it owns every CTI connection and a model of the
// floor built from the engine's events, pushes screen pops and state to
// agents and coalesced deltas to supervisors, and forwards commands to the
// engine. One goroutine (Run) owns the connection registry and the model;
// see doc.go.
type Hub struct {
	cfg Config
	log *slog.Logger
	m   *Metrics

	register   chan *client
	unregister chan *client
	requests   chan func() // run on the hub goroutine
	graceCh    chan graceExpiry
	done       chan struct{} // closed when Run returns
	started    chan struct{}
	startOnce  sync.Once
	bg         sync.WaitGroup // background engine calls and connection goroutines
	bgMu       sync.Mutex     // orders bg.Add from HTTP handlers against Run's bg.Wait
	stopping   bool           // guarded by bgMu; set when Run begins to return
	auth       hubAuth        // see auth.go

	// The hub's state: changed only under mu, which nothing outside the
	// hub takes (Run's goroutine for every registration, engine change and
	// flush; connection goroutines for a revoked session).
	mu       sync.Mutex
	desks    map[string]*client // agent id → desktop connection
	sups     map[*client]struct{}
	all      map[*client]struct{}
	graces   map[string]*graceTimer
	floor    floor
	dirtyQ   map[string]bool
	dirtyA   map[string]bool
	graceGen uint64
}

type graceTimer struct {
	t   *time.Timer
	gen uint64
}

type graceExpiry struct {
	agentID string
	gen     uint64
}

// floor is the hub's model of the engine state.
type floor struct {
	queues  map[string]QueueStats
	agents  map[string]AgentStatus
	waiting map[string]WaitingCall
	offers  map[string]Offer // by agent
	calls   map[string]CallInfo
	wraps   map[string]WrapUpTimer
	tasks   map[string]deskTasks // by agent: tasks of channels other than voice
}

func newFloor(s State) floor {
	f := floor{
		queues: map[string]QueueStats{}, agents: map[string]AgentStatus{}, waiting: map[string]WaitingCall{},
		offers: map[string]Offer{}, calls: map[string]CallInfo{}, wraps: map[string]WrapUpTimer{},
		tasks: map[string]deskTasks{},
	}
	for _, q := range s.Queues {
		f.queues[q.Queue] = q
	}
	for _, a := range s.Agents {
		f.agents[a.AgentID] = a
	}
	for _, w := range s.Waiting {
		f.waiting[w.CallID] = w
	}
	for _, o := range s.Offers {
		f.offers[o.AgentID] = o
	}
	for _, c := range s.Calls {
		f.calls[c.AgentID] = c
	}
	for _, w := range s.WrapUps {
		f.wraps[w.AgentID] = w
	}
	for _, t := range s.Tasks {
		if f.tasks[t.AgentID] == nil {
			f.tasks[t.AgentID] = deskTasks{}
		}
		f.tasks[t.AgentID][t.TaskID] = t
	}
	return f
}

// New returns a hub; call Run to start it.
func New(cfg Config) (*Hub, error) {
	if cfg.Engine == nil || cfg.Events == nil || cfg.Auth == nil {
		return nil, errors.New("agentdesk: config needs Engine, Events and Auth")
	}
	for i, d := range cfg.Dispositions {
		if d.Code == "" {
			return nil, fmt.Errorf("agentdesk: disposition %d has no code", i)
		}
	}
	cfg.defaults()
	h := &Hub{
		cfg: cfg, log: cfg.Logger, m: cfg.Metrics,
		register: make(chan *client), unregister: make(chan *client), requests: make(chan func()),
		graceCh: make(chan graceExpiry), done: make(chan struct{}), started: make(chan struct{}),
		desks: map[string]*client{}, sups: map[*client]struct{}{}, all: map[*client]struct{}{},
		graces: map[string]*graceTimer{}, floor: newFloor(State{}),
		dirtyQ: map[string]bool{}, dirtyA: map[string]bool{},
	}
	return h, nil
}

// Run subscribes to the engine and serves until ctx ends; it then closes
// every connection and returns nil. It returns an error if the first
// subscription fails.
func (h *Hub) Run(ctx context.Context) error {
	defer func() {
		h.bgMu.Lock()
		h.stopping = true
		h.bgMu.Unlock()
		close(h.done)
		h.bg.Wait()
	}()
	st, events, err := h.cfg.Events.Subscribe(ctx)
	if err != nil {
		return fmt.Errorf("agentdesk: subscribe: %w", err)
	}
	h.locked(func() { h.floor = newFloor(st) })
	defer func() {
		if events != nil {
			events.Close()
		}
	}()
	close(h.started)
	tick := time.NewTicker(h.cfg.FlushInterval)
	defer tick.Stop()
	var batch []Event
	take := func() {
		var open bool
		batch, open = events.Take(batch[:0])
		h.locked(func() {
			for _, ev := range batch {
				h.onEvent(ev)
			}
		})
		clear(batch)
		if !open {
			events.Close()
			events = h.resubscribe(ctx)
		}
	}
	for {
		var ready <-chan struct{}
		if events != nil {
			ready = events.Ready()
		}
		select {
		case <-ctx.Done():
			h.locked(func() {
				for c := range h.all {
					c.disconnect(reasonShutdown, closeGoingAway, "server shutting down")
				}
				for _, g := range h.graces {
					g.t.Stop()
				}
			})
			return nil
		case c := <-h.register:
			h.locked(func() { h.onRegister(c) })
		case c := <-h.unregister:
			h.locked(func() { h.onUnregister(c) })
		case f := <-h.requests:
			// A request (a snapshot, a check of a click) sees every
			// change the engine published before it was made.
			select {
			case <-ready:
				take()
			default:
			}
			h.locked(f)
		case g := <-h.graceCh:
			h.locked(func() { h.onGraceExpired(g) })
		case <-ready:
			take()
		case <-tick.C:
			h.locked(h.flush)
		}
	}
}

// locked runs f holding h.mu.
func (h *Hub) locked(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
}

// resubscribe is called when the engine's feed ended (the hub fell
// behind, or the engine stopped): it subscribes again and pushes fresh
// snapshots to everyone. It returns nil once ctx ends.
func (h *Hub) resubscribe(ctx context.Context) Feed {
	h.m.resyncs.Inc()
	h.log.Warn("agentdesk: engine feed ended; resubscribing and resyncing every connection")
	for {
		st, events, err := h.cfg.Events.Subscribe(ctx)
		if err == nil {
			h.locked(func() {
				h.floor = newFloor(st)
				clear(h.dirtyA)
				clear(h.dirtyQ)
				for c := range h.all {
					h.sendSnapshots(c)
				}
			})
			return events
		}
		h.log.Error("agentdesk: resubscribe to engine", "err", err)
		select {
		case <-ctx.Done():
			return nil // Run sees ctx.Done
		case <-time.After(time.Second):
		}
	}
}

// do runs f on the hub goroutine and waits for it.
func (h *Hub) do(f func()) error {
	select {
	case <-h.started:
	case <-h.done:
		return ErrClosed
	}
	ran := make(chan struct{})
	select {
	case h.requests <- func() { f(); close(ran) }:
	case <-h.done:
		return ErrClosed
	}
	<-ran
	return nil
}

func (h *Hub) onRegister(c *client) {
	if reason, ok := h.revokedDuringAuth(c); ok {
		h.endSession(c, reason)
		return
	}
	h.all[c] = struct{}{}
	h.m.connections.WithLabelValues(string(c.id.Role)).Inc()
	if c.desktop {
		if old := h.desks[c.id.AgentID]; old != nil && old != c {
			old.disconnect(reasonReplaced, closeReplaced, "replaced by a newer connection of the same agent")
			delete(h.all, old)
			h.m.connections.WithLabelValues(string(old.id.Role)).Dec()
			old.registered = false
			c.resumed = true
		}
		h.desks[c.id.AgentID] = c
		if g := h.graces[c.id.AgentID]; g != nil {
			g.t.Stop()
			delete(h.graces, c.id.AgentID)
			c.resumed = true
		}
	}
	if c.supervisor() {
		h.sups[c] = struct{}{}
	}
	c.registered = true
	h.sendHello(c)
	h.sendSnapshots(c)
}

func (h *Hub) onUnregister(c *client) {
	if !c.registered {
		return
	}
	c.registered = false
	delete(h.all, c)
	delete(h.sups, c)
	h.m.connections.WithLabelValues(string(c.id.Role)).Dec()
	if !c.desktop || h.desks[c.id.AgentID] != c {
		return
	}
	agentID := c.id.AgentID
	delete(h.desks, agentID)
	if o, ok := h.floor.offers[agentID]; ok {
		// The agent cannot answer: withdraw the offer so the engine re-offers now.
		h.engineGone(agentID, o.CallID)
	}
	for _, t := range h.floor.tasks[agentID] {
		if t.State == TaskStateOffered {
			h.taskGone(agentID, t.TaskID)
		}
	}
	if c.ended {
		h.log.Info("agentdesk: session ended; agent set offline", "agent_id", agentID)
		h.goOffline(agentID)
		return
	}
	h.graceGen++
	gen := h.graceGen
	t := time.AfterFunc(h.cfg.Grace, func() {
		select {
		case h.graceCh <- graceExpiry{agentID: agentID, gen: gen}:
		case <-h.done:
		}
	})
	h.graces[agentID] = &graceTimer{t: t, gen: gen}
	h.log.Info("agentdesk: desktop disconnected; grace period started", "agent_id", agentID, "grace", h.cfg.Grace)
}

func (h *Hub) onGraceExpired(g graceExpiry) {
	cur := h.graces[g.agentID]
	if cur == nil || cur.gen != g.gen {
		return
	}
	delete(h.graces, g.agentID)
	if h.desks[g.agentID] != nil {
		return
	}
	h.log.Info("agentdesk: grace period over; agent set offline", "agent_id", g.agentID)
	h.goOffline(g.agentID)
}

// goOffline sets the agent offline and ends its softphone leg, off the
// hub goroutine.
func (h *Hub) goOffline(agentID string) {
	h.background(func(ctx context.Context) {
		if err := h.cfg.Engine.SetPresence(ctx, agentID, PresenceOffline, ""); err != nil {
			h.log.Warn("agentdesk: set offline", "agent_id", agentID, "err", err)
		}
		if h.cfg.Softphones != nil {
			h.cfg.Softphones.Disconnect(agentID)
		}
	})
}

// engineGone tells the engine, off the hub goroutine, that the agent
// cannot take the offered call.
func (h *Hub) engineGone(agentID, callID string) {
	h.background(func(ctx context.Context) {
		err := h.cfg.Engine.CallControl(ctx, agentID, CallAction{Action: ActGone, CallID: callID})
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalidState) {
			h.log.Warn("agentdesk: withdraw offer", "agent_id", agentID, "call_id", callID, "err", err)
		}
	})
}

// background runs f in a goroutine with a command timeout, tracked by Run.
func (h *Hub) background(f func(ctx context.Context)) {
	h.spawn(func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.CommandTimeout)
		defer cancel()
		f(ctx)
	})
}

// spawn starts each fn in a goroutine that Run waits for before it returns.
// It starts none and reports false once Run is returning, so a goroutine
// started from an HTTP handler can never race Run's final Wait.
func (h *Hub) spawn(fns ...func()) bool {
	h.bgMu.Lock()
	defer h.bgMu.Unlock()
	if h.stopping {
		return false
	}
	h.bg.Add(len(fns))
	for _, fn := range fns {
		go func() {
			defer h.bg.Done()
			fn()
		}()
	}
	return true
}

// helloData is the data of the "hello" event.
type helloData struct {
	Agent        Identity `json:"agent"`
	Client       string   `json:"client"`
	Resumed      bool     `json:"resumed"`
	GraceSec     float64  `json:"grace_s"`
	Dispositions []Code   `json:"dispositions"`
	ReasonCodes  []Code   `json:"reason_codes"`
	Softphone    bool     `json:"softphone"`
	Campaigns    bool     `json:"campaigns"` // preview campaigns: campaign.preview and campaign.dial
	ServerTime   string   `json:"server_time"`
}

func (h *Hub) sendHello(c *client) {
	kind := "desktop"
	if !c.desktop {
		kind = "wallboard"
	}
	c.sendEvent(EvHello, "", helloData{
		Agent: c.id, Client: kind, Resumed: c.resumed, GraceSec: h.cfg.Grace.Seconds(),
		Dispositions: nonNil(h.cfg.Dispositions), ReasonCodes: nonNil(h.cfg.ReasonCodes),
		Softphone: h.cfg.Softphones != nil, Campaigns: h.cfg.Campaigns != nil, ServerTime: time.Now().UTC().Format(time.RFC3339Nano),
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// AgentSnapshot is the data of "agent.snapshot": everything a desktop needs
// to redraw after (re)connecting: the call's offer, call and wrap-up, and
// the tasks of other channels with their pops.
type AgentSnapshot struct {
	Status AgentStatus  `json:"status"`
	Offer  *Offer       `json:"offer"`
	Call   *CallInfo    `json:"call"`
	WrapUp *WrapUpTimer `json:"wrapup"`
	Tasks  []TaskView   `json:"tasks"`
}

// QueueView is a queue's stats with its waiting calls, oldest first.
type QueueView struct {
	QueueStats
	Calls []WaitingCall `json:"calls"`
}

// AgentView is an agent's status with the call it is on, if any, and the
// tasks of other channels it holds.
type AgentView struct {
	AgentStatus
	Call  *CallInfo  `json:"call"`
	Tasks []TaskInfo `json:"tasks"`
}

// SupSnapshot is the data of "sup.snapshot".
type SupSnapshot struct {
	Queues     []QueueView `json:"queues"`
	Agents     []AgentView `json:"agents"`
	ServerTime time.Time   `json:"server_time"`
}

func (h *Hub) agentSnapshot(agentID string) AgentSnapshot {
	s := AgentSnapshot{Status: h.floor.agents[agentID]}
	if s.Status.AgentID == "" {
		s.Status = AgentStatus{AgentID: agentID, Presence: PresenceOffline, State: "idle"}
	}
	s.Status = h.withLoad(s.Status)
	s.Tasks = h.deskTaskList(agentID)
	if o, ok := h.floor.offers[agentID]; ok {
		s.Offer = &o
	}
	if ci, ok := h.floor.calls[agentID]; ok {
		s.Call = &ci
	}
	if w, ok := h.floor.wraps[agentID]; ok {
		s.WrapUp = &w
	}
	return s
}

func (h *Hub) queueView(name string) QueueView {
	q := h.floor.queues[name]
	q.Queue = name
	v := QueueView{QueueStats: q, Calls: []WaitingCall{}}
	for _, w := range h.floor.waiting {
		if w.Queue == name {
			v.Calls = append(v.Calls, w)
		}
	}
	sort.Slice(v.Calls, func(i, j int) bool {
		a, b := v.Calls[i], v.Calls[j]
		if a.Position != b.Position {
			return a.Position < b.Position
		}
		return a.Since.Before(b.Since)
	})
	// The waiting list is live; the engine's periodic stats may lag it.
	v.Waiting = len(v.Calls)
	v.LongestWaitSec = 0
	for _, c := range v.Calls {
		v.LongestWaitSec = max(v.LongestWaitSec, time.Since(c.Since).Seconds())
	}
	return v
}

// agentView is an agent's status with their call; an agent who left the
// floor is offline and idle.
func (h *Hub) agentView(id string) AgentView {
	a, ok := h.floor.agents[id]
	if !ok {
		a = AgentStatus{AgentID: id, Presence: PresenceOffline, State: "idle"}
	}
	v := AgentView{AgentStatus: h.withLoad(a), Tasks: []TaskInfo{}}
	if ci, ok := h.floor.calls[id]; ok {
		v.Call = &ci
	}
	for _, t := range h.deskTaskList(id) {
		v.Tasks = append(v.Tasks, t.TaskInfo)
	}
	return v
}

func (h *Hub) supSnapshot() SupSnapshot {
	s := SupSnapshot{Queues: []QueueView{}, Agents: []AgentView{}, ServerTime: time.Now().UTC()}
	names := make([]string, 0, len(h.floor.queues))
	for n := range h.floor.queues {
		names = append(names, n)
	}
	for _, w := range h.floor.waiting {
		if _, ok := h.floor.queues[w.Queue]; !ok && !slices.Contains(names, w.Queue) {
			names = append(names, w.Queue)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		s.Queues = append(s.Queues, h.queueView(n))
	}
	ids := make([]string, 0, len(h.floor.agents))
	for id := range h.floor.agents {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s.Agents = append(s.Agents, h.agentView(id))
	}
	return s
}

func (h *Hub) sendSnapshots(c *client) {
	if c.desktop {
		c.sendEvent(EvAgentSnapshot, "", h.agentSnapshot(c.id.AgentID))
	}
	if c.supervisor() {
		c.sendEvent(EvSupSnapshot, "", h.supSnapshot())
	}
}

// onEvent applies one engine event to the model and notifies the agent
// concerned at once; supervisor deltas are marked dirty for the next flush.
func (h *Hub) onEvent(ev Event) {
	f := &h.floor
	switch e := ev.(type) {
	case AgentStatus:
		if e.Presence == PresenceOffline && e.State == "idle" {
			// Logged off: the agent left the floor, as in the engine's state.
			delete(f.agents, e.AgentID)
		} else {
			f.agents[e.AgentID] = e
		}
		h.dirtyA[e.AgentID] = true
		if c := h.desks[e.AgentID]; c != nil {
			c.sendEvent(EvAgentState, "", h.withLoad(e))
		}
	case TaskOffer:
		h.onTaskOffer(e)
	case TaskInfo:
		h.onTaskInfo(e)
	case QueueStats:
		f.queues[e.Queue] = e
		h.dirtyQ[e.Queue] = true
	case WaitingCall:
		if old, ok := f.waiting[e.CallID]; ok && old.Queue != e.Queue {
			h.dirtyQ[old.Queue] = true
		}
		f.waiting[e.CallID] = e
		h.dirtyQ[e.Queue] = true
	case CallGone:
		if w, ok := f.waiting[e.CallID]; ok {
			delete(f.waiting, e.CallID)
			h.dirtyQ[w.Queue] = true
		}
		if e.Queue != "" {
			h.dirtyQ[e.Queue] = true
		}
	case Offer:
		f.offers[e.AgentID] = e
		c := h.desks[e.AgentID]
		if c == nil {
			// Nobody there to answer: hand the call back at once.
			h.engineGone(e.AgentID, e.CallID)
			return
		}
		b, err := encode(EvCallOffered, "", e)
		if err != nil {
			h.log.Error("agentdesk: encode screen pop", "call_id", e.CallID, "err", err)
			e.Data = nil
			b, _ = encode(EvCallOffered, "", e)
		}
		c.enqueue(outMsg{typ: EvCallOffered, b: b, decided: e.DecidedAt})
	case OfferEnded:
		if o, ok := f.offers[e.AgentID]; ok && o.CallID == e.CallID {
			delete(f.offers, e.AgentID)
		}
		if c := h.desks[e.AgentID]; c != nil {
			c.sendEvent(EvCallRescinded, "", map[string]string{"call_id": e.CallID, "reason": e.Reason})
		}
	case CallInfo:
		prev, had := f.calls[e.AgentID]
		if o, ok := f.offers[e.AgentID]; ok && o.CallID == e.CallID {
			delete(f.offers, e.AgentID)
		}
		typ := EvCallAnswered
		switch e.State {
		case CallHeld:
			typ = EvCallHeld
			f.calls[e.AgentID] = e
		case CallTalking:
			if had && prev.CallID == e.CallID && prev.State == CallHeld {
				typ = EvCallUnheld
			}
			f.calls[e.AgentID] = e
		case CallTransferred:
			typ = EvCallXfer
			delete(f.calls, e.AgentID)
		default:
			typ = EvCallEnded
			if had && prev.CallID == e.CallID {
				delete(f.calls, e.AgentID)
			}
		}
		h.dirtyA[e.AgentID] = true
		if c := h.desks[e.AgentID]; c != nil {
			c.sendEvent(typ, "", e)
		}
	case Consult:
		if c := h.desks[e.AgentID]; c != nil {
			c.sendEvent(EvCallConsult, "", e)
		}
	case WrapUpTimer:
		typ := EvWrapUpStarted
		if e.Done {
			typ = EvWrapUpEnded
			delete(f.wraps, e.AgentID)
		} else {
			f.wraps[e.AgentID] = e
		}
		if c := h.desks[e.AgentID]; c != nil {
			c.sendEvent(typ, "", e)
		}
	}
}

// flush sends the coalesced supervisor deltas: at most one message per
// dirty queue and per dirty agent each FlushInterval.
func (h *Hub) flush() {
	if len(h.dirtyQ) == 0 && len(h.dirtyA) == 0 {
		return
	}
	if len(h.sups) == 0 {
		clear(h.dirtyQ)
		clear(h.dirtyA)
		return
	}
	msgs := make([]outMsg, 0, len(h.dirtyQ)+len(h.dirtyA))
	for q := range h.dirtyQ {
		if b, err := encode(EvSupQueue, "", h.queueView(q)); err == nil {
			msgs = append(msgs, outMsg{typ: EvSupQueue, b: b})
		}
	}
	for a := range h.dirtyA {
		if b, err := encode(EvSupAgent, "", h.agentView(a)); err == nil {
			msgs = append(msgs, outMsg{typ: EvSupAgent, b: b})
		}
	}
	clear(h.dirtyQ)
	clear(h.dirtyA)
	var snap *outMsg
	snapshot := func() (outMsg, bool) {
		if snap == nil {
			b, err := encode(EvSupSnapshot, "", h.supSnapshot())
			if err != nil {
				h.log.Error("agentdesk: encode supervisor snapshot", "err", err)
				return outMsg{}, false
			}
			snap = &outMsg{typ: EvSupSnapshot, b: b}
		}
		return *snap, true
	}
	for c := range h.sups {
		c.enqueueDeltas(msgs, snapshot)
	}
}

// snapshotFor returns, from the hub goroutine, the snapshots a resync
// command answers with.
func (h *Hub) snapshotFor(c *client) (as *AgentSnapshot, ss *SupSnapshot, err error) {
	err = h.do(func() {
		if c.desktop {
			s := h.agentSnapshot(c.id.AgentID)
			as = &s
		}
		if c.supervisor() {
			s := h.supSnapshot()
			ss = &s
		}
	})
	return as, ss, err
}

// checkCall verifies, on the hub goroutine, that callID is the agent's
// current offer (answer, reject) or call (hangup, hold, transfer), so that a
// stale click never acts on a newer call.
func (h *Hub) checkCall(agentID, typ, callID string) error {
	var ok bool
	if err := h.do(func() {
		switch typ {
		case CmdCallAnswer, CmdCallReject:
			o, has := h.floor.offers[agentID]
			ok = has && o.CallID == callID
		default:
			c, has := h.floor.calls[agentID]
			ok = has && c.CallID == callID
		}
	}); err != nil {
		return err
	}
	if !ok {
		return &ProtocolError{ErrorData: ErrorData{Code: CodeNotFound, Field: "data.call_id", Message: "no such call on this agent"}}
	}
	return nil
}

// knownCode reports whether code is in list (an empty list accepts any code).
func knownCode(list []Code, code string, emptyOK bool) bool {
	if len(list) == 0 {
		return emptyOK
	}
	for _, c := range list {
		if c.Code == code {
			return true
		}
	}
	return false
}
