package ivr

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
)

// ErrNoFlows is returned by Registry lookups before any set has been loaded.
var ErrNoFlows = errors.New("ivr: no flows loaded")

// Registry holds the current flow Set and swaps it on reload. Current is a lock-free
// atomic load, so any number of calls may look flows up while a reload runs; reloads are
// serialised. A Set is immutable, so a call that already holds a *Flow keeps running on it
// after a reload.
type Registry struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	cur     atomic.Pointer[Set]
	mu      sync.Mutex // serialises Reload
}

// NewRegistry returns an empty registry that loads files with opts; metrics may be nil.
func NewRegistry(opts Options, metrics *Metrics) *Registry {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Registry{opts: opts, log: log, metrics: metrics}
}

// Reload loads file and, when it is valid, makes it the current set. When it is not, the
// current set stays (the error wraps ErrInvalid, or is the read error) and the problems are
// returned and logged. Warnings of a valid file are returned too.
func (r *Registry) Reload(file string) ([]Problem, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set, problems, err := Load(file, r.opts)
	if err != nil {
		r.metrics.reload(false)
		r.log.Error("ivr: flows rejected, keeping the current set", "file", file, "err", err)
		for _, p := range problems {
			r.log.Error("ivr: flow problem", "problem", p.String())
		}
		return problems, err
	}
	for _, p := range problems {
		r.log.Warn("ivr: flow warning", "problem", p.String())
	}
	r.cur.Store(set)
	r.metrics.reload(true)
	r.log.Info("ivr: flows loaded", "file", file, "flows", len(set.flows), "entry_points", len(set.entries))
	return problems, nil
}

// Store makes set the current set (e.g. one loaded with Load at start-up).
func (r *Registry) Store(set *Set) {
	r.cur.Store(set)
}

// Current returns the current set, or nil before the first successful load.
func (r *Registry) Current() *Set { return r.cur.Load() }

// ForDNIS returns the current entry point for a dialled number.
func (r *Registry) ForDNIS(dnis string) (EntryPoint, bool, error) {
	s := r.cur.Load()
	if s == nil {
		return EntryPoint{}, false, ErrNoFlows
	}
	ep, ok := s.ForDNIS(dnis)
	return ep, ok, nil
}

// ForWebRTC returns the current entry point for a WebRTC entry name.
func (r *Registry) ForWebRTC(name string) (EntryPoint, bool, error) {
	s := r.cur.Load()
	if s == nil {
		return EntryPoint{}, false, ErrNoFlows
	}
	ep, ok := s.ForWebRTC(name)
	return ep, ok, nil
}

// ForChat returns the current entry point for a web chat entry name.
func (r *Registry) ForChat(name string) (EntryPoint, bool, error) {
	s := r.cur.Load()
	if s == nil {
		return EntryPoint{}, false, ErrNoFlows
	}
	ep, ok := s.ForChat(name)
	return ep, ok, nil
}
