package acd

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"switchboard/acd/routing"
	"switchboard/acd/stats"
)

// Option configures an Engine.
type Option func(*Engine)

// WithClock sets the clock (default: the wall clock).
func WithClock(c Clock) Option { return func(e *Engine) { e.clock = c } }

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithMetrics makes the engine update m.
func WithMetrics(m *Metrics) Option { return func(e *Engine) { e.metrics = m } }

// WithDialer enables click-to-dial, callbacks and transfers to numbers.
func WithDialer(d Dialer) Option { return func(e *Engine) { e.dialer = d } }

// WithVoicemail enables the "voicemail" overflow action.
func WithVoicemail(v VoicemailTaker) Option { return func(e *Engine) { e.vm = v } }

// WithAfterCall hands the caller's leg of an answered call to f when the
// agent's side ends first, instead of hanging it up (for a post-call
// survey). f must not block; it returns false to let the engine hang up.
func WithAfterCall(f func(id CallID, caller Leg) bool) Option {
	return func(e *Engine) { e.afterCall = f }
}

// WithRoutingHeld starts the engine with its offers held: calls and
// tasks queue, agents log in and calls are adopted, but nothing is offered
// until ReleaseRouting. A new cluster leader starts so while the nodes
// re-announce their calls, so that no agent whose call is still being
// re-announced is offered another first.
func WithRoutingHeld() Option { return func(e *Engine) { e.held = true } }

// WithCommandBuffer sets the actor's command channel capacity (1024).
func WithCommandBuffer(n int) Option { return func(e *Engine) { e.cmdBuf = n } }

// Engine is the ACD: one actor goroutine owns queues, waiting calls and
// agent states. Methods are safe for concurrent use; they send commands
// to the actor and wait for the answer. See the package documentation.
type Engine struct {
	clock   Clock
	log     *slog.Logger
	metrics *Metrics
	ringer  Ringer
	bridger Bridger
	conf    Conferencer
	dialer  Dialer
	vm      VoicemailTaker
	plan    DialPlan
	// afterCall takes over a caller still on the line after the agent left.
	afterCall func(id CallID, caller Leg) bool
	// closing is set by Shutdown: no new calls, no more routing (actor).
	closing bool
	// held keeps offers back until ReleaseRouting (actor).
	held   bool
	cmdBuf int
	zones  zoneCache
	// adapters are the channel adapters given by WithChannel.
	adapters map[Channel]ChannelAdapter
	// region is cfg.DefaultRegion, read off the actor to resolve the
	// numbers agents dial before the actor sees them.
	region atomic.Pointer[string]

	ctx       context.Context
	cancel    context.CancelFunc
	cmds      chan func()
	actorDone chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once

	// quiescence accounting (see Quiet)
	queued  atomic.Int64
	tasksMu sync.Mutex
	tasks   map[*task]struct{}

	// ---- owned by the actor goroutine ----
	cfg       Config
	queues    map[string]*queue
	qorder    []*queue
	agents    map[AgentID]*agent
	slots     map[int32]*agent
	idx       *routing.Index
	skills    map[string]int
	langs     map[string]int
	countries map[string]uint16
	regions   map[string]uint16
	calls     map[CallID]*call
	waiting   []*call
	wkeys     []wkey
	nextOrder float64
	seq       uint64
	subs      map[*Subscription]struct{}
	gen       int
	statsT    Timer
	scratch   []int32
	// chans are the channels by id (chVoice, chCallback, then those with
	// an adapter); chanIDs finds a channel's id.
	chans   []channel
	chanIDs map[Channel]uint8
}

// task is one goroutine the engine spawned for I/O. park lists the
// contexts the goroutine is known to wait on: while all are alive the
// task cannot produce a command by itself (used by Quiet).
type task struct {
	park []context.Context
}

