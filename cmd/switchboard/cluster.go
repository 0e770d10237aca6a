package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"switchboard/crmcore/pgstore"
)

// errLeadershipLost ends a leader whose database connection, and with it
// the leader lock, is gone: another node may lead by now, so this one
// stops serving and exits non-zero (its supervisor starts it again as a
// standby).
var errLeadershipLost = errors.New("cluster: lost the leader lock (database connection failed); stopped serving")

// leadership is this node's term as the cluster's leader.
type leadership struct {
	member *pgstore.Member
	term   pgstore.Term
	ctx    context.Context // ends when the term does
	cancel context.CancelFunc
	lost   chan struct{} // closed when the term ended by a lost lock
}

// lead joins the cluster as cfg.Cluster's node and blocks, standing by,
// until it holds the leader lock; it returns the term. The node listens
// on nothing while it stands by: the SIP edge's probes and the HTTP
// edge's connections find only the leader.
func lead(ctx context.Context, cfg *Config, logger *slog.Logger) (*leadership, error) {
	if cfg.Database.URL == "" {
		return nil, errors.New("cluster: the nodes share one PostgreSQL: set database.url or DATABASE_URL")
	}
	node := cfg.Cluster.node()
	m, err := pgstore.Join(ctx, cfg.Database.URL, node)
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
	l := &leadership{member: m, term: term, lost: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(ctx)
	go func() {
		select {
		case <-m.Lost():
			logger.Error("cluster: database connection lost; stepping down", "node", node, "epoch", term.Epoch)
			close(l.lost)
			l.cancel()
		case <-l.ctx.Done():
		}
	}()
	return l, nil
}

// sweep closes, every interval while the term lasts, the interaction
// records that nodes which are gone (their lock free) left in progress:
// each such call ends failed, reason node lost, recorded once.
func (l *leadership) sweep(store *pgstore.Store, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		nodes, err := l.member.LostNodes(l.ctx)
		if err != nil && l.ctx.Err() == nil {
			logger.Warn("cluster: listing lost nodes", "err", err)
		}
		for _, n := range nodes {
			closed, err := store.CloseNodeRecords(l.ctx, n)
			if err != nil {
				logger.Warn("cluster: closing a lost node's records", "node", n, "err", err)
				continue
			}
			logger.Warn("cluster: node lost; its calls in progress recorded as failed", "node", n, "records", closed)
		}
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// end ends the term: the member leaves (locks released) and err says
// whether the term ended by a lost lock.
func (l *leadership) end(err error) error {
	l.cancel()
	l.member.Close()
	select {
	case <-l.lost:
		return errLeadershipLost
	default:
		return err
	}
}
