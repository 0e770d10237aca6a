package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"switchboard/crmcore"
)

// ErrNodeIDInUse reports a node id held by a live process: Join refuses a
// second member under it, and CloseNodeRecords refuses to close its
// records.
var ErrNodeIDInUse = errors.New("pgstore: node id held by a live process")

// ErrMemberGone is returned by the methods of a Member whose connection
// has ended (Leave, Close, or a failure): it holds no lock any more.
var ErrMemberGone = errors.New("pgstore: cluster member gone")

const (
	// memberCheckInterval is how often a member checks its connection.
	memberCheckInterval = time.Second
	// memberTimeout bounds every statement on a member's connection; a
	// statement that overruns it breaks the connection, which counts as
	// lost.
	memberTimeout = 2 * time.Second
	// campaignPoll is how often a campaign tries the leader lock.
	campaignPoll = 250 * time.Millisecond
	// DefaultTakeoverGrace is how long a member that has just joined
	// leaves another node's term to that node (WithTakeoverGrace).
	DefaultTakeoverGrace = 3 * time.Second
	// joinLockTimeout is how long Join waits for its node lock, so that a
	// leader's momentary probe of the lock (LostNodes) or a restarted
	// process's previous session still closing does not refuse the id.
	joinLockTimeout = "1s"
)

// memberKeepAlive makes the member's side of the connection notice a
// silent peer: keepalive probes start after 2 s of silence.
var memberKeepAlive = net.KeepAliveConfig{Enable: true, Idle: 2 * time.Second, Interval: time.Second, Count: 3}

// memberServerParams make the server notice a silent member after about
// 8 s (keepalives after 5 s of silence, or unacknowledged data for 8 s)
// and release its locks. The member itself counts its connection lost
// after at most memberCheckInterval+memberTimeout, well before, so an old
// leader stops before the server lets another node take the lead.
// Settings given in the DSN win.
var memberServerParams = map[string]string{
	"tcp_keepalives_idle":     "5",
	"tcp_keepalives_interval": "1",
	"tcp_keepalives_count":    "3",
	"tcp_user_timeout":        "8000",
}

// clusterLockKey is the advisory lock key (the one-bigint form) that
// stands for name: the FNV-1a 64-bit hash of "switchboard/cluster/"
// followed by name. Computed here, not by the server, so that it does
// not depend on the PostgreSQL version.
func clusterLockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("switchboard/cluster/" + name))
	return int64(h.Sum64())
}

// nodeLockKey is the key of the lock held by the process of node id.
func nodeLockKey(id string) int64 { return clusterLockKey("node/" + id) }

// leaderLockKey is the key of the lock held by the cluster's leader.
var leaderLockKey = clusterLockKey("leader")

// Term is a leader's term: the fencing epoch it won, larger than every
// earlier leader's, and when it won it.
type Term struct {
	Epoch int64
	Since time.Time
}

// MemberOption configures a Member.
type MemberOption func(*Member)

// WithAddr sets what the node advertises in its cluster_nodes row (free
// text, e.g. its SIP and HTTP addresses; default empty).
func WithAddr(addr string) MemberOption { return func(m *Member) { m.addr = addr } }

// WithTakeoverGrace sets how long after joining a member leaves the
// leader lock to the node that led last, even while that node's lock is
// free (default DefaultTakeoverGrace): when every connection dropped at
// once (PostgreSQL restarted), the leader, joining again, takes its term
// back before a standby can take it over.
func WithTakeoverGrace(d time.Duration) MemberOption { return func(m *Member) { m.grace = d } }

// WithMemberLogger sets the logger (default slog.Default()).
func WithMemberLogger(l *slog.Logger) MemberOption { return func(m *Member) { m.log = l } }

// Member is one node's membership of the cluster, held on a dedicated
// connection (see the package doc). One goroutine owns the connection and
// the member's role; the methods send it statements to run. It is safe
// for concurrent use.
type Member struct {
	node   string
	addr   string
	log    *slog.Logger
	grace  time.Duration
	joined time.Time

	ops      chan memberOp
	stop     chan struct{} // closed by Close
	stopOnce sync.Once
	lost     chan struct{} // closed when the connection has ended
	closeErr error         // set before lost is closed
}

// memberOp is a statement sequence run by the member's goroutine, with
// the member's role to check and change.
type memberOp struct {
	fn  func(ctx context.Context, c *pgx.Conn, role *memberRole) error
	res chan error
}

