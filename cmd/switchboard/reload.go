package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/acd"
	"switchboard/acd/dialplan"
	"switchboard/ivr"
)

// errReloadRefused is wrapped when a reload leaves everything as it was.
var errReloadRefused = errors.New("config reload refused")

// reloader applies a re-read configuration file to a running server: what
// can change under live calls is checked in full and then swapped — the IVR
// flows (a call keeps the flow it started on), the outbound dial plan, the
// ACD's settings and queue parameters (waiting calls keep their place) —
// and what cannot is named in the log as needing a restart.
type reloader struct {
	flows   *ivr.Registry
	engine  atomic.Pointer[acd.Engine] // nil on a cluster node that does not lead
	plan    *dialplan.Plan
	log     *slog.Logger
	reloads *prometheus.CounterVec // result: ok, invalid
	// onACD, if set, is told the ACD configuration the engine took.
	onACD func(*acd.Config)

	mu  sync.Mutex
	cur *Config // the configuration in force
}

// newReloader returns the reloader of a server started with cfg; reg
// receives switchboard_config_reloads_total{result}.
func newReloader(cfg *Config, flows *ivr.Registry, engine *acd.Engine, plan *dialplan.Plan, log *slog.Logger, reg prometheus.Registerer) *reloader {
	r := &reloader{flows: flows, plan: plan, log: log, cur: cfg,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "config", Name: "reloads_total",
			Help: "Configuration reloads (SIGHUP), by result (ok, invalid).",
		}, []string{"result"})}
	if reg != nil {
		reg.MustRegister(r.reloads)
	}
	r.setEngine(engine)
	return r
}

// setEngine gives the reloader the routing engine, once there is one.
func (r *reloader) setEngine(e *acd.Engine) {
	if e != nil {
		r.engine.Store(e)
	}
}

// reload re-reads the configuration file the server started with (the
// embedded demo configuration re-reads only its flows file) and applies
// it. A file with any error changes nothing: the error wraps
// errReloadRefused.
func (r *reloader) reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.apply(ctx)
	result := "ok"
	if err != nil {
		result = "invalid"
		r.log.Error("config reload refused; the running configuration stays", "file", r.cur.displayPath(), "err", err)
	}
	r.reloads.WithLabelValues(result).Inc()
	return err
}

func (r *reloader) apply(ctx context.Context) error {
	next, err := loadConfig(r.cur.path)
	if err != nil {
		return fmt.Errorf("%w: %w", errReloadRefused, err)
	}
	// Queues added or removed would leave the desks, transfers and flow
	// checks on the old list: the ACD part waits for a restart then.
	oldQueues, newQueues := queueNames(&r.cur.ACD), queueNames(&next.ACD)
	slices.Sort(oldQueues)
	slices.Sort(newQueues)
	acdLive := slices.Equal(oldQueues, newQueues)

	// The flows are validated against the queues in force and swapped
	// only when valid; nothing else is applied before they are.
	if _, err := r.flows.Reload(next.IVR.Flows); err != nil {
		return fmt.Errorf("%w: ivr: %s: %w", errReloadRefused, next.IVR.Flows, err)
	}
	if err := r.plan.Update(next.DialPlan); err != nil { // validated by loadConfig
		return fmt.Errorf("%w: %w", errReloadRefused, err)
	}
	applied := []string{"ivr.flows", "dialplan"}
	if e := r.engine.Load(); acdLive && e != nil {
		if err := e.Reload(ctx, &next.ACD); err != nil {
			return fmt.Errorf("%w: acd: %w", errReloadRefused, err)
		}
		if r.onACD != nil {
			r.onACD(&next.ACD)
		}
		applied = append(applied, "acd")
	} else {
		next.ACD = r.cur.ACD
	}
	restart := r.cur.restartNeeded(next)
	if !acdLive {
		restart = append(restart, "acd.queues (added or removed)")
	}
	for _, key := range restart {
		r.log.Warn("config reload: this setting changes only at restart", "key", key)
	}
	// Only what was applied counts as in force; the rest keeps its
	// start-up value so that a later reload reports it again.
	kept := *r.cur
	kept.IVR.Flows, kept.DialPlan, kept.ACD = next.IVR.Flows, next.DialPlan, next.ACD
	r.cur = &kept
	r.log.Info("config reloaded", "file", r.cur.displayPath(), "applied", applied, "restart_needed", len(restart))
	return nil
}

// restartNeeded names the sections of next that differ from c and that a
// reload does not apply.
func (c *Config) restartNeeded(next *Config) []string {
	var out []string
	ivrOld, ivrNew := c.IVR, next.IVR
	ivrOld.Flows, ivrNew.Flows = "", ""
	for _, s := range []struct {
		key      string
		old, new any
	}{
		{"log", c.Log, next.Log}, {"http", c.HTTP, next.HTTP}, {"database", c.Database, next.Database},
		{"sip", c.SIP, next.SIP}, {"ivr (other than flows)", ivrOld, ivrNew}, {"crm", c.CRM, next.CRM}, {"cti", c.CTI, next.CTI},
	} {
		if !reflect.DeepEqual(s.old, s.new) {
			out = append(out, s.key)
		}
	}
	return out
}

// displayPath names the configuration file in logs.
func (c *Config) displayPath() string {
	if c.path == "" {
		return "demo.yaml (embedded)"
	}
	return c.path
}

// watchHangup calls reload on every SIGHUP until ctx ends. The signal is
// caught from the moment watchHangup returns.
func watchHangup(ctx context.Context, reload func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-hup:
				reload()
			case <-ctx.Done():
				return
			}
		}
	}()
}
