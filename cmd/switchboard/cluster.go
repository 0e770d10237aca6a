package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"switchboard/crmcore/pgstore"
)

// errLeadershipLost ends a leader that lost its lock connection and could
// not take its term back: another node may lead by now, so this one stops
// serving and exits non-zero (its supervisor starts it again as a
// standby).
var errLeadershipLost = errors.New("cluster: lost the leader lock and could not take it back; stopped serving")

// reclaimWindow is how long a leader whose lock connection failed keeps
// serving while it joins again and takes its term back. It is shorter
// than the time before a standby may take over (the database's keepalive
// timeout of the lost connection plus the standby's takeover grace), so
// that two nodes never serve at once.
const reclaimWindow = 5 * time.Second

// leadership is this node's time as the cluster's leader: one term, or
// several when it took the leader lock back after losing its connection.
type leadership struct {
	cfg    *Config
	log    *slog.Logger
	ctx    context.Context // ends when leadership does
	cancel context.CancelFunc
	lost   chan struct{} // closed when leadership ended by a lost lock

	mu     sync.Mutex
	member *pgstore.Member
	term   pgstore.Term
}

// lead joins the cluster as cfg.Cluster's node and blocks, standing by,
// until it holds the leader lock. The node listens on nothing while it
// stands by: the SIP edge's probes and the HTTP edge's connections find
// only the leader.
func lead(ctx context.Context, cfg *Config, logger *slog.Logger) (*leadership, error) {
	if cfg.Database.URL == "" {
		return nil, errors.New("cluster: the nodes share one PostgreSQL: set database.url or DATABASE_URL")
	}
	node := cfg.Cluster.node()
	m, err := pgstore.Join(ctx, cfg.Database.URL, node, pgstore.WithMemberLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("cluster: join as %q: %w", node, err)
	}
	logger.Info("cluster: standing by for the leader lock", "node", node)
	term, err := m.Campaign(ctx)
	if err != nil {
		m.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cluster: campaign: %w", err)
	}
	logger.Info("cluster: leading", "node", node, "epoch", term.Epoch)
	l := &leadership{cfg: cfg, log: logger, member: m, term: term, lost: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(ctx)
	go l.hold()
	return l, nil
}

// current returns the member holding the lock now.
func (l *leadership) current() *pgstore.Member {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.member
}

// hold watches the lock connection. When it fails (PostgreSQL restarted,
// or the network to it broke), the node goes on serving and joins again
// within reclaimWindow: the leader lock comes back to it with a new epoch
// unless a standby took it; otherwise leadership ends.
func (l *leadership) hold() {
	node := l.cfg.Cluster.node()
	for {
		m := l.current()
		select {
		case <-l.ctx.Done():
			return
		case <-m.Lost():
		}
		l.log.Warn("cluster: leader lock connection lost; taking the lock back", "node", node, "window", reclaimWindow)
		ctx, cancel := context.WithTimeout(l.ctx, reclaimWindow)
		m2, term, err := l.reclaim(ctx, node)
		cancel()
		if err != nil {
			if l.ctx.Err() == nil {
				l.log.Error("cluster: leader lock not taken back; stepping down", "node", node, "err", err)
				close(l.lost)
				l.cancel()
			}
			return
		}
		l.mu.Lock()
		l.member, l.term = m2, term
		l.mu.Unlock()
		l.log.Info("cluster: leading again", "node", node, "epoch", term.Epoch)
	}
}

// reclaim joins again and campaigns until ctx ends.
func (l *leadership) reclaim(ctx context.Context, node string) (*pgstore.Member, pgstore.Term, error) {
	for {
		m, err := pgstore.Join(ctx, l.cfg.Database.URL, node, pgstore.WithMemberLogger(l.log))
		if err == nil {
			term, err := m.Campaign(ctx)
			if err == nil {
				return m, term, nil
			}
			m.Close()
		}
		select {
		case <-ctx.Done():
			return nil, pgstore.Term{}, fmt.Errorf("%w (last: %w)", ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// sweep closes, every interval while leadership lasts, the interaction
// records that nodes which are gone (their lock free) left in progress:
// each such call ends failed, reason node lost, recorded once.
func (l *leadership) sweep(store *pgstore.Store, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		nodes, err := l.current().LostNodes(l.ctx)
		if err != nil && l.ctx.Err() == nil {
			l.log.Warn("cluster: listing lost nodes", "err", err)
		}
		for _, n := range nodes {
			closed, err := store.CloseNodeRecords(l.ctx, n)
			if err != nil {
				l.log.Warn("cluster: closing a lost node's records", "node", n, "err", err)
				continue
			}
			l.log.Warn("cluster: node lost; its calls in progress recorded as failed", "node", n, "records", closed)
		}
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// end ends leadership: the member leaves (locks released) and err says
// whether it ended by a lost lock.
func (l *leadership) end(err error) error {
	l.cancel()
	l.current().Close()
	select {
	case <-l.lost:
		return errLeadershipLost
	default:
		return err
	}
}
