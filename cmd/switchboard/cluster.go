package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"switchboard/acd"
	"switchboard/acd/acdnats"
	"switchboard/acd/voice"
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
	// onTerm is told the epoch of a term taken back.
	onTerm func(epoch uint64)

	mu     sync.Mutex
	member *pgstore.Member
	term   pgstore.Term
}

// clusterLink is a node's membership: its NATS connection (the bus to
// the routing engine) and its node lock in PostgreSQL, held while it
// serves so that the leader knows its calls' records are being kept.
type clusterLink struct {
	cfg    *Config
	log    *slog.Logger
	nc     *nats.Conn
	node   string
	prefix string
	// bus is this process's node on the bus, once it runs.
	bus *acdnats.Node

	mu      sync.Mutex
	member  *pgstore.Member
	leading bool // the member belongs to the leadership now
}

// settleWithin bounds how long a new leader holds its offers for the
// nodes to re-announce their calls.
const settleWithin = 5 * time.Second

// busPrefix starts the subjects of this cluster on NATS.
const busPrefix = "switchboard"

// joinCluster connects to NATS and joins the cluster in PostgreSQL.
func joinCluster(ctx context.Context, cfg *Config, logger *slog.Logger) (*clusterLink, error) {
	if cfg.Database.URL == "" {
		return nil, errors.New("cluster: the nodes share one PostgreSQL: set database.url or DATABASE_URL")
	}
	node := cfg.Cluster.node()
	nc, err := nats.Connect(cfg.Cluster.NATS, nats.Name("switchboard "+node), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond), nats.Timeout(2*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { logger.Warn("cluster: NATS connection lost", "err", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { logger.Info("cluster: NATS connection back", "server", c.ConnectedUrlRedacted()) }))
	if err != nil {
		return nil, fmt.Errorf("cluster: NATS at %s: %w", cfg.Cluster.NATS, err)
	}
	m, err := pgstore.Join(ctx, cfg.Database.URL, node, pgstore.WithMemberLogger(logger))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: join as %q: %w", node, err)
	}
	c := &clusterLink{cfg: cfg, log: logger, nc: nc, node: node, prefix: busPrefix, member: m}
	go c.keepJoined(ctx)
	return c, nil
}

// sipAddr is where the other nodes reach this node's gateway for relays.
func (c *clusterLink) sipAddr(cfg *Config) string {
	host, port, err := net.SplitHostPort(cfg.SIP.UDP)
	if err != nil {
		return cfg.SIP.UDP
	}
	if ip, err := netip.ParseAddr(host); (err != nil || ip.IsUnspecified()) && cfg.SIP.PublicIP != "" {
		host = cfg.SIP.PublicIP
	}
	return net.JoinHostPort(host, port)
}

// keepJoined joins again whenever the node lock's connection fails while
// the node stands by (the leadership takes over the member once leading).
func (c *clusterLink) keepJoined(ctx context.Context) {
	for {
		c.mu.Lock()
		m, leading := c.member, c.leading
		c.mu.Unlock()
		if leading {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-m.Lost():
		}
		c.mu.Lock()
		leading = c.leading
		c.mu.Unlock()
		if leading {
			return
		}
		c.log.Warn("cluster: node lock connection lost; joining again", "node", c.node)
		for ctx.Err() == nil {
			m2, err := pgstore.Join(ctx, c.cfg.Database.URL, c.node, pgstore.WithMemberLogger(c.log))
			if err == nil {
				c.mu.Lock()
				c.member = m2
				c.mu.Unlock()
				m.Close()
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
}

// lead campaigns for the leader lock and, once held, builds the routing
// services with the bus's leader as their telephony.
func (c *clusterLink) lead(ctx context.Context, d routingDeps) (*routing, error) {
	c.log.Info("cluster: serving calls; standing by for the leader lock", "node", c.node)
	var m *pgstore.Member
	var term pgstore.Term
	for {
		c.mu.Lock()
		m = c.member
		c.mu.Unlock()
		var err error
		if term, err = m.Campaign(ctx); err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c.log.Warn("cluster: campaign", "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	c.mu.Lock()
	c.leading = true
	c.mu.Unlock()
	c.log.Info("cluster: leading", "node", c.node, "epoch", term.Epoch)
	leader := acdnats.NewLeader(c.nc, acdnats.LeaderOptions{Node: c.node, Epoch: uint64(term.Epoch), Prefix: c.prefix,
		NewData: func() any { return new(voice.Pop) }, Logger: c.log,
		RingOn: func(o acd.Offer) string {
			if d.agents.HasSoftphone(o.Agent) {
				return c.node
			}
			return ""
		}})
	l := &leadership{cfg: c.cfg, log: c.log, member: m, term: term, lost: make(chan struct{}), onTerm: leader.SetEpoch}
	l.ctx, l.cancel = context.WithCancel(ctx)
	d.tel, d.afterCall, d.attach, d.held = leader, leader.AfterCall, leader.AttachTicket, true
	d.listener = &clusterListener{local: deskMedia{d.agents}, leader: leader, node: c.bus, agents: d.agents, remote: map[string]acd.CallID{}}
	r, err := newRouting(d)
	if err != nil {
		l.cancel()
		return nil, err
	}
	r.leader, r.term = leader, l
	go l.hold()
	go func() {
		if err := leader.Serve(l.ctx, r.engine); err != nil && l.ctx.Err() == nil {
			c.log.Error("cluster: the bus's leader stopped", "err", err)
		}
	}()
	go func() {
		// Offers wait for the nodes' calls, so that no agent whose call is
		// still being re-announced is offered another.
		if late := leader.Settle(l.ctx, settleWithin); len(late) > 0 {
			c.log.Warn("cluster: routing without every node's calls", "nodes", late, "after", settleWithin)
		}
		if err := r.engine.ReleaseRouting(l.ctx); err != nil && l.ctx.Err() == nil {
			c.log.Error("cluster: starting to route", "err", err)
			return
		}
		close(r.routes)
		c.log.Info("cluster: routing", "node", c.node, "epoch", term.Epoch)
	}()
	return r, nil
}

// leave releases the node lock, unless the leadership holds it.
func (c *clusterLink) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.leading {
		c.member.Close()
	}
}

// close ends the NATS connection.
func (c *clusterLink) close() { c.nc.Close() }

// nodeRouter is a cluster node's journey router: the bus to the leader.
type nodeRouter struct{ *acdnats.Node }

// Follow returns the leader's events about this node's calls.
func (r nodeRouter) Follow() (voice.Feed, error) { return r.Node.Follow(), nil }

// relayToken returns the token of a relay call from another node
// (acdnats.RelayPrefix), if dnis names one.
func relayToken(dnis string) (string, bool) {
	return strings.CutPrefix(dnis, acdnats.RelayPrefix)
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
		if l.onTerm != nil {
			l.onTerm(uint64(term.Epoch))
		}
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