// Join makes node a member of the cluster whose database dsn names. It
// opens a dedicated connection (not from a pool: its session holds the
// locks), takes the node's lock, refusing with an error wrapping
// ErrNodeIDInUse when another live process holds it past a short wait,
// and records the node as joined (cluster_nodes, left_at cleared). The
// node id must be the one its interaction writer stores (WithNodeID).
func Join(ctx context.Context, dsn, node string, opts ...MemberOption) (*Member, error) {
	if node == "" {
		return nil, fmt.Errorf("pgstore: join: empty node id: %w", crmcore.ErrInvalid)
	}
	m := &Member{node: node, log: slog.Default(), grace: DefaultTakeoverGrace,
		ops: make(chan memberOp), stop: make(chan struct{}), lost: make(chan struct{})}
	for _, o := range opts {
		o(m)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: join: parse DSN: %w", err)
	}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAliveConfig: memberKeepAlive}
	cfg.DialFunc = dialer.DialContext
	for k, v := range memberServerParams {
		if _, set := cfg.RuntimeParams[k]; !set {
			cfg.RuntimeParams[k] = v
		}
	}
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		cfg.RuntimeParams["application_name"] = "switchboard node " + node
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: join as %q: connect: %w", node, err)
	}
	if err := m.register(ctx, conn); err != nil {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), memberTimeout)
		defer cancel()
		_ = conn.Close(closeCtx)
		return nil, err
	}
	m.joined = time.Now()
	go m.run(conn)
	return m, nil
}

// register takes the node lock and records the node as joined.
func (m *Member) register(ctx context.Context, conn *pgx.Conn) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "set local lock_timeout = '"+joinLockTimeout+"'"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "select pg_advisory_lock($1)", nodeLockKey(m.node)); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
				return ErrNodeIDInUse
			}
			return err
		}
		_, err := tx.Exec(ctx, `insert into cluster_nodes (id, addr, joined_at) values ($1, $2, now())
			on conflict (id) do update set addr = excluded.addr, joined_at = excluded.joined_at, left_at = null`,
			m.node, m.addr)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: join as %q: %w", m.node, err)
	}
	return nil
}

// run owns the connection: it runs the members' statements and checks the
// connection every memberCheckInterval, until Close or the first failure,
// then closes the connection and Lost's channel.
func (m *Member) run(conn *pgx.Conn) {
	tick := time.NewTicker(memberCheckInterval)
	defer tick.Stop()
	role := roleStandby
	for role != roleGone {
		var cause error
		select {
		case <-m.stop:
		case op := <-m.ops:
			err := withMemberTimeout(func(ctx context.Context) error { return op.fn(ctx, conn, &role) })
			op.res <- err
			if !conn.IsClosed() {
				continue
			}
			cause = err
		case <-tick.C:
			if cause = withMemberTimeout(conn.Ping); cause == nil {
				continue
			}
		}
		if cause != nil {
			m.log.Warn("pgstore: cluster connection lost, its locks are released", "node", m.node, "role", role, "err", cause)
		}
		role = roleGone // every role ends with the connection (roleTable)
	}
	ctx, cancel := context.WithTimeout(context.Background(), memberTimeout)
	defer cancel()
	m.closeErr = conn.Close(ctx)
	close(m.lost)
}

// withMemberTimeout runs fn under memberTimeout. The callers' contexts
// never reach the connection: pgx breaks a connection whose statement's
// context ends, and that would drop the member's locks.
func withMemberTimeout(fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), memberTimeout)
	defer cancel()
	return fn(ctx)
}