// New validates cfg and starts an engine. ringer and bridger are required.
func New(cfg *Config, ringer Ringer, bridger Bridger, opts ...Option) (*Engine, error) {
	if cfg == nil || ringer == nil || bridger == nil {
		return nil, fmt.Errorf("%w: nil config, ringer or bridger", ErrInvalidArgument)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		clock: realClock{}, log: slog.Default(), ringer: ringer, bridger: bridger, cmdBuf: 1024,
		tasks:  map[*task]struct{}{},
		queues: map[string]*queue{}, agents: map[AgentID]*agent{}, slots: map[int32]*agent{},
		skills: map[string]int{}, langs: map[string]int{}, countries: map[string]uint16{}, regions: map[string]uint16{},
		calls: map[CallID]*call{}, subs: map[*Subscription]struct{}{},
	}
	for _, o := range opts {
		o(e)
	}
	if err := e.initChannels(); err != nil {
		return nil, err
	}
	e.idx = routing.NewIndex(0)
	if err := e.applyConfig(*cfg); err != nil {
		return nil, err
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.cmds = make(chan func(), e.cmdBuf)
	e.actorDone = make(chan struct{})
	go e.run()
	e.post(func() { e.scheduleStats() })
	return e, nil
}

func (e *Engine) run() {
	defer close(e.actorDone)
	for {
		select {
		case f := <-e.cmds:
			f()
			e.queued.Add(-1)
		case <-e.ctx.Done():
			return
		}
	}
}

// send queues f for the actor.
func (e *Engine) send(ctx context.Context, f func()) error {
	e.queued.Add(1)
	select {
	case e.cmds <- f:
		return nil
	case <-ctx.Done():
		e.queued.Add(-1)
		return ctx.Err()
	case <-e.ctx.Done():
		e.queued.Add(-1)
		return ErrClosed
	}
}

// post queues f for the actor from a goroutine or timer; never call it
// from the actor itself.
func (e *Engine) post(f func()) { _ = e.send(context.Background(), f) }

// do runs f on the actor and returns its error.
func (e *Engine) do(ctx context.Context, f func() error) error {
	errc := make(chan error, 1)
	if err := e.send(ctx, func() { errc <- f() }); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-e.actorDone:
		return ErrClosed
	}
}

// goTask runs fn in a tracked goroutine and posts the command it returns.
func (e *Engine) goTask(park []context.Context, fn func() func()) {
	t := &task{park: park}
	e.tasksMu.Lock()
	e.tasks[t] = struct{}{}
	e.tasksMu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if r := fn(); r != nil {
			e.post(r)
		}
		e.tasksMu.Lock()
		delete(e.tasks, t)
		e.tasksMu.Unlock()
	}()
}

// after schedules f on the actor after d; the returned timer is stopped
// by the owner when no longer needed.
func (e *Engine) after(d time.Duration, f func()) Timer {
	return e.clock.AfterFunc(d, func() { e.post(f) })
}

// watch posts f when leg ends; the returned stop function cancels it.
func (e *Engine) watch(leg Leg, f func()) func() {
	t := &task{park: []context.Context{leg.Context()}}
	e.tasksMu.Lock()
	e.tasks[t] = struct{}{}
	e.tasksMu.Unlock()
	stop := context.AfterFunc(leg.Context(), func() {
		e.post(f)
		e.tasksMu.Lock()
		delete(e.tasks, t)
		e.tasksMu.Unlock()
	})
	return func() {
		if stop() {
			e.tasksMu.Lock()
			delete(e.tasks, t)
			e.tasksMu.Unlock()
		}
	}
}

// Quiet reports whether the engine has nothing left to do until something
// outside it happens: no queued command, and every I/O goroutine blocked on
// contexts that are still alive. Simulators call it between fake-clock
// steps; it assumes Ringer.Ring calls return without blocking on time.
func (e *Engine) Quiet() bool {
	if e.queued.Load() != 0 {
		return false
	}
	e.tasksMu.Lock()
	defer e.tasksMu.Unlock()
	for t := range e.tasks {
		if len(t.park) == 0 {
			return false
		}
		for _, c := range t.park {
			if c.Err() != nil {
				return false
			}
		}
	}
	return e.queued.Load() == 0
}

// Shutdown ends everything still in progress so that its interaction is
// completed (and queued to every Records subscriber) before Close: calls
// still up are hung up (outcome failed unless answered), and agents in
// wrap-up finish it.
// Routing stops; the engine accepts no new calls afterwards.
func (e *Engine) Shutdown(ctx context.Context) error {
	return e.do(ctx, func() error {
		e.closing = true
		for _, c := range e.calls {
			if c.state == CallStateEnded {
				continue
			}
			if c.outcome == "" {
				c.outcome = OutcomeFailed
				if !c.answeredAt.IsZero() {
					c.outcome = OutcomeAnswered
				}
			}
			e.endCall(c)
		}
		for _, a := range e.agents {
			if a.state == StateWrapUp {
				e.endWrapUp(a)
			}
			for _, c := range slices.Clone(a.tasks) {
				if c.tstate == TaskWrapUp {
					e.endTaskWrap(c)
				}
			}
		}
		return nil
	})
}

// Close stops the engine: the actor stops, every ring, bridge and dial
// goroutine is cancelled and awaited, and every subscription ends. Calls
// are not hung up.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.cancel()
		<-e.actorDone
		// The actor is gone: its state is ours now.
		if e.statsT != nil {
			e.statsT.Stop()
		}
		for _, c := range e.calls {
			c.stopTimers()
			if c.stopWatch != nil {
				c.stopWatch()
			}
		}
		for _, a := range e.agents {
			if a.wrapT != nil {
				a.wrapT.Stop()
			}
		}
		for s := range e.subs {
			s.end()
		}
		e.subs = nil
		e.wg.Wait()
	})
	return nil
}

// ---------------------------------------------------------------- config

type queue struct {
	name     string
	cfg      QueueConfig
	reqs     []routing.Requirement
	strategy routing.Strategy
	weights  routing.Weights
	formula  stats.Formula
	scope    routing.Scope
	win      *stats.Window
	removed  bool
}

func scopeOf(s string) routing.Scope {
	switch s {
	case "country":
		return routing.ScopeCountry
	case "region":
		return routing.ScopeRegion
	}
	return routing.ScopeAny
}

func (e *Engine) skillID(name string) int {
	if id, ok := e.skills[name]; ok {
		return id
	}
	id := len(e.skills)
	e.skills[name] = id
	e.idx.GrowSkills(id + 1)
	return id
}

func (e *Engine) langID(name string) int {
	if name == "" {
		return -1
	}
	if id, ok := e.langs[name]; ok {
		return id
	}
	if len(e.langs) >= 64 {
		return -1
	}
	id := len(e.langs)
	e.langs[name] = id
	return id
}

func intern(m map[string]uint16, s string) uint16 {
	if s == "" {
		return 0
	}
	if id, ok := m[s]; ok {
		return id
	}
	id := uint16(len(m) + 1)
	m[s] = id
	return id
}

// applyConfig installs cfg (validated); queues keep their statistics.
func (e *Engine) applyConfig(cfg Config) error {
	if cfg.RingTimeout == 0 {
		cfg.RingTimeout = Duration(20 * time.Second)
	}
	if cfg.MissedOffers == 0 {
		cfg.MissedOffers = 2
	}
	if cfg.StatsInterval == 0 {
		cfg.StatsInterval = Duration(5 * time.Second)
	}
	seen := map[string]bool{}
	var order []*queue
	for _, qc := range cfg.Queues {
		q := e.queues[qc.Name]
		if q == nil {
			q = &queue{name: qc.Name, win: stats.NewWindow(cfg.ReportInterval.D(), e.clock.Now())}
			e.queues[qc.Name] = q
		}
		q.cfg = qc
		q.removed = false
		q.reqs = q.reqs[:0]
		for _, s := range qc.Skills {
			q.reqs = append(q.reqs, routing.Requirement{Skill: e.skillID(s.Skill), MinLevel: routing.Level(s.Level)})
		}
		q.strategy = routing.LongestIdle
		if qc.Strategy != "" {
			q.strategy, _ = routing.ParseStrategy(qc.Strategy)
		}
		q.weights = q.strategy.Weights()
		for k, v := range qc.Weights {
			f, _ := routing.ParseFactor(k)
			q.weights[f] = v
		}
		q.formula, _ = stats.ParseFormula(qc.ServiceLevel.Formula)
		q.scope = scopeOf(qc.Geography)
		for _, r := range qc.Relax {
			for _, d := range r.Drop {
				e.skillID(d)
			}
		}
		seen[qc.Name] = true
		order = append(order, q)
	}
	for name, q := range e.queues {
		if !seen[name] {
			q.removed = true
		}
	}
	e.cfg = cfg
	e.qorder = order
	e.applyCapacity(cfg.Capacity)
	region := cfg.DefaultRegion
	e.region.Store(&region)
	return nil
}

// Reload validates and installs a new configuration. Waiting calls keep
// their place; new settings apply to new decisions.
func (e *Engine) Reload(ctx context.Context, cfg *Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	return e.do(ctx, func() error {
		if err := e.applyConfig(*cfg); err != nil {
			return err
		}
		// Capacities may have changed: agents with room take waiting tasks.
		now := e.clock.Now()
		agents := e.agentsBySlot()
		for _, a := range agents {
			e.syncAgent(a, now)
		}
		for _, a := range agents {
			e.becameFree(a)
		}
		return nil
	})
}

// ReleaseRouting starts the offers of an engine made WithRoutingHeld:
// every available agent takes the waiting calls and tasks in global
// order. It is a no-op on an engine whose routing is not held.
func (e *Engine) ReleaseRouting(ctx context.Context) error {
	return e.do(ctx, func() error {
		if !e.held {
			return nil
		}
		e.held = false
		for _, a := range e.agentsBySlot() {
			e.becameFree(a)
		}
		return nil
	})
}

// agentsBySlot returns the agents in the order of their index slots, for
// a deterministic walk over all of them.
func (e *Engine) agentsBySlot() []*agent {
	return slices.SortedFunc(maps.Values(e.agents), func(a, b *agent) int { return int(a.slot - b.slot) })
}

func (q *queue) ringTimeout(c Config) time.Duration {
	if q.cfg.RingTimeout != nil {
		return q.cfg.RingTimeout.D()
	}
	return c.RingTimeout.D()
}

func (q *queue) wrapUp(c Config) time.Duration {
	if q.cfg.WrapUp != nil {
		return q.cfg.WrapUp.D()
	}
	return c.WrapUp.D()
}