// do runs fn on the member's goroutine and returns its error. It gives up
// with ctx's error if ctx ends before the goroutine takes fn; once taken,
// fn runs to its end (at most memberTimeout).
func (m *Member) do(ctx context.Context, fn func(ctx context.Context, c *pgx.Conn, role *memberRole) error) error {
	op := memberOp{fn: fn, res: make(chan error, 1)}
	select {
	case m.ops <- op:
		return <-op.res
	case <-m.lost:
		return fmt.Errorf("pgstore: node %q: %w", m.node, ErrMemberGone)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Lost returns a channel closed when the member's connection has ended:
// it failed (checked every second), or Leave or Close closed it. Its locks
// are gone then: a leader must stop acting as one.
func (m *Member) Lost() <-chan struct{} { return m.lost }

// Campaign blocks until this member holds the cluster's leader lock,
// trying it every 250 ms, then increments the fencing epoch, records this
// node as the leader and returns the new term. While the node that led
// last is alive (its node lock is held), or within the takeover grace
// after this member joined, the lock is left to that node, which is
// joining again after losing its connection. Leadership lasts as long as
// the member's connection (until Lost). It returns ctx's error when ctx
// ends first, an error wrapping ErrMemberGone when the connection ends
// first, and one wrapping ErrRoleTransition when the member already leads.
func (m *Member) Campaign(ctx context.Context) (Term, error) {
	tick := time.NewTicker(campaignPoll)
	defer tick.Stop()
	for {
		var term Term
		won := false
		err := m.do(ctx, func(ctx context.Context, c *pgx.Conn, role *memberRole) error {
			var err error
			term, won, err = m.tryLead(ctx, c, role)
			return err
		})
		if err != nil || won {
			return term, err
		}
		select {
		case <-tick.C:
		case <-m.lost:
			return Term{}, fmt.Errorf("pgstore: campaign as %q: %w", m.node, ErrMemberGone)
		case <-ctx.Done():
			return Term{}, ctx.Err()
		}
	}
}

// tryLead tries the leader lock once; with it, it bumps the epoch.
func (m *Member) tryLead(ctx context.Context, c *pgx.Conn, role *memberRole) (Term, bool, error) {
	if err := role.To(roleLeader); err != nil {
		return Term{}, false, fmt.Errorf("pgstore: campaign as %q: %w", m.node, err)
	}
	var last string
	if err := c.QueryRow(ctx, "select node from cluster_leader").Scan(&last); err != nil {
		return Term{}, false, err
	}
	if last != "" && last != m.node {
		if time.Since(m.joined) < m.grace {
			return Term{}, false, nil
		}
		var gone bool
		err := c.QueryRow(ctx, `select case when pg_try_advisory_lock($1) then pg_advisory_unlock($1) else false end`,
			nodeLockKey(last)).Scan(&gone)
		if err != nil || !gone {
			return Term{}, false, err
		}
	}
	var won bool
	if err := c.QueryRow(ctx, "select pg_try_advisory_lock($1)", leaderLockKey).Scan(&won); err != nil || !won {
		return Term{}, false, err
	}
	var t Term
	err := c.QueryRow(ctx, `update cluster_leader set epoch = epoch + 1, node = $1, since = now()
		returning epoch, since`, m.node).Scan(&t.Epoch, &t.Since)
	if err != nil {
		// No term, no leadership: give the lock back (if the connection
		// broke, it is gone anyway).
		_, _ = c.Exec(ctx, "select pg_advisory_unlock($1)", leaderLockKey)
		return Term{}, false, fmt.Errorf("pgstore: campaign as %q: epoch: %w", m.node, err)
	}
	*role = roleLeader
	t.Since = t.Since.UTC()
	return t, true, nil
}

// LostNodes returns, sorted, the ids of the nodes that joined, have not
// left and whose lock is free: their process is gone. It is meant for the
// leader, which then closes their records (Store.CloseNodeRecords). This
// member's own id is never listed. Within the takeover grace after this
// member joined it lists none: when every connection dropped at once
// (PostgreSQL restarted), the other nodes are joining again as this one
// did, and their free locks do not mean their processes are gone.
func (m *Member) LostNodes(ctx context.Context) ([]string, error) {
	var lost []string
	err := m.do(ctx, func(ctx context.Context, c *pgx.Conn, _ *memberRole) error {
		if time.Since(m.joined) < m.grace {
			return nil
		}
		rows, _ := c.Query(ctx, `select id from cluster_nodes where left_at is null and id <> $1 order by id`, m.node)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) == 0 {
			return err
		}
		// Taking a free lock and releasing it at once tells a gone process
		// from a live one; CASE keeps the order of the two calls.
		b := &pgx.Batch{}
		for _, id := range ids {
			b.Queue(`select case when pg_try_advisory_lock($1) then pg_advisory_unlock($1) else false end`, nodeLockKey(id))
		}
		res := c.SendBatch(ctx, b)
		for _, id := range ids {
			var free bool
			if err := res.QueryRow().Scan(&free); err != nil {
				_ = res.Close()
				return err
			}
			if free {
				lost = append(lost, id)
			}
		}
		return res.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: lost nodes: %w", err)
	}
	return lost, nil
}

// Leave records the node as left, so that no leader counts it lost, and
// closes the member (Close).
func (m *Member) Leave(ctx context.Context) error {
	err := m.do(ctx, func(ctx context.Context, c *pgx.Conn, _ *memberRole) error {
		_, err := c.Exec(ctx, `update cluster_nodes set left_at = now() where id = $1`, m.node)
		return err
	})
	cerr := m.Close()
	if err != nil {
		return fmt.Errorf("pgstore: leave as %q: %w", m.node, err)
	}
	return cerr
}

// Close closes the member's connection, which releases its locks, and
// returns once it is closed. The node stays recorded as joined: a leader
// counts it lost (LostNodes) and closes what it left in progress. Calling
// it again returns the same.
func (m *Member) Close() error {
	m.stopOnce.Do(func() { close(m.stop) })
	<-m.lost
	return m.closeErr
}
